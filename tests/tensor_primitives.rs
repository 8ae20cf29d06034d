//! Every tensor primitive, table-driven: the generated gradient against central finite
//! differences, for a matrix `a` (3 × 4), a vector `b` (4, broadcast along `a`'s rows) and a
//! scalar `s`, with fixed random weights `wa`, `wb` as the output's cotangent.

use autodiff::check::central_difference;
use autodiff::ndarray::{array, concatenate, s, stack, Array, Array1, Array2, Axis, Order, Slice};
use autodiff::prelude::*;

type Value = fn(&Array2<f64>, &Array1<f64>, f64, &Array2<f64>, &Array1<f64>) -> f64;
type Grad = fn(
    &Array2<f64>,
    &Array1<f64>,
    f64,
    &Array2<f64>,
    &Array1<f64>,
) -> (f64, (Array2<f64>, Array1<f64>, f64));
type Jvp = fn(
    &Array2<f64>,
    &Array1<f64>,
    f64,
    &Array2<f64>,
    &Array1<f64>,
    Array2<f64>,
    Array1<f64>,
    f64,
) -> (f64, f64);

/// One module per row, holding `f` and the generated `f_grad` and `f_jvp`.
macro_rules! rows {
    (($a:ident, $b:ident, $s:ident, $wa:ident, $wb:ident) => $($name:ident: $body:expr;)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                #[differentiable(wrt($a, $b, $s))]
                #[allow(unused_variables)]
                pub fn f(
                    $a: &Array2<f64>,
                    $b: &Array1<f64>,
                    $s: f64,
                    $wa: &Array2<f64>,
                    $wb: &Array1<f64>,
                ) -> f64 {
                    $body
                }
            }
        )*
        const ROWS: &[(&str, Value, Grad, Jvp)] =
            &[$((stringify!($name), $name::f, $name::f_grad, $name::f_jvp)),*];
    };
}

