//! Nested derivatives: a `#[differentiable]` function calling another's generated gradient
//! (`g_grad`, of a `g` with `#[differentiable(hessian)]`) and differentiated itself, in every
//! mode: reverse over reverse (`f_grad`, `f_vjp`), forward over reverse (`f_jvp`) and both in
//! `f_jacobian`. Siskind and Pearlmutter's perturbation-confusion examples, then functions
//! checked against nested central differences of plain Rust functions (differences of
//! differences, never of generated code), in f64 and f32, on scalars and arrays.

use autodiff::ndarray::{array, Array1};
use autodiff::prelude::*;

// ---- Perturbation confusion (Siskind & Pearlmutter, "Perturbation confusion and referential
// transparency", 2005). A tool that confuses the inner derivative's perturbation with the
// outer one's gets these wrong.

#[differentiable(hessian)]
fn add(x: f64, y: f64) -> f64 {
    x + y
}

/// x · d/dy (x + y) = x · 1: its derivative in x is 1, not 2.
#[differentiable]
fn x_times_d_add(x: f64, y: f64) -> f64 {
    let (_, (_, dy)) = add_grad(x, y);
    x * dy
}

#[differentiable(hessian)]
fn mul(x: f64, y: f64) -> f64 {
    x * y
}

/// x · d/dy (x y) = x²: derivative 2x.
#[differentiable]
fn x_times_d_mul(x: f64, y: f64) -> f64 {
    x * mul_grad(x, y).1 .1
}

#[differentiable(hessian)]
fn shifted(y: f64, x: f64) -> f64 {
    x + y
}

/// The paper's first example in one variable: d/dx [x · (d/dy (x + y))(1)], with y a
/// constant of the inner call and x passed as a differentiated value to it.
#[differentiable]
fn paper(x: f64) -> f64 {
    let (_, (dy, _)) = shifted_grad(1.0, x);
    x * dy
}

#[differentiable(hessian)]
fn square(y: f64) -> f64 {
    y * y
}

/// y ↦ y², its derivative 2y taken at x, times x: 2x², derivative 4x.
#[differentiable]
fn x_times_d_square(x: f64) -> f64 {
    let (value, slope) = square_grad(x);
    x * slope + 0.0 * value
}

#[test]
fn perturbation_confusion() {
    for (x, y) in [(1.0, 2.0), (-3.0, 0.5), (0.25, -7.0)] {
        assert_eq!(x_times_d_add_grad(x, y), (x, (1.0, 0.0)));
        assert_eq!(x_times_d_add_jvp(x, y, 1.0, 0.0), (x, 1.0));
        assert_eq!(x_times_d_add_jvp(x, y, 0.0, 1.0), (x, 0.0));
        assert_eq!(x_times_d_add_vjp(x, y, 2.0), (x, (2.0, 0.0)));
        assert_eq!(x_times_d_mul_grad(x, y), (x * x, (2.0 * x, 0.0)));
        assert_eq!(x_times_d_mul_jvp(x, y, 1.0, 1.0), (x * x, 2.0 * x));
        assert_eq!(paper_grad(x), (x, 1.0));
        assert_eq!(paper_jvp(x, 1.0), (x, 1.0));
        assert_eq!(x_times_d_square_grad(x), (2.0 * x * x, 4.0 * x));
        assert_eq!(x_times_d_square_jvp(x, 1.0), (2.0 * x * x, 4.0 * x));
    }
}

// ---- Against nested central differences.

/// A function with a dense Hessian, of an array and a constant.
#[differentiable(hessian, wrt(w))]
fn energy(w: &Array1<f64>, c: f64) -> f64 {
    let s = w.mapv(f64::sin);
    (&s * w).sum() + c * w.dot(w).powi(2) / 4.0 + w[0] * w[1]
}

fn energy_plain(w: &[f64], c: f64) -> f64 {
    let dot: f64 = w.iter().map(|v| v * v).sum();
    w.iter().map(|v| v.sin() * v).sum::<f64>() + c * dot.powi(2) / 4.0 + w[0] * w[1]
}

/// A scalar of the gradient: ‖∇E‖²/2 + E · w₀ (a descent step's objective).
#[differentiable(wrt(w))]
fn objective(w: &Array1<f64>, c: f64) -> f64 {
    let (e, g) = energy_grad(w, c);
    g.dot(&g) / 2.0 + e * w[0] + c * energy_grad(w, 2.0 * c).1.sum()
}

