//! One `#[differentiable]` function calling another, by path: differentiated through the
//! callee's own generated functions, in both modes, checked against central finite
//! differences and against the same computation written inline.

use autodiff::check::{central_difference, close};
use autodiff::ndarray::{array, Array1, Array2};
use autodiff::prelude::*;

#[differentiable]
fn square_plus_sin(a: f64, b: f64) -> f64 {
    a * a + b.sin()
}

/// The callee twice, on computed arguments, beside other primitives.
#[differentiable]
fn outer(x: f64, y: f64) -> f64 {
    let u = square_plus_sin(x * y, y);
    u.ln() + square_plus_sin(u, 2.0) * x
}

#[differentiable]
fn outer_inline(x: f64, y: f64) -> f64 {
    let u = (x * y) * (x * y) + y.sin();
    u.ln() + (u * u + 2.0_f64.sin()) * x
}

#[test]
fn a_call_is_differentiated_through_the_callee() {
    let (x, y) = (0.7, 1.3);
    let (value, (dx, dy)) = outer_grad(x, y);
    let (inline, (ix, iy)) = outer_inline_grad(x, y);
    assert!(close(value, inline, 1e-15) && value == outer(x, y));
    assert!(
        close(dx, ix, 1e-13) && close(dy, iy, 1e-13),
        "{dx} {dy} vs {ix} {iy}"
    );
    let fd = central_difference(|v| outer(v[0], v[1]), &[x, y], 1e-6);
    assert!(close(dx, fd[0], 1e-7) && close(dy, fd[1], 1e-7));
    let (_, tangent) = outer_jvp(x, y, 0.3, -0.8);
    assert!(close(tangent, 0.3 * dx - 0.8 * dy, 1e-13));
}

mod layers {
    use autodiff::ndarray::{Array1, Array2};
    use autodiff::prelude::*;

    /// A layer whose data argument `x` is a constant (`wrt`), taken by reference.
    #[differentiable(wrt(w, b))]
    pub fn dense(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>) -> Array2<f64> {
        sigmoid(x.dot(w) + b)
    }
}

/// A two-layer network from a layer in another module: a constant argument, arguments
/// lent by reference, an array result.
#[differentiable(wrt(w1, b1, w2))]
fn network(
    x: &Array2<f64>,
    w1: &Array2<f64>,
    b1: &Array1<f64>,
    w2: &Array2<f64>,
    y: &Array2<f64>,
) -> f64 {
    let hidden = layers::dense(x, w1, b1);
    mse(&hidden.dot(w2), y)
}

#[differentiable(wrt(w1, b1, w2))]
fn network_inline(
    x: &Array2<f64>,
    w1: &Array2<f64>,
    b1: &Array1<f64>,
    w2: &Array2<f64>,
    y: &Array2<f64>,
) -> f64 {
    let hidden = sigmoid(x.dot(w1) + b1);
    mse(&hidden.dot(w2), y)
}

#[test]
fn layers_compose_across_modules() {
    let x = array![[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]];
    let w1 = Array2::from_shape_fn((3, 4), |(i, j)| 0.1 * (i as f64) - 0.2 * (j as f64) + 0.05);
    let b1 = array![0.1, -0.2, 0.3, 0.0];
    let w2 = Array2::from_shape_fn((4, 2), |(i, j)| 0.3 - 0.1 * (i + 2 * j) as f64);
    let y = array![[1.0, 0.0], [0.0, 1.0]];
    let (value, (g1, gb, g2)) = network_grad(&x, &w1, &b1, &w2, &y);
    let (inline, (i1, ib, i2)) = network_inline_grad(&x, &w1, &b1, &w2, &y);
    assert!(close(value, inline, 1e-15));
    for (a, b) in g1
        .iter()
        .chain(&gb)
        .chain(&g2)
        .zip(i1.iter().chain(&ib).chain(&i2))
    {
        assert!(close(*a, *b, 1e-14), "{a} vs {b}");
    }
    // Forward mode through the call: the dot-product test against the gradient.
    let (t1, tb, t2) = (w1.mapv(f64::cos), b1.mapv(f64::sin), w2.mapv(f64::exp));
    let (_, tangent) = network_jvp(&x, &w1, &b1, &w2, &y, t1.clone(), tb.clone(), t2.clone());
    let expected = (&g1 * &t1).sum() + (&gb * &tb).sum() + (&g2 * &t2).sum();
    assert!(close(tangent, expected, 1e-13), "{tangent} vs {expected}");
}

