//! Branches, loops and indexing, in every mode, against central differences: the cases that
//! produced wrong gradients in other tools' trackers, each a regression test here. The
//! derivative follows the path taken; at a kink, the branch taken decides.

mod support;

use autodiff::ndarray::{array, Array1, Array2};
use autodiff::prelude::*;
use support::{check_scalar, check_vector, flat};

/// Checks a function of one vector: `f_grad` against central differences, `f_jvp` against
/// the gradient, `f_vjp(1)` against `f_grad`.
macro_rules! check_vector_fn {
    ($f:ident, $grad:ident, $jvp:ident, $vjp:ident, $x:expr) => {{
        let x: Vec<f64> = $x.to_vec();
        let v = |x: &[f64]| Array1::from(x.to_vec());
        check_scalar(
            stringify!($f),
            &x,
            |x| $f(&v(x)),
            |x| {
                let (value, g) = $grad(&v(x));
                (value, flat(&g))
            },
            |x, t| $jvp(&v(x), v(t)),
        );
        assert_eq!(
            $vjp(&v(&x), 1.0).1,
            $grad(&v(&x)).1,
            "{}: vjp(1)",
            stringify!($f)
        );
    }};
}

/// Checks a function of one scalar at each point.
macro_rules! check_scalar_fn {
    ($f:ident, $grad:ident, $jvp:ident, $points:expr) => {{
        for x in $points {
            check_scalar(
                stringify!($f),
                &[x],
                |x| $f(x[0]),
                |x| {
                    let (value, g) = $grad(x[0]);
                    (value, vec![g])
                },
                |x, t| $jvp(x[0], t[0]),
            );
        }
    }};
}

// ---- Branches -------------------------------------------------------------------------

#[differentiable]
fn piecewise(x: f64) -> f64 {
    if x < -1.0 {
        -x - 0.5
    } else if x < 1.0 {
        0.5 * x * x
    } else {
        x.ln() + 0.5
    }
}

// Written as a newcomer would: a late-initialized `y`.
#[allow(clippy::needless_late_init)]
#[differentiable]
fn clipped(x: f64) -> f64 {
    let y;
    if x > 0.0 {
        y = x.sin();
    } else {
        y = 0.0;
    }
    let mut z = y * 2.0;
    if z.abs() > 1.0 && !x.is_nan() {
        z = z.tanh();
    }
    z + x
}

#[differentiable]
fn by_match(x: f64, k: usize) -> f64 {
    let scaled = match k {
        0 => x,
        1 | 2 => x * x,
        3..=5 => x.exp(),
        _ => x.sin(),
    };
    scaled * 2.0
}

/// Arms whose patterns bind names the arm reads (`n if n < 3`, `n @ 1..=2`, `n`), at the top
/// level and in a loop that records: the adjoint runs such an arm again with its names bound
/// again (they were missing: E0425 at the pattern).
#[differentiable]
fn by_bound_match(x: f64) -> f64 {
    let k = x.abs().floor() as i32;
    let first = match k {
        0 => x * x,
        n if n < 3 => x.exp() / n as f64,
        _ => x.ln_1p() * 3.0,
    };
    let second = match k {
        n @ 1..=2 => x.sin() * n as f64,
        n => x.cos() + n as f64,
    };
    let mut product = 1.0;
    for i in 0..4 {
        product *= match (i + k) % 3 {
            0 => x,
            m => x.powi(m) / (m as f64 + 1.0),
        };
    }
    first + second + product
}

/// An or-pattern with a guard, in an arm the adjoint runs again (it reads a view): the
/// names are bound again by the alternative the guard accepted, as the `match` did.
#[differentiable(wrt(x))]
fn or_pattern_with_guard(x: &Array1<f64>, k: (i32, i32)) -> f64 {
    let m = x.view().into_shape_with_order((2, 2)).unwrap();
    match k {
        (p @ 0..=9, q) | (q, p @ 0..=9) if p < q => {
            m.t().dot(&m).sum() * p as f64 + x[0] * q as f64
        }
        _ => x.sum(),
    }
}

/// `match &w` binds by reference, as written (`*v`; it was matched by value, E0614), here
/// in arms the adjoint runs again (they read a view), twice on an `Option<Vec<f64>>`.
#[differentiable(wrt(x))]
fn by_reference(x: &Array1<f64>, w: Option<f64>, list: Option<Vec<f64>>) -> f64 {
    let m = x.view().into_shape_with_order((2, 2)).unwrap();
    let scale = match &w {
        Some(v) => m.t().dot(&m).sum() * *v,
        None => x[0],
    };
    let first = match &list {
        Some(values) => m.t().dot(&m).sum() * values[0],
        None => 0.0,
    };
    let count = match &list {
        Some(values) => values.len() as f64 * x[1],
        None => x[1],
    };
    scale + first + count
}

pub struct Settings {
    pub mode: String,
}

fn consume(v: Vec<f64>) -> f64 {
    v[0]
}

/// `match &place` of a field or a `Vec` moved later, in arms the adjoint runs again: the
/// place is borrowed as written (a `String` field was moved out, E0507), and the adjoint
/// binds the arm's names from a copy kept for it (the `Vec`, moved, E0382; second review).
#[differentiable(wrt(x))]
fn by_reference_to_places(x: &Array1<f64>, settings: &Settings, c: &[f64]) -> f64 {
    let m = x.view().into_shape_with_order((2, 2)).unwrap();
    let v = c.to_vec();
    let t = match &v {
        w if w.is_empty() => x[0],
        w => m.t().dot(&m).sum() * w[0],
    };
    let squared = match &settings.mode {
        mode if mode == "square" => x[0] * x[0],
        _ => x[0],
    };
    t * consume(v) + squared
}

#[derive(Clone, Copy)]
enum Activation {
    Tanh,
    Relu,
    Identity,
}

#[differentiable(wrt(x))]
fn activate(x: f64, activation: Activation) -> f64 {
    match activation {
        Activation::Tanh => x.tanh(),
        Activation::Relu => {
            if x > 0.0 {
                x
            } else {
                0.0
            }
        }
        Activation::Identity => x,
    }
}

#[test]
fn branches_follow_the_path_taken() {
    check_scalar_fn!(piecewise, piecewise_grad, piecewise_jvp, [-2.0, 0.3, 2.5]);
    check_scalar_fn!(clipped, clipped_grad, clipped_jvp, [-0.7, 0.2, 1.2]);
    for k in 0..8 {
        let (_, g) = by_match_grad(0.7, k);
        let expected = match k {
            0 => 2.0,
            1 | 2 => 4.0 * 0.7,
            3..=5 => 2.0 * 0.7_f64.exp(),
            _ => 2.0 * 0.7_f64.cos(),
        };
        assert!((g - expected).abs() < 1e-12, "k = {k}: {g} != {expected}");
        assert!((by_match_jvp(0.7, k, 1.0).1 - expected).abs() < 1e-12);
    }
    check_scalar_fn!(
        by_bound_match,
        by_bound_match_grad,
        by_bound_match_jvp,
        [0.4, 1.3, -2.6, 3.7]
    );
    for (w, list) in [(Some(2.0), Some(vec![0.5, 1.0, 3.0])), (None, None)] {
        let v = |p: &[f64]| Array1::from(p.to_vec());
        check_scalar(
            "by_reference",
            &[0.3, -0.7, 1.1, 0.4],
            |p| by_reference(&v(p), w, list.clone()),
            |p| {
                let (value, g) = by_reference_grad(&v(p), w, list.clone());
                (value, flat(&g))
            },
            |p, t| by_reference_jvp(&v(p), w, list.clone(), v(t)),
        );
    }
    for mode in ["square", "plain"] {
        let settings = Settings { mode: mode.into() };
        let v = |p: &[f64]| Array1::from(p.to_vec());
        check_scalar(
            "by_reference_to_places",
            &[0.3, -0.7, 1.1, 0.4],
            |p| by_reference_to_places(&v(p), &settings, &[2.0]),
            |p| {
                let (value, g) = by_reference_to_places_grad(&v(p), &settings, &[2.0]);
                (value, flat(&g))
            },
            |p, t| by_reference_to_places_jvp(&v(p), &settings, &[2.0], v(t)),
        );
    }
    for k in [(5, 2), (2, 5), (12, 1)] {
        let v = |p: &[f64]| Array1::from(p.to_vec());
        check_scalar(
            "or_pattern_with_guard",
            &[0.3, -0.7, 1.1, 0.4],
            |p| or_pattern_with_guard(&v(p), k),
            |p| {
                let (value, g) = or_pattern_with_guard_grad(&v(p), k);
                (value, flat(&g))
            },
            |p, t| or_pattern_with_guard_jvp(&v(p), k, v(t)),
        );
    }
    for (activation, x, expected) in [
        (Activation::Tanh, 0.5, 1.0 - 0.5_f64.tanh().powi(2)),
        (Activation::Relu, 0.5, 1.0),
        (Activation::Relu, -0.5, 0.0),
        (Activation::Identity, -0.5, 1.0),
    ] {
        assert_eq!(activate_grad(x, activation).1, expected);
    }
}

