//! Whole models: structs of parameters passed to other differentiable functions (a field, or
//! the whole struct), structs nested in structs, `Vec`s of layers read by index and by
//! iteration, hyperparameters marked `#[parameters(skip)]`, in every mode, against central
//! finite differences; and a few training steps with the runtime's optimizers.

use autodiff::check::central_difference;
use autodiff::ndarray::{Array1, Array2};
use autodiff::prelude::*;

/// The leaves of `p` in order.
fn flatten<P: Parameters<Elem = f64>>(p: &P) -> Vec<f64> {
    let mut leaves = Vec::new();
    p.for_each_leaf(&mut |leaf| leaves.extend_from_slice(leaf));
    leaves
}

/// `p` with its leaves replaced by `flat`.
fn rebuild<P: Parameters<Elem = f64> + Clone>(p: &P, flat: &[f64]) -> P {
    let mut q = p.clone();
    let mut offset = 0;
    q.for_each_leaf_mut_with(p, &mut |leaf, _| {
        leaf.copy_from_slice(&flat[offset..offset + leaf.len()]);
        offset += leaf.len();
    });
    q
}

/// A tangent of `p`'s shape with deterministic, varied leaves.
fn direction<P: Parameters<Elem = f64> + Clone>(p: &P) -> P {
    let n = p.num_parameters();
    let flat: Vec<f64> = (0..n).map(|k| ((k as f64) * 0.7 + 0.3).sin()).collect();
    rebuild(p, &flat)
}

/// The gradient against central differences, and the jvp along a direction against the
/// gradient's dot product with it.
fn check<P: Parameters<Elem = f64> + Clone>(
    p: &P,
    f: impl Fn(&P) -> f64,
    grad: &P,
    jvp: impl Fn(&P) -> f64,
) {
    let numeric = central_difference(|w| f(&rebuild(p, w)), &flatten(p), 1e-6);
    let analytic = flatten(grad);
    assert_eq!(analytic.len(), numeric.len());
    for (k, (a, n)) in analytic.iter().zip(&numeric).enumerate() {
        assert!(
            (a - n).abs() < 1e-6 * (1.0 + n.abs()),
            "leaf {k}: {a} vs {n}"
        );
    }
    let t = direction(p);
    let expected: f64 = analytic.iter().zip(flatten(&t)).map(|(g, t)| g * t).sum();
    let tangent = jvp(&t);
    assert!(
        (tangent - expected).abs() < 1e-10 * (1.0 + expected.abs()),
        "jvp {tangent} vs {expected}"
    );
}

/// `f_grad(p, args…)`'s value against `f`'s and its gradient and `f_jvp` against `check`;
/// the gradient.
macro_rules! check_fn {
    ($f:ident, $grad:ident, $jvp:ident, $p:expr $(, $arg:expr)*) => {{
        let (value, grad) = $grad($p $(, $arg)*);
        assert!((value - $f($p $(, $arg)*)).abs() < 1e-12);
        check($p, |q| $f(q $(, $arg)*), &grad, |t| $jvp($p $(, $arg)*, t.clone()).1);
        grad
    }};
}

#[derive(Parameters, Clone, Debug, PartialEq)]
struct Dense {
    w: Array2<f64>,
    b: Array1<f64>,
}

#[derive(Parameters, Clone, Debug, PartialEq)]
struct Mlp2 {
    l1: Dense,
    l2: Dense,
}

#[differentiable]
fn layer(l: &Dense, x: &Array2<f64>) -> Array2<f64> {
    (x.dot(&l.w) + &l.b).tanh()
}

/// A field that is a struct, passed to another differentiable function.
#[differentiable(wrt(p))]
fn mlp2(p: &Mlp2, x: &Array2<f64>) -> f64 {
    let h = layer(&p.l1, x);
    let o = layer(&p.l2, &h);
    (&o * &o).sum()
}

#[differentiable(wrt(p))]
fn mlp2_inline(p: &Mlp2, x: &Array2<f64>) -> f64 {
    let h = (x.dot(&p.l1.w) + &p.l1.b).tanh();
    let o = (h.dot(&p.l2.w) + &p.l2.b).tanh();
    (&o * &o).sum()
}

