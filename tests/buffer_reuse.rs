//! Functions whose forward sweep writes results into operands' buffers (a product into the
//! sum that reads it, the sum into its tanh, both in one pass), or must not (a value read
//! twice), or can only where a broadcast operand has the result's shape, at widths that
//! chain the sum and the tanh row by row or not: value and gradient bit for bit those of
//! `f_trace`, whose sweeps allocate every value as before, the value close to the original's
//! (whose array `tanh` is libm's, not the runtime's kernel), the gradient close to central
//! finite differences.

use autodiff::check::{central_difference, close};
use autodiff::ndarray::{Array1, Array2, Axis};
use autodiff::prelude::*;

#[differentiable(wrt(w, b))]
fn layer(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>) -> f64 {
    (x.dot(w) + b).tanh().sum()
}

#[differentiable(wrt(w, b))]
fn sigmoid_layer(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>) -> f64 {
    sigmoid(x.dot(w) - b).mean().unwrap()
}

#[differentiable(wrt(w, b))]
fn scaled_difference(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>) -> f64 {
    let d = (x.dot(w) - b) * 2.0;
    (-(d + 1.0)).exp().sum()
}

/// `z` is read by the tanh and by the sum: neither may take its buffer.
#[differentiable(wrt(w, b))]
fn read_twice(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>) -> f64 {
    let z = x.dot(w) + b;
    (z.tanh() + &z).sum()
}

/// The moved operand on the right; then a vector on the left of a matrix, whose buffer is
/// too small for the result (allocated as before).
#[differentiable(wrt(w, b))]
fn broadcast(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>) -> f64 {
    let right = b + x.dot(w);
    let small = (b * 3.0) + x.dot(w);
    (right * small).sum()
}

/// A square reshaped (the GMM's block sums): the reshape takes the square's array whole,
/// with no copy, and its pullback reads the shape kept before.
#[differentiable(wrt(w, b))]
fn reshaped(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>) -> f64 {
    let c = x.dot(w) - b;
    let blocks = (&c * &c).into_shape_with_order((5, 2, 2)).unwrap();
    blocks.sum_axis(Axis(2)).mapv(f64::sqrt).sum()
}

/// Products with a number and a quotient by one take their operand's array; a product that
/// did is not itself moved into the tanh after it (its pullback reads its result).
#[differentiable(wrt(w, b))]
fn scaled(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>) -> f64 {
    let half = (x.dot(w) - b) * 0.5;
    let triple = 3.0 * (x.dot(w) + b);
    let quarter = (x.dot(w) + b) / 4.0;
    (half + triple + quarter).tanh().sum() + ((x.dot(w) * 2.0).tanh() / 3.0).sum()
}

/// Chains with the moved operand on either side of a subtraction, and a sum of a number.
#[differentiable(wrt(w, b))]
fn chains(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>) -> f64 {
    let left = sigmoid(x.dot(w) - b);
    let right = (b - x.dot(w)).tanh();
    let number = (x.dot(w) + 0.5).exp();
    (left * right + number).sum()
}

/// Something between the sum and its tanh (it reads `b` too): the two are computed apart, so
/// that `b`'s adjoint is summed in the order of the unchained sweep.
#[differentiable(wrt(w, b))]
fn between(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>) -> f64 {
    let z = x.dot(w) + b;
    let q = (b * 3.7).sum();
    let t = z.tanh();
    t.sum() + q + (b * b).sum()
}

/// Constants named as a chain's closure would name its parameters, were they not hygienic
/// (`|m, o| m + o` would read these as patterns).
#[allow(non_upper_case_globals)]
const m: f64 = 2.0;
#[allow(non_upper_case_globals)]
const o: f64 = 0.5;

#[differentiable(wrt(w, b))]
fn named_like_the_closure(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>) -> f64 {
    (x.dot(w) + b).tanh().sum() * o + m
}

/// An array result, for a cotangent of the wrong shape.
#[differentiable(wrt(w, b))]
fn activations(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>) -> Array2<f64> {
    (x.dot(w) + b).tanh()
}

type Grad = fn(&Array2<f64>, &Array2<f64>, &Array1<f64>) -> (f64, (Array2<f64>, Array1<f64>));
type Value = fn(&Array2<f64>, &Array2<f64>, &Array1<f64>) -> f64;
type Traced = fn(&Array2<f64>, &Array2<f64>, &Array1<f64>) -> autodiff::trace::Trace;

fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// `width`: the columns of the products, 4, or 40 for rows the runtime chains one by one.
fn check(name: &str, f: Value, grad: Grad, traced: Traced, width: usize) {
    let x = Array2::from_shape_fn((5, 3), |(i, j)| ((i * 3 + j) as f64 * 0.37).sin());
    let w = Array2::from_shape_fn((3, width), |(i, j)| {
        ((i * width + j) as f64 * 0.53).cos() * 0.5
    });
    let b = Array1::from_shape_fn(width, |j| (j % 4) as f64 * 0.1 - 0.15);
    let (value, (gw, gb)) = grad(&x, &w, &b);
    let trace = traced(&x, &w, &b);
    let output = trace.output_node().unwrap().value.data();
    assert_eq!(bits(&[value]), bits(output), "{name}: value");
    let adjoint = |index| trace.adjoint(index).unwrap().data();
    assert_eq!(
        bits(gw.as_slice().unwrap()),
        bits(adjoint(-1)),
        "{name}: ∂/∂w"
    );
    assert_eq!(
        bits(gb.as_slice().unwrap()),
        bits(adjoint(0)),
        "{name}: ∂/∂b"
    );
    assert!(close(value, f(&x, &w, &b), 1e-14), "{name}: value");
    let flat: Vec<f64> = w.iter().chain(b.iter()).copied().collect();
    let numeric = central_difference(
        |p| {
            let w = Array2::from_shape_vec((3, width), p[..3 * width].to_vec()).unwrap();
            let b = Array1::from_vec(p[3 * width..].to_vec());
            f(&x, &w, &b)
        },
        &flat,
        1e-6,
    );
    for (k, (exact, numeric)) in gw.iter().chain(gb.iter()).zip(&numeric).enumerate() {
        assert!(
            close(*exact, *numeric, 1e-6),
            "{name}: ∂/∂p{k} = {exact}, numerically {numeric}"
        );
    }
}