/// A tuple bound from a branch (`let (a, b) = if … { (…) } else { (…) };`, a `match`, arms
/// with statements of their own, and the tuple reading names the binding shadows).
#[differentiable]
fn rotated(x: f64, y: f64, k: usize) -> f64 {
    let angle = x * y;
    let (c, s) = if angle > 0.0 {
        let (c, s) = (angle.cos(), angle.sin());
        (c, s)
    } else if x > 1.0 {
        (1.0, x)
    } else {
        (y, 0.5)
    };
    let (x, y) = match k {
        0 => (c * x - s * y, s * x + c * y),
        1 | 2 => {
            let scale = 2.0 * s;
            (y * scale, x)
        }
        _ => (y, x),
    };
    x * x + 3.0 * y
}

#[test]
fn tuples_bound_from_branches() {
    for k in 0..4 {
        for (x, y) in [(0.3, 0.7), (1.5, -0.4), (0.5, -0.4)] {
            check_scalar(
                "rotated",
                &[x, y],
                |p| rotated(p[0], p[1], k),
                |p| {
                    let (value, (dx, dy)) = rotated_grad(p[0], p[1], k);
                    (value, vec![dx, dy])
                },
                |p, t| rotated_jvp(p[0], p[1], k, t[0], t[1]),
            );
        }
    }
    // The branch taken decides: at y = 0 with x > 1 the angle is zero and (c, s) = (1, x),
    // so the result is x² + 3x².
    let (value, (dx, _)) = rotated_grad(1.5, 0.0, 0);
    assert_eq!(value, 1.5 * 1.5 + 3.0 * 1.5 * 1.5);
    assert_eq!(dx, 2.0 * 1.5 + 6.0 * 1.5);
}

/// At a kink the branch taken decides: `relu` written as a branch has derivative 0 at 0
/// (the `else` branch), as the lecture's convention has it.
#[test]
fn at_a_kink_the_branch_taken_decides() {
    assert_eq!(activate_grad(0.0, Activation::Relu), (0.0, 0.0));
    assert_eq!(piecewise_grad(1.0).1, 1.0); // ln x + 0.5 at 1: 1/x
    assert_eq!(piecewise_grad(-1.0).1, -1.0); // 0.5 x² at -1: x
}

// ---- Loops --------------------------------------------------------------------------

#[differentiable]
fn sum_of_squares(x: &Array1<f64>) -> f64 {
    let mut acc = 0.0;
    for i in 0..x.len() {
        acc += x[i] * x[i];
    }
    acc
}

#[allow(clippy::assign_op_pattern)]
#[differentiable]
fn dot_loop(a: &Array1<f64>, b: &Array1<f64>) -> f64 {
    let mut acc = 0.0;
    for i in 0..a.len() {
        acc = acc + a[i] * b[i];
    }
    acc
}

/// Horner's rule: p(x) = c₀ + x(c₁ + x(c₂ + …)), differentiated in x and the coefficients.
#[differentiable]
fn horner(c: &Array1<f64>, x: f64) -> f64 {
    let mut p = 0.0;
    for i in (0..c.len()).rev() {
        p = p * x + c[i];
    }
    p
}

/// Newton's method for √a, iterated to a tolerance: the derivative of the converged
/// iteration is 1/(2√a).
#[differentiable]
fn newton_sqrt(a: f64) -> f64 {
    let mut x = a.max(1.0);
    while (x * x - a).abs() > 1e-12 * a {
        x = 0.5 * (x + a / x);
    }
    x
}

/// The sum of the elements up to the first that exceeds the threshold: `break`.
#[differentiable(wrt(x))]
fn sum_until(x: &Array1<f64>, threshold: f64) -> f64 {
    let mut acc = 0.0;
    let mut i = 0;
    loop {
        if i == x.len() {
            break;
        }
        if x[i] > threshold {
            break;
        }
        acc += x[i].exp();
        i += 1;
    }
    acc
}

/// Skips negative elements: `continue`.
#[differentiable]
fn positive_sines(x: &Array1<f64>) -> f64 {
    let mut acc = 0.0;
    for i in 0..x.len() {
        if x[i] < 0.0 {
            continue;
        }
        acc += x[i].sin() * x[i];
    }
    acc
}

/// A loop whose trip count is a parameter.
#[differentiable(wrt(x))]
fn repeated_square_root(x: f64, n: usize) -> f64 {
    let mut y = x;
    for _ in 0..n {
        y = y.sqrt();
    }
    y
}

/// Nested loops over a triangular index range: Σ_{i<j} xᵢ xⱼ.
#[differentiable]
fn pairwise(x: &Array1<f64>) -> f64 {
    let mut acc = 0.0;
    for i in 0..x.len() {
        for j in (i + 1)..x.len() {
            acc += x[i] * x[j];
        }
    }
    acc
}

/// `..=`, `.step_by`, and a matrix indexed by row and column.
#[differentiable]
fn strided(m: &Array2<f64>) -> f64 {
    let mut acc = 0.0;
    for i in (0..m.nrows()).step_by(2) {
        for j in 0..=1 {
            acc += m[[i, j]].powi(2) * (j as f64 + 1.0);
        }
    }
    acc
}

/// A linear search: the index found is a constant; the value read there is not.
#[differentiable]
fn first_above_one(x: &Array1<f64>) -> f64 {
    let mut found = x.len();
    for i in 0..x.len() {
        if x[i] > 1.0 {
            found = i;
            break;
        }
    }
    if found < x.len() {
        x[found] * 3.0
    } else {
        x.sum()
    }
}

/// Bubble sort of three values by swaps (a tuple assignment, and through a temporary):
/// the derivative follows the permutation.
#[allow(clippy::manual_swap)]
#[differentiable]
fn weighted_sorted(a: f64, b: f64, c: f64) -> f64 {
    let (mut x, mut y, mut z) = (a, b, c);
    for _ in 0..2 {
        if x > y {
            (x, y) = (y, x);
        }
        if y > z {
            let t = y;
            y = z;
            z = t;
        }
    }
    x + 2.0 * y + 3.0 * z
}