rows! { (a, b, s, wa, wb) =>
    ln: (a.ln() * wa).sum();
    log2: (a.log2() * wa).sum();
    log10: (a.log10() * wa).sum();
    exp: (a.exp() * wa).sum();
    exp2: (a.exp2() * wa).sum();
    ln_1p: (a.ln_1p() * wa).sum();
    exp_m1: (a.exp_m1() * wa).sum();
    sin: (a.sin() * wa).sum();
    cos: (a.cos() * wa).sum();
    tan: (a.tan() * wa).sum();
    asin: (a.asin() * wa).sum();
    acos: (a.acos() * wa).sum();
    atan: (a.atan() * wa).sum();
    sinh: (a.sinh() * wa).sum();
    cosh: (a.cosh() * wa).sum();
    tanh: (a.tanh() * wa).sum();
    sqrt: (a.sqrt() * wa).sum();
    cbrt: (a.cbrt() * wa).sum();
    recip: (a.recip() * wa).sum();
    abs: ((a - 0.5).abs() * wa).sum();
    powi: (a.powi(3) * wa).sum();
    powf_scalar_exponent: (a.powf(s) * wa).sum();
    hypot: (b.hypot(s) * wb).sum();
    sigmoid: (sigmoid(a) * wa).sum();
    relu: (relu(a - 0.5) * wa).sum();
    softplus: (softplus(a) * wa).sum();
    neg: (-a * wa).sum();
    add_row_broadcast: ((a + b) * wa).sum();
    sub_row_broadcast: ((b - a) * wa).sum();
    mul_row_broadcast: ((a * b) * wa).sum();
    div_row_broadcast: ((a / b) * wa).sum();
    div_by_matrix: ((b / a) * wa).sum();
    scalar_times_matrix: ((s * a) * wa).sum();
    matrix_over_scalar: ((a / s) * wa).sum();
    scalar_minus_vector: ((s - b) * wb).sum();
    literal_arithmetic: ((2.0 * a - 1.0) / 3.0 * wa).sum();
    fan_out: ((a * a + a) * wa).sum();
    dot_matrix_matrix: (a.dot(&a.t()) * s).sum() + (a.t().dot(wa) * b).sum();
    dot_matrix_vector: (a.dot(b) * wa.column(0)).sum();
    dot_vector_matrix: (b.dot(&a.t()) * wa.column(1)).sum();
    dot_vector_vector: b.dot(b) * s + b.dot(wb);
    transpose: (&a.t() * &wa.t()).sum();
    sum: a.sum() * s;
    mean: a.mean().unwrap() * s;
    sum_axis_0: (a.sum_axis(Axis(0)) * wb).sum();
    sum_axis_1: (a.sum_axis(Axis(1)) * wa.column(2)).sum();
    mean_axis: (a.mean_axis(Axis(0)).expect("nonempty") * b).sum();
    var_population: a.var(0.0) * s + (a * wa).var(0.0);
    var_sample: b.var(1.0) * s + (a * s).var(1.0);
    std_dev: a.std(0.0) * s + (a * wa).std(1.0) + b.std(0.0);
    var_axis: (a.var_axis(Axis(0), 1.0) * wb).sum() + (a.var_axis(Axis(1), 0.0) * wa.column(1)).sum();
    std_axis: (a.std_axis(Axis(0), 0.0) * wb).sum() + ((a * s).std_axis(Axis(1), 1.0) * wa.column(2)).sum();
    mse_prediction: mse(a, wa) * s;
    mse_target: mse(wa, a);
    bce_prediction: bce(a, wa);
    bce_target: bce(wa, a);
    bce_with_logits_logits: bce_with_logits(a * s, wa);
    bce_with_logits_target: bce_with_logits(wa, a);
    logsumexp: logsumexp(a * s);
    softmax: (softmax(a, Axis(1)) * wa).sum();
    log_softmax: (log_softmax(a, Axis(0)) * wa).sum();
    cross_entropy: cross_entropy(a * s, [0_usize, 3, 1]);
    view_and_clone: (a.view().to_owned() * b.clone()).sum() + (&b.view() * wb).sum();
    erf: (erf(a * s) * wa).sum();
    erfc: (erfc(a) * wa).sum();
    ln_gamma: (ln_gamma(a) * wa).sum() + ln_gamma(s);
    digamma: (digamma(a + 0.5) * wa).sum();
    signum: ((a - 0.5).signum() * a * wa).sum();
    floor: ((a * 4.0).floor() * a * wa).sum();
    ceil: ((a * 4.0).ceil() * a * wa).sum();
    round: ((a * 4.0).round() * a * wa).sum();
    trunc: ((a * 4.0).trunc() * a * wa).sum();
    fract: ((a * 4.0).fract() * wa).sum();
    clamp: ((a * s).clamp(0.1, 0.4) * wa).sum();
    amax: amax(a) * s + amax(a * wa);
    amin: amin(b) * s + amin(a * wa);
    // `a` and `b` already have adjoints (from the sums) when the extremes' pullbacks run:
    // added in place at one element.
    extremes_beside_sums: (a * wa).sum() + amax(a) * s - amin(b) + b.sum() * 0.5 + amin(a);
    amax_axis_0: (amax_axis(a, Axis(0)) * wb).sum();
    amax_axis_1: (amax_axis(a * wa, Axis(1)) * wa.column(2)).sum();
    amin_axis: (amin_axis(a, Axis(1)) * wa.column(0)).sum() + (amin_axis(a, Axis(0)) * b).sum();
    argmax_constant: a[argmax(a)] * s + b[argmax(b)] - b[argmin(b)];
    norm: norm(a) * s + norm(a * wa) + norm(b);
    outer: (outer(b, a.column(1)) * wa.t()).sum() + (outer(b, b) * s).sum();
    trace: trace(a.dot(&a.t())) * s + trace(wa.dot(&a.t()));
    det: det(a.dot(&a.t()) + Array2::<f64>::eye(3)) * s + det(wa.dot(&a.t()) + Array2::<f64>::eye(3) * 2.0);
    inv: (inv(a.dot(&a.t()) + Array2::<f64>::eye(3) * s) * wa.dot(&wa.t())).sum();
    solve: (solve(a.dot(&a.t()) + Array2::<f64>::eye(3), a.column(0)) * wa.column(1)).sum()
        + (solve(wa.dot(&a.t()) + Array2::<f64>::eye(3) * 2.0, a.column(3).to_owned() * b[1]) * s).sum();
    // Views, gathers, reshaping and joining (issue 14); tests/views.rs has the rest.
    slice_range: (a.slice(s![1..3, ..]).to_owned() * wa.slice(s![0..2, ..])).sum();
    slice_steps_and_negative: (a.slice(s![..;2, -3..;-1]).to_owned() * s).sum() + a.slice(s![-1, 1..]).sum();
    slice_single_index_is_a_vector: (a.slice(s![1, ..]).to_owned() * b).sum();
    slice_to_a_zero_dimensional_array: a.slice(s![2, 3]).sum() * s;
    slice_of_a_vector: (b.slice(s![1..]).to_owned() * b.slice(s![..3])).sum();
    slice_used_twice_overlapping: (a.slice(s![.., 1..3]).to_owned() * a.slice(s![.., 0..2])).sum() * s;
    slice_of_an_expression: ((a * s).slice(s![.., 2]).to_owned() * wa.column(0)).sum();
    slice_axis: (a.slice_axis(Axis(1), Slice::from(1..3)).to_owned() * wa.slice(s![.., 1..3])).sum();
    slice_axis_step: (a.slice_axis(Axis(0), Slice::new(0, None, 2)).to_owned() * s).sum();
    index_axis_0: (a.index_axis(Axis(0), 2).to_owned() * b).sum();
    index_axis_1: (a.index_axis(Axis(1), 1).to_owned() * wa.column(3)).sum() * s;
    select_rows_repeated: (a.select(Axis(0), &[2, 0, 2, 2]).sum_axis(Axis(0)) * b).sum();
    select_columns: (a.select(Axis(1), &[3, 1, 1]) * wa.slice(s![.., 1..])).sum();
    select_vector: (b.select(Axis(0), &[0, 0, 3]) * s).sum();
    diag: (a.slice(s![.., 1..]).diag().to_owned() * wa.diag()).sum() + a.diag().sum() * s;
    into_shape_with_order: (&a.view().into_shape_with_order((4, 3)).unwrap() * &wa.t()).sum() * s;
    to_shape: (a.to_shape((2, 6)).unwrap().to_owned() * s).sum() + a.to_shape(((6, 2), Order::ColumnMajor)).expect("12").column(1).dot(&b.slice(s![..2]).broadcast((3, 2)).unwrap().flatten());
    flatten: a.flatten().dot(&wa.flatten()) * s;
    insert_axis: b.view().insert_axis(Axis(0)).dot(&a.t()).sum() + (a.view().insert_axis(Axis(2)).to_owned() * s).sum();
    remove_axis: (&a.slice(s![1..2, ..]).remove_axis(Axis(0)) * b).sum() + (&a.view().remove_axis(Axis(1)) * s).sum();
    reversed_axes: (&a.view().reversed_axes() * &wa.t()).sum() * s;
    permuted_axes: (&(a * s).permuted_axes([1, 0]) * &wa.t()).sum();
    broadcast_vector: (&b.broadcast((3, 4)).unwrap() * wa).sum() * s;
    broadcast_column: (&a.slice(s![.., 0..1]).broadcast((3, 4)).unwrap() * wa).sum() + (&b.broadcast((2, 4)).expect("rows") * &a.slice(s![..2, ..])).sum();
    concatenate_macro: concatenate![Axis(0), a.view(), b.view().insert_axis(Axis(0))].dot(b).sum() * s;
    concatenate_function: (concatenate(Axis(1), &[a.view(), wa.view(), (a * s).view()]).unwrap() * s).sum();
    stack_macro: (stack![Axis(0), b.view(), b * s, wb.view()] * wa).sum();
    array_constructors: ((a + Array2::<f64>::zeros((3, 4))) * Array2::from_elem((3, 4), 2.0)).sum()
        + (b * Array1::<f64>::ones(4)).sum() + Array2::<f64>::eye(3).dot(a).sum() * s
        + (Array::<f64, _>::zeros(b.raw_dim()) + b).sum() + (Array1::linspace(0.0, 1.0, 4) * b).sum();
    stack_function: stack(Axis(1), &[b.view(), wb.view()]).unwrap().dot(&b.slice(s![..2])).dot(b) * s;
}

