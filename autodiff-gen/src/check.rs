//! The checks every generated program must pass, on flat vectors so they are the same for
//! every signature: at random points, reverse mode against forward mode (the dot-product
//! test ⟨J·ẋ, ȳ⟩ = ⟨ẋ, Jᵀ·ȳ⟩), forward mode against central finite differences, `f_vjp`
//! against `f_grad`, `f_trace` against `f_grad` (and each of its adjoints against its own
//! partials), the Jacobian against both modes, and the Hessian for symmetry, against
//! `f_grad` and against differences of the gradient.

use crate::rng::Rng;

pub type Eval = fn(&[f64]) -> Vec<f64>;
pub type Pair = fn(&[f64], &[f64]) -> (Vec<f64>, Vec<f64>);
pub type Split = fn(&[f64]) -> (Vec<f64>, Vec<f64>);
pub type Triple = fn(&[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>);
/// The branch decisions taken at a point, each with its margin (see
/// [`crate::support::probe`]).
pub type Trace = fn(&[f64]) -> Vec<(u64, f64)>;

/// `f_trace`'s result and its inputs' adjoints, once its own adjoints have been checked
/// against its local partials (see [`crate::support::traced`]).
pub type Traced = fn(&[f64]) -> Result<(Vec<f64>, Vec<f64>), String>;

/// One generated function's companions, on flat vectors.
pub struct Case {
    pub name: &'static str,
    /// Computes in f32.
    pub single: bool,
    pub inputs: usize,
    pub outputs: usize,
    pub eval: Eval,
    /// The same program in f64, for an f32 program's finite differences.
    pub eval64: Option<Eval>,
    /// The branches a program with control flow takes.
    pub trace: Option<Trace>,
    pub vjp: Pair,
    pub jvp: Pair,
    pub grad: Option<Split>,
    /// `f_trace`, for a scalar result (of a program without structs of parameters).
    pub traced: Option<Traced>,
    pub jacobian: Option<Split>,
    pub hessian: Option<Triple>,
    /// `f_hvp` along a tangent: the gradient and H·ẋ (with `hessian`).
    pub hvp: Option<Pair>,
    /// `f_hessian_diagonal`: the gradient and H's diagonal (with `hessian`).
    pub diagonal: Option<Split>,
}

/// What checking one program found.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// Checked at this many points.
    Passed(usize),
    /// No point in the domain where the checks are meaningful (overflow, kinks).
    Skipped(String),
    Mismatch(String),
}

/// Tolerances of one float type.
struct Tol {
    /// Between modes: the same arithmetic in another order.
    modes: f64,
    /// Against finite differences, beyond the differences' own error estimate.
    differences: f64,
    /// Values above this (or derivatives) make a point unusable.
    huge: f64,
    /// The smallest scale a comparison is made at: derivatives that cancel to nearly zero
    /// keep the rounding error of the terms that cancelled.
    floor: f64,
}

const F64: Tol = Tol {
    modes: 1e-9,
    differences: 1e-6,
    huge: 1e7,
    floor: 1e-4,
};

const F32: Tol = Tol {
    modes: 2e-3,
    differences: 2e-2,
    huge: 1e4,
    floor: 1e-2,
};

/// Points tried per program, and how many must pass.
const TRIES: usize = 8;
const WANTED: usize = 2;

/// Runs every check of `case` at random points drawn from `rng`.
pub fn run(case: &Case, rng: &mut Rng) -> Outcome {
    let tol = if case.single { &F32 } else { &F64 };
    let mut passed = 0;
    let mut last_skip = String::from("no point tried");
    for _ in 0..TRIES {
        let x: Vec<f64> = (0..case.inputs)
            .map(|_| round32(rng.uniform(-1.5, 1.5), case.single))
            .collect();
        match point(case, tol, &x, rng) {
            Ok(()) => passed += 1,
            Err(Verdict::Skip(why)) => last_skip = why,
            Err(Verdict::Wrong(what)) => {
                return Outcome::Mismatch(format!("at x = {}: {what}", show(&x)))
            }
        }
        if passed == WANTED {
            break;
        }
    }
    match passed {
        0 => Outcome::Skipped(last_skip),
        n => Outcome::Passed(n),
    }
}

/// Runs every check of `case` at the point `x` alone.
pub fn at(case: &Case, x: &[f64], rng: &mut Rng) -> Outcome {
    let tol = if case.single { &F32 } else { &F64 };
    match point(case, tol, x, rng) {
        Ok(()) => Outcome::Passed(1),
        Err(Verdict::Skip(why)) => Outcome::Skipped(why),
        Err(Verdict::Wrong(what)) => Outcome::Mismatch(format!("at x = {}: {what}", show(x))),
    }
}