#[test]
fn gradients_and_values_with_reused_buffers() {
    for width in [4, 40] {
        check("layer", layer, layer_grad, layer_trace, width);
        check(
            "sigmoid_layer",
            sigmoid_layer,
            sigmoid_layer_grad,
            sigmoid_layer_trace,
            width,
        );
        check(
            "scaled_difference",
            scaled_difference,
            scaled_difference_grad,
            scaled_difference_trace,
            width,
        );
        check(
            "read_twice",
            read_twice,
            read_twice_grad,
            read_twice_trace,
            width,
        );
        check(
            "broadcast",
            broadcast,
            broadcast_grad,
            broadcast_trace,
            width,
        );
        check("scaled", scaled, scaled_grad, scaled_trace, width);
        check("chains", chains, chains_grad, chains_trace, width);
        check("between", between, between_grad, between_trace, width);
        check(
            "named_like_the_closure",
            named_like_the_closure,
            named_like_the_closure_grad,
            named_like_the_closure_trace,
            width,
        );
    }
    check("reshaped", reshaped, reshaped_grad, reshaped_trace, 4);
}

/// The emitted forward sweeps move where the analysis allows, and only there.
#[test]
fn moves_where_nothing_reads_after() {
    // Without spaces, nor the trailing commas of calls the pretty-printer breaks over lines.
    let squeeze = |code: &str| {
        code.split_whitespace()
            .collect::<String>()
            .replace(",)", ")")
    };
    let layer = squeeze(layer_source());
    assert!(
        layer
            .contains("tanh::forward_after(__v1,(b).autodiff_arg(),\"add\",false,|__m,__o|__m+__o"),
        "{layer}"
    );
    assert!(!layer.contains("add::forward_into"), "{layer}");
    let between = squeeze(between_source());
    assert!(!between.contains("forward_after"), "{between}");
    let chains = squeeze(chains_source());
    for chained in [
        "sigmoid::forward_after(__v1,(b).autodiff_arg(),\"sub\",false,|__m,__o|__m-__o",
        "tanh::forward_after(__v4,(b).autodiff_arg(),\"sub\",true,|__m,__o|__o-__m",
        "exp::forward_after(__v7,0.5,\"add\",false,|__m,__o|__m+__o",
    ] {
        assert!(chains.contains(chained), "{chained} in {chains}");
    }
    // The pullbacks of the first two chains reach the sums' operands in one call each; the
    // third's sum has a constant operand, and runs its own pullback.
    assert_eq!(chains.matches("::vjp_after(").count(), 2, "{chains}");
    assert!(chains.contains("add::vjp0_shaped("), "{chains}");
    let twice = squeeze(read_twice_source());
    assert!(!twice.contains("tanh::forward_into"), "{twice}");
    let broadcast = squeeze(broadcast_source());
    assert!(
        broadcast.contains("add::forward_into_right((b).autodiff_arg(),__v1"),
        "{broadcast}"
    );
    let scaled = squeeze(scaled_source());
    assert!(
        scaled.contains("mul::forward_into_left(__v2,0.5)"),
        "{scaled}"
    );
    assert!(
        scaled.contains("mul::forward_into_right(3.0,__v5)"),
        "{scaled}"
    );
    assert!(
        scaled.contains("div::forward_into_left(__v8,4.0)"),
        "{scaled}"
    );
    // The sum's tanh moves, chained; the product's does not.
    assert_eq!(
        scaled.matches("tanh::forward_after(").count(),
        1,
        "{scaled}"
    );
    assert_eq!(scaled.matches("tanh::forward_into(").count(), 0, "{scaled}");
    let reshaped = squeeze(reshaped_source());
    assert!(
        reshaped.contains("into_shape_with_order::forward_into(__v3,"),
        "{reshaped}"
    );
    assert!(
        reshaped.contains("vjp0_shaped(::autodiff::__private::Shaped::autodiff_shape(&__shape3)"),
        "{reshaped}"
    );
}

/// The chained pullback names its rule, as the rule's own pullback does.
#[test]
#[should_panic(expected = "tanh: a cotangent of shape [4, 40] for a result of shape [5, 40]")]
fn a_chained_pullback_names_its_rule() {
    let x = Array2::<f64>::zeros((5, 3));
    let (w, b) = (Array2::<f64>::zeros((3, 40)), Array1::zeros(40));
    let _ = activations_vjp(&x, &w, &b, Array2::zeros((4, 40)));
}

/// A moved right operand that does not broadcast is named second, as without the move.
#[test]
#[should_panic(expected = "add: shapes [3] and [5, 4] cannot be broadcast together")]
fn a_moved_right_operand_keeps_its_place_in_the_message() {
    let x = Array2::<f64>::zeros((5, 3));
    let w = Array2::<f64>::zeros((3, 4));
    let _ = broadcast_grad(&x, &w, &Array1::zeros(3));
}