/// Values in (0.1, 0.9): inside the domain of every row (logarithms, arcsines, probabilities).
fn grid(n: usize, seed: u64) -> Vec<f64> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            0.1 + 0.8 * ((state >> 11) as f64 / (1u64 << 53) as f64)
        })
        .collect()
}

fn unflatten(x: &[f64]) -> (Array2<f64>, Array1<f64>, f64) {
    let a = Array2::from_shape_vec((3, 4), x[..12].to_vec()).expect("3 × 4");
    (a, Array1::from(x[12..16].to_vec()), x[16])
}

#[test]
fn every_tensor_primitive_matches_central_differences() {
    let wa = Array2::from_shape_vec((3, 4), grid(12, 7)).expect("3 × 4");
    let wb = Array1::from(grid(4, 8));
    for seed in 1..=3 {
        let x = grid(17, seed);
        let (a, b, s) = unflatten(&x);
        // A direction for forward mode.
        let t = grid(17, seed + 10)
            .iter()
            .map(|v| v - 0.5)
            .collect::<Vec<_>>();
        let (ta, tb, ts) = unflatten(&t);
        for &(name, f, f_grad, f_jvp) in ROWS {
            let (value, (ga, gb, gs)) = f_grad(&a, &b, s, &wa, &wb);
            // Forward and reverse agree: ⟨J·ẋ, 1⟩ = ⟨ẋ, Jᵀ·1⟩ (the dot-product test).
            let (jvp_value, tangent) = f_jvp(&a, &b, s, &wa, &wb, ta.clone(), tb.clone(), ts);
            let dot = (&ga * &ta).sum() + (&gb * &tb).sum() + gs * ts;
            assert_eq!(jvp_value, value, "{name}: jvp value");
            assert!(
                (tangent - dot).abs() <= 1e-12 * dot.abs().max(1.0),
                "{name}: jvp {tangent}, ∇f·ẋ = {dot}"
            );
            // Equal up to the few ulps by which vectorized exp and tanh differ from libm's.
            let original = f(&a, &b, s, &wa, &wb);
            assert!(
                (value - original).abs() <= 1e-14 * original.abs(),
                "{name}: value"
            );
            let numeric = central_difference(
                |x| {
                    let (a, b, s) = unflatten(x);
                    f(&a, &b, s, &wa, &wb)
                },
                &x,
                1e-6,
            );
            let analytic: Vec<f64> = ga.iter().chain(&gb).copied().chain([gs]).collect();
            for (k, (got, want)) in analytic.iter().zip(&numeric).enumerate() {
                assert!(
                    (got - want).abs() <= 1e-6 * want.abs().max(1.0),
                    "{name}: ∂/∂x[{k}] = {got}, finite differences give {want}"
                );
            }
        }
    }
}

