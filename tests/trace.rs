//! `f_trace`: the generated evaluation trace of one call, node by node, against the lecture's
//! table, and its adjoints against `f_grad`.

use autodiff::ndarray::{array, Array1, Array2};
use autodiff::prelude::*;
use autodiff::TraceValue;

/// The lecture's f(x₁, x₂) = ln x₁ + x₁x₂ − sin x₂, as written: Rust evaluates it left to
/// right, so its nodes are v₁ = ln v₋₁, v₂ = v₋₁ · v₀, v₃ = v₁ + v₂, v₄ = sin v₀, v₅ = v₃ − v₄.
#[differentiable]
fn f(x1: f64, x2: f64) -> f64 {
    x1.ln() + x1 * x2 - x2.sin()
}

/// The same function with the lecture's own order of evaluation: sin x₂ before the sum.
#[differentiable]
fn lecture_f(x1: f64, x2: f64) -> f64 {
    let v1 = x1.ln();
    let v2 = x1 * x2;
    let v3 = x2.sin();
    v1 + v2 - v3
}

fn scalar(value: Option<&TraceValue>) -> f64 {
    value.and_then(TraceValue::as_scalar).expect("a scalar")
}

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance
}

#[test]
fn the_lecture_trace_has_the_lectures_values_and_adjoints() {
    let t = lecture_f_trace(2.0, 5.0);
    let indices: Vec<isize> = t.nodes.iter().map(|n| n.index).collect();
    assert_eq!(indices, [-1, 0, 1, 2, 3, 4, 5]);
    assert_eq!(t.node(-1).unwrap().label, "x1");
    assert_eq!(t.node(0).unwrap().label, "x2");
    for (i, value) in [
        (-1, 2.0),
        (0, 5.0),
        (1, 0.693),
        (2, 10.0),
        (3, -0.959),
        (4, 10.693),
        (5, 11.652),
    ] {
        assert!(close(scalar(t.value(i)), value, 5e-4), "v{i}");
    }
    for (i, adjoint) in [
        (5, 1.0),
        (4, 1.0),
        (3, -1.0),
        (2, 1.0),
        (1, 1.0),
        (0, 1.716),
        (-1, 5.5),
    ] {
        assert!(close(scalar(t.adjoint(i)), adjoint, 5e-4), "v̄{i}");
    }
    assert_eq!(t.output_node().unwrap().index, 5);
    // The local partials at (2, 5), in the rules' notation.
    let v3 = t.node(3).unwrap();
    assert_eq!(v3.expression(), "sin v₀");
    assert_eq!(v3.partial_expression(0), "cos v₀");
    assert!(close(v3.args[0].partial.unwrap(), 5.0_f64.cos(), 1e-15));
    let v2 = t.node(2).unwrap();
    assert_eq!(
        (v2.args[0].partial, v2.args[1].partial),
        (Some(5.0), Some(2.0))
    );
    assert_eq!(t.node(5).unwrap().args[1].partial, Some(-1.0));

    let text = t.to_string();
    println!("{text}");
    for line in [
        "v₋₁ = x1",
        "v₀  = x2",
        "v₁  = ln v₋₁   = ln 2",
        "v₂  = v₋₁ · v₀ = 2 · 5",
        "v₃  = sin v₀   = sin 5",
        "v₄  = v₁ + v₂  = 0.693 + 10",
        "v₅  = v₄ − v₃  = 10.693 − (−0.959)",
        "v̄₅  = 1",
        "v̄₄  = v̄₅",
        "v̄₃  = −v̄₅",
        "v̄₀  = v̄₂ · v₋₁ + v̄₃ · cos v₀",
        "v̄₋₁ = v̄₁ · 1/v₋₁ + v̄₂ · v₀",
        "= 1 · 2 + (−1) · 0.284",
        "= 5.5",
        "= 1.716",
        "= 11.652",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    let dot = t.to_dot();
    assert!(dot.contains("v0 -> v3 [label=\"cos v₀ = 0.284\"]"), "{dot}");
    let svg = t.to_svg();
    assert!(svg.trim_start().starts_with("<svg") || svg.contains("<svg"));
    assert!(svg.trim_end().ends_with("</svg>"));
}

#[test]
fn the_function_as_written_is_numbered_in_rusts_evaluation_order() {
    let t = f_trace(2.0, 5.0);
    let (y, (d1, d2)) = f_grad(2.0, 5.0);
    assert_eq!(t.node(3).unwrap().expression(), "v₁ + v₂");
    assert_eq!(t.node(4).unwrap().expression(), "sin v₀");
    assert_eq!(scalar(t.value(5)), y);
    assert_eq!(scalar(t.output_node().map(|n| &n.value)), y);
    assert_eq!((scalar(t.adjoint(-1)), scalar(t.adjoint(0))), (d1, d2));
}

/// Constants are written into the notation; an input nothing reads has adjoint 0.
#[differentiable(wrt(x, _unused))]
fn scaled(x: f64, _unused: f64, k: f64) -> f64 {
    (x * k).powi(2) / 2.0
}

#[test]
fn constants_appear_by_their_source() {
    let t = scaled_trace(3.0, 7.0, 2.0);
    assert_eq!(t.node(1).unwrap().expression(), "v₋₁ · k");
    assert_eq!(t.node(2).unwrap().expression(), "v₁^2");
    assert_eq!(t.node(2).unwrap().partial_expression(0), "2·v₁^(2 − 1)");
    assert_eq!(t.node(3).unwrap().expression(), "v₂ / 2.0");
    let (_, (dx, dunused)) = scaled_grad(3.0, 7.0, 2.0);
    assert_eq!(scalar(t.adjoint(-1)), dx);
    assert_eq!(scalar(t.adjoint(0)), dunused);
    assert_eq!(dunused, 0.0);
    assert!(close(
        t.node(2).unwrap().args[0].partial.unwrap(),
        12.0,
        1e-12
    ));
}

/// A neuron on arrays: the array nodes keep their shapes, the inputs' adjoints are the
/// gradient.
#[differentiable(wrt(w, b))]
fn layer(w: &Array1<f64>, b: f64, x: &Array2<f64>) -> f64 {
    (x.dot(w) + b).tanh().sum()
}

#[test]
fn array_adjoints_are_the_gradient() {
    let w = array![0.5, -1.0, 0.25];
    let x = array![[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]];
    let t = layer_trace(&w, 0.1, &x);
    let (y, (dw, db)) = layer_grad(&w, 0.1, &x);
    println!("{t}");
    assert_eq!(t.nodes.len(), 2 + 4);
    assert_eq!(t.value(-1).unwrap().shape(), [3]);
    assert_eq!(t.value(1).unwrap().shape(), [2]);
    assert_eq!(scalar(t.value(4)), y);
    assert_eq!(t.adjoint(-1).unwrap(), &TraceValue::from(&dw));
    assert_eq!(scalar(t.adjoint(0)), db);
    // The adjoint of x·w + b, an array, is the gradient of the sum of tanh.
    let dtanh = t.adjoint(2).unwrap();
    assert_eq!(dtanh.shape(), [2]);
    // Array edges have no scalar partial; sum's result is scalar but its argument is not.
    assert!(t.node(1).unwrap().args.iter().all(|a| a.partial.is_none()));
    assert_eq!(t.node(4).unwrap().args[0].partial, None);
    let text = t.to_string();
    assert!(text.contains("v₁  = x v₋₁"), "{text}");
    assert!(text.contains("v₄  = Σ v₃"), "{text}");
}

#[differentiable]
fn cube(x: f32) -> f32 {
    x * x * x
}

#[differentiable]
fn identity(x: f64) -> f64 {
    x
}

#[differentiable(wrt(x))]
fn affine(x: f64, a: f64) -> f64 {
    -(a * x) + 2.0 * x - x / a
}

#[test]
fn f32_repeated_arguments_and_an_input_as_the_result() {
    let t = cube_trace(2.0);
    let partials: Vec<Option<f64>> = t.node(1).unwrap().args.iter().map(|a| a.partial).collect();
    assert_eq!(partials, [Some(2.0), Some(2.0)]);
    let partials: Vec<Option<f64>> = t.node(2).unwrap().args.iter().map(|a| a.partial).collect();
    assert_eq!(partials, [Some(2.0), Some(4.0)]);
    assert_eq!(scalar(t.adjoint(0)), f64::from(cube_grad(2.0).1));
    assert_eq!(scalar(t.adjoint(0)), 12.0);

    let t = identity_trace(3.0);
    assert_eq!(t.nodes.len(), 1);
    assert_eq!(t.output_node().unwrap().index, 0);
    assert_eq!(scalar(t.adjoint(0)), 1.0);

    let t = affine_trace(3.0, 4.0);
    assert_eq!(scalar(t.adjoint(0)), affine_grad(3.0, 4.0).1);
    // −(a · x): ∂/∂x is a, then −1; 2.0 · x: 2; x / a: 1/a by the pullback of 1.
    assert_eq!(t.node(1).unwrap().args[0].partial, Some(4.0));
    assert_eq!(t.node(2).unwrap().args[0].partial, Some(-1.0));
    assert_eq!(t.node(3).unwrap().args[0].partial, Some(2.0));
    assert_eq!(t.node(5).unwrap().args[0].partial, Some(0.25));
    assert_eq!(t.node(1).unwrap().expression(), "a · v₀");
}

/// The new functions in a trace: a scalar edge of `erf` and `clamp` shows its partial, the
/// array functions' edges none, and the notation names each.
#[differentiable(wrt(x, v))]
fn special(x: f64, v: &Array1<f64>) -> f64 {
    erf(x).clamp(-0.5, 0.5) + norm(v) * amax(v)
}

#[test]
fn special_functions_in_a_trace() {
    let (x, v) = (0.3, array![3.0, -4.0]);
    let t = special_trace(x, &v);
    let (y, (dx, dv)) = special_grad(x, &v);
    assert_eq!(scalar(t.value(t.nodes.last().unwrap().index)), y);
    assert_eq!(scalar(t.adjoint(-1)), dx);
    assert_eq!(t.adjoint(0).unwrap(), &TraceValue::from(&dv));
    let erf_partial = t.node(1).unwrap().args[0].partial.expect("a scalar edge");
    assert!(close(
        erf_partial,
        std::f64::consts::FRAC_2_SQRT_PI * (-x * x).exp(),
        1e-15
    ));
    assert_eq!(t.node(2).unwrap().args[0].partial, Some(1.0));
    assert_eq!(t.node(3).unwrap().args[0].partial, None);
    assert_eq!(t.node(4).unwrap().args[0].partial, None);
    let text = t.to_string();
    for notation in ["erf v₋₁", "clamp(v₁, ", "‖v₀‖", "max v₀"] {
        assert!(text.contains(notation), "{notation} in {text}");
    }
}