#[test]
fn loops_carry_values_across_iterations() {
    let x = [0.5, -1.25, 2.0, 0.75];
    check_vector_fn!(
        sum_of_squares,
        sum_of_squares_grad,
        sum_of_squares_jvp,
        sum_of_squares_vjp,
        x
    );
    check_vector_fn!(
        positive_sines,
        positive_sines_grad,
        positive_sines_jvp,
        positive_sines_vjp,
        x
    );
    check_vector_fn!(pairwise, pairwise_grad, pairwise_jvp, pairwise_vjp, x);
    check_vector_fn!(
        first_above_one,
        first_above_one_grad,
        first_above_one_jvp,
        first_above_one_vjp,
        x
    );
    check_vector_fn!(
        first_above_one,
        first_above_one_grad,
        first_above_one_jvp,
        first_above_one_vjp,
        [0.5, 0.25]
    );
    check_scalar_fn!(
        newton_sqrt,
        newton_sqrt_grad,
        newton_sqrt_jvp,
        [0.3, 2.0, 9.0]
    );
    assert!((newton_sqrt_grad(2.0).1 - 0.5 / 2f64.sqrt()).abs() < 1e-12);

    let (a, b) = (Array1::from(x.to_vec()), array![1.0, 2.0, -0.5, 0.25]);
    let (value, (da, db)) = dot_loop_grad(&a, &b);
    assert_eq!(value, a.dot(&b));
    assert_eq!((da, db), (b.clone(), a.clone()));

    let c = array![1.0, -2.0, 0.5, 3.0];
    check_scalar(
        "horner",
        &[1.0, -2.0, 0.5, 3.0, 0.7],
        |v| horner(&Array1::from(v[..4].to_vec()), v[4]),
        |v| {
            let (value, (dc, dx)) = horner_grad(&Array1::from(v[..4].to_vec()), v[4]);
            let mut g = flat(&dc);
            g.push(dx);
            (value, g)
        },
        |v, t| {
            horner_jvp(
                &Array1::from(v[..4].to_vec()),
                v[4],
                Array1::from(t[..4].to_vec()),
                t[4],
            )
        },
    );
    // p'(x) = c₁ + 2c₂x + 3c₃x².
    let dp = c[1] + 2.0 * c[2] * 0.7 + 3.0 * c[3] * 0.49;
    assert!((horner_grad(&c, 0.7).1 .1 - dp).abs() < 1e-12);

    let (_, g) = sum_until_grad(&Array1::from(x.to_vec()), 1.5);
    let expected: Vec<f64> = vec![0.5_f64.exp(), (-1.25_f64).exp(), 0.0, 0.0];
    assert_eq!(flat(&g), expected);

    for n in [0, 1, 3] {
        let (y, g) = repeated_square_root_grad(1.7, n);
        let p = 0.5_f64.powi(n as i32);
        assert!((y - 1.7_f64.powf(p)).abs() < 1e-12);
        assert!((g - p * 1.7_f64.powf(p - 1.0)).abs() < 1e-12, "n = {n}");
    }

    let m = Array2::from_shape_fn((5, 3), |(i, j)| (i * 3 + j) as f64 / 4.0 - 1.0);
    let (_, g) = strided_grad(&m);
    let expected = Array2::from_shape_fn((5, 3), |(i, j)| match (i % 2, j) {
        (0, 0 | 1) => 2.0 * m[[i, j]] * (j as f64 + 1.0),
        _ => 0.0,
    });
    assert_eq!(g, expected);
    assert_eq!(strided_jvp(&m, Array2::ones((5, 3))).1, expected.sum());

    // The smallest value gets weight 1, the largest 3, whatever the order.
    for (a, b, c) in [(3.0, 1.0, 2.0), (1.0, 2.0, 3.0), (2.0, 3.0, 1.0)] {
        let (_, (da, db, dc)) = weighted_sorted_grad(a, b, c);
        let rank = |v: f64| 1.0 + [a, b, c].iter().filter(|&&w| w < v).count() as f64;
        assert_eq!((da, db, dc), (rank(a), rank(b), rank(c)));
        assert_eq!(weighted_sorted_jvp(a, b, c, 1.0, 0.0, 0.0).1, rank(a));
    }
}

// ---- Recurrences ----------------------------------------------------------------------

/// Explicit Euler for the damped oscillator x″ = −k x − c x′, differentiated with respect
/// to its parameters and its initial state.
#[differentiable(wrt(k, c, x0, v0))]
fn euler(k: f64, c: f64, x0: f64, v0: f64, steps: usize, dt: f64) -> f64 {
    let mut x = x0;
    let mut v = v0;
    for _ in 0..steps {
        let a = -k * x - c * v;
        x += dt * v;
        v += dt * a;
    }
    x * x + v
}

/// An RNN over time steps: the hidden state is an array carried by the loop.
#[differentiable(wrt(w, u, b))]
fn rnn(w: &Array2<f64>, u: &Array2<f64>, b: &Array1<f64>, xs: &Array2<f64>) -> f64 {
    let mut h = Array1::zeros(b.len());
    for t in 0..xs.nrows() {
        let x = xs.row(t).to_owned();
        h = (w.dot(&h) + u.dot(&x) + b).tanh();
    }
    h.sum()
}

#[test]
fn recurrences_differentiate_through_every_step() {
    check_scalar(
        "euler",
        &[2.0, 0.3, 1.0, -0.5],
        |p| euler(p[0], p[1], p[2], p[3], 50, 0.02),
        |p| {
            let (value, (dk, dc, dx, dv)) = euler_grad(p[0], p[1], p[2], p[3], 50, 0.02);
            (value, vec![dk, dc, dx, dv])
        },
        |p, t| euler_jvp(p[0], p[1], p[2], p[3], 50, 0.02, t[0], t[1], t[2], t[3]),
    );

    let (n, d, steps) = (3, 2, 4);
    let w0: Vec<f64> = (0..n * n)
        .map(|i| ((i * 7) % 5) as f64 / 10.0 - 0.2)
        .collect();
    let u0: Vec<f64> = (0..n * d)
        .map(|i| ((i * 3) % 4) as f64 / 8.0 - 0.1)
        .collect();
    let b0 = vec![0.1, -0.2, 0.05];
    let xs = Array2::from_shape_fn((steps, d), |(t, j)| (t as f64 - j as f64) / 3.0);
    let unpack = |p: &[f64]| {
        (
            Array2::from_shape_vec((n, n), p[..n * n].to_vec()).unwrap(),
            Array2::from_shape_vec((n, d), p[n * n..n * n + n * d].to_vec()).unwrap(),
            Array1::from(p[n * n + n * d..].to_vec()),
        )
    };
    let p: Vec<f64> = w0.iter().chain(&u0).chain(&b0).copied().collect();
    check_scalar(
        "rnn",
        &p,
        |p| {
            let (w, u, b) = unpack(p);
            rnn(&w, &u, &b, &xs)
        },
        |p| {
            let (w, u, b) = unpack(p);
            let (value, (dw, du, db)) = rnn_grad(&w, &u, &b, &xs);
            (value, dw.iter().chain(&du).chain(&db).copied().collect())
        },
        |p, t| {
            let (w, u, b) = unpack(p);
            let (tw, tu, tb) = unpack(t);
            rnn_jvp(&w, &u, &b, &xs, tw, tu, tb)
        },
    );
}

// ---- Iterating data, calls, Jacobians and Hessians ----------------------------------

/// A loss summed over data points, iterating the rows of a constant matrix zipped with
/// the labels.
#[differentiable(wrt(w))]
fn squared_loss(w: &Array1<f64>, x: &Array2<f64>, y: &Array1<f64>) -> f64 {
    let mut loss = 0.0;
    for (xi, &yi) in x.rows().into_iter().zip(y) {
        let r = xi.dot(w) - yi;
        loss += r * r;
    }
    loss / y.len() as f64
}

#[differentiable]
fn softplus_of(x: f64) -> f64 {
    (1.0 + x.exp()).ln()
}

/// Calls of another differentiable function inside a loop and a branch.
#[differentiable]
fn calls_in_loop(x: &Array1<f64>) -> f64 {
    let mut acc = 0.0;
    for i in 0..x.len() {
        if i % 2 == 0 {
            acc += softplus_of(x[i]);
        } else {
            acc -= softplus_of(-x[i]);
        }
    }
    acc
}

