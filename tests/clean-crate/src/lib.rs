//! A user's crate defining every kind of function `#[differentiable]` generates, under the
//! strictest lints a user may set: `cargo clippy --workspace --all-targets -- -D warnings`
//! checks the generated code with rustc's warnings and clippy's pedantic group, and
//! `forbid(unsafe_code)` proves it has no `unsafe`.
#![deny(warnings)]
#![forbid(unsafe_code)]
#![warn(clippy::pedantic)]
#![deny(
    missing_docs,
    unused_qualifications,
    rust_2018_idioms,
    unreachable_pub,
    trivial_casts,
    trivial_numeric_casts,
    unused_lifetimes,
    let_underscore_drop,
    unused_results,
    missing_debug_implementations
)]

use autodiff::ndarray::{concatenate, stack, Array1, Array2, ArrayView1, ArrayView2, Axis, Slice};
use autodiff::prelude::*;

// --- scalars --------------------------------------------------------------------------

/// The lectures' seed function, in `f64`.
#[differentiable(hessian)]
#[must_use]
pub fn seed(x1: f64, x2: f64) -> f64 {
    x1.ln() + x1 * x2 - x2.sin()
}

/// In `f32`, with shadowing, reassignment and every compound assignment.
#[differentiable]
#[must_use]
pub fn single(x: f32, y: f32) -> f32 {
    let t = x * y;
    let t = t.tanh() + x;
    let mut acc = t;
    acc += y.exp();
    acc -= x / y;
    acc *= 1.5;
    acc /= 1.0 + y * y;
    acc
}

/// A subset of the parameters, with integer and boolean constants.
#[differentiable(wrt(w, b))]
#[must_use]
pub fn neuron(w: f64, x: f64, b: f64, n: usize, scaled: bool) -> f64 {
    let count = f64::from(u32::try_from(n).unwrap_or(u32::MAX));
    let factor = scale_of(scaled, count);
    relu(w * x + b) * factor
}

/// A constant of [`neuron`]'s, computed by the user's own code.
#[must_use]
pub fn scale_of(scaled: bool, count: f64) -> f64 {
    if scaled {
        1.0 / count
    } else {
        1.0
    }
}

// --- arrays, by reference and by view -------------------------------------------------

/// Logistic regression over a data set: arrays by reference, a label slice unused.
#[differentiable(wrt(w, b))]
#[must_use]
pub fn logistic(w: &Array1<f64>, b: f64, x: &Array2<f64>, y: &Array1<f64>) -> f64 {
    bce(&sigmoid(x.dot(w) + b), y)
}

/// Arrays by view, reductions, broadcasting.
///
/// # Panics
///
/// If `a` has no columns (the mean of nothing).
#[differentiable]
#[must_use]
// The user's choice, not the generated code's: clippy does not count ndarray's views as
// `Copy`, but they are passed by value as ndarray's own functions take them.
#[allow(clippy::needless_pass_by_value)]
pub fn viewed(a: ArrayView2<'_, f64>, v: ArrayView1<'_, f64>) -> f64 {
    let sums = (&a * &v).sum_axis(Axis(0));
    (sums.exp().mean().unwrap() + a.t().dot(&v).powi(2).sum()).sqrt()
}

/// Softmax cross-entropy on class labels (a slice constant).
#[differentiable(wrt(w))]
#[must_use]
pub fn classify(w: &Array2<f64>, x: &Array2<f64>, labels: &[usize]) -> f64 {
    cross_entropy(x.dot(w), labels)
}

/// A constant read by a differentiated operation and then moved; a constant's compound
/// assignment reading itself.
#[differentiable(wrt(scale))]
#[must_use]
pub fn constants(v: &Array1<f64>, scale: f64, label: &str) -> f64 {
    let doubled = v * 2.0;
    let total = (&doubled * scale).sum();
    let mut moved = doubled;
    moved -= &moved.sin();
    let length = f64::from(u32::try_from(label.len()).unwrap_or(0));
    total * length + (&moved * scale).sum()
}

// --- elementwise closures -------------------------------------------------------------