/// The whole struct passed on, by reference as it came and borrowed again.
#[differentiable(wrt(p))]
#[allow(clippy::needless_borrow)]
fn mlp2_loss(p: &Mlp2, x: &Array2<f64>) -> f64 {
    mlp2(p, x) + 0.5 * mlp2(&p, x) + p.l1.b.sum()
}

fn dense(rows: usize, cols: usize, seed: f64) -> Dense {
    Dense {
        w: Array2::from_shape_fn((rows, cols), |(i, j)| {
            ((i * cols + j) as f64 * 0.37 + seed).sin() * 0.6
        }),
        b: Array1::from_shape_fn(cols, |j| (j as f64 * 0.91 + seed).cos() * 0.2),
    }
}

fn mlp2_params(first: f64, second: f64) -> Mlp2 {
    Mlp2 {
        l1: dense(3, 4, first),
        l2: dense(4, 2, second),
    }
}

fn data(rows: usize, cols: usize) -> Array2<f64> {
    Array2::from_shape_fn((rows, cols), |(i, j)| ((i * cols + j) as f64 * 1.3).sin())
}

#[test]
fn a_struct_field_passed_to_a_differentiable_function() {
    let (p, x) = (mlp2_params(0.1, 0.5), data(5, 3));
    let (value, grad) = mlp2_grad(&p, &x);
    let (inline, inline_grad) = mlp2_inline_grad(&p, &x);
    assert!((value - inline).abs() < 1e-12);
    for (a, b) in flatten(&grad).iter().zip(flatten(&inline_grad)) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
    check(
        &p,
        |q| mlp2(q, &x),
        &grad,
        |t| mlp2_jvp(&p, &x, t.clone()).1,
    );
}

#[test]
fn the_whole_struct_passed_to_a_differentiable_function() {
    let (p, x) = (mlp2_params(0.2, 0.7), data(4, 3));
    let _ = check_fn!(mlp2_loss, mlp2_loss_grad, mlp2_loss_jvp, &p, &x);
}

#[derive(Parameters, Clone, Debug, PartialEq)]
struct Deep {
    layers: Vec<Dense>,
    /// A hyperparameter: carried along, not differentiated.
    #[parameters(skip)]
    slope: f64,
}

/// Every layer by index, its fields read in place.
#[differentiable(wrt(p))]
fn deep_indexed(p: &Deep, x: &Array2<f64>) -> f64 {
    let mut h = x.clone();
    for i in 0..p.layers.len() {
        h = (h.dot(&p.layers[i].w) + &p.layers[i].b).tanh();
    }
    (&h * &h).sum()
}

/// Every layer by iteration.
#[differentiable(wrt(p))]
fn deep_iterated(p: &Deep, x: &Array2<f64>) -> f64 {
    let mut h = x.clone();
    for layer in &p.layers {
        h = (h.dot(&layer.w) + &layer.b).tanh();
    }
    (&h * &h).sum()
}

/// Every layer through the helper, a layer bound by index.
#[differentiable(wrt(p))]
fn deep_helper(p: &Deep, x: &Array2<f64>) -> f64 {
    let mut h = x.clone();
    for i in 0..p.layers.len() {
        let l = &p.layers[i];
        h = layer(l, &h);
    }
    (&h * &h).sum()
}

/// Through the helper, by iteration, the last layer apart.
#[differentiable(wrt(p))]
fn deep_helper_iterated(p: &Deep, x: &Array2<f64>) -> f64 {
    let mut h = x.clone();
    for l in p.layers.iter() {
        h = layer(l, &h);
    }
    let n = p.layers.len();
    let last = h.dot(&p.layers[n - 1].w.t());
    (&last * &last).sum() * 0.1
}

fn deep(sizes: &[usize]) -> Deep {
    Deep {
        layers: sizes
            .windows(2)
            .enumerate()
            .map(|(k, pair)| dense(pair[0], pair[1], k as f64 * 0.9))
            .collect(),
        slope: 0.25,
    }
}