/// An array of the gradient: one descent step, w − η∇E(w).
#[differentiable(wrt(w))]
fn step(w: &Array1<f64>, c: f64, eta: f64) -> Array1<f64> {
    let (_, g) = energy_grad(w, c);
    w - &(g * eta)
}

/// The gradient of a plain function by central differences.
fn difference_gradient(f: impl Fn(&[f64]) -> f64, x: &[f64], h: f64) -> Vec<f64> {
    (0..x.len())
        .map(|i| {
            let (mut up, mut down) = (x.to_vec(), x.to_vec());
            up[i] += h;
            down[i] -= h;
            (f(&up) - f(&down)) / (2.0 * h)
        })
        .collect()
}

fn objective_plain(w: &[f64], c: f64) -> f64 {
    let g = difference_gradient(|v| energy_plain(v, c), w, 1e-5);
    let g2 = difference_gradient(|v| energy_plain(v, 2.0 * c), w, 1e-5);
    g.iter().map(|v| v * v).sum::<f64>() / 2.0
        + energy_plain(w, c) * w[0]
        + c * g2.iter().sum::<f64>()
}

fn step_plain(w: &[f64], c: f64, eta: f64) -> Vec<f64> {
    let g = difference_gradient(|v| energy_plain(v, c), w, 1e-5);
    w.iter().zip(&g).map(|(w, g)| w - eta * g).collect()
}

fn assert_close(a: &[f64], b: &[f64], tolerance: f64) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!(
            (x - y).abs() <= tolerance * (1.0 + y.abs()),
            "{a:?} vs {b:?}"
        );
    }
}

#[test]
fn objective_in_every_mode_against_nested_differences() {
    let c = 0.3;
    for w in [array![0.5, -1.2, 2.0], array![-0.3, 0.8, 0.1, 1.5]] {
        let plain = |v: &[f64]| objective_plain(v, c);
        let expected = difference_gradient(plain, w.as_slice().unwrap(), 1e-3);
        let (value, gradient) = objective_grad(&w, c);
        assert!((value - plain(w.as_slice().unwrap())).abs() < 1e-6 * (1.0 + value.abs()));
        assert_close(gradient.as_slice().unwrap(), &expected, 1e-5);
        // Reverse over reverse with a cotangent.
        let (_, scaled) = objective_vjp(&w, c, -2.0);
        assert_close(
            scaled.as_slice().unwrap(),
            &(&gradient * -2.0).to_vec(),
            1e-12,
        );
        // Forward over reverse: the directional derivative.
        let direction = w.mapv(|v| (3.0 * v).cos());
        let (_, tangent) = objective_jvp(&w, c, direction.clone());
        let along = gradient.dot(&direction);
        assert!(
            (tangent - along).abs() < 1e-10 * (1.0 + along.abs()),
            "{tangent} vs {along}"
        );
    }
}

#[test]
fn array_result_in_every_mode_against_nested_differences() {
    let (c, eta) = (0.3, 0.1);
    let w = array![0.5, -1.2, 2.0];
    let x = w.as_slice().unwrap();
    let (value, jacobian) = step_jacobian(&w, c, eta);
    assert_close(value.as_slice().unwrap(), &step_plain(x, c, eta), 1e-8);
    // Column j of the Jacobian: the difference of the step along e_j.
    for j in 0..w.len() {
        let (mut up, mut down) = (x.to_vec(), x.to_vec());
        up[j] += 1e-3;
        down[j] -= 1e-3;
        let (su, sd) = (step_plain(&up, c, eta), step_plain(&down, c, eta));
        let expected: Vec<f64> = su.iter().zip(&sd).map(|(a, b)| (a - b) / 2e-3).collect();
        assert_close(&jacobian.column(j).to_vec(), &expected, 1e-5);
    }
    // The vjp (reverse over reverse) and jvp (forward over reverse) agree with its rows and
    // columns.
    let cotangent = array![1.0, -0.5, 2.0];
    let (_, pulled) = step_vjp(&w, c, eta, cotangent.clone());
    assert_close(
        pulled.as_slice().unwrap(),
        &cotangent.dot(&jacobian).to_vec(),
        1e-12,
    );
    let tangent = array![0.2, 0.0, -1.0];
    let (_, pushed) = step_jvp(&w, c, eta, tangent.clone());
    assert_close(
        pushed.as_slice().unwrap(),
        &jacobian.dot(&tangent).to_vec(),
        1e-12,
    );
}

// ---- f32, and a gradient read by field.

#[differentiable(hessian)]
fn wave(x: f32) -> f32 {
    x.sin() * x.exp()
}