/// GELU with `mapv`, a constant and a block in the closure, and `map` by reference.
#[differentiable(hessian)]
#[must_use]
pub fn gelu_closure(x: &Array1<f64>, slope: f64) -> f64 {
    let scale = (2.0 / std::f64::consts::PI).sqrt();
    let gelu = x.mapv(|v| {
        let inner = scale * (v + 0.044_715 * v.powi(3));
        0.5 * v * (1.0 + inner.tanh())
    });
    let elu = x.map(|v| if *v > 0.0 { *v * slope } else { v.exp() - 1.0 });
    gelu.sum() + elu.sum() + x.map(|&v| v * v).sum()
}

/// In `f32`, with a capture.
#[differentiable]
#[must_use]
pub fn swish_closure(x: &Array1<f32>, beta: f32) -> f32 {
    x.mapv(|v| v * sigmoid(beta * v)).sum()
}

// --- structs of parameters ------------------------------------------------------------

/// One layer.
#[derive(Parameters, Clone, Debug)]
pub struct Layer {
    /// Weights.
    pub w: Array2<f64>,
    /// Biases.
    pub b: Array1<f64>,
}

/// Two layers and a scale: nested structs.
#[derive(Parameters, Clone, Debug)]
pub struct Mlp {
    /// The hidden layer.
    pub hidden: Layer,
    /// The output layer.
    pub out: Layer,
    /// A scalar leaf.
    pub scale: f64,
}

/// A network's loss over a model struct.
#[differentiable(wrt(p))]
#[must_use]
pub fn mlp_loss(p: &Mlp, x: &Array2<f64>, labels: &[usize]) -> f64 {
    let h = (x.dot(&p.hidden.w) + &p.hidden.b).tanh();
    cross_entropy(&((h.dot(&p.out.w) + &p.out.b) * p.scale), labels)
}

/// A layer as a function of its struct of parameters.
#[differentiable]
#[must_use]
pub fn dense(l: &Layer, x: &Array2<f64>) -> Array2<f64> {
    (x.dot(&l.w) + &l.b).tanh()
}

/// A deep network: a `Vec` of layers and a hyperparameter.
#[derive(Parameters, Clone, Debug)]
pub struct Deep {
    /// The layers, first to last.
    pub layers: Vec<Layer>,
    /// The output layer.
    pub head: Layer,
    /// A hyperparameter, not differentiated.
    #[parameters(skip)]
    pub depth: usize,
}

/// A whole model: layers by iteration through the layer's function, the head by index and
/// in place, the struct passed whole.
#[differentiable(wrt(p))]
#[must_use]
pub fn deep_loss(p: &Deep, x: &Array2<f64>, labels: &[usize]) -> f64 {
    let mut h = x.clone();
    for layer in &p.layers {
        h = dense(layer, &h);
    }
    let first = p.layers[0].b.sum();
    cross_entropy(dense(&p.head, &h), labels) + first * first + mlp_like(p, x)
}

/// The struct taken whole from another function.
#[differentiable(wrt(p))]
#[must_use]
pub fn mlp_like(p: &Deep, x: &Array2<f64>) -> f64 {
    let mut acc = 0.0;
    for i in 0..p.depth.min(p.layers.len()) {
        acc += (x.dot(&p.layers[i].w) + &p.layers[i].b).sum();
    }
    acc
}

/// The Hessian of a function of a struct of parameters.
#[differentiable(hessian, wrt(p))]
#[must_use]
pub fn layer_energy(p: &Layer, x: &Array2<f64>) -> f64 {
    (x.dot(&p.w) + &p.b).tanh().sum()
}

// --- array and tuple results (Jacobians) ----------------------------------------------

/// A vector function of scalars: a tuple result.
#[differentiable]
#[must_use]
pub fn polar(r: f64, theta: f64) -> (f64, f64) {
    (r * theta.cos(), r * theta.sin())
}

/// An array result, a transposed view of a parameter made owned.
#[differentiable]
#[must_use]
pub fn affine(w: &Array2<f64>, x: &Array1<f64>) -> (Array1<f64>, Array2<f64>) {
    (sigmoid(w.dot(x)), w.t().to_owned())
}