#[test]
fn a_deep_mlp_over_a_vec_of_layers() {
    let p = deep(&[3, 5, 4, 4, 2]);
    let x = data(6, 3);
    let (value, grad) = deep_indexed_grad(&p, &x);
    assert!((value - deep_indexed(&p, &x)).abs() < 1e-12);
    assert_eq!(grad.layers.len(), 4);
    assert_eq!(grad.slope, p.slope);
    check(
        &p,
        |q| deep_indexed(q, &x),
        &grad,
        |t| deep_indexed_jvp(&p, &x, t.clone()).1,
    );
    for (f, g, j) in [
        (
            deep_iterated as fn(&Deep, &Array2<f64>) -> f64,
            deep_iterated_grad as fn(&Deep, &Array2<f64>) -> (f64, Deep),
            deep_iterated_jvp as fn(&Deep, &Array2<f64>, Deep) -> (f64, f64),
        ),
        (deep_helper, deep_helper_grad, deep_helper_jvp),
        (
            deep_helper_iterated,
            deep_helper_iterated_grad,
            deep_helper_iterated_jvp,
        ),
    ] {
        let (value, grad) = g(&p, &x);
        assert!((value - f(&p, &x)).abs() < 1e-12);
        check(&p, |q| f(q, &x), &grad, |t| j(&p, &x, t.clone()).1);
    }
}

/// Hyperparameters beside the parameters: a float and an integer, carried along, read in
/// the body, never differentiated.
#[derive(Parameters, Clone, Debug, PartialEq)]
struct Scaled {
    w: Array1<f64>,
    #[parameters(skip)]
    temperature: f64,
    #[parameters(skip)]
    repeats: usize,
}

#[differentiable(wrt(p))]
fn scaled(p: &Scaled, x: &Array1<f64>) -> f64 {
    let mut acc = 0.0;
    for _ in 0..p.repeats {
        acc += (x * &p.w / p.temperature).tanh().sum();
    }
    acc / p.repeats as f64
}

/// The hyperparameter struct inside another, passed on whole.
#[derive(Parameters, Clone, Debug, PartialEq)]
struct Outer {
    inner: Scaled,
    bias: f64,
}

#[differentiable(wrt(p))]
fn outer(p: &Outer, x: &Array1<f64>) -> f64 {
    scaled(&p.inner, x) * p.inner.temperature + p.bias * p.bias
}

#[test]
fn skipped_fields_are_carried_along_and_not_differentiated() {
    let p = Scaled {
        w: Array1::from(vec![0.3, -0.2, 0.8]),
        temperature: 2.0,
        repeats: 3,
    };
    let x = Array1::from(vec![1.0, 0.5, -1.5]);
    assert_eq!(p.num_parameters(), 3);
    let (value, grad) = scaled_grad(&p, &x);
    assert!((value - scaled(&p, &x)).abs() < 1e-12);
    // The gradient is a model of the same shape: the hyperparameters keep their values.
    assert_eq!((grad.temperature, grad.repeats), (2.0, 3));
    check(
        &p,
        |q| scaled(q, &x),
        &grad,
        |t| scaled_jvp(&p, &x, t.clone()).1,
    );
    // A tangent whose hyperparameters are anything at all: they have tangent zero.
    let mut t = direction(&p);
    t.temperature = 1e9;
    t.repeats = 0;
    let expected: f64 = flatten(&grad)
        .iter()
        .zip(flatten(&t))
        .map(|(g, t)| g * t)
        .sum();
    assert!((scaled_jvp(&p, &x, t).1 - expected).abs() < 1e-12);

    let o = Outer {
        inner: p.clone(),
        bias: 0.4,
    };
    let (value, grad) = outer_grad(&o, &x);
    assert!((value - outer(&o, &x)).abs() < 1e-12);
    assert_eq!(grad.inner.temperature, 2.0);
    check(
        &o,
        |q| outer(q, &x),
        &grad,
        |t| outer_jvp(&o, &x, t.clone()).1,
    );

    // Optimizers step the leaves only.
    let mut q = p.clone();
    let mut sgd = Sgd::new(0.1);
    sgd.step(&mut q, &grad.inner);
    assert_eq!((q.temperature, q.repeats), (2.0, 3));
    assert_ne!(q.w, p.w);
    let mut adam = Adam::new(0.1);
    adam.step(&mut q, &grad.inner);
    assert_eq!((q.temperature, q.repeats), (2.0, 3));
}

