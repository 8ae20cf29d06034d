//! The lectures' worked examples, checked to the digits the lectures give and beyond.

use autodiff::check::{central_difference, close};
use autodiff::prelude::*;
use std::f64::consts::{E, FRAC_PI_2};

/// Lecture 001: the evaluation trace of f(x₁, x₂) = ln x₁ + x₁x₂ − sin x₂ at (2, 5).
#[differentiable]
fn f(x1: f64, x2: f64) -> f64 {
    x1.ln() + x1 * x2 - x2.sin()
}

#[test]
fn wengert_list_example() {
    let (y, (d1, d2)) = f_grad(2.0, 5.0);
    assert_eq!(y, f(2.0, 5.0));
    assert!(close(y, 2.0_f64.ln() + 10.0 - 5.0_f64.sin(), 1e-15));
    assert!((y - 11.65).abs() < 0.01, "the lecture's y = 11.65, got {y}");
    assert_eq!(d1, 5.5, "the lecture's s₋₁ = 1/2 + 5 = 5.5");
    assert!(close(d2, 2.0 - 5.0_f64.cos(), 1e-15), "s₀ = v₋₁ − cos v₀");
    // The lecture's forward derivation ("derivación hacia adelante"): v̇₋₁ = 1, v̇₀ = 0.
    assert_eq!(f_jvp(2.0, 5.0, 1.0, 0.0), (y, 5.5));
    assert_eq!(f_jvp(2.0, 5.0, 0.0, 1.0), (y, d2));
    // Reverse mode seeded with ȳ = 2: twice the gradient.
    assert_eq!(f_vjp(2.0, 5.0, 2.0), (y, (2.0 * d1, 2.0 * d2)));
}

/// Lecture 004: z(x, y) = x² e^(x + cos y), ∇z(2, π/2) = (8e², −4e²) ≈ (59.2, −29.6).
#[differentiable]
fn z(x: f64, y: f64) -> f64 {
    let a = x.powi(2);
    let b = y.cos();
    let c = x + b;
    let d = c.exp();
    a * d
}

#[test]
fn differentiable_blocks_example() {
    let (value, (dx, dy)) = z_grad(2.0, FRAC_PI_2);
    assert!(close(value, 4.0 * E * E, 1e-14));
    assert!(close(dx, 8.0 * E * E, 1e-14));
    assert!(close(dy, -4.0 * E * E, 1e-14));
    assert!((dx - 59.2).abs() < 0.1 && (dy + 29.6).abs() < 0.1);
}

/// Lecture 002: one neuron a = relu(w·x + b) at w = 2, x = 3, b = 1.
#[differentiable(wrt(w, b))]
fn neuron(w: f64, x: f64, b: f64) -> f64 {
    relu(w * x + b)
}

#[test]
fn relu_neuron_example() {
    let (a, (dw, db)) = neuron_grad(2.0, 3.0, 1.0);
    assert_eq!((a, dw, db), (7.0, 3.0, 1.0));
    // On the flat side, and at the kink where the lectures take relu′(0) = 0.
    assert_eq!(neuron_grad(-2.0, 3.0, 1.0), (0.0, (0.0, 0.0)));
    assert_eq!(neuron_grad(-1.0, 3.0, 3.0), (0.0, (0.0, 0.0)));
}

/// Lecture 002: the chain rule through f(g, h) = g²h + h with g = 3x, h = x², which reach
/// f along two paths: df/dx = 2gh·3 + (g² + 1)·2x = 54x³ + 2x... = 18x³·3 + ...
#[differentiable]
fn chain(x: f64) -> f64 {
    let g = 3.0 * x;
    let h = x * x;
    g * g * h + h
}

#[test]
fn chain_rule_example() {
    for x in [-1.5, 0.0, 0.5, 2.0] {
        let (value, dx) = chain_grad(x);
        // f = 9x⁴ + x², so df/dx = 36x³ + 2x.
        assert!(close(value, 9.0 * x.powi(4) + x * x, 1e-14));
        assert!(
            close(dx, 36.0 * x.powi(3) + 2.0 * x, 1e-14),
            "x = {x}: {dx}"
        );
    }
}

/// Lecture 000: one term of logistic regression's binary cross-entropy as a function of
/// (w₀, w₁), for a sample (x, y).
#[differentiable(wrt(w0, w1))]
fn bce_term(w0: f64, w1: f64, x: f64, y: f64) -> f64 {
    let p = sigmoid(w0 + w1 * x);
    -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
}

#[test]
fn logistic_regression_term() {
    let (w0, w1, x, y) = (0.3, -0.8, 1.7, 1.0);
    let (loss, (d0, d1)) = bce_term_grad(w0, w1, x, y);
    let p = 1.0 / (1.0 + (-(w0 + w1 * x)).exp());
    assert!(close(loss, -p.ln(), 1e-14));
    // The lecture's result: ∂L/∂w₀ = ŷ − y, ∂L/∂w₁ = (ŷ − y)·x.
    assert!(close(d0, p - y, 1e-14));
    assert!(close(d1, (p - y) * x, 1e-14));
    let numeric = central_difference(|w| bce_term(w[0], w[1], x, y), &[w0, w1], 1e-6);
    assert!(close(d0, numeric[0], 1e-8) && close(d1, numeric[1], 1e-8));
}