enum Verdict {
    Skip(String),
    Wrong(String),
}

fn skip<T>(why: impl Into<String>) -> Result<T, Verdict> {
    Err(Verdict::Skip(why.into()))
}

fn round32(v: f64, single: bool) -> f64 {
    if single {
        v as f32 as f64
    } else {
        v
    }
}

fn show(v: &[f64]) -> String {
    let items: Vec<String> = v.iter().map(|x| format!("{x:.17e}")).collect();
    format!("[{}]", items.join(", "))
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// Σ|aᵢbᵢ|: the scale a sum of products is rounded at.
fn scale(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| (a * b).abs()).sum()
}

fn finite(v: &[f64]) -> bool {
    v.iter().all(|x| x.is_finite())
}

/// `a` and `b` agree to `tol` relative to `scale` (and to their own size).
fn agree(a: f64, b: f64, tol: f64, scale: f64) -> bool {
    (a - b).abs() <= tol * scale.max(a.abs()).max(b.abs()).max(1e-12)
}

fn expect_same(what: &str, a: &[f64], b: &[f64], tol: &Tol) -> Result<(), Verdict> {
    if a.len() != b.len() {
        return Err(Verdict::Wrong(format!(
            "{what}: lengths {} and {}",
            a.len(),
            b.len()
        )));
    }
    let size = a.iter().chain(b).fold(tol.floor, |m, x| m.max(x.abs()));
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        if !(agree(*x, *y, tol.modes, size) || x.is_nan() && y.is_nan()) {
            return Err(Verdict::Wrong(format!("{what}[{k}]: {x:e} vs {y:e}")));
        }
    }
    Ok(())
}

fn direction(rng: &mut Rng, n: usize, single: bool) -> Vec<f64> {
    (0..n)
        .map(|_| round32(rng.uniform(-1.0, 1.0), single))
        .collect()
}

/// Central difference of `f` along `v` at `x` with step `h`, and the difference between
/// steps `h`, `h/2`, `h/4` and `h/64` as an estimate of its error (Richardson).
fn directional(
    f: impl Fn(&[f64]) -> Vec<f64>,
    x: &[f64],
    v: &[f64],
    h: f64,
) -> (Vec<f64>, Vec<f64>) {
    let at = |t: f64| -> Vec<f64> {
        let p: Vec<f64> = x.iter().zip(v).map(|(x, v)| x + t * v).collect();
        f(&p)
    };
    let diff = |h: f64| -> Vec<f64> {
        let (up, down) = (at(h), at(-h));
        up.iter()
            .zip(&down)
            .map(|(u, d)| (u - d) / (2.0 * h))
            .collect()
    };
    // Three steps, not two: a function that oscillates on the step's scale (near a pole of
    // 1/sin) can give two differences that agree by chance. And one much smaller: near a
    // pole, three close steps can agree with each other and not with the derivative (seed
    // 257's p1683: −6.46 at h = 10⁻⁴, −938 at 10⁻⁶, the derivative −1 411.6).
    let (coarse, fine, finer, tiny) = (diff(h), diff(h / 2.0), diff(h / 4.0), diff(h / 64.0));
    let error = coarse
        .iter()
        .zip(&fine)
        .zip(&finer)
        .zip(&tiny)
        .map(|(((c, f), g), t)| (c - f).abs().max((f - g).abs()).max((f - t).abs()))
        .collect();
    (fine, error)
}

/// Skips a point where central differences along `v` with step `h` (and `h/2`) would cross
/// a branch's threshold, and, for an f32 program, one so near a threshold that f32 and its
/// f64 twin may take different branches.
fn same_branches(trace: Trace, x: &[f64], v: &[f64], h: f64, single: bool) -> Result<(), Verdict> {
    let here = trace(x);
    if single && here.iter().any(|(_, margin)| *margin < 1e-4) {
        return skip("a condition is too near its threshold for f32");
    }
    let decisions = |t: &[(u64, f64)]| t.iter().map(|(d, _)| *d).collect::<Vec<u64>>();
    let taken = decisions(&here);
    for t in [h, -h, h / 2.0, -h / 2.0] {
        let p: Vec<f64> = x.iter().zip(v).map(|(x, v)| x + t * v).collect();
        if decisions(&trace(&p)) != taken {
            return skip("a branch flips within the finite-difference step");
        }
    }
    Ok(())
}