/// Three levels: a model holding an encoder (a `Vec` of layers and a layer) and a head.
#[derive(Parameters, Clone, Debug, PartialEq)]
struct Encoder {
    layers: Vec<Dense>,
    norm: Dense,
}

#[derive(Parameters, Clone, Debug, PartialEq)]
struct Model {
    enc: Encoder,
    head: Dense,
    #[parameters(skip)]
    name: String,
}

#[differentiable]
fn encode(e: &Encoder, x: &Array2<f64>) -> Array2<f64> {
    let mut h = layer(&e.norm, x);
    for (k, l) in e.layers.iter().enumerate() {
        let residual = layer(l, &h);
        h = if k == 0 {
            residual
        } else {
            residual + &h * 0.5
        };
    }
    h
}

/// The encoder passed whole (a field that is a struct with a `Vec` inside), the head read
/// in place, a layer of the nested `Vec` read by index.
#[differentiable(wrt(p))]
fn model_loss(p: &Model, x: &Array2<f64>, labels: &[usize]) -> f64 {
    let h = encode(&p.enc, x);
    let first = p.enc.layers[0].b.sum();
    cross_entropy(&(h.dot(&p.head.w) + &p.head.b), labels) + 0.1 * first * first
}

/// The same model read in place only, nested iteration and indexing.
#[differentiable(wrt(p))]
fn model_loss_inline(p: &Model, x: &Array2<f64>, labels: &[usize]) -> f64 {
    let mut h = (x.dot(&p.enc.norm.w) + &p.enc.norm.b).tanh();
    for k in 0..p.enc.layers.len() {
        let l = &p.enc.layers[k];
        let residual = (h.dot(&l.w) + &l.b).tanh();
        h = if k == 0 {
            residual
        } else {
            residual + &h * 0.5
        };
    }
    let first = p.enc.layers[0].b.sum();
    cross_entropy(&(h.dot(&p.head.w) + &p.head.b), labels) + 0.1 * first * first
}

fn model() -> Model {
    Model {
        enc: Encoder {
            layers: vec![dense(4, 4, 0.3), dense(4, 4, 1.1), dense(4, 4, 2.3)],
            norm: dense(3, 4, 0.8),
        },
        head: dense(4, 3, 1.7),
        name: "tiny".into(),
    }
}

#[test]
fn structs_nested_in_structs() {
    let (p, x, labels) = (model(), data(5, 3), [0, 2, 1, 1, 0]);
    let (value, grad) = model_loss_grad(&p, &x, &labels);
    let (inline, inline_grad) = model_loss_inline_grad(&p, &x, &labels);
    assert!((value - model_loss(&p, &x, &labels)).abs() < 1e-12);
    assert!((value - inline).abs() < 1e-12);
    for (a, b) in flatten(&grad).iter().zip(flatten(&inline_grad)) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
    assert_eq!(grad.name, "tiny");
    check(
        &p,
        |q| model_loss(q, &x, &labels),
        &grad,
        |t| model_loss_jvp(&p, &x, &labels, t.clone()).1,
    );
    let (_, vjp) = model_loss_vjp(&p, &x, &labels, 2.0);
    for (a, b) in flatten(&vjp).iter().zip(flatten(&grad)) {
        assert!((a - 2.0 * b).abs() < 1e-12);
    }
}

/// A GRU cell's gates, each a struct of parameters.
#[derive(Parameters, Clone, Debug, PartialEq)]
struct Gate {
    w: Array2<f64>,
    u: Array2<f64>,
    b: Array1<f64>,
}