#[differentiable]
fn small_net_f32(w: &Array2<f32>, b: &Array1<f32>, x: &Array2<f32>) -> f32 {
    let h = (x.dot(w) + b).tanh();
    (h * 0.5_f32).mean().unwrap()
}

#[test]
fn f32_arrays_work_too() {
    let w = array![[0.5_f32, -0.25], [1.0, 0.75]];
    let (b, x) = (array![0.1_f32, -0.2], array![[1.0_f32, 2.0], [-1.0, 0.5]]);
    let (value, (gw, gb, gx)) = small_net_f32_grad(&w, &b, &x);
    assert_eq!(value, small_net_f32(&w, &b, &x));
    let d = (x.dot(&w) + &b).mapv(|u| 0.5 * (1.0 - u.tanh().powi(2)) / 4.0);
    for (got, want) in gw.iter().zip(x.t().dot(&d).iter()) {
        assert!((got - want).abs() < 1e-6);
    }
    for (got, want) in gb.iter().zip(d.sum_axis(Axis(0)).iter()) {
        assert!((got - want).abs() < 1e-6);
    }
    assert_eq!(gx.shape(), &[2, 2]);
}

#[differentiable(wrt(w))]
fn affine(w: &Array2<f64>, x: &Array2<f64>) -> f64 {
    x.dot(w).sum()
}

#[test]
fn shape_mismatches_name_the_op_and_both_shapes() {
    let message = std::panic::catch_unwind(|| {
        let _ = affine_grad(&Array2::zeros((3, 2)), &Array2::zeros((2, 4)));
    })
    .expect_err("a 2 × 4 by 3 × 2 product must panic");
    let message = message
        .downcast_ref::<String>()
        .expect("a formatted message");
    assert_eq!(
        message,
        "dot: shapes [2, 4] and [3, 2] are not aligned (4 != 3)"
    );
}

/// `c * c` (the same value twice) has one pullback, 2c·ḡ, equal bit for bit to the two
/// pullbacks' c·ḡ + c·ḡ it replaces; reshaping it back and forth stays exact too.
#[differentiable(wrt(x))]
fn squared_blocks(x: &Array2<f64>) -> f64 {
    let c = x - 0.25;
    let sq = (&c * &c).into_shape_with_order((2, 3, 2)).unwrap();
    (sq.sum_axis(Axis(2)) * 1.5).sum() + (x.sum() * x.sum())
}

#[test]
fn a_square_pulls_back_once_and_exactly() {
    let x = Array2::from_shape_fn((2, 6), |(i, j)| (i * 6 + j) as f64 * 0.37 - 1.1);
    let (value, gx) = squared_blocks_grad(&x);
    assert_eq!(value, squared_blocks(&x));
    let total = x.sum();
    for (got, &xi) in gx.iter().zip(&x) {
        let c = xi - 0.25;
        assert_eq!(*got, 1.5 * c + 1.5 * c + (total + total));
    }
}