/// A vector result computed by a loop: its Jacobian through the loop, in both directions.
#[differentiable]
fn running(x: f64, y: f64) -> (f64, f64, f64) {
    let mut a = x;
    let mut b = y;
    let mut c = 0.0;
    for k in 1..4 {
        if a > b {
            c += a * k as f64;
        } else {
            c -= b;
        }
        a = a.sin() + b;
        b *= 0.5;
    }
    (a, b, c)
}

#[differentiable(hessian)]
fn loop_hessian(x: f64, y: f64) -> f64 {
    let mut acc = 0.0;
    let mut p = x;
    for _ in 0..3 {
        if p > 0.0 {
            acc += p * y;
        } else {
            acc += p.exp();
        }
        p = p * x - y;
    }
    acc
}

#[test]
fn data_calls_jacobians_and_hessians_go_through_regions() {
    let x = Array2::from_shape_fn((5, 3), |(i, j)| ((i + 2 * j) % 4) as f64 / 2.0 - 0.5);
    let y = array![1.0, -0.5, 0.25, 2.0, 0.0];
    let w0 = [0.3, -0.2, 0.8];
    check_scalar(
        "squared_loss",
        &w0,
        |w| squared_loss(&Array1::from(w.to_vec()), &x, &y),
        |w| {
            let (value, g) = squared_loss_grad(&Array1::from(w.to_vec()), &x, &y);
            (value, flat(&g))
        },
        |w, t| squared_loss_jvp(&Array1::from(w.to_vec()), &x, &y, Array1::from(t.to_vec())),
    );
    check_vector_fn!(
        calls_in_loop,
        calls_in_loop_grad,
        calls_in_loop_jvp,
        calls_in_loop_vjp,
        [0.5, -1.0, 2.0]
    );

    for point in [[0.3, 0.9], [1.2, -0.4]] {
        check_vector(
            "running",
            &point,
            |p| {
                let (a, b, c) = running(p[0], p[1]);
                vec![a, b, c]
            },
            |p| running_jacobian(p[0], p[1]).1,
            |p, t| {
                let (_, (a, b, c)) = running_jvp(p[0], p[1], t[0], t[1]);
                vec![a, b, c]
            },
            |p, c| {
                let (_, (dx, dy)) = running_vjp(p[0], p[1], (c[0], c[1], c[2]));
                vec![dx, dy]
            },
        );
    }

    for (x, y) in [(0.7, 0.2), (-0.4, 0.5), (1.1, -0.3)] {
        let (value, (gx, gy), h) = loop_hessian_hessian(x, y);
        assert_eq!(value, loop_hessian(x, y));
        assert_eq!((gx, gy), loop_hessian_grad(x, y).1);
        let eps = 1e-5;
        let column = |d: (f64, f64)| {
            let (_, plus) = loop_hessian_grad(x + d.0, y + d.1);
            let (_, minus) = loop_hessian_grad(x - d.0, y - d.1);
            [
                (plus.0 - minus.0) / (2.0 * eps),
                (plus.1 - minus.1) / (2.0 * eps),
            ]
        };
        let (c0, c1) = (column((eps, 0.0)), column((0.0, eps)));
        for (i, j, fd) in [(0, 0, c0[0]), (1, 0, c0[1]), (0, 1, c1[0]), (1, 1, c1[1])] {
            assert!(
                (h[[i, j]] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
                "H[{i}, {j}] = {}, differences of the gradient {fd} at ({x}, {y})",
                h[[i, j]]
            );
        }
    }
}

// ---- Writing elements ---------------------------------------------------------------

/// The lower-triangular factor of the Gaussian-mixture objective, built element by element
/// from its log-diagonal `q` and its packed strictly-lower part `l`, then applied to `x`.
#[differentiable(wrt(q, l))]
fn triangular_quadratic(q: &Array1<f64>, l: &Array1<f64>, x: &Array1<f64>) -> f64 {
    let d = q.len();
    let mut m = Array2::zeros((d, d));
    let mut k = 0;
    for i in 0..d {
        m[[i, i]] = q[i].exp();
        for j in 0..i {
            m[[i, j]] = l[k];
            k += 1;
        }
    }
    let y = m.dot(x);
    y.dot(&y) * 0.5
}

/// Accumulating into a local vector (`y[i] += …`), reading an element before and after it
/// is overwritten: each read sees the value the element had then.
#[differentiable]
fn scatter_then_read(x: &Array1<f64>) -> f64 {
    let mut y = Array1::<f64>::zeros(3);
    for i in 0..x.len() {
        y[i % 3] += x[i] * x[i];
    }
    let before = y[0];
    y[0] = y[1].sin();
    let after = y[0];
    before * after + y.sum()
}

/// Writes in straight-line code, into a copy of a parameter.
#[differentiable]
fn overwrite(x: &Array1<f64>, s: f64) -> f64 {
    let mut v = x.to_owned();
    v[0] = s * s;
    v[2] = v[1] * s;
    (&v * &v).sum()
}

// ---- Loops summed into the result --------------------------------------------------------
// Their adjoint runs in the forward sweep, each iteration's after its forward code, from the
// seed: the adjoint of a value only summed into the result is the seed.

/// A likelihood's shape: per point, an inner loop carrying a running maximum and a spread
/// through a branch, summed over the points, then more terms added and subtracted.
#[differentiable(wrt(w))]
fn summed_over_points(w: &Array1<f64>, x: &Array1<f64>) -> f64 {
    let mut total = 0.0;
    for i in 0..x.len() {
        let mut best = w[0] * x[i];
        let mut spread = 0.0;
        for k in 1..w.len() {
            let term = w[k] * x[i] - 0.5 * w[k] * w[k];
            if term > best {
                spread = 0.5 * spread + (term - best);
                best = term;
            } else {
                spread += (term - best).exp();
            }
        }
        total += best + spread.ln_1p();
        total -= 0.1 * w[i % w.len()];
    }
    let norm = w.dot(w);
    0.5 - total + norm
}

/// Two sums, a `while` loop whose condition reads a constant, a `break`.
#[allow(clippy::assign_op_pattern)]
#[differentiable(wrt(x))]
fn two_sums_until(x: &Array1<f64>, limit: usize) -> f64 {
    let mut s = 0.0;
    let mut t = x[0];
    let mut i = 0;
    while i < x.len() {
        s += x[i].sin();
        t = t - x[i] * x[0];
        if i == limit {
            break;
        }
        i += 1;
    }
    s + t
}

/// Summed into through branches (an arm leaving it unchanged) and an inner loop.
#[allow(clippy::assign_op_pattern)]
#[differentiable(wrt(w))]
fn summed_through_regions(w: &Array1<f64>, x: &Array1<f64>) -> f64 {
    let mut loss = 0.0;
    for i in 0..x.len() {
        let r = w[0] * x[i] - w[1];
        if r.abs() < 1.0 {
            loss += 0.5 * r * r;
        } else if r > 0.0 {
            loss += r - 0.5;
        }
        for j in 0..w.len() {
            loss += 0.01 * w[j] * w[j] * x[i];
        }
    }
    let mut penalty = 0.0;
    for j in 0..w.len() {
        penalty = penalty + w[j].abs();
    }
    if penalty > 1.0 {
        loss + penalty
    } else {
        loss - 0.5
    }
}

/// Reset in one arm: not only summed into (recorded as before).
#[differentiable(wrt(w))]
fn reset_in_a_branch(w: &Array1<f64>, x: &Array1<f64>) -> f64 {
    let mut run = 0.0;
    let mut total = 0.0;
    for i in 0..x.len() {
        if x[i] > 1.0 {
            run = 0.0;
        } else {
            run += w[i % w.len()] * x[i];
        }
        total += run * run;
    }
    total
}

/// The sum is also read as a factor: not only summed into the result (recorded as before).
#[differentiable]
fn sum_read_twice(x: &Array1<f64>) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i] * x[i];
    }
    s * s + s
}