fn point(case: &Case, tol: &Tol, x: &[f64], rng: &mut Rng) -> Result<(), Verdict> {
    let value = (case.eval)(x);
    if value.len() != case.outputs {
        return Err(Verdict::Wrong(format!(
            "the function returned {} values, {} expected",
            value.len(),
            case.outputs
        )));
    }
    if !finite(&value) || value.iter().any(|v| v.abs() > tol.huge) {
        return skip("value out of range");
    }
    let xdot = direction(rng, case.inputs, case.single);
    let ybar = direction(rng, case.outputs, case.single);

    // Both modes return the function's value.
    let (fwd_value, ydot) = (case.jvp)(x, &xdot);
    let (rev_value, xbar) = (case.vjp)(x, &ybar);
    expect_same("f_jvp's value against f's", &fwd_value, &value, tol)?;
    expect_same("f_vjp's value against f's", &rev_value, &value, tol)?;
    if ydot.len() != case.outputs || xbar.len() != case.inputs {
        return Err(Verdict::Wrong(format!(
            "tangent of length {} (want {}), adjoint of length {} (want {})",
            ydot.len(),
            case.outputs,
            xbar.len(),
            case.inputs
        )));
    }
    if !finite(&ydot) || !finite(&xbar) {
        return skip("a derivative is not finite");
    }
    if xbar.iter().chain(&ydot).any(|d| d.abs() > tol.huge) {
        return skip("derivatives out of range");
    }

    // The dot-product test: ⟨J·ẋ, ȳ⟩ = ⟨ẋ, Jᵀ·ȳ⟩.
    let (forward, reverse) = (dot(&ydot, &ybar), dot(&xdot, &xbar));
    let size = scale(&ydot, &ybar).max(scale(&xdot, &xbar)).max(tol.floor);
    if !agree(forward, reverse, tol.modes, size) {
        return Err(Verdict::Wrong(format!(
            "dot-product test: ⟨J·ẋ, ȳ⟩ = {forward:e} but ⟨ẋ, Jᵀ·ȳ⟩ = {reverse:e} (ẋ = {}, ȳ = {})",
            show(&xdot),
            show(&ybar)
        )));
    }

    // Forward mode against central differences (of the f64 twin for an f32 program).
    let exact = case.eval64.unwrap_or(case.eval);
    if case.single {
        let value64 = exact(x);
        if value64
            .iter()
            .zip(&value)
            .any(|(a, b)| !agree(*a, *b, 1e-4, 1.0))
        {
            return skip("ill-conditioned in f32 here");
        }
    }
    if let Some(trace) = case.trace {
        same_branches(trace, x, &xdot, 1e-4, case.single)?;
    }
    let (numeric, error) = directional(exact, x, &xdot, 1e-4);
    let fd_scale = scale(&xdot, &xbar).max(1.0);
    for k in 0..case.outputs {
        if error[k] > 1e-3 * (numeric[k].abs() + fd_scale) {
            return skip("finite differences unreliable here (a kink or steep curvature)");
        }
        let allowed = 20.0 * error[k] + tol.differences * (fd_scale + ydot[k].abs() + 1.0);
        if (ydot[k] - numeric[k]).abs() > allowed {
            return Err(Verdict::Wrong(format!(
                "f_jvp along ẋ = {}: output {k} is {:e}, central differences give {:e}",
                show(&xdot),
                ydot[k],
                numeric[k]
            )));
        }
    }

    // f_grad is f_vjp seeded with 1.
    if let Some(grad) = case.grad {
        let (g_value, g) = grad(x);
        let (_, one) = (case.vjp)(x, &[1.0]);
        expect_same("f_grad's value", &g_value, &value, tol)?;
        expect_same("f_grad against f_vjp(1)", &g, &one, tol)?;
        // f_trace records f_grad's sweeps, every execution of a node with its own adjoint.
        if let Some(traced) = case.traced {
            let (t_value, t_adjoints) = traced(x).map_err(Verdict::Wrong)?;
            if !t_value.is_empty() {
                expect_same("f_trace's value", &t_value, &value, tol)?;
            }
            expect_same(
                "f_trace's inputs' adjoints against f_grad",
                &t_adjoints,
                &g,
                tol,
            )?;
        }
    }

    // The Jacobian's columns are tangents and its rows adjoints.
    if let Some(jacobian) = case.jacobian {
        let (j_value, j) = jacobian(x);
        expect_same("f_jacobian's value", &j_value, &value, tol)?;
        if j.len() != case.outputs * case.inputs {
            return Err(Verdict::Wrong(format!(
                "f_jacobian has {} entries, want {} × {}",
                j.len(),
                case.outputs,
                case.inputs
            )));
        }
        let row = |i: usize| &j[i * case.inputs..(i + 1) * case.inputs];
        let jv: Vec<f64> = (0..case.outputs).map(|i| dot(row(i), &xdot)).collect();
        expect_same("J·ẋ against f_jvp", &jv, &ydot, tol)?;
        let jt: Vec<f64> = (0..case.inputs)
            .map(|k| (0..case.outputs).map(|i| row(i)[k] * ybar[i]).sum())
            .collect();
        expect_same("Jᵀ·ȳ against f_vjp", &jt, &xbar, tol)?;
    }

    if let Some(hessian) = case.hessian {
        check_hessian(case, tol, hessian, x, &xdot)?;
    }
    Ok(())
}