#[derive(Parameters, Clone, Debug, PartialEq)]
struct Gru {
    update: Gate,
    reset: Gate,
    candidate: Gate,
    out: Array1<f64>,
}

#[differentiable]
fn gate(g: &Gate, x: &Array2<f64>, h: &Array2<f64>) -> Array2<f64> {
    x.dot(&g.w) + h.dot(&g.u) + &g.b
}

/// One step of a GRU, its gates computed by the helper.
#[differentiable]
fn gru_cell(p: &Gru, x: &Array2<f64>, h: &Array2<f64>) -> Array2<f64> {
    let z = sigmoid(gate(&p.update, x, h));
    let r = sigmoid(gate(&p.reset, x, h));
    let n = (x.dot(&p.candidate.w) + (&r * &h.dot(&p.candidate.u)) + &p.candidate.b).tanh();
    (1.0 - &z) * &n + &z * h
}

/// A sequence through the cell, the last state read out.
#[differentiable(wrt(p))]
fn gru_loss(p: &Gru, xs: &[Array2<f64>], targets: &Array1<f64>) -> f64 {
    let mut h = Array2::zeros((xs[0].nrows(), p.out.len()));
    for x in xs {
        h = gru_cell(p, x, &h);
    }
    mse(&h.dot(&p.out), targets)
}

fn gru_gate(inputs: usize, hidden: usize, seed: f64) -> Gate {
    let d = dense(inputs, hidden, seed);
    Gate {
        w: d.w,
        u: dense(hidden, hidden, seed + 0.4).w,
        b: d.b,
    }
}

fn gru() -> Gru {
    Gru {
        update: gru_gate(2, 3, 0.2),
        reset: gru_gate(2, 3, 1.2),
        candidate: gru_gate(2, 3, 2.2),
        out: Array1::from(vec![0.5, -0.4, 0.9]),
    }
}

#[test]
fn a_gru_cell_taking_its_parameters_as_a_struct() {
    let p = gru();
    let xs: Vec<Array2<f64>> = (0..4)
        .map(|t| data(3, 2).mapv(|v| v * (t as f64 * 0.3 + 0.5)))
        .collect();
    let targets = Array1::from(vec![0.2, -0.1, 0.4]);
    let _ = check_fn!(gru_loss, gru_loss_grad, gru_loss_jvp, &p, &xs, &targets);
}

#[test]
fn training_a_deep_mlp_with_the_runtime_optimizers() {
    // Two blobs, labels by the sign of the first coordinate's sum with the second's.
    let x = data(12, 3);
    let labels: Vec<usize> = x
        .rows()
        .into_iter()
        .map(|r| usize::from(r[0] + r[1] > 0.0))
        .collect();
    #[differentiable(wrt(p))]
    fn classify(p: &Deep, x: &Array2<f64>, labels: &[usize]) -> f64 {
        let mut h = x.clone();
        let n = p.layers.len();
        for i in 0..n - 1 {
            h = (h.dot(&p.layers[i].w) + &p.layers[i].b).tanh() * p.slope.exp();
        }
        cross_entropy(&(h.dot(&p.layers[n - 1].w) + &p.layers[n - 1].b), labels)
    }
    for adam in [true, false] {
        let mut p = deep(&[3, 6, 6, 5, 2]);
        let before = classify(&p, &x, &labels);
        let (mut sgd, mut adam_opt) = (Sgd::new(0.2), Adam::new(0.05));
        for _ in 0..60 {
            let (_, grad) = classify_grad(&p, &x, &labels);
            assert_eq!(grad.layers.len(), 4);
            match adam {
                true => adam_opt.step(&mut p, &grad),
                false => sgd.step(&mut p, &grad),
            }
        }
        let after = classify(&p, &x, &labels);
        assert!(after < 0.5 * before, "{before} → {after}");
        assert_eq!(p.slope, 0.25);
    }
}

/// The layers last first (`.rev()`), as a decoder mirrors an encoder.
#[differentiable(wrt(p))]
fn deep_reversed(p: &Deep, x: &Array2<f64>) -> f64 {
    let mut h = x.clone();
    for layer in p.layers.iter().rev() {
        h = (h.dot(&layer.w.t()) + 0.1).tanh();
    }
    (&h * &h).sum() + p.layers[0].b.sum()
}

