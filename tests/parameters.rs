//! Structs of parameters: `#[derive(Parameters)]`, a `#[differentiable]` function reading
//! their fields, gradients of the same struct type, and the optimizers stepping them.

use autodiff::ndarray::{array, Array1, Array2};
use autodiff::prelude::*;

#[derive(Parameters, Clone, Debug, PartialEq)]
struct Layer {
    w: Array2<f64>,
    b: Array1<f64>,
}

#[derive(Parameters, Clone, Debug, PartialEq)]
struct Net {
    hidden: Layer,
    out: Layer,
    /// A scalar leaf: a temperature on the output.
    scale: f64,
}

#[differentiable(wrt(p))]
fn net_loss(p: &Net, x: &Array2<f64>, y: &Array2<f64>) -> f64 {
    let h = (x.dot(&p.hidden.w) + &p.hidden.b).tanh();
    let z = (h.dot(&p.out.w) + &p.out.b) * p.scale;
    bce_with_logits(&z, y)
}

/// The same function with every leaf a parameter of its own.
#[differentiable(wrt(w1, b1, w2, b2, scale))]
#[allow(clippy::too_many_arguments)]
fn flat_loss(
    w1: &Array2<f64>,
    b1: &Array1<f64>,
    w2: &Array2<f64>,
    b2: &Array1<f64>,
    scale: f64,
    x: &Array2<f64>,
    y: &Array2<f64>,
) -> f64 {
    let h = (x.dot(w1) + b1).tanh();
    let z = (h.dot(w2) + b2) * scale;
    bce_with_logits(&z, y)
}

fn net() -> Net {
    Net {
        hidden: Layer {
            w: array![[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]],
            b: array![0.01, -0.02, 0.03],
        },
        out: Layer {
            w: array![[0.7], [-0.8], [0.9]],
            b: array![0.05],
        },
        scale: 1.5,
    }
}

fn data() -> (Array2<f64>, Array2<f64>) {
    (
        array![[1.0, 2.0], [-1.0, 0.5], [0.3, -0.7], [2.0, 1.0]],
        array![[1.0], [0.0], [1.0], [0.0]],
    )
}

#[test]
fn struct_gradient_equals_the_flat_gradient() {
    let (p, (x, y)) = (net(), data());
    let (value, grad) = net_loss_grad(&p, &x, &y);
    let (flat_value, (w1, b1, w2, b2, scale)) = flat_loss_grad(
        &p.hidden.w,
        &p.hidden.b,
        &p.out.w,
        &p.out.b,
        p.scale,
        &x,
        &y,
    );
    // The vectorized tanh of f_grad agrees with libm's to a few ulps.
    assert!((value - net_loss(&p, &x, &y)).abs() < 1e-14);
    assert_eq!(value, flat_value);
    let expected = Net {
        hidden: Layer { w: w1, b: b1 },
        out: Layer { w: w2, b: b2 },
        scale,
    };
    assert_eq!(grad, expected);
}

#[test]
fn struct_gradient_agrees_with_finite_differences() {
    let (p, (x, y)) = (net(), data());
    let (_, grad) = net_loss_grad(&p, &x, &y);
    let mut leaves = Vec::new();
    p.for_each_leaf(&mut |leaf| leaves.extend_from_slice(leaf));
    let rebuild = |flat: &[f64]| {
        let mut q = p.clone();
        let mut offset = 0;
        q.for_each_leaf_mut_with(&p, &mut |leaf, _| {
            leaf.copy_from_slice(&flat[offset..offset + leaf.len()]);
            offset += leaf.len();
        });
        q
    };
    let numeric =
        autodiff::check::central_difference(|w| net_loss(&rebuild(w), &x, &y), &leaves, 1e-6);
    let mut analytic = Vec::new();
    grad.for_each_leaf(&mut |leaf| analytic.extend_from_slice(leaf));
    assert_eq!(p.num_parameters(), 2 * 3 + 3 + 3 + 1 + 1);
    for (a, n) in analytic.iter().zip(&numeric) {
        assert!((a - n).abs() < 1e-7, "{a} vs {n}");
    }
}

/// Leaves the body never reads get a zero gradient of their shape.
#[differentiable]
fn only_hidden_bias(p: &Net) -> f64 {
    p.hidden.b.sum()
}

#[test]
fn unread_leaves_have_zero_gradient() {
    let (_, grad) = only_hidden_bias_grad(&net());
    let mut expected = net().zeros_like();
    expected.hidden.b.fill(1.0);
    assert_eq!(grad, expected);
}

#[derive(Parameters, Clone, Debug)]
struct Tuple(Array1<f64>, f64);

#[differentiable]
fn tuple_struct(p: Tuple, x: &Array1<f64>) -> f64 {
    (&p.0 * x).sum() + p.1 * p.1
}

#[test]
fn tuple_structs_by_value() {
    let (_, (grad, dx)) = tuple_struct_grad(Tuple(array![1.0, 2.0], 3.0), &array![4.0, 5.0]);
    assert_eq!(grad.0, array![4.0, 5.0]);
    assert_eq!(grad.1, 6.0);
    assert_eq!(dx, array![1.0, 2.0]);
}