// --- views, gathers, reshaping and joining ----------------------------------------------

/// Slices (at a loop index too), a gather, a line, a diagonal. Not ndarray's `s!`, whose
/// expansion allows `unsafe_code`, which this crate forbids: any crate using `s!` does too.
#[differentiable(wrt(x, e), hessian)]
#[must_use]
pub fn views(x: &Array1<f64>, e: &Array2<f64>, tokens: &[usize]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        s += x.slice_axis(Axis(0), Slice::from(i..i + 2)).sum() * x[i];
    }
    let rows = e.select(Axis(0), tokens);
    let part = x.slice_axis(Axis(0), Slice::from(..2)).to_owned();
    s + rows.index_axis(Axis(1), 0).dot(
        &x.slice_axis(Axis(0), Slice::new(0, None, -1))
            .slice_axis(Axis(0), Slice::from(..tokens.len())),
    ) + e.diag().sum()
        + part.sum()
}

/// Reshaped, broadcast, joined and stacked, as an array result.
///
/// # Panics
///
/// Unless `m` is 2 × 2 and `v` has 2 elements.
#[differentiable]
#[must_use]
pub fn reshaped(m: &Array2<f64>, v: &Array1<f64>) -> Array2<f64> {
    let joined = concatenate![Axis(0), m.view(), v.broadcast((1, 2)).unwrap()];
    let flat = joined.to_shape(6).unwrap().to_owned();
    let pair = stack(
        Axis(1),
        &[v.view(), flat.slice_axis(Axis(0), Slice::from(..2))],
    )
    .unwrap();
    pair.view().reversed_axes().to_owned()
        + flat
            .view()
            .into_shape_with_order((2, 3))
            .unwrap()
            .slice_axis(Axis(1), Slice::from(1..))
}

// --- composition, across modules; visibility ------------------------------------------

/// Layers called by the functions of this crate.
pub mod layers {
    use autodiff::ndarray::Array1;
    use autodiff::prelude::*;

    /// A dense unit.
    #[differentiable]
    #[must_use]
    pub fn dense(w: &Array1<f64>, x: &Array1<f64>, b: f64) -> f64 {
        (w.dot(x) + b).tanh()
    }

    /// Visible in the crate only.
    #[differentiable]
    pub(crate) fn square(x: f64) -> f64 {
        x * x
    }

    /// Private to the module, called from it.
    #[differentiable]
    fn cube(x: f64) -> f64 {
        x * x * x
    }

    /// Calls the private function.
    #[differentiable]
    #[must_use]
    pub fn cubed_plus_one(x: f64) -> f64 {
        cube(x) + 1.0
    }

    /// A module below, calling up.
    pub mod nested {
        use autodiff::ndarray::Array1;
        use autodiff::prelude::*;

        /// Calls a function of the module above.
        #[differentiable]
        #[must_use]
        pub fn reuse(x: &Array1<f64>) -> Array1<f64> {
            x * super::square(x.sum())
        }
    }
}

/// Calls across modules.
#[differentiable(wrt(w, b))]
#[must_use]
pub fn stacked(w: &Array1<f64>, b: f64, x: &Array1<f64>) -> f64 {
    layers::square(layers::dense(w, x, b)) + layers::cubed_plus_one(b)
}

// --- custom rules ---------------------------------------------------------------------

