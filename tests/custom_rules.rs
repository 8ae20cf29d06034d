//! Functions made primitives with the user's own rules: their bodies are never read (here a
//! branch and a loop, which `#[differentiable]` rejects in bodies it differentiates), and
//! they work like built-ins in every mode of the functions that call them.

use autodiff::check::{central_difference, close};
use autodiff::ndarray::{array, Array1};
use autodiff::prelude::*;

/// ln(1 + eˣ) without overflow, and its rules: d/dx = σ(x), also without overflow.
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

#[differentiable(wrt(w, b))]
fn margin_loss(w: f64, b: f64, x: f64) -> f64 {
    log1pexp(-(w * x + b)) + 0.5 * w * w
}

#[test]
fn a_custom_scalar_rule_is_used_in_both_modes() {
    assert_eq!(log1pexp_grad(0.0), (2.0_f64.ln(), 0.5));
    // Far out, where eˣ overflows: the rule stays finite.
    let (value, slope) = log1pexp_grad(800.0);
    assert_eq!((value, slope), (800.0, 1.0));
    for (w, b, x) in [(0.3, -0.2, 1.5), (2.0, 1.0, -400.0), (-1.0, 0.5, 2.0)] {
        let (value, (dw, db)) = margin_loss_grad(w, b, x);
        assert_eq!(value, margin_loss(w, b, x));
        let fd = central_difference(|v| margin_loss(v[0], v[1], x), &[w, b], 1e-6);
        assert!(
            close(dw, fd[0], 1e-6) && close(db, fd[1], 1e-6),
            "{dw} {db} vs {fd:?}"
        );
        let (_, tangent) = margin_loss_jvp(w, b, x, 0.7, -1.1);
        assert!(close(tangent, 0.7 * dw - 1.1 * db, 1e-14));
    }
}

/// A running sum, written as a loop; its Jacobian is lower-triangular ones.
#[differentiable(vjp = cumsum_vjp_rule, jvp = cumsum_jvp_rule)]
fn cumsum(x: &Array1<f64>) -> Array1<f64> {
    let mut total = 0.0;
    x.mapv(|v| {
        total += v;
        total
    })
}

/// Jᵀ·ȳ: sums from the end.
fn cumsum_vjp_rule(x: &Array1<f64>, cotangent: Array1<f64>) -> (Array1<f64>, Array1<f64>) {
    let mut total = 0.0;
    let mut gradient: Vec<f64> = cotangent
        .iter()
        .rev()
        .map(|g| {
            total += g;
            total
        })
        .collect();
    gradient.reverse();
    (cumsum(x), Array1::from(gradient))
}

/// J·ẋ: the running sum of the tangent.
fn cumsum_jvp_rule(x: &Array1<f64>, x_tangent: Array1<f64>) -> (Array1<f64>, Array1<f64>) {
    (cumsum(x), cumsum(&x_tangent))
}

#[differentiable]
fn smooth_path(x: &Array1<f64>) -> Array1<f64> {
    cumsum(&x.tanh()).sin()
}

#[differentiable]
fn path_energy(x: &Array1<f64>) -> f64 {
    let p = cumsum(x);
    (&p * &p).sum()
}

#[test]
fn a_custom_array_rule_in_jacobians_gradients_and_tangents() {
    let x = array![0.5, -1.2, 0.3, 2.0];
    let (value, j) = smooth_path_jacobian(&x);
    for (a, b) in value.iter().zip(&smooth_path(&x)) {
        assert!(close(*a, *b, 1e-14));
    }
    for i in 0..4 {
        let fd = central_difference(
            |v| smooth_path(&Array1::from(v.to_vec()))[i],
            &x.to_vec(),
            1e-6,
        );
        for (k, d) in fd.iter().enumerate() {
            assert!(
                close(j[[i, k]], *d, 1e-7),
                "J[{i}, {k}] = {} vs {d}",
                j[[i, k]]
            );
        }
    }
    let (energy, gradient) = path_energy_grad(&x);
    assert!(close(energy, path_energy(&x), 1e-15));
    let fd = central_difference(
        |v| path_energy(&Array1::from(v.to_vec())),
        &x.to_vec(),
        1e-6,
    );
    for (g, d) in gradient.iter().zip(&fd) {
        assert!(close(*g, *d, 1e-6), "{g} vs {d}");
    }
    let tangent = array![1.0, 0.0, -1.0, 0.5];
    let (_, directional) = path_energy_jvp(&x, tangent.clone());
    assert!(close(directional, gradient.dot(&tangent), 1e-13));
}