#[test]
fn optimizers_step_structs() {
    let (x, y) = data();
    for mut opt in [
        Box::new(Sgd::new(0.5).momentum(0.9)) as Box<dyn Optimizer<Net>>,
        Box::new(Adam::new(0.05)),
    ] {
        let mut p = net();
        let before = net_loss(&p, &x, &y);
        for _ in 0..100 {
            let (_, grad) = net_loss_grad(&p, &x, &y);
            opt.step(&mut p, &grad);
        }
        let after = net_loss(&p, &x, &y);
        assert!(after < 0.5 * before, "{before} → {after}");
    }
}

#[test]
fn forward_mode_takes_a_tangent_struct() {
    let (p, (x, y)) = (net(), data());
    let (_, grad) = net_loss_grad(&p, &x, &y);
    // The direction: every leaf of the model scaled differently.
    let mut direction = p.clone();
    let mut k = 0.0;
    direction.for_each_leaf_mut_with(&p, &mut |leaf, _| {
        for v in leaf {
            k += 1.0;
            *v = (k * 0.37_f64).sin();
        }
    });
    let (value, tangent) = net_loss_jvp(&p, &x, &y, direction.clone());
    assert!((value - net_loss(&p, &x, &y)).abs() < 1e-14);
    let (mut grads, mut dirs) = (Vec::new(), Vec::new());
    grad.for_each_leaf(&mut |leaf| grads.extend_from_slice(leaf));
    direction.for_each_leaf(&mut |leaf| dirs.extend_from_slice(leaf));
    let dot: f64 = grads.iter().zip(&dirs).map(|(g, d)| g * d).sum();
    assert!((tangent - dot).abs() < 1e-12, "{tangent} vs {dot}");
}

/// Parameters of other types the macro does not know stay constants unless the body reads
/// their fields: an enum, a map, an alias.
#[derive(Clone, Copy)]
enum Activation {
    Linear,
    Doubled,
}

fn gain(activation: Activation) -> f64 {
    match activation {
        Activation::Linear => 1.0,
        Activation::Doubled => 2.0,
    }
}

type Real = f64;

#[differentiable]
fn with_unknown_types(
    x: f64,
    activation: Activation,
    table: &std::collections::HashMap<&str, f64>,
    offset: Real,
) -> f64 {
    x * gain(activation) * table["scale"] + offset
}

#[test]
fn unknown_types_stay_constants() {
    let table = std::collections::HashMap::from([("scale", 3.0)]);
    let (value, dx) = with_unknown_types_grad(2.0, Activation::Doubled, &table, 1.0);
    assert_eq!((value, dx), (13.0, 6.0));
    assert_eq!(
        with_unknown_types_grad(2.0, Activation::Linear, &table, 0.0).1,
        3.0
    );
}

/// A layer bound to a local, as layered models are written.
#[differentiable(wrt(p))]
fn through_a_local(p: &Net, x: &Array2<f64>, y: &Array2<f64>) -> f64 {
    let hidden = &p.hidden;
    let out = &p.out;
    let h = (x.dot(&hidden.w) + &hidden.b).tanh();
    bce_with_logits(&((h.dot(&out.w) + &out.b) * p.scale), y)
}

#[test]
fn sub_structs_bound_to_locals() {
    let (p, (x, y)) = (net(), data());
    assert_eq!(through_a_local_grad(&p, &x, &y), net_loss_grad(&p, &x, &y));
}

/// One sample's loss under a layer.
#[differentiable(wrt(p))]
fn layer_loss(p: &Layer, x: &Array1<f64>, y: f64) -> f64 {
    ((p.w.dot(x) + &p.b).sum() - y).powi(2)
}

/// A struct of parameters passed to a call in a loop summed into the result, its cotangent
/// known there (a weight): the call's vjp runs where it is made, its contribution added to
/// the struct's accumulator.
#[differentiable(wrt(p))]
fn weighted_layer_losses(p: &Layer, xs: &Array2<f64>, weights: &Array1<f64>) -> f64 {
    let mut total = 0.0;
    for i in 0..xs.nrows() {
        let x = xs.row(i).to_owned();
        total += weights[i] * layer_loss(p, &x, i as f64);
    }
    total
}

#[test]
fn a_struct_passed_to_calls_in_a_summed_loop() {
    let p = Layer {
        w: array![[0.3, -0.2], [0.1, 0.4]],
        b: array![0.05, -0.1],
    };
    let xs = array![[1.0, 2.0], [-0.5, 0.7], [0.2, -1.1]];
    let weights = array![0.5, -1.5, 2.0];
    let (_, grad) = weighted_layer_losses_grad(&p, &xs, &weights);
    // Against differences in each leaf.
    let loss = |p: &Layer| weighted_layer_losses(p, &xs, &weights);
    for (r, c) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
        let (mut up, mut down) = (p.clone(), p.clone());
        up.w[[r, c]] += 1e-6;
        down.w[[r, c]] -= 1e-6;
        let fd = (loss(&up) - loss(&down)) / 2e-6;
        assert!(
            (grad.w[[r, c]] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
            "w[{r}, {c}]"
        );
    }
    for k in 0..2 {
        let (mut up, mut down) = (p.clone(), p.clone());
        up.b[k] += 1e-6;
        down.b[k] -= 1e-6;
        let fd = (loss(&up) - loss(&down)) / 2e-6;
        assert!((grad.b[k] - fd).abs() < 1e-6 * (1.0 + fd.abs()), "b[{k}]");
    }
}