/// ln(1 + eˣ), without overflow, a primitive with its own rules.
#[differentiable(vjp = log1pexp_vjp_rule, jvp = log1pexp_jvp_rule)]
#[must_use]
pub fn log1pexp(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// The reverse-mode rule of [`log1pexp`].
#[must_use]
pub fn log1pexp_vjp_rule(x: f64, cotangent: f64) -> (f64, f64) {
    (log1pexp(x), cotangent * sigmoid(x))
}

/// The forward-mode rule of [`log1pexp`].
#[must_use]
pub fn log1pexp_jvp_rule(x: f64, x_tangent: f64) -> (f64, f64) {
    (log1pexp(x), x_tangent * sigmoid(x))
}

/// Uses the custom rule.
#[differentiable(wrt(w))]
#[must_use]
pub fn margin(w: f64, x: f64) -> f64 {
    log1pexp(-w * x) + 0.5 * w * w
}

// --- associated functions -------------------------------------------------------------

/// A model whose loss is an associated function.
#[derive(Debug)]
pub struct Quadratic;

#[differentiable]
impl Quadratic {
    /// (x − 1)², with `Quadratic::loss_grad` and the rest beside it.
    #[differentiable(hessian)]
    #[must_use]
    pub fn loss(x: f64, y: f64) -> f64 {
        (x - 1.0).powi(2) + x * y
    }
}

// --- shapes of generated code that the functions above do not reach ---------------------

/// Constants passed to a call (copied for the sweeps that call again), a `_` and a `mut`
/// parameter, a parameter the result does not depend on, eight parameters.
#[differentiable(wrt(left, right, twice, weights, _ignored))]
#[must_use]
#[allow(clippy::too_many_arguments)] // the user's function has eight parameters
pub fn many(
    left: f64,
    right: f64,
    mut twice: f64,
    weights: &Array1<f64>,
    _ignored: f64,
    _: f64,
    count: u32,
    labels: &[usize],
) -> f64 {
    twice *= 2.0;
    let total = f64::from(count) + f64::from(u32::try_from(labels.len()).unwrap_or(0));
    scaled(left * right, count) + twice * total + layers::dense(weights, weights, left)
}

/// Called with a constant integer.
#[differentiable(wrt(x))]
#[must_use]
pub fn scaled(x: f64, n: u32) -> f64 {
    x * f64::from(n)
}

/// A result made of a parameter returned as it is, a value twice and a constant.
#[differentiable]
#[must_use]
pub fn shapes(w: &Array1<f32>, s: f32) -> (Array1<f32>, f32, f32, Array1<f32>) {
    let doubled = s * 2.0;
    (w.to_owned(), doubled, doubled, w * 0.0 + 1.5)
}

/// A constant result: every derivative is zero.
#[differentiable]
#[must_use]
#[allow(unused_variables)] // the user's function ignores its parameter
pub fn constant_result(x: f64) -> f64 {
    2.5
}

/// The Hessian of an `f32` array function.
#[differentiable(hessian)]
#[must_use]
pub(crate) fn energy(x: &Array1<f32>, k: f32) -> f32 {
    (x * x).sum() * k + x.sum().powi(3)
}

/// A custom rule with an array result, differentiated in one parameter only.
#[differentiable(wrt(x), vjp = cumsum_vjp_rule, jvp = cumsum_jvp_rule)]
#[must_use]
pub fn cumsum(x: &Array1<f64>, offset: f64) -> Array1<f64> {
    let mut total = offset;
    x.mapv(|v| {
        total += v;
        total
    })
}

/// Jᵀ·ȳ of [`cumsum`]: sums from the end.
#[must_use]
// The rule's signature is the contract's (`f_vjp`'s): the cotangent comes by value.
#[allow(clippy::needless_pass_by_value)]
pub fn cumsum_vjp_rule(
    x: &Array1<f64>,
    offset: f64,
    cotangent: Array1<f64>,
) -> (Array1<f64>, Array1<f64>) {
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
    (cumsum(x, offset), Array1::from(gradient))
}

/// J·ẋ of [`cumsum`]: the running sum of the tangent.
#[must_use]
// The rule's signature is the contract's (`f_jvp`'s): the tangent comes by value.
#[allow(clippy::needless_pass_by_value)]
pub fn cumsum_jvp_rule(
    x: &Array1<f64>,
    offset: f64,
    x_tangent: Array1<f64>,
) -> (Array1<f64>, Array1<f64>) {
    (cumsum(x, offset), cumsum(&x_tangent, 0.0))
}

/// Calls the custom rule with an array result, and a function of the parent module.
#[differentiable]
#[must_use]
pub fn through_rule(x: &Array1<f64>) -> Array1<f64> {
    layers::nested::reuse(&cumsum(x, 1.0))
}

/// The Jacobian over a struct of parameters.
#[differentiable(wrt(p))]
#[must_use]
pub fn layer_out(p: &Layer, x: &Array1<f64>) -> Array1<f64> {
    (p.w.dot(x) + &p.b).tanh()
}

/// Items in the body, a lifetime and a `where` clause.
#[differentiable(hessian)]
#[must_use]
// The user's choice, as for `viewed`: a view by value.
#[allow(clippy::needless_pass_by_value)]
pub fn with_items<'a>(x: ArrayView1<'a, f64>, s: f64, length: usize) -> f64
where
    'a: 'a,
{
    use std::f64::consts::PI;
    const HALF: f64 = 0.5;
    fn scale(length: usize) -> f64 {
        f64::from(u32::try_from(length).unwrap_or(0)) * HALF
    }
    let k = scale(length);
    (&x * s).sum() * k + (s * PI).sin()
}

