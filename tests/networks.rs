//! The lectures' networks: generated gradients against the matrix formulas derived by hand in
//! the lectures, implemented here with plain ndarray.

use autodiff::ndarray::{Array, Array1, Array2, Axis, Dimension};
use autodiff::prelude::*;

/// Deterministic data in [-1, 1) (a linear congruential generator: no test depends on luck).
fn data<D: Dimension>(
    shape: impl autodiff::ndarray::ShapeBuilder<Dim = D>,
    seed: u64,
) -> Array<f64, D> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    Array::from_shape_simple_fn(shape, || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    })
}

fn labels(n: usize, seed: u64) -> Array2<f64> {
    data((n, 1), seed).mapv(|v| if v > 0.0 { 1.0 } else { 0.0 })
}

fn assert_close<D: Dimension>(what: &str, got: &Array<f64, D>, want: &Array<f64, D>, tol: f64) {
    assert_eq!(got.shape(), want.shape(), "{what}: shapes");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= tol * w.abs().max(1.0),
            "{what}: {g} vs {w}\n{got}\n{want}"
        );
    }
}

/// The lecture's three-layer network: tanh, sigmoid, sigmoid, mean binary cross-entropy.
#[differentiable(wrt(w1, b1, w2, b2, u, c))]
#[allow(clippy::too_many_arguments)]
fn network(
    x: &Array2<f64>,
    y: &Array2<f64>,
    w1: &Array2<f64>,
    b1: &Array1<f64>,
    w2: &Array2<f64>,
    b2: &Array1<f64>,
    u: &Array2<f64>,
    c: &Array1<f64>,
) -> f64 {
    let u1 = x.dot(w1) + b1;
    let h1 = u1.tanh();
    let u2 = h1.dot(w2) + b2;
    let h2 = sigmoid(&u2);
    let u3 = h2.dot(u) + c;
    let y_hat = sigmoid(&u3);
    bce(&y_hat, y)
}

/// The same network ending in the numerically stable `bce_with_logits`.
#[differentiable(wrt(w1, b1, w2, b2, u, c))]
#[allow(clippy::too_many_arguments)]
fn network_logits(
    x: &Array2<f64>,
    y: &Array2<f64>,
    w1: &Array2<f64>,
    b1: &Array1<f64>,
    w2: &Array2<f64>,
    b2: &Array1<f64>,
    u: &Array2<f64>,
    c: &Array1<f64>,
) -> f64 {
    let h1 = (x.dot(w1) + b1).tanh();
    let h2 = sigmoid(h1.dot(w2) + b2);
    bce_with_logits(h2.dot(u) + c, y)
}

struct Net {
    x: Array2<f64>,
    y: Array2<f64>,
    w1: Array2<f64>,
    b1: Array1<f64>,
    w2: Array2<f64>,
    b2: Array1<f64>,
    u: Array2<f64>,
    c: Array1<f64>,
}

fn net(n: usize, d: usize, h1: usize, h2: usize) -> Net {
    Net {
        x: data((n, d), 1),
        y: labels(n, 2),
        w1: data((d, h1), 3),
        b1: data(h1, 4),
        w2: data((h1, h2), 5),
        b2: data(h2, 6),
        u: data((h2, 1), 7),
        c: data(1, 8),
    }
}

type Grads = (
    Array2<f64>,
    Array1<f64>,
    Array2<f64>,
    Array1<f64>,
    Array2<f64>,
    Array1<f64>,
);

/// The lecture's formulas: ∂L/∂u³ = (ŷ − y)/N, ∂L/∂U = (h²)ᵀ ∂L/∂u³, ∂L/∂c = sum₁ ∂L/∂u³,
/// ∂L/∂u² = (∂L/∂u³ Uᵀ) ∘ h²(1 − h²), ∂L/∂W² = (h¹)ᵀ ∂L/∂u², ∂L/∂b² = sum₁ ∂L/∂u²,
/// ∂L/∂u¹ = (∂L/∂u² (W²)ᵀ) ∘ (1 − (h¹)²), ∂L/∂W¹ = Xᵀ ∂L/∂u¹, ∂L/∂b¹ = sum₁ ∂L/∂u¹.
fn by_hand(p: &Net) -> (f64, Grads) {
    let sig = |a: &Array2<f64>| a.mapv(|v| 1.0 / (1.0 + (-v).exp()));
    let n = p.x.nrows() as f64;
    let h1 = (p.x.dot(&p.w1) + &p.b1).mapv(f64::tanh);
    let h2 = sig(&(h1.dot(&p.w2) + &p.b2));
    let y_hat = sig(&(h2.dot(&p.u) + &p.c));
    let loss =
        -(&p.y * &y_hat.mapv(f64::ln) + (1.0 - &p.y) * y_hat.mapv(|v| (1.0 - v).ln())).sum() / n;
    let d3 = (&y_hat - &p.y) / n;
    let du = h2.t().dot(&d3);
    let dc = d3.sum_axis(Axis(0));
    let d2 = d3.dot(&p.u.t()) * &h2 * (1.0 - &h2);
    let dw2 = h1.t().dot(&d2);
    let db2 = d2.sum_axis(Axis(0));
    let d1 = d2.dot(&p.w2.t()) * (1.0 - &h1 * &h1);
    let dw1 = p.x.t().dot(&d1);
    let db1 = d1.sum_axis(Axis(0));
    (loss, (dw1, db1, dw2, db2, du, dc))
}