#[test]
fn loops_summed_into_the_result_run_their_adjoint_with_their_forward_code() {
    let x = array![0.3, -1.1, 0.8, 2.0, -0.4];
    let v = |w: &[f64]| Array1::from(w.to_vec());
    check_scalar(
        "summed_over_points",
        &[0.5, -0.25, 1.5],
        |w| summed_over_points(&v(w), &x),
        |w| {
            let (value, g) = summed_over_points_grad(&v(w), &x);
            (value, flat(&g))
        },
        |w, t| summed_over_points_jvp(&v(w), &x, v(t)),
    );
    for limit in [0, 2, 10] {
        check_scalar(
            "two_sums_until",
            &[0.7, -0.2, 1.3, 0.4],
            |x| two_sums_until(&v(x), limit),
            |x| {
                let (value, g) = two_sums_until_grad(&v(x), limit);
                (value, flat(&g))
            },
            |x, t| two_sums_until_jvp(&v(x), limit, v(t)),
        );
    }
    check_vector_fn!(
        sum_read_twice,
        sum_read_twice_grad,
        sum_read_twice_jvp,
        sum_read_twice_vjp,
        [0.5, -1.25, 2.0]
    );
    for (name, f, grad, jvp) in [
        (
            "summed_through_regions",
            summed_through_regions as fn(&Array1<f64>, &Array1<f64>) -> f64,
            summed_through_regions_grad as fn(&Array1<f64>, &Array1<f64>) -> (f64, Array1<f64>),
            summed_through_regions_jvp as fn(&Array1<f64>, &Array1<f64>, Array1<f64>) -> (f64, f64),
        ),
        (
            "reset_in_a_branch",
            reset_in_a_branch,
            reset_in_a_branch_grad,
            reset_in_a_branch_jvp,
        ),
    ] {
        for w in [[0.5, -0.25, 1.5], [2.0, 0.3, -0.1]] {
            check_scalar(
                name,
                &w,
                |w| f(&v(w), &x),
                |w| {
                    let (value, g) = grad(&v(w), &x);
                    (value, flat(&g))
                },
                |w, t| jvp(&v(w), &x, v(t)),
            );
        }
    }
    // A cotangent seeds the fused adjoint as it seeds the rest.
    let w = array![0.5, -0.25, 1.5];
    let (_, g) = summed_over_points_grad(&w, &x);
    let (_, scaled) = summed_over_points_vjp(&w, &x, 2.5);
    for (scaled, g) in scaled.iter().zip(&g) {
        assert!((scaled - 2.5 * g).abs() < 1e-12, "{scaled} != 2.5 · {g}");
    }
}

#[test]
fn element_writes_keep_the_values_each_read_saw() {
    let (q0, l0, x) = (
        vec![0.1, -0.3, 0.2],
        vec![0.5, -0.25, 0.75],
        array![1.0, -2.0, 0.5],
    );
    let p: Vec<f64> = q0.iter().chain(&l0).copied().collect();
    let split = |p: &[f64]| (Array1::from(p[..3].to_vec()), Array1::from(p[3..].to_vec()));
    check_scalar(
        "triangular_quadratic",
        &p,
        |p| {
            let (q, l) = split(p);
            triangular_quadratic(&q, &l, &x)
        },
        |p| {
            let (q, l) = split(p);
            let (value, (dq, dl)) = triangular_quadratic_grad(&q, &l, &x);
            (value, dq.iter().chain(&dl).copied().collect())
        },
        |p, t| {
            let (q, l) = split(p);
            let (tq, tl) = split(t);
            triangular_quadratic_jvp(&q, &l, &x, tq, tl)
        },
    );
    check_vector_fn!(
        scatter_then_read,
        scatter_then_read_grad,
        scatter_then_read_jvp,
        scatter_then_read_vjp,
        [0.5, -1.0, 2.0, 0.25, 1.5]
    );
    check_scalar(
        "overwrite",
        &[0.5, -1.0, 2.0, 0.3],
        |p| overwrite(&Array1::from(p[..3].to_vec()), p[3]),
        |p| {
            let (value, (dx, ds)) = overwrite_grad(&Array1::from(p[..3].to_vec()), p[3]);
            let mut g = flat(&dx);
            g.push(ds);
            (value, g)
        },
        |p, t| {
            overwrite_jvp(
                &Array1::from(p[..3].to_vec()),
                p[3],
                Array1::from(t[..3].to_vec()),
                t[3],
            )
        },
    );
}

// ---- Returning early ------------------------------------------------------------------

/// A guard clause, then the rest of the function.
#[differentiable]
fn guarded(x: f64) -> f64 {
    if x < 0.0 {
        return x * 0.5;
    }
    let y = x.sqrt();
    y * x
}

/// Returns from inside a loop (and from inside a nested one), or falls through to the end.
#[differentiable(wrt(x))]
fn first_large_square(x: &Array1<f64>, limit: f64) -> f64 {
    let mut total: f64 = 0.0;
    for i in 0..x.len() {
        for j in 0..2 {
            let s = x[i] * x[i] + j as f64;
            if s > limit {
                return s * total.exp();
            }
        }
        total += x[i].sin();
    }
    total
}

/// `return` in a `while` loop, with the final expression written as `return`.
#[allow(clippy::needless_return)]
#[differentiable]
fn halve_until_small(x: f64) -> f64 {
    let mut y = x;
    let mut steps = 0;
    while steps < 100 {
        if y.abs() < 1.0 {
            return y * y;
        }
        y *= 0.5;
        steps += 1;
    }
    return y;
}

#[test]
fn early_returns_leave_from_branches_and_loops() {
    check_scalar_fn!(guarded, guarded_grad, guarded_jvp, [-2.0, 0.5, 3.0]);
    check_scalar_fn!(
        halve_until_small,
        halve_until_small_grad,
        halve_until_small_jvp,
        [0.5, 3.0, -7.0]
    );
    // 3·(x/4)² at x = 3: 3 halvings.
    assert!((halve_until_small_grad(3.0).1 - 2.0 * 3.0 / 16.0).abs() < 1e-12);
    for limit in [0.5, 2.5, 100.0] {
        let x = [0.5, 1.2, -1.5];
        check_scalar(
            "first_large_square",
            &x,
            |x| first_large_square(&Array1::from(x.to_vec()), limit),
            |x| {
                let (value, g) = first_large_square_grad(&Array1::from(x.to_vec()), limit);
                (value, flat(&g))
            },
            |x, t| {
                first_large_square_jvp(&Array1::from(x.to_vec()), limit, Array1::from(t.to_vec()))
            },
        );
    }
}

// ---- Iterating a differentiated array -------------------------------------------------

/// Rows of a differentiated matrix, zipped with constant labels.
#[differentiable(wrt(x, w))]
fn rows_zipped(x: &Array2<f64>, w: &Array1<f64>, y: &[f64]) -> f64 {
    let mut loss = 0.0;
    for (xi, &yi) in x.rows().into_iter().zip(y) {
        let r = xi.dot(w) - yi;
        loss += r * r;
    }
    loss
}

/// Elements by reference, enumerated, and columns.
#[differentiable]
fn elements_and_columns(v: &Array1<f64>, m: &Array2<f64>) -> f64 {
    let mut acc = 0.0;
    for &e in v.iter() {
        acc += e.sin();
    }
    for (k, e) in v.iter().enumerate() {
        acc += *e * k as f64;
    }
    for c in m.columns() {
        acc += c.sum() * c[0];
    }
    acc + m.row(1).dot(v)
}