#[differentiable]
impl Quadratic {
    /// Calls another associated function through `Self::`.
    #[differentiable]
    #[must_use]
    pub fn twice(x: f64) -> f64 {
        Self::loss(x, x) * 2.0
    }
}

/// `mut` bindings in a `match` arm and a `for` pattern, changed in the body (the generated
/// code changes its own copies: `mut` on the pattern was an unused-`mut` warning), and an
/// arm binding a name the adjoint binds again.
#[differentiable(wrt(x))]
#[must_use]
pub fn mutable_bindings(x: f64, k: u32) -> f64 {
    let a = match k {
        0 => x,
        mut n => {
            n += 1;
            x * f64::from(n)
        }
    };
    let mut s = 0.0;
    for mut i in 0..k {
        i %= 2;
        s += x * f64::from(i);
    }
    a + s
}

#[cfg(test)]
mod tests {
    // Exact comparisons where the derivatives are exact in floating point.
    #![allow(clippy::float_cmp)]

    use super::*;
    use autodiff::ndarray::array;

    #[test]
    fn generated_functions_run() {
        let (value, (d1, d2)) = seed_grad(2.0, 5.0);
        assert_eq!(value, seed(2.0, 5.0));
        assert!((d1 - 5.5).abs() < 1e-12 && (d2 - (2.0 - 5.0_f64.cos())).abs() < 1e-12);
        let (_, gradient, hessian) = seed_hessian(2.0, 5.0);
        assert_eq!(gradient, (d1, d2));
        assert!((hessian[[0, 1]] - 1.0).abs() < 1e-12);
        let (_, tangent) = single_jvp(0.5, 1.5, 1.0, 0.0);
        assert!((tangent - single_grad(0.5, 1.5).1 .0).abs() < 1e-5);
        assert_eq!(neuron_grad(2.0, 3.0, 1.0, 1, false), (7.0, (3.0, 1.0)));

        let (data, target) = (array![[1.0, 2.0], [-1.0, 0.5]], array![1.0, 0.0]);
        let (loss, (dw, _)) = logistic_grad(&array![0.1, -0.2], 0.0, &data, &target);
        assert!(loss > 0.0 && dw.len() == 2);
        let (_, (da, dv)) = viewed_grad(data.view(), target.view());
        assert_eq!((da.dim(), dv.len()), ((2, 2), 2));
        let (_, dw) = classify_grad(&data, &data, &[0, 1]);
        assert_eq!(dw.dim(), (2, 2));
        let (value, ds) = constants_grad(&target, 0.5, "ab");
        assert_eq!(value, constants(&target, 0.5, "ab"));
        assert!(ds.is_finite());

        let layer = |n| Layer {
            w: Array2::from_elem((2, n), 0.1),
            b: Array1::zeros(n),
        };
        let model = Mlp {
            hidden: layer(2),
            out: layer(2),
            scale: 1.0,
        };
        let (_, grad) = mlp_loss_grad(&model, &data, &[0, 1]);
        assert_eq!(grad.hidden.w.dim(), (2, 2));
        let deep = Deep {
            layers: vec![layer(2), layer(2)],
            head: layer(2),
            depth: 2,
        };
        let (_, grad) = deep_loss_grad(&deep, &data, &[0, 1]);
        assert_eq!((grad.layers.len(), grad.depth), (2, 2));
        let (_, _, hessian) = layer_energy_hessian(&layer(2), &data);
        assert_eq!(hessian.dim(), (6, 6));
        let (_, _, product) = layer_energy_hvp(&layer(2), &data, autodiff::ones_like(&layer(2)));
        let (_, _, diagonal) = layer_energy_hessian_diagonal(&layer(2), &data);
        assert_eq!((product.w.dim(), diagonal.b.len()), ((2, 2), 2));

        let (_, jacobian) = polar_jacobian(2.0, 0.0);
        assert_eq!(jacobian, array![[1.0, 0.0], [0.0, 2.0]]);
        let ((unit, transposed), jacobian) = affine_jacobian(&data, &target);
        assert_eq!(
            (unit.len(), transposed.dim(), jacobian.dim()),
            (2, (2, 2), (6, 6))
        );

        let (_, (dw, db)) = stacked_grad(&target, 0.5, &target);
        assert!(dw.len() == 2 && db.is_finite());
        assert_eq!(layers::square_grad(3.0), (9.0, 6.0));
        assert_eq!(margin_grad(1.0, -1000.0).1, 1001.0);
        let (_, (dx, dy), hessian) = Quadratic::loss_hessian(2.0, 3.0);
        assert_eq!((dx, dy), (5.0, 2.0));
        assert_eq!(hessian, array![[2.0, 1.0], [1.0, 0.0]]);
        assert_eq!(Quadratic::loss_hvp(2.0, 3.0, 1.0, 0.0).2, (2.0, 1.0));
        assert_eq!(Quadratic::loss_hessian_diagonal(2.0, 3.0).2, (2.0, 0.0));
        assert!(Quadratic::loss_source().contains("fn loss_hessian("));
        assert!(Quadratic::loss_source().contains("fn loss_hvp("));
    }