/// A call whose result is a tuple, used through `f_jacobian`.
#[differentiable]
fn both(v: &Array1<f64>) -> (f64, Array1<f64>) {
    (v.sum(), square_all(v))
}

#[differentiable]
fn square_all(v: &Array1<f64>) -> Array1<f64> {
    v * v
}

#[test]
fn calls_inside_vector_functions() {
    let v = array![1.0, -2.0, 0.5];
    let ((sum, squares), j) = both_jacobian(&v);
    assert_eq!((sum, squares.clone()), (-0.5, array![1.0, 4.0, 0.25]));
    let expected = array![
        [1.0, 1.0, 1.0],
        [2.0, 0.0, 0.0],
        [0.0, -4.0, 0.0],
        [0.0, 0.0, 1.0]
    ];
    assert_eq!(j, expected);
    let (_, g) = both_vjp(&v, (1.0, Array1::from(vec![1.0, 1.0, 1.0])));
    assert_eq!(g, array![3.0, -3.0, 2.0]);
}

/// A callee taking owned constants: the caller's constants are passed again by each sweep.
#[differentiable(wrt(x))]
fn weighted(x: f64, weights: Vec<f64>, scale: Array1<f64>) -> f64 {
    x * weights.iter().sum::<f64>() * scale.sum()
}

#[differentiable(wrt(x))]
fn owned_constants(x: f64, weights: Vec<f64>, c: &Array1<f64>) -> (f64, Array1<f64>) {
    (weighted(x * x, weights, c * 2.0), c.clone())
}

#[test]
fn constants_passed_by_value_and_constant_results() {
    let (w, c) = (vec![1.0, 2.0], array![0.5, 1.0]);
    // d/dx (x² · 3 · 3) = 18x; the constant result has tangent zero.
    let (value, tangent) = owned_constants_jvp(2.0, w.clone(), &c, 1.0);
    assert_eq!(value, (36.0, c.clone()));
    assert_eq!(tangent, (36.0, array![0.0, 0.0]));
    let (_, gradient) = owned_constants_vjp(2.0, w.clone(), &c, (1.0, array![1.0, 1.0]));
    assert_eq!(gradient, 36.0);
    assert_eq!(
        owned_constants_jacobian(2.0, w, &c).1,
        array![[36.0], [0.0], [0.0]]
    );
}

mod mine {
    use autodiff::prelude::*;

    /// A function of the user's named like the runtime's `softplus`, computing something
    /// else.
    #[differentiable]
    pub fn softplus(x: f64) -> f64 {
        3.0 * x * x
    }
}

/// Called by its path, a function of the user's named like a runtime function is the
/// user's (it was read as the runtime's `softplus`, whose derivative differs).
#[differentiable]
fn through_a_namesake(x: f64) -> f64 {
    mine::softplus(x) + self::mine::softplus(2.0 * x)
}

#[test]
fn a_namesake_of_a_runtime_function_called_by_its_path() {
    let x = 0.7;
    assert!(close(through_a_namesake(x), 15.0 * x * x, 1e-15));
    let (_, dx) = through_a_namesake_grad(x);
    assert!(close(dx, 30.0 * x, 1e-14), "{dx}");
    let (_, t) = through_a_namesake_jvp(x, 1.0);
    assert!(close(t, 30.0 * x, 1e-14), "{t}");
}