/// Two differentiated arrays zipped (elements by value or by reference, `zip(y)` or
/// `zip(y.iter())`, rows with rows), and a constant zipped with a differentiated array: each
/// differentiated side read at the index, as long as the shorter lasts.
#[differentiable(wrt(x, y, m))]
fn arrays_zipped(x: &Array1<f64>, y: &Array1<f64>, m: &Array2<f64>, c: &[f64]) -> f64 {
    let mut s = 0.0;
    for (&a, &b) in x.iter().zip(y.iter()) {
        s += (a * b).sin() + a.abs();
    }
    for (a, b) in x.iter().zip(y) {
        s += a * b * b;
    }
    for (ci, &yi) in c.iter().zip(y.iter()) {
        s += ci * yi.exp();
    }
    for (row, other) in m.rows().into_iter().zip(m.rows()) {
        s += row.dot(&other) * x[0];
    }
    s
}

/// Loops over elements nested in other loops: the names their patterns bind are values
/// (they were taken for constants, the loops' sums with them: every derivative 0).
#[differentiable]
fn nested_element_loops(x: &Array1<f64>, y: &Array1<f64>) -> f64 {
    let mut s = 0.0;
    for _ in 0..2 {
        for (&a, &b) in x.iter().zip(y.iter()) {
            s += a * b;
        }
        for &v in x.iter() {
            s += v.sin();
        }
    }
    s
}

#[derive(Parameters, Clone, Debug)]
pub struct Pair {
    w: Array1<f64>,
    b: Array1<f64>,
}

#[derive(Parameters, Clone, Debug)]
pub struct Pairs {
    layers: Vec<Pair>,
}

/// A layer's fields iterated inside `for layer in &p.layers`: each rewritten loop has an
/// index of its own (`layer` read inside the inner loop was the inner index's layer).
#[differentiable(wrt(p))]
fn fields_of_layers(p: &Pairs) -> f64 {
    let mut s = 0.0;
    for layer in &p.layers {
        for (&a, &b) in layer.w.iter().zip(layer.b.iter()) {
            s += a * b;
        }
        for &a in layer.w.iter() {
            s += a * a;
        }
    }
    s
}

#[test]
fn loops_over_differentiated_arrays_scatter_back() {
    let y = [1.0, -0.5, 2.0];
    let (r, c) = (3, 2);
    check_scalar(
        "rows_zipped",
        &[0.5, -1.0, 2.0, 0.25, -0.75, 1.5, 0.3, -0.2],
        |p| {
            let x = Array2::from_shape_vec((r, c), p[..6].to_vec()).unwrap();
            rows_zipped(&x, &Array1::from(p[6..].to_vec()), &y)
        },
        |p| {
            let x = Array2::from_shape_vec((r, c), p[..6].to_vec()).unwrap();
            let (value, (dx, dw)) = rows_zipped_grad(&x, &Array1::from(p[6..].to_vec()), &y);
            (value, dx.iter().chain(&dw).copied().collect())
        },
        |p, t| {
            let x = Array2::from_shape_vec((r, c), p[..6].to_vec()).unwrap();
            let tx = Array2::from_shape_vec((r, c), t[..6].to_vec()).unwrap();
            rows_zipped_jvp(
                &x,
                &Array1::from(p[6..].to_vec()),
                &y,
                tx,
                Array1::from(t[6..].to_vec()),
            )
        },
    );
    let constants = [0.5, -2.0];
    let parts = |p: &[f64]| {
        let m = Array2::from_shape_vec((2, 2), p[6..].to_vec()).unwrap();
        (
            Array1::from(p[..3].to_vec()),
            Array1::from(p[3..6].to_vec()),
            m,
        )
    };
    check_scalar(
        "arrays_zipped",
        &[0.5, -1.0, 2.0, 0.25, -0.75, 1.5, 0.3, -0.2, 0.9, 1.1],
        |p| {
            let (x, y, m) = parts(p);
            arrays_zipped(&x, &y, &m, &constants)
        },
        |p| {
            let (x, y, m) = parts(p);
            let (value, (dx, dy, dm)) = arrays_zipped_grad(&x, &y, &m, &constants);
            (value, dx.iter().chain(&dy).chain(&dm).copied().collect())
        },
        |p, t| {
            let ((x, y, m), (tx, ty, tm)) = (parts(p), parts(t));
            arrays_zipped_jvp(&x, &y, &m, &constants, tx, ty, tm)
        },
    );
    let split = |p: &[f64]| (Array1::from(p[..2].to_vec()), Array1::from(p[2..].to_vec()));
    check_scalar(
        "nested_element_loops",
        &[1.0, 2.0, 3.0, 4.0],
        |p| {
            let (x, y) = split(p);
            nested_element_loops(&x, &y)
        },
        |p| {
            let (x, y) = split(p);
            let (value, (dx, dy)) = nested_element_loops_grad(&x, &y);
            (value, dx.iter().chain(&dy).copied().collect())
        },
        |p, t| {
            let ((x, y), (tx, ty)) = (split(p), split(t));
            nested_element_loops_jvp(&x, &y, tx, ty)
        },
    );
    let pairs = Pairs {
        layers: vec![
            Pair {
                w: array![1.0, 2.0],
                b: array![3.0, 4.0],
            },
            Pair {
                w: array![5.0, 6.0],
                b: array![7.0, 8.0],
            },
        ],
    };
    let (value, g) = fields_of_layers_grad(&pairs);
    assert_eq!(value, fields_of_layers(&pairs));
    assert_eq!(value, 94.0 + 66.0);
    for (layer, grad) in pairs.layers.iter().zip(&g.layers) {
        assert_eq!(grad.w, &layer.b + &(&layer.w * 2.0));
        assert_eq!(grad.b, layer.w);
    }
    check_scalar(
        "elements_and_columns",
        &[0.5, -1.0, 2.0, 0.25, -0.75, 1.5, 0.3, -0.2, 0.9],
        |p| {
            let m = Array2::from_shape_vec((2, 3), p[3..].to_vec()).unwrap();
            elements_and_columns(&Array1::from(p[..3].to_vec()), &m)
        },
        |p| {
            let m = Array2::from_shape_vec((2, 3), p[3..].to_vec()).unwrap();
            let (value, (dv, dm)) = elements_and_columns_grad(&Array1::from(p[..3].to_vec()), &m);
            (value, dv.iter().chain(&dm).copied().collect())
        },
        |p, t| {
            let m = Array2::from_shape_vec((2, 3), p[3..].to_vec()).unwrap();
            let tm = Array2::from_shape_vec((2, 3), t[3..].to_vec()).unwrap();
            elements_and_columns_jvp(
                &Array1::from(p[..3].to_vec()),
                &m,
                Array1::from(t[..3].to_vec()),
                tm,
            )
        },
    );
}

/// Found by the Gaussian-mixture work: a constant written into a constant array, a tuple
/// of shapes, and an array filled element by element in a loop.
#[differentiable(wrt(w))]
fn constants_and_fills(w: &Array1<f64>, x: &Array2<f64>) -> f64 {
    let (n, d) = x.dim();
    let mut p = Array1::<f64>::zeros(w.len());
    p[0] = 1.0;
    let mut v = Array1::zeros(w.len());
    for c in 0..w.len() {
        v[c] = w[c] * (n + d) as f64;
    }
    w.dot(&p) + v.sum()
}

#[test]
fn constant_writes_and_shape_tuples() {
    let x = Array2::<f64>::zeros((2, 3));
    let w = array![0.5, -1.0, 2.0];
    let (value, g) = constants_and_fills_grad(&w, &x);
    assert_eq!(value, constants_and_fills(&w, &x));
    assert_eq!(g, array![6.0, 5.0, 5.0]);
}