#[test]
fn layers_last_first() {
    let p = deep(&[2, 4, 3, 3]);
    let x = data(5, 3);
    let _ = check_fn!(deep_reversed, deep_reversed_grad, deep_reversed_jvp, &p, &x);
}

/// Hessians: a struct of parameters with a nested struct, a skipped field read as a value,
/// an array parameter beside it.
#[derive(Parameters, Clone, Debug, PartialEq)]
struct Quadratic {
    a: Array2<f64>,
    inner: Linear,
    #[parameters(skip)]
    scale: f64,
}

#[derive(Parameters, Clone, Debug, PartialEq)]
struct Linear {
    w: Array1<f64>,
    b: f64,
}

#[differentiable(hessian, wrt(p, v))]
fn quadratic(p: &Quadratic, v: &Array1<f64>, x: &Array1<f64>) -> f64 {
    let y = p.a.dot(x).tanh();
    let z = (&y * &p.inner.w).sum() + p.inner.b * p.inner.b * p.scale;
    z * z + (v * &y).sum() * p.inner.b
}

#[test]
fn hessians_of_structs_of_parameters() {
    let p = Quadratic {
        a: Array2::from_shape_fn((2, 3), |(i, j)| (i as f64 - j as f64) * 0.3 + 0.1),
        inner: Linear {
            w: Array1::from(vec![0.4, -0.7]),
            b: 0.3,
        },
        scale: 1.5,
    };
    let v = Array1::from(vec![0.2, 0.9]);
    let x = Array1::from(vec![1.0, -0.5, 0.25]);
    let (value, (gp, gv), h) = quadratic_hessian(&p, &v, &x);
    let (grad_value, (gp2, gv2)) = quadratic_grad(&p, &v, &x);
    assert!((value - grad_value).abs() < 1e-12);
    assert_eq!(gp.scale, 1.5);
    for (a, b) in flatten(&gp)
        .iter()
        .chain(&gv.to_vec())
        .zip(flatten(&gp2).iter().chain(&gv2.to_vec()))
    {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
    // Against central differences of the gradient, over the flattened (p, v).
    let n = p.num_parameters() + v.len();
    assert_eq!(h.dim(), (n, n));
    let leaves: Vec<f64> = flatten(&p).into_iter().chain(v.iter().copied()).collect();
    let split = |w: &[f64]| {
        (
            rebuild(&p, &w[..p.num_parameters()]),
            Array1::from(w[p.num_parameters()..].to_vec()),
        )
    };
    for j in 0..n {
        let column = central_difference(
            |w| {
                let (q, u) = split(w);
                let (_, (gq, gu)) = quadratic_grad(&q, &u, &x);
                flatten(&gq)
                    .into_iter()
                    .chain(gu.iter().copied())
                    .collect::<Vec<_>>()[j]
            },
            &leaves,
            1e-5,
        );
        for (i, numeric) in column.iter().enumerate() {
            assert!(
                (h[[j, i]] - numeric).abs() < 1e-6,
                "H[{j}, {i}] = {} vs {numeric}",
                h[[j, i]]
            );
        }
    }
    assert!((&h - &h.t()).iter().all(|d| d.abs() < 1e-12));
}

#[test]
fn jacobians_and_vjps_of_a_layer_of_a_struct() {
    let l = dense(3, 2, 0.4);
    let x = data(4, 3);
    let (value, j) = layer_jacobian(&l, &x);
    assert_eq!(value, layer(&l, &x));
    // Inputs: l's leaves (w row-major, then b), then x; outputs: the 4 × 2 result.
    let n = l.num_parameters() + x.len();
    assert_eq!(j.dim(), (8, n));
    let inputs: Vec<f64> = flatten(&l).into_iter().chain(x.iter().copied()).collect();
    for row in 0..8 {
        let numeric = central_difference(
            |w| {
                let (q, y) = (
                    rebuild(&l, &w[..l.num_parameters()]),
                    Array2::from_shape_vec((4, 3), w[l.num_parameters()..].to_vec()).unwrap(),
                );
                layer(&q, &y).iter().copied().nth(row).unwrap()
            },
            &inputs,
            1e-6,
        );
        for (col, numeric) in numeric.iter().enumerate() {
            assert!((j[[row, col]] - numeric).abs() < 1e-7, "J[{row}, {col}]");
        }
    }
    // The vjp's struct entry is the Jacobian's rows summed with the cotangent.
    let cotangent = Array2::from_shape_fn((4, 2), |(i, k)| (i + 2 * k) as f64 * 0.1);
    let (_, (dl, dx)) = layer_vjp(&l, &x, cotangent.clone());
    let expected = cotangent.iter().copied().collect::<Array1<f64>>().dot(&j);
    let got: Vec<f64> = flatten(&dl).into_iter().chain(dx.iter().copied()).collect();
    for (a, b) in got.iter().zip(&expected) {
        assert!((a - b).abs() < 1e-12);
    }
}

/// `Vec`s of arrays and of floats as fields.
#[derive(Parameters, Clone, Debug, PartialEq)]
struct Gains {
    ws: Vec<Array2<f64>>,
    gains: Vec<f64>,
}

#[differentiable(wrt(p))]
fn gains(p: &Gains, x: &Array1<f64>) -> f64 {
    let mut h = x.clone();
    for i in 0..p.ws.len() {
        h = h.dot(&p.ws[i]).tanh() * p.gains[i];
    }
    let mut bonus = 0.0;
    for &g in p.gains.iter() {
        bonus += g * g;
    }
    h.sum() + bonus
}

#[test]
fn vecs_of_arrays_and_of_floats() {
    let p = Gains {
        ws: vec![dense(2, 3, 0.1).w, dense(3, 3, 0.9).w, dense(3, 2, 1.7).w],
        gains: vec![1.5, -0.5, 0.8],
    };
    let x = Array1::from(vec![0.3, -1.2]);
    let _ = check_fn!(gains, gains_grad, gains_jvp, &p, &x);
}

/// A function of a struct of parameters with rules of its own, called from a model.
#[differentiable(vjp = energy_vjp_rule, jvp = energy_jvp_rule)]
fn energy(l: &Dense, x: &Array1<f64>) -> f64 {
    (x.dot(&l.w) + &l.b).mapv(|v| v * v).sum()
}

fn energy_vjp_rule(l: &Dense, x: &Array1<f64>, cotangent: f64) -> (f64, (Dense, Array1<f64>)) {
    let g = (x.dot(&l.w) + &l.b) * (2.0 * cotangent);
    let column = x.view().insert_axis(autodiff::ndarray::Axis(1));
    let dw = column.dot(&g.view().insert_axis(autodiff::ndarray::Axis(0)));
    let dx = l.w.dot(&g);
    (energy(l, x), (Dense { w: dw, b: g }, dx))
}

fn energy_jvp_rule(
    l: &Dense,
    x: &Array1<f64>,
    l_tangent: Dense,
    x_tangent: Array1<f64>,
) -> (f64, f64) {
    let r = x.dot(&l.w) + &l.b;
    let r_tangent = x.dot(&l_tangent.w) + x_tangent.dot(&l.w) + &l_tangent.b;
    (energy(l, x), 2.0 * (&r * &r_tangent).sum())
}

#[differentiable(wrt(p))]
fn energies(p: &Mlp2, x: &Array1<f64>) -> f64 {
    let h = (x.dot(&p.l1.w) + &p.l1.b).tanh();
    energy(&p.l2, &h) + energy(&p.l1, x) * 0.5
}

#[test]
fn custom_rules_of_a_struct_of_parameters() {
    let p = Mlp2 {
        l1: dense(3, 3, 0.6),
        l2: dense(3, 2, 1.3),
    };
    let x = Array1::from(vec![0.5, -0.25, 1.0]);
    let _ = check_fn!(energies, energies_grad, energies_jvp, &p, &x);
}