fn check_hessian(
    case: &Case,
    tol: &Tol,
    hessian: Triple,
    x: &[f64],
    xdot: &[f64],
) -> Result<(), Verdict> {
    let n = case.inputs;
    let (h_value, h_grad, h) = hessian(x);
    let grad = case.grad.expect("a Hessian is of a scalar function");
    let (value, g) = grad(x);
    expect_same("f_hessian's value", &h_value, &value, tol)?;
    expect_same("f_hessian's gradient against f_grad", &h_grad, &g, tol)?;
    if h.len() != n * n {
        return Err(Verdict::Wrong(format!(
            "f_hessian has {} entries, want {n} × {n}",
            h.len()
        )));
    }
    if !finite(&h) || h.iter().any(|v| v.abs() > tol.huge) {
        return skip("Hessian out of range");
    }
    let size = h.iter().fold(tol.floor, |m, v| m.max(v.abs()));
    // f_hvp and f_hessian_diagonal: the same sweep along ẋ and along each basis vector.
    if let Some(hvp) = case.hvp {
        let (hv_grad, hv) = hvp(x, xdot);
        expect_same("f_hvp's gradient against f_grad", &hv_grad, &g, tol)?;
        if hv.len() != n {
            return Err(Verdict::Wrong(format!(
                "f_hvp has {} entries, want {n}",
                hv.len()
            )));
        }
        for i in 0..n {
            let product: f64 = (0..n).map(|k| h[i * n + k] * xdot[k]).sum();
            // The same terms summed in another order: scaled by the largest of them.
            let terms = (0..n).fold(tol.floor, |m, k| m.max((h[i * n + k] * xdot[k]).abs()));
            if !agree(hv[i], product, tol.modes, terms.max(product.abs())) {
                return Err(Verdict::Wrong(format!(
                    "f_hvp[{i}] = {:e}, H·ẋ gives {product:e}",
                    hv[i]
                )));
            }
        }
    }
    if let Some(diagonal) = case.diagonal {
        let (d_grad, d) = diagonal(x);
        expect_same(
            "f_hessian_diagonal's gradient against f_grad",
            &d_grad,
            &g,
            tol,
        )?;
        let expected: Vec<f64> = (0..n).map(|i| h[i * n + i]).collect();
        expect_same(
            "f_hessian_diagonal against H's diagonal",
            &d,
            &expected,
            tol,
        )?;
    }
    // H·ẋ against central differences of the gradient along ẋ. Where those are unreliable
    // (an ill-conditioned point), nothing is compared, the symmetry neither. The symmetry
    // within the differences' tolerance, not the modes': H[i, k] and H[k, i] come from two
    // sweeps whose rounding an ill-conditioned point magnifies (seed 269's p934, near a pole
    // of 1/cos²: they differ by 3 · 10⁻⁸ of their size, both right to the differences' 10⁻⁵).
    let (numeric, error) = directional(|p| grad(p).1, x, xdot, 1e-4);
    let row_scales: Vec<f64> = (0..n)
        .map(|i| {
            (0..n)
                .map(|k| (h[i * n + k] * xdot[k]).abs())
                .sum::<f64>()
                .max(1.0)
        })
        .collect();
    if (0..n).any(|i| error[i] > 1e-3 * (numeric[i].abs() + row_scales[i])) {
        return skip("differences of the gradient unreliable here");
    }
    for i in 0..n {
        for k in 0..i {
            let (a, b) = (h[i * n + k], h[k * n + i]);
            if !agree(a, b, tol.differences, size) {
                return Err(Verdict::Wrong(format!(
                    "Hessian not symmetric: H[{i}, {k}] = {a:e}, H[{k}, {i}] = {b:e}"
                )));
            }
        }
    }
    for i in 0..n {
        let hv: f64 = (0..n).map(|k| h[i * n + k] * xdot[k]).sum();
        let allowed = 20.0 * error[i] + tol.differences * (row_scales[i] + 1.0);
        if (hv - numeric[i]).abs() > allowed {
            return Err(Verdict::Wrong(format!(
                "(H·ẋ)[{i}] = {hv:e}, central differences of f_grad give {:e}",
                numeric[i]
            )));
        }
    }
    Ok(())
}