/// ln(1 + eˣ) with rules of its own (a primitive), called inside a loop and a branch.
#[differentiable(vjp = log1pexp_vjp_rule, jvp = log1pexp_jvp_rule)]
fn log1pexp(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

fn log1pexp_vjp_rule(x: f64, cotangent: f64) -> (f64, f64) {
    (log1pexp(x), cotangent * sigmoid(x))
}

fn log1pexp_jvp_rule(x: f64, x_tangent: f64) -> (f64, f64) {
    (log1pexp(x), x_tangent * sigmoid(x))
}

#[differentiable]
fn custom_rule_in_loop(x: &Array1<f64>) -> f64 {
    let mut acc = 0.0;
    for i in 0..x.len() {
        if x[i] > -1.0 {
            acc += log1pexp(x[i] * 2.0);
        }
    }
    acc
}

#[test]
fn custom_rules_inside_loops() {
    check_vector_fn!(
        custom_rule_in_loop,
        custom_rule_in_loop_grad,
        custom_rule_in_loop_jvp,
        custom_rule_in_loop_vjp,
        [0.5, -2.0, 1.5, -0.5]
    );
}

// ---- Elementwise closures -------------------------------------------------------------
// `x.mapv(|v| …)` and `x.map(|&v| …)`: the closure's body differentiated per element, value
// and derivative in one pass.

#[differentiable]
fn mapped_tanh(x: &Array1<f64>) -> f64 {
    let a = 2.0;
    x.mapv(|v| (a * v).tanh() + v * v).sum()
}

/// `map` with the element by reference: `*v` reads it, in conditions too.
#[differentiable]
fn mapped_by_reference(x: &Array1<f64>) -> f64 {
    let y = x.map(|v| if *v > 0.0 { v.tanh() * *v } else { -*v * 0.5 });
    let z = x.map(|v: &f64| v.exp() + 1.0);
    (&y * &z).sum() + x.mapv(sigmoid).sum()
}

/// A closure reading a constant that cannot be shared between threads runs on one core.
#[differentiable]
fn mapped_unshared(x: &Array1<f64>) -> f64 {
    let scale = std::rc::Rc::new(std::cell::Cell::new(1.5_f64));
    x.mapv(|v| (v * scale.get()).sin()).sum()
}

#[differentiable]
fn mapped_block(x: &Array1<f64>) -> f64 {
    let y = x.map(|&v| {
        let t = v * v;
        t.exp() - 1.0
    });
    (&y * x).sum()
}

/// GELU (tanh approximation) and Swish, as activations are written with ndarray.
#[differentiable]
fn gelu_sum(x: &Array1<f64>) -> f64 {
    let c = (2.0 / std::f64::consts::PI).sqrt();
    x.mapv(|v| 0.5 * v * (1.0 + (c * (v + 0.044715 * v.powi(3))).tanh()))
        .sum()
}

#[differentiable]
fn swish_sum(x: &Array1<f64>) -> f64 {
    x.mapv(|v| v * sigmoid(v)).mapv(f64::sin).sum()
}

/// The Huber loss with a branch in the closure.
#[differentiable]
fn huber(x: &Array1<f64>, delta: f64) -> f64 {
    x.mapv(|r| {
        if r.abs() <= delta {
            0.5 * r * r
        } else {
            delta * (r.abs() - 0.5 * delta)
        }
    })
    .mean()
    .unwrap()
}

/// A closure capturing a differentiated scalar: its adjoint is Σ ḡ ⊙ ∂y/∂w.
#[differentiable]
fn captured(x: &Array1<f64>, w: f64) -> f64 {
    let s = w * w;
    x.mapv(|v| (v * s).sin() + w).sum()
}

#[test]
fn elementwise_closures_in_every_mode() {
    let x = [0.3, -1.2, 0.7, 2.1, -0.4];
    check_vector_fn!(
        mapped_tanh,
        mapped_tanh_grad,
        mapped_tanh_jvp,
        mapped_tanh_vjp,
        x
    );
    check_vector_fn!(
        mapped_block,
        mapped_block_grad,
        mapped_block_jvp,
        mapped_block_vjp,
        x
    );
    check_vector_fn!(gelu_sum, gelu_sum_grad, gelu_sum_jvp, gelu_sum_vjp, x);
    check_vector_fn!(
        mapped_unshared,
        mapped_unshared_grad,
        mapped_unshared_jvp,
        mapped_unshared_vjp,
        x
    );
    check_vector_fn!(
        mapped_by_reference,
        mapped_by_reference_grad,
        mapped_by_reference_jvp,
        mapped_by_reference_vjp,
        x
    );
    check_vector_fn!(swish_sum, swish_sum_grad, swish_sum_jvp, swish_sum_vjp, x);
}

/// A function of a vector and a scalar, as one flat input `[x…, w]`.
macro_rules! check_vector_scalar_fn {
    ($f:ident, $grad:ident, $jvp:ident, $vjp:ident, $x:expr) => {{
        let x: Vec<f64> = $x.to_vec();
        let split = |x: &[f64]| {
            let (w, v) = x.split_last().expect("a scalar last");
            (Array1::from(v.to_vec()), *w)
        };
        check_scalar(
            stringify!($f),
            &x,
            |x| {
                let (v, w) = split(x);
                $f(&v, w)
            },
            |x| {
                let (v, w) = split(x);
                let (value, (gv, gw)) = $grad(&v, w);
                let mut g = flat(&gv);
                g.push(gw);
                (value, g)
            },
            |x, t| {
                let ((v, w), (tv, tw)) = (split(x), split(t));
                $jvp(&v, w, tv, tw)
            },
        );
        let (v, w) = split(&x);
        assert_eq!(
            $vjp(&v, w, 1.0).1,
            $grad(&v, w).1,
            "{}: vjp(1)",
            stringify!($f)
        );
    }};
}

#[test]
fn elementwise_closures_capturing_scalars() {
    // Both arms of the Huber loss: |r| below and above δ.
    let x = [0.3, -1.2, 0.7, 2.1, -0.4, 0.9];
    check_vector_scalar_fn!(huber, huber_grad, huber_jvp, huber_vjp, x);
    check_vector_scalar_fn!(captured, captured_grad, captured_jvp, captured_vjp, x);
}

/// A closure in a loop: each iteration's partials are recorded for the adjoint sweep.
#[differentiable]
fn mapped_in_loop(x: &Array1<f64>) -> f64 {
    let mut y = x.to_owned();
    for k in 0..3 {
        let c = k as f64 + 0.5;
        y = y.mapv(|v| (c * v).sin() + v);
    }
    y.sum()
}

/// An array result: its Jacobian is diagonal.
#[differentiable]
fn activation(x: &Array1<f64>) -> Array1<f64> {
    x.mapv(|v| v * v.tanh())
}

#[differentiable]
fn gelu32(x: &Array1<f32>) -> f32 {
    x.mapv(|v| 0.5 * v * (1.0 + (0.797_884_6 * (v + 0.044715 * v * v * v)).tanh()))
        .sum()
}

#[test]
fn elementwise_closures_in_loops_with_array_results_and_in_f32() {
    let x = [0.3, -1.2, 0.7, 2.1, -0.4];
    check_vector_fn!(
        mapped_in_loop,
        mapped_in_loop_grad,
        mapped_in_loop_jvp,
        mapped_in_loop_vjp,
        x
    );
    let v = Array1::from(x.to_vec());
    let (y, j) = activation_jacobian(&v);
    assert_eq!(y, activation(&v));
    for (i, &x) in x.iter().enumerate() {
        let t = x.tanh();
        assert!((j[[i, i]] - (t + x * (1.0 - t * t))).abs() < 1e-14);
        assert_eq!(j.row(i).iter().filter(|&&d| d != 0.0).count(), 1);
    }
    let (_, tangent) = activation_jvp(&v, Array1::ones(5));
    assert_eq!(tangent, j.diag());
    let x32 = Array1::from(x.iter().map(|&x| x as f32).collect::<Vec<_>>());
    let (value, g) = gelu32_grad(&x32);
    assert_eq!(value, gelu32(&x32));
    let (_, g64) = gelu_sum_grad(&v);
    for (a, b) in g.iter().zip(&g64) {
        assert!((f64::from(*a) - b).abs() < 1e-5, "{a} vs {b}");
    }
    let (_, d) = gelu32_jvp(&x32, Array1::ones(5));
    assert!((d - g.sum()).abs() < 1e-5);
    // Long enough to run on every core: the same numbers as one core.
    let long = Array1::from_shape_fn(100_000, |i| (i as f64 * 1e-4).sin() * 3.0);
    let (value, g) = gelu_sum_grad(&long);
    let one_core = long.mapv(|v| {
        let c = (2.0 / std::f64::consts::PI).sqrt();
        let t = (c * (v + 0.044715 * v.powi(3))).tanh();
        (
            0.5 * v * (1.0 + t),
            0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * c * (1.0 + 3.0 * 0.044715 * v * v),
        )
    });
    assert!((value - one_core.iter().map(|p| p.0).sum::<f64>()).abs() < 1e-8);
    assert!(g
        .iter()
        .zip(&one_core)
        .all(|(a, b)| (a - b.1).abs() < 1e-12));
}

/// Loops, early returns and calls inside closures; a constant array mapped with a captured
/// parameter (a Gaussian log-likelihood's data term); names shadowed inside.
#[differentiable]
fn closure_with_loop(x: &Array1<f64>, w: f64) -> f64 {
    let a = x.mapv(|v| {
        let mut s = 0.0;
        for k in 1..4 {
            s += (v * k as f64).sin() / k as f64;
        }
        s
    });
    let b = x.mapv(|v| {
        let mut s = v;
        for _ in 0..2 {
            s = s * w + v;
        }
        s
    });
    a.sum() + b.sum()
}

#[differentiable]
fn inner_square(v: f64) -> f64 {
    v * v
}

#[differentiable]
fn closure_with_return_and_call(x: &Array1<f64>, w: f64) -> f64 {
    let v = x.sum();
    let y = x.mapv(|v| {
        if v < 0.0 {
            return inner_square(v) * w;
        }
        let w = 2.0;
        v.exp() * w
    });
    y.sum() * v
}

#[differentiable(wrt(mu, sigma))]
fn gaussian_nll(data: &Array1<f64>, mu: f64, sigma: f64) -> f64 {
    let n = data.len() as f64;
    data.mapv(|d| ((d - mu) / sigma).powi(2)).sum() / 2.0 + n * sigma.ln()
}

/// The closure's parameter shadows a differentiated name; mapping a constant array it reads
/// nothing differentiated: a constant, with derivative zero.
#[differentiable(wrt(w))]
fn shadowing(data: &Array1<f64>, w: f64) -> (f64, Array1<f64>) {
    let v = w * 2.0;
    let c = data.mapv(|v| v.exp());
    (v * c.sum(), c)
}

/// On a matrix and on its transpose (a view in another order than the result's).
#[differentiable]
fn mapped_matrix(m: &Array2<f64>) -> f64 {
    let a = m.t().mapv(|v| v.sin() * v);
    let b = (m * 2.0).mapv_into(|v| v.cos());
    (a.dot(&b)).sum()
}

#[test]
fn elementwise_closures_on_matrices() {
    let m = array![[0.3, -1.2, 0.7], [2.1, -0.4, 0.6]];
    let shaped = |x: &[f64]| Array2::from_shape_vec((2, 3), x.to_vec()).expect("2 × 3");
    check_scalar(
        "mapped_matrix",
        &flat(&m),
        |x| mapped_matrix(&shaped(x)),
        |x| {
            let (value, g) = mapped_matrix_grad(&shaped(x));
            (value, flat(&g))
        },
        |x, t| mapped_matrix_jvp(&shaped(x), shaped(t)),
    );
}

#[test]
fn elementwise_closures_with_regions_calls_and_constant_receivers() {
    let data = array![0.5, -1.0];
    let (value, j) = shadowing_jacobian(&data, 1.5);
    assert_eq!(value, shadowing(&data, 1.5));
    let sum = data.mapv(f64::exp).sum();
    assert_eq!(j, array![[2.0 * sum], [0.0], [0.0]]);
    let (_, (dv, dc)) = shadowing_jvp(&data, 1.5, 1.0);
    assert_eq!((dv, dc), (2.0 * sum, array![0.0, 0.0]));
    let x = [0.3, -1.2, 0.7, 2.1, -0.4, 0.6];
    check_vector_scalar_fn!(
        closure_with_loop,
        closure_with_loop_grad,
        closure_with_loop_jvp,
        closure_with_loop_vjp,
        x
    );
    check_vector_scalar_fn!(
        closure_with_return_and_call,
        closure_with_return_and_call_grad,
        closure_with_return_and_call_jvp,
        closure_with_return_and_call_vjp,
        x
    );
    let data = array![1.0, 2.5, 0.3, 1.7];
    for (mu, sigma) in [(1.0, 0.8), (1.4, 1.3)] {
        check_scalar(
            "gaussian_nll",
            &[mu, sigma],
            |p| gaussian_nll(&data, p[0], p[1]),
            |p| {
                let (value, (a, b)) = gaussian_nll_grad(&data, p[0], p[1]);
                (value, vec![a, b])
            },
            |p, t| gaussian_nll_jvp(&data, p[0], p[1], t[0], t[1]),
        );
    }
}

/// Sums into a local array element by element (`z[r] += …`), column by column as a packed
/// triangular factor is applied: the write takes the array its own element read came from
/// (no copy per write), and each iteration's adjoint still sees that element's old value.
#[differentiable(wrt(l, x))]
fn packed_columns(l: &Array1<f64>, x: &Array1<f64>) -> f64 {
    let d = x.len();
    let mut z = x.exp();
    let mut index = 0;
    for col in 0..d {
        for r in col + 1..d {
            z[r] += l[index] * x[col];
            index += 1;
        }
    }
    let mut s = 0.0;
    for r in 0..d {
        s += z[r] * z[r];
    }
    s
}

/// Element reads before the write whose values go elsewhere too: the old element into the
/// sum, the array moved into the write.
#[differentiable]
fn swap_out(x: &Array1<f64>) -> f64 {
    let mut z = x.mapv(|v| v * v);
    let mut total = 0.0;
    for i in 0..x.len() {
        let old = z[i];
        let first = z[0];
        z[i] = old.sin() * first;
        total += old * 0.5;
    }
    total + z.sum()
}

#[test]
fn element_sums_into_a_local_array() {
    let (l, x) = ([0.3, -0.5, 0.8], [0.2, -0.4, 0.7]);
    let split = |p: &[f64]| (Array1::from(p[..3].to_vec()), Array1::from(p[3..].to_vec()));
    check_scalar(
        "packed_columns",
        &[l, x].concat(),
        |p| {
            let (l, x) = split(p);
            packed_columns(&l, &x)
        },
        |p| {
            let (l, x) = split(p);
            let (value, (gl, gx)) = packed_columns_grad(&l, &x);
            (value, gl.iter().chain(&gx).copied().collect())
        },
        |p, t| {
            let ((l, x), (tl, tx)) = (split(p), split(t));
            packed_columns_jvp(&l, &x, tl, tx)
        },
    );
    check_vector_fn!(
        swap_out,
        swap_out_grad,
        swap_out_jvp,
        swap_out_vjp,
        [0.4, -1.1, 0.9]
    );
    // The writes move the array: no copy per element written.
    let source: String = packed_columns_source().split_whitespace().collect();
    assert!(source.contains("set_at(__l"), "{source}");
    assert!(
        !source.contains("set_at(::autodiff::__private::Map::map"),
        "{source}"
    );
}