#[differentiable]
fn wave_slope_squared(x: f32) -> f32 {
    wave_grad(x).1 * wave_grad(x).1 + wave_grad(x).0
}

fn wave_plain(x: f64) -> f64 {
    x.sin() * x.exp()
}

#[test]
fn f32_against_nested_differences() {
    for x in [0.3_f32, -1.1, 1.7] {
        let slope = |x: f64| (wave_plain(x + 1e-5) - wave_plain(x - 1e-5)) / 2e-5;
        let plain = |x: f64| slope(x) * slope(x) + wave_plain(x);
        let expected = (plain(x as f64 + 1e-3) - plain(x as f64 - 1e-3)) / 2e-3;
        let (value, derivative) = wave_slope_squared_grad(x);
        assert!((value as f64 - plain(x as f64)).abs() < 1e-4 * (1.0 + value.abs() as f64));
        assert!(
            (derivative as f64 - expected).abs() < 1e-3 * (1.0 + expected.abs()),
            "{derivative} vs {expected}"
        );
        let (_, tangent) = wave_slope_squared_jvp(x, 1.0);
        assert!((tangent - derivative).abs() <= 1e-5 * (1.0 + derivative.abs()));
    }
}

// ---- A gradient of several parameters, arrays among them, entry by entry.

#[differentiable(hessian)]
fn coupled(a: &Array1<f64>, s: f64) -> f64 {
    (a * s).mapv(f64::tanh).sum() + s * s * a.sum()
}

fn coupled_plain(a: &[f64], s: f64) -> f64 {
    a.iter().map(|v| (v * s).tanh()).sum::<f64>() + s * s * a.iter().sum::<f64>()
}

#[differentiable]
fn entries(a: &Array1<f64>, s: f64) -> f64 {
    let (_, (da, ds)) = coupled_grad(a, s);
    da.dot(a) * ds
}

#[test]
fn entries_of_a_gradient_against_nested_differences() {
    let (a, s) = (array![0.4, -0.9, 1.3], 0.7);
    let plain = |x: &[f64]| {
        let grad = difference_gradient(|y: &[f64]| coupled_plain(&y[..3], y[3]), x, 1e-5);
        grad[..3]
            .iter()
            .zip(&x[..3])
            .map(|(g, v)| g * v)
            .sum::<f64>()
            * grad[3]
    };
    let x = [0.4, -0.9, 1.3, 0.7];
    let expected = difference_gradient(plain, &x, 1e-3);
    let (value, (da, ds)) = entries_grad(&a, s);
    assert!((value - plain(&x)).abs() < 1e-6);
    let mut got = da.to_vec();
    got.push(ds);
    assert_close(&got, &expected, 1e-5);
    let (ta, ts) = (array![1.0, 0.5, -0.25], 2.0);
    let (_, tangent) = entries_jvp(&a, s, ta.clone(), ts);
    let along = da.dot(&ta) + ds * ts;
    assert!((tangent - along).abs() < 1e-10 * (1.0 + along.abs()));
    let _: Array1<f64> = da;
}

// ---- Associated functions: the gradient of one called through `Self::`.

struct Spring;

#[differentiable]
impl Spring {
    #[differentiable(hessian)]
    fn potential(x: f64) -> f64 {
        x.powi(4) / 4.0 - x * x
    }

    /// The force squared, −V′(x)², as a function to differentiate.
    #[differentiable]
    fn force_squared(x: f64) -> f64 {
        let (_, slope) = Self::potential_grad(x);
        slope * slope
    }
}

#[test]
fn associated_functions() {
    let x = 1.3_f64;
    // V′ = x³ − 2x, V″ = 3x² − 2: d/dx V′² = 2 V′ V″.
    let (slope, curvature) = (x.powi(3) - 2.0 * x, 3.0 * x * x - 2.0);
    let (value, derivative) = Spring::force_squared_grad(x);
    assert!((value - slope * slope).abs() < 1e-12);
    assert!((derivative - 2.0 * slope * curvature).abs() < 1e-12);
    let (_, tangent) = Spring::force_squared_jvp(x, 1.0);
    assert!((tangent - derivative).abs() < 1e-12);
}

// ---- `g_jvp` inside a differentiated function: its value g(x) and tangent ∇g(x)·t, whose
// derivatives are ∇g, H t in x and ∇g in t.

/// The slope of the energy along a direction, as a function of both (forward inside).
#[differentiable(wrt(w, d))]
fn directional(w: &Array1<f64>, d: &Array1<f64>, c: f64) -> f64 {
    let (e, slope) = energy_jvp(w, c, d.clone());
    slope * slope + e
}

