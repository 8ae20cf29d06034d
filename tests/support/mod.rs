//! Checks shared by `tests/regressions.rs` and `tests/hygiene.rs`: a generated function's
//! derivatives, in flat form, against central finite differences, in both modes.
#![allow(dead_code)]

use autodiff::check::{central_difference, close};
use autodiff::ndarray::{Array1, Array2};

/// Deterministic directions for the forward- and reverse-mode checks.
fn directions(n: usize, seed: usize) -> Vec<Vec<f64>> {
    (0..3)
        .map(|k| {
            (0..n)
                .map(|i| (((i + 3 * k + seed) * 7919) % 13) as f64 / 6.5 - 1.0)
                .collect()
        })
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// A scalar function of flat inputs `x`: its gradient (reverse mode) against central
/// differences, and its directional derivatives (forward mode) against the gradient.
pub fn check_scalar(
    name: &str,
    x: &[f64],
    f: impl Fn(&[f64]) -> f64,
    grad: impl Fn(&[f64]) -> (f64, Vec<f64>),
    jvp: impl Fn(&[f64], &[f64]) -> (f64, f64),
) {
    let (value, gradient) = grad(x);
    assert!(
        close(value, f(x), 1e-12),
        "{name}: value {value} != {}",
        f(x)
    );
    let numeric = central_difference(&f, x, 1e-6);
    assert_eq!(gradient.len(), numeric.len(), "{name}: gradient length");
    for (k, (exact, fd)) in gradient.iter().zip(&numeric).enumerate() {
        assert!(
            close(*exact, *fd, 1e-6),
            "{name}: ∂/∂x{k} = {exact}, central differences {fd} (gradient {gradient:?})"
        );
    }
    for tangent in directions(x.len(), 1) {
        let (value, derivative) = jvp(x, &tangent);
        assert!(close(value, f(x), 1e-12), "{name}: jvp value");
        let expected = dot(&gradient, &tangent);
        assert!(
            close(derivative, expected, 1e-9),
            "{name}: jvp {derivative}, gradient · tangent {expected}"
        );
    }
}

/// A vector function of flat inputs: its Jacobian against central differences, `jvp` and
/// `vjp` against the Jacobian.
pub fn check_vector(
    name: &str,
    x: &[f64],
    f: impl Fn(&[f64]) -> Vec<f64>,
    jacobian: impl Fn(&[f64]) -> Array2<f64>,
    jvp: impl Fn(&[f64], &[f64]) -> Vec<f64>,
    vjp: impl Fn(&[f64], &[f64]) -> Vec<f64>,
) {
    let j = jacobian(x);
    let m = f(x).len();
    assert_eq!(j.dim(), (m, x.len()), "{name}: Jacobian shape");
    for i in 0..m {
        let row = central_difference(|v| f(v)[i], x, 1e-6);
        for (k, fd) in row.iter().enumerate() {
            assert!(
                close(j[[i, k]], *fd, 1e-6),
                "{name}: J[{i}, {k}] = {}, central differences {fd}",
                j[[i, k]]
            );
        }
    }
    for (tangent, cotangent) in directions(x.len(), 2).iter().zip(directions(m, 3)) {
        let expect_jv = j.dot(&Array1::from(tangent.clone()));
        let expect_vj = j.t().dot(&Array1::from(cotangent.clone()));
        for (a, b) in jvp(x, tangent).iter().zip(&expect_jv) {
            assert!(close(*a, *b, 1e-9), "{name}: jvp {a} != J·t {b}");
        }
        for (a, b) in vjp(x, &cotangent).iter().zip(&expect_vj) {
            assert!(close(*a, *b, 1e-9), "{name}: vjp {a} != Jᵀ·c {b}");
        }
    }
}

/// `x` as a flat vector.
pub fn flat<'a>(x: impl IntoIterator<Item = &'a f64>) -> Vec<f64> {
    x.into_iter().copied().collect()
}