    #[test]
    fn other_shapes_run() {
        let d = array![0.5, -0.5];
        let (value, (_, _, dc, dd, unused)) = many_grad(1.0, 2.0, 3.0, &d, 4.0, 5.0, 2, &[1]);
        assert_eq!(value, many(1.0, 2.0, 3.0, &d, 4.0, 5.0, 2, &[1]));
        assert_eq!((dc, dd.len(), unused), (6.0, 2, 0.0));
        let w = array![1.0_f32, 2.0];
        let (value, jacobian) = shapes_jacobian(&w, 3.0);
        assert_eq!(value, shapes(&w, 3.0));
        assert_eq!(jacobian.dim(), (6, 3));
        assert_eq!(constant_result_grad(1.0), (2.5, 0.0));
        assert_eq!(constant_result_jvp(1.0, 1.0), (2.5, 0.0));
        let (_, _, hessian) = energy_hessian(&w, 1.0);
        assert_eq!(hessian.dim(), (3, 3));
        let (_, gradient) = cumsum_vjp(&d, 0.0, array![1.0, 1.0]);
        assert_eq!(gradient, array![2.0, 1.0]);
        assert_eq!(through_rule_jacobian(&d).1.dim(), (2, 2));
        let layer = Layer {
            w: Array2::eye(2),
            b: Array1::zeros(2),
        };
        assert_eq!(layer_out_jacobian(&layer, &d).1.dim(), (2, 6));
        let (_, (dx, _), hessian) = with_items_hessian(d.view(), 2.0, d.len());
        assert_eq!((dx.len(), hessian.dim()), (2, (3, 3)));
        assert_eq!(Quadratic::twice_grad(2.0), (10.0, 12.0));
        let (x, e) = (array![0.5, -0.5, 1.0], array![[1.0, 2.0], [3.0, 4.0]]);
        let (value, (dx, de), hessian) = views_hessian(&x, &e, &[1, 1]);
        assert_eq!(value, views(&x, &e, &[1, 1]));
        assert_eq!((dx.len(), de.dim(), hessian.dim()), (3, (2, 2), (7, 7)));
        assert_eq!(mutable_bindings_grad(2.0, 3), (10.0, 5.0));
        let (value, jacobian) = reshaped_jacobian(&e, &d);
        assert_eq!(value, reshaped(&e, &d));
        assert_eq!(jacobian.dim(), (4, 6));
    }
}