fn directional_plain(x: &[f64], c: f64) -> f64 {
    let n = x.len() / 2;
    let (w, d) = (&x[..n], &x[n..]);
    let g = difference_gradient(|v| energy_plain(v, c), w, 1e-5);
    let slope: f64 = g.iter().zip(d).map(|(g, d)| g * d).sum();
    slope * slope + energy_plain(w, c)
}

#[test]
fn jvp_inside_in_every_mode_against_nested_differences() {
    let c = 0.3;
    let (w, d) = (array![0.5, -1.2, 2.0], array![0.3, 0.1, -0.7]);
    let x: Vec<f64> = w.iter().chain(d.iter()).copied().collect();
    let expected = difference_gradient(|v| directional_plain(v, c), &x, 1e-3);
    let (value, (gw, gd)) = directional_grad(&w, &d, c);
    assert!((value - directional_plain(&x, c)).abs() < 1e-6 * (1.0 + value.abs()));
    let got: Vec<f64> = gw.iter().chain(gd.iter()).copied().collect();
    assert_close(&got, &expected, 1e-5);
    let (_, (vw, vd)) = directional_vjp(&w, &d, c, 0.5);
    assert_close(&vw.to_vec(), &(&gw * 0.5).to_vec(), 1e-12);
    assert_close(&vd.to_vec(), &(&gd * 0.5).to_vec(), 1e-12);
    let (tw, td) = (array![1.0, 0.0, -2.0], array![0.5, 0.5, 0.25]);
    let (_, tangent) = directional_jvp(&w, &d, c, tw.clone(), td.clone());
    let along = gw.dot(&tw) + gd.dot(&td);
    assert!(
        (tangent - along).abs() < 1e-10 * (1.0 + along.abs()),
        "{tangent} vs {along}"
    );
}

/// Siskind and Pearlmutter's example with forward mode inside: d/dy (x + y) as `add_jvp`
/// along (0, 1), read by field.
#[differentiable]
fn x_times_forward_d_add(x: f64, y: f64) -> f64 {
    x * add_jvp(x, y, 0.0, 1.0).1
}

#[test]
fn perturbation_confusion_forward_inside() {
    for (x, y) in [(1.0, 2.0), (-3.0, 0.5)] {
        assert_eq!(x_times_forward_d_add_grad(x, y), (x, (1.0, 0.0)));
        assert_eq!(x_times_forward_d_add_jvp(x, y, 1.0, 0.0), (x, 1.0));
    }
}

// ---- A struct of parameters: its gradient a struct, contracted and scaled leaf by leaf.

#[derive(Parameters, Clone, Debug, PartialEq)]
struct Pair {
    a: f64,
    b: Array1<f64>,
}

#[differentiable(hessian)]
fn pair_energy(p: &Pair, x: f64) -> f64 {
    (p.a * x).sin() + (&p.b * x).mapv(f64::exp).sum()
}

/// The energy's slope along a fixed direction of the struct, as a function of x alone.
#[differentiable(wrt(x))]
fn pair_slope(p: &Pair, d: &Pair, x: f64) -> f64 {
    let (_, slope) = pair_energy_jvp(p, x, d.clone(), 1.0);
    slope * x
}

#[test]
fn struct_parameters_through_jvp() {
    let p = Pair {
        a: 0.7,
        b: array![0.2, -0.4],
    };
    let d = Pair {
        a: 1.0,
        b: array![0.5, 2.0],
    };
    let x = 0.9;
    // The slope in closed form: ∂/∂a·1 + ∂/∂b·d_b + ∂/∂x·1.
    let slope = |x: f64| {
        let da = (p.a * x).cos() * x;
        let db: f64 =
            p.b.iter()
                .zip(&d.b)
                .map(|(b, t)| (b * x).exp() * x * t)
                .sum();
        let dx = (p.a * x).cos() * p.a + p.b.iter().map(|b| (b * x).exp() * b).sum::<f64>();
        (da * d.a + db + dx) * x
    };
    let expected = (slope(x + 1e-5) - slope(x - 1e-5)) / 2e-5;
    let (value, derivative) = pair_slope_grad(&p, &d, x);
    assert!((value - slope(x)).abs() < 1e-12);
    assert!(
        (derivative - expected).abs() < 1e-7,
        "{derivative} vs {expected}"
    );
    let (_, tangent) = pair_slope_jvp(&p, &d, x, 1.0);
    assert!((tangent - derivative).abs() < 1e-12);
}