fn check_against_hand(p: &Net, got: (f64, Grads)) {
    let (loss, (dw1, db1, dw2, db2, du, dc)) = by_hand(p);
    let (value, g) = got;
    assert!((value - loss).abs() < 1e-12, "{value} vs {loss}");
    assert_close("W1", &g.0, &dw1, 1e-12);
    assert_close("b1", &g.1, &db1, 1e-12);
    assert_close("W2", &g.2, &dw2, 1e-12);
    assert_close("b2", &g.3, &db2, 1e-12);
    assert_close("U", &g.4, &du, 1e-12);
    assert_close("c", &g.5, &dc, 1e-12);
}

#[test]
fn three_layer_network_matches_the_lecture_formulas() {
    for (n, d, h1, h2) in [(1, 1, 1, 1), (7, 3, 5, 4), (64, 30, 16, 8)] {
        let p = net(n, d, h1, h2);
        let got = network_grad(&p.x, &p.y, &p.w1, &p.b1, &p.w2, &p.b2, &p.u, &p.c);
        // ndarray's `tanh` is libm's; the rules' is vectorized: equal to a few ulps.
        let original = network(&p.x, &p.y, &p.w1, &p.b1, &p.w2, &p.b2, &p.u, &p.c);
        assert!((got.0 - original).abs() <= 1e-14 * original.abs());
        check_against_hand(&p, got);
        let logits = network_logits_grad(&p.x, &p.y, &p.w1, &p.b1, &p.w2, &p.b2, &p.u, &p.c);
        check_against_hand(&p, logits);
    }
}

/// The lecture's L(w₀, w₁; D): logistic regression over a whole data set.
#[differentiable(wrt(w0, w1))]
fn logistic(w0: f64, w1: &Array1<f64>, x: &Array2<f64>, y: &Array1<f64>) -> f64 {
    let p = sigmoid(x.dot(w1) + w0);
    bce(&p, y)
}

#[test]
fn logistic_regression_gradient_is_the_mean_residual() {
    let (x, w1) = (data((50, 4), 11), data(4, 12));
    let y = labels(50, 13).column(0).to_owned();
    let (loss, (d0, d1)) = logistic_grad(0.3, &w1, &x, &y);
    assert_eq!(loss, logistic(0.3, &w1, &x, &y));
    let residual = (x.dot(&w1) + 0.3).mapv(|v| 1.0 / (1.0 + (-v).exp())) - &y;
    assert!((d0 - residual.mean().unwrap()).abs() < 1e-12);
    assert_close("w1", &d1, &(x.t().dot(&residual) / 50.0), 1e-12);
}

/// An MLP with the lectures' quadratic cost C = 1/(2n) Σ‖y − a‖².
#[differentiable(wrt(w1, b1, w2, b2))]
fn quadratic(
    w1: &Array2<f64>,
    b1: &Array1<f64>,
    w2: &Array2<f64>,
    b2: &Array1<f64>,
    x: &Array2<f64>,
    y: &Array2<f64>,
) -> f64 {
    let a1 = sigmoid(x.dot(w1) + b1);
    let a2 = sigmoid(a1.dot(w2) + b2);
    let n = x.nrows() as f64;
    (y - &a2).powi(2).sum() / (2.0 * n)
}

#[test]
fn quadratic_cost_matches_backpropagation() {
    let (x, y) = (data((20, 3), 21), data((20, 2), 22));
    let (w1, b1, w2, b2) = (data((3, 6), 23), data(6, 24), data((6, 2), 25), data(2, 26));
    let (_, (gw1, gb1, gw2, gb2)) = quadratic_grad(&w1, &b1, &w2, &b2, &x, &y);

    let sig = |a: Array2<f64>| a.mapv(|v| 1.0 / (1.0 + (-v).exp()));
    let a1 = sig(x.dot(&w1) + &b1);
    let a2 = sig(a1.dot(&w2) + &b2);
    let delta2 = (&a2 - &y) * &a2 * (1.0 - &a2) / 20.0;
    let delta1 = delta2.dot(&w2.t()) * &a1 * (1.0 - &a1);
    assert_close("W2", &gw2, &a1.t().dot(&delta2), 1e-12);
    assert_close("b2", &gb2, &delta2.sum_axis(Axis(0)), 1e-12);
    assert_close("W1", &gw1, &x.t().dot(&delta1), 1e-12);
    assert_close("b1", &gb1, &delta1.sum_axis(Axis(0)), 1e-12);
}
