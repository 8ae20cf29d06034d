//! Run-time errors: shape mismatches (broadcasting, `dot`, losses, axes), labels out of range
//! or of the wrong count, and empty arrays in means and losses each panic with a message that
//! names the operation and the shapes or values, in the original function, in the generated
//! reverse mode (`_grad`) and forward mode (`_jvp`), and in the runtime called directly. The
//! panic points at this file (`#[track_caller]` through the runtime; the generated code calls
//! the runtime at the span of the user's expression): see `every_error_points_at_this_file`.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

use autodiff::ndarray::{array, Array1, Array2, ArrayView1, Axis};
use autodiff::prelude::*;

fn m(rows: usize, cols: usize) -> Array2<f64> {
    Array2::from_shape_fn((rows, cols), |(i, j)| (i * cols + j) as f64 * 0.1)
}

fn v(len: usize) -> Array1<f64> {
    Array1::from_shape_fn(len, |i| i as f64 * 0.1 + 0.2)
}

// ---------------------------------------------------------------------------------------
// The functions, each a single expression whose runtime call can fail

#[differentiable]
fn add(a: &Array2<f64>, b: &Array1<f64>) -> f64 {
    (a + b).sum()
}

#[differentiable]
fn sub(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    (a - b).sum()
}

#[differentiable]
fn mul(a: &Array1<f64>, b: &Array2<f64>) -> f64 {
    (a * b).sum()
}

#[differentiable]
fn div(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    (a / b).sum()
}

/// The line of `a.dot(b)` in `mat_mat` below, where its panic must point.
const MAT_MAT_LINE: u32 = line!() + 4;

#[differentiable]
fn mat_mat(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    a.dot(b).sum()
}

#[differentiable]
fn mat_vec(a: &Array2<f64>, x: &Array1<f64>) -> f64 {
    a.dot(x).sum()
}

#[differentiable]
fn vec_mat(x: &Array1<f64>, a: &Array2<f64>) -> f64 {
    x.dot(a).sum()
}

#[differentiable]
fn vec_vec(x: &Array1<f64>, y: &Array1<f64>) -> f64 {
    x.dot(y)
}

/// The line of `a.dot(b)` in `product` below.
const PRODUCT_LINE: u32 = line!() + 4;

#[differentiable]
fn product(a: &Array2<f64>, b: &Array2<f64>) -> Array2<f64> {
    a.dot(b)
}

#[differentiable]
fn matrix_times_vector(a: &Array2<f64>, x: &Array1<f64>) -> Array1<f64> {
    a.dot(x)
}

#[differentiable(wrt(p))]
fn mse_loss(p: &Array1<f64>, y: &Array1<f64>) -> f64 {
    mse(p, y)
}

#[differentiable(wrt(p))]
fn bce_loss(p: &Array1<f64>, y: &Array1<f64>) -> f64 {
    bce(p, y)
}

#[differentiable(wrt(z))]
fn bce_logits_loss(z: &Array1<f64>, y: &Array1<f64>) -> f64 {
    bce_with_logits(z, y)
}

#[differentiable(wrt(z))]
fn ce_loss(z: &Array2<f64>, labels: &[usize]) -> f64 {
    cross_entropy(z, labels)
}

#[differentiable]
fn lse(x: &Array1<f64>) -> f64 {
    logsumexp(x)
}

#[differentiable]
fn softmax_axis_2(x: &Array2<f64>) -> f64 {
    softmax(x, Axis(2)).sum()
}

#[differentiable]
fn log_softmax_axis_2(x: &Array2<f64>) -> f64 {
    log_softmax(x, Axis(2)).sum()
}

#[differentiable]
fn sum_axis_2(x: &Array2<f64>) -> f64 {
    x.sum_axis(Axis(2)).sum()
}

#[differentiable]
fn mean_axis_0(x: &Array2<f64>) -> f64 {
    x.mean_axis(Axis(0)).unwrap().sum()
}

#[differentiable]
fn mean_axis_2(x: &Array2<f64>) -> f64 {
    x.mean_axis(Axis(2)).unwrap().sum()
}

#[differentiable]
fn sample_variance(x: &Array1<f64>) -> f64 {
    x.var(1.0)
}

#[differentiable]
fn std_axis_2(x: &Array2<f64>) -> f64 {
    x.std_axis(Axis(2), 0.0).sum()
}

#[differentiable]
fn mean_all(x: &Array1<f64>) -> f64 {
    x.mean().unwrap()
}

#[differentiable]
fn exps(x: &Array1<f64>) -> f64 {
    x.exp().sum()
}

#[differentiable]
fn plus(a: &Array2<f64>, b: &Array2<f64>) -> Array2<f64> {
    a + b
}

#[differentiable]
fn squares(x: &Array1<f64>) -> Array1<f64> {
    x * x
}

#[differentiable]
fn cubes(x: &Array1<f64>) -> Array1<f64> {
    x.powi(3)
}

#[differentiable]
fn negated(x: &Array1<f64>) -> Array1<f64> {
    -x
}

#[differentiable]
fn squashed(x: &Array1<f64>) -> Array1<f64> {
    sigmoid(x)
}

#[differentiable]
fn transposed(x: &Array2<f64>) -> Array2<f64> {
    &x.t() * 2.0
}

#[differentiable]
fn row_sums(x: &Array2<f64>) -> Array1<f64> {
    x.sum_axis(Axis(1))
}

#[differentiable]
fn row_means(x: &Array2<f64>) -> Array1<f64> {
    x.mean_axis(Axis(1)).unwrap()
}

#[differentiable]
fn probabilities(x: &Array2<f64>) -> Array2<f64> {
    softmax(x, Axis(1))
}

#[differentiable]
fn log_probabilities(x: &Array2<f64>) -> Array2<f64> {
    log_softmax(x, Axis(1))
}

#[differentiable]
fn total(x: &Array1<f64>) -> f64 {
    x.sum()
}

#[differentiable]
fn column_sums(x: &Array2<f64>) -> f64 {
    x.sum_axis(Axis(0)).sum()
}

#[differentiable]
fn softmax_rows(x: &Array2<f64>) -> f64 {
    softmax(x, Axis(1)).sum()
}

#[differentiable]
fn log_softmax_rows(x: &Array2<f64>) -> f64 {
    log_softmax(x, Axis(1)).sum()
}

// ---------------------------------------------------------------------------------------
// One case per error and mode: (name, expected message, the call)

type Case = (&'static str, &'static str, fn());

macro_rules! cases {
    ($($name:ident, $expected:literal, $call:expr;)*) => {
        $(
            #[test]
            #[should_panic(expected = $expected)]
            fn $name() {
                let _ = $call;
            }
        )*
        const CASES: &[Case] = &[$((stringify!($name), $expected, || {
            let _ = $call;
        })),*];
    };
}

cases! {
    // Broadcasting, each in both modes.
    add_grad_broadcast, "add: shapes [2, 3] and [2] cannot be broadcast together",
        add_grad(&m(2, 3), &v(2));
    add_jvp_broadcast, "add: shapes [2, 3] and [2] cannot be broadcast together",
        add_jvp(&m(2, 3), &v(2), m(2, 3), v(2));
    sub_grad_broadcast, "sub: shapes [2, 3] and [3, 2] cannot be broadcast together",
        sub_grad(&m(2, 3), &m(3, 2));
    sub_jvp_broadcast, "sub: shapes [2, 3] and [3, 2] cannot be broadcast together",
        sub_jvp(&m(2, 3), &m(3, 2), m(2, 3), m(3, 2));
    mul_grad_broadcast, "mul: shapes [4] and [2, 3] cannot be broadcast together",
        mul_grad(&v(4), &m(2, 3));
    mul_jvp_broadcast, "mul: shapes [4] and [2, 3] cannot be broadcast together",
        mul_jvp(&v(4), &m(2, 3), v(4), m(2, 3));
    div_grad_broadcast, "div: shapes [2, 3] and [2, 2] cannot be broadcast together",
        div_grad(&m(2, 3), &m(2, 2));
    div_jvp_broadcast, "div: shapes [2, 3] and [2, 2] cannot be broadcast together",
        div_jvp(&m(2, 3), &m(2, 2), m(2, 3), m(2, 2));

    // dot, every pairing, both modes.
    dot_mat_mat_grad, "dot: shapes [2, 4] and [3, 2] are not aligned (4 != 3)",
        mat_mat_grad(&m(2, 4), &m(3, 2));
    dot_mat_mat_jvp, "dot: shapes [2, 4] and [3, 2] are not aligned (4 != 3)",
        mat_mat_jvp(&m(2, 4), &m(3, 2), m(2, 4), m(3, 2));
    dot_mat_vec_grad, "dot: shapes [2, 3] and [2] are not aligned (3 != 2)",
        mat_vec_grad(&m(2, 3), &v(2));
    dot_mat_vec_jvp, "dot: shapes [2, 3] and [2] are not aligned (3 != 2)",
        mat_vec_jvp(&m(2, 3), &v(2), m(2, 3), v(2));
    dot_vec_mat_grad, "dot: shapes [2] and [3, 2] are not aligned (2 != 3)",
        vec_mat_grad(&v(2), &m(3, 2));
    dot_vec_mat_jvp, "dot: shapes [2] and [3, 2] are not aligned (2 != 3)",
        vec_mat_jvp(&v(2), &m(3, 2), v(2), m(3, 2));
    dot_vec_vec_grad, "dot: shapes [3] and [2] are not aligned (3 != 2)",
        vec_vec_grad(&v(3), &v(2));
    dot_vec_vec_jvp, "dot: shapes [3] and [2] are not aligned (3 != 2)",
        vec_vec_jvp(&v(3), &v(2), v(3), v(2));

    // Tangents and cotangents of the wrong shape reaching dot's matrix kernel (which would
    // otherwise read past the end of the smaller operand).
    dot_left_tangent_too_wide,
        "dot: the tangent of the left factor has shape [2, 100]; the factor has shape [2, 3]",
        mat_mat_jvp(&m(2, 3), &m(3, 2), m(2, 100), m(3, 2));
    dot_right_tangent_too_tall,
        "dot: the tangent of the right factor has shape [30, 2]; the factor has shape [3, 2]",
        mat_mat_jvp(&m(2, 3), &m(3, 2), m(2, 3), m(30, 2));
    dot_cotangent_too_wide,
        "dot: the cotangent of the product has shape [2, 50]; the product has shape [2, 2]",
        product_vjp(&m(2, 3), &m(3, 2), m(2, 50));
    dot_vector_cotangent_too_long,
        "dot: the cotangent of the product has shape [40]; the product has shape [2]",
        matrix_times_vector_vjp(&m(2, 3), &v(3), v(40));
    dot_vector_tangent_too_long,
        "dot: the tangent of the right factor has shape [40]; the factor has shape [3]",
        matrix_times_vector_jvp(&m(2, 3), &v(3), m(2, 3), v(40));

    // Elementwise ops: a tangent that broadcasts ([1, 3] for [2, 3]) was stretched silently,
    // a cotangent of the wrong shape came back as a gradient of the wrong shape.
    add_tangent_that_broadcasts,
        "add: a tangent of shape [1, 3] for an argument of shape [2, 3]; each tangent must have its argument's shape",
        add_jvp(&m(2, 3), &v(3), m(1, 3), v(3));
    add_right_tangent_shape, "add: a tangent of shape [1] for an argument of shape [3]",
        add_jvp(&m(2, 3), &v(3), m(2, 3), v(1));
    exp_tangent_shape, "exp: a tangent of shape [2] for an argument of shape [3]",
        exps_jvp(&v(3), v(2));
    powi_tangent_shape, "powi: a tangent of shape [2] for an argument of shape [3]",
        cubes_jvp(&v(3), v(2));
    sigmoid_tangent_shape, "sigmoid: a tangent of shape [5] for an argument of shape [3]",
        squashed_jvp(&v(3), v(5));
    add_cotangent_shape,
        "add: a cotangent of shape [4, 3] for a result of shape [2, 3]; the cotangent must have the result's shape",
        plus_vjp(&m(2, 3), &m(2, 3), m(4, 3));
    add_cotangent_that_broadcasts, "add: a cotangent of shape [1, 3] for a result of shape [2, 3]",
        plus_vjp(&m(2, 3), &m(2, 3), m(1, 3));
    mul_cotangent_shape, "mul: a cotangent of shape [2] for a result of shape [3]",
        squares_vjp(&v(3), v(2));
    powi_cotangent_shape, "powi: a cotangent of shape [4] for a result of shape [3]",
        cubes_vjp(&v(3), v(4));
    neg_cotangent_shape, "neg: a cotangent of shape [4] for a result of shape [3]",
        negated_vjp(&v(3), v(4));
    sigmoid_cotangent_shape, "sigmoid: a cotangent of shape [1] for a result of shape [3]",
        squashed_vjp(&v(3), v(1));

    // Cotangents of array results of the wrong shape: a transpose turned them around
    // silently, a reduction broadcast a length-1 one.
    transposed_cotangent_shape, "mul: a cotangent of shape [2, 3] for a result of shape [3, 2]",
        transposed_vjp(&m(2, 3), m(2, 3));
    transpose_rule_cotangent_shape, "t: a cotangent of shape [2, 3] for a result of shape [3, 2]",
        autodiff_runtime::prim::t::vjp0(m(2, 3).view(), &(), m(2, 3));
    transpose_tangent_shape, "t: a tangent of shape [3, 2] for an argument of shape [2, 3]",
        transposed_jvp(&m(2, 3), m(3, 2));
    sum_axis_cotangent_shape, "sum_axis: a cotangent of shape [1] for a result of shape [2]",
        row_sums_vjp(&m(2, 3), v(1));
    mean_axis_cotangent_shape, "mean_axis: a cotangent of shape [3] for a result of shape [2]",
        row_means_vjp(&m(2, 3), v(3));
    softmax_cotangent_shape, "softmax: a cotangent of shape [3, 2] for a result of shape [2, 3]",
        probabilities_vjp(&m(2, 3), m(3, 2));
    log_softmax_cotangent_shape,
        "log_softmax: a cotangent of shape [2, 1] for a result of shape [2, 3]",
        log_probabilities_vjp(&m(2, 3), m(2, 1));

    // Forward-mode tangents of the wrong shape, which reductions would sum silently.
    sum_tangent_shape,
        "sum: a tangent of shape [2] for an argument of shape [3]; each tangent must have its argument's shape",
        total_jvp(&v(3), v(2));
    mean_tangent_shape, "mean: a tangent of shape [2] for an argument of shape [3]",
        mean_all_jvp(&v(3), v(2));
    sum_axis_tangent_shape, "sum_axis: a tangent of shape [3, 2] for an argument of shape [2, 3]",
        column_sums_jvp(&m(2, 3), m(3, 2));
    mean_axis_tangent_shape, "mean_axis: a tangent of shape [3, 2] for an argument of shape [2, 3]",
        mean_axis_0_jvp(&m(2, 3), m(3, 2));
    mse_tangent_shape, "mse: a tangent of shape [2] for an argument of shape [3]",
        mse_loss_jvp(&v(3), &v(3), v(2));
    bce_with_logits_tangent_shape,
        "bce_with_logits: a tangent of shape [4] for an argument of shape [3]",
        bce_logits_loss_jvp(&v(3), &v(3), v(4));
    logsumexp_tangent_shape, "logsumexp: a tangent of shape [2] for an argument of shape [3]",
        lse_jvp(&v(3), v(2));
    softmax_tangent_shape, "softmax: a tangent of shape [3, 2] for an argument of shape [2, 3]",
        softmax_rows_jvp(&m(2, 3), m(3, 2));
    log_softmax_tangent_shape,
        "log_softmax: a tangent of shape [3, 2] for an argument of shape [2, 3]",
        log_softmax_rows_jvp(&m(2, 3), m(3, 2));
    cross_entropy_tangent_shape,
        "cross_entropy: a tangent of shape [3, 2] for an argument of shape [2, 3]",
        ce_loss_jvp(&m(2, 3), &[0, 1], m(3, 2));

    // Losses of mismatched shapes.
    mse_shapes_grad, "mse: shapes [3] and [2] differ",
        mse_loss_grad(&v(3), &v(2));
    mse_shapes_jvp, "mse: shapes [3] and [2] differ",
        mse_loss_jvp(&v(3), &v(2), v(3));
    mse_shapes_direct, "mse: shapes [3] and [2] differ",
        mse(&v(3), &v(2));
    bce_shapes_grad, "bce: shapes [2] and [3] differ",
        bce_loss_grad(&v(2), &v(3));
    bce_shapes_jvp, "bce: shapes [2] and [3] differ",
        bce_loss_jvp(&v(2), &v(3), v(2));
    bce_with_logits_shapes_grad, "bce_with_logits: shapes [4] and [3] differ",
        bce_logits_loss_grad(&v(4), &v(3));
    bce_with_logits_shapes_jvp, "bce_with_logits: shapes [4] and [3] differ",
        bce_logits_loss_jvp(&v(4), &v(3), v(4));
    bce_with_logits_shapes_direct, "bce_with_logits: shapes [4] and [3] differ",
        bce_with_logits(&v(4), &v(3));

    // Axes out of range.
    softmax_axis_grad, "softmax: axis 2 is out of range for an array of shape [2, 3]",
        softmax_axis_2_grad(&m(2, 3));
    softmax_axis_jvp, "softmax: axis 2 is out of range for an array of shape [2, 3]",
        softmax_axis_2_jvp(&m(2, 3), m(2, 3));
    softmax_axis_direct, "softmax: axis 2 is out of range for an array of shape [2, 3]",
        softmax(&m(2, 3), Axis(2));
    log_softmax_axis_grad, "log_softmax: axis 2 is out of range for an array of shape [2, 3]",
        log_softmax_axis_2_grad(&m(2, 3));
    log_softmax_axis_jvp, "log_softmax: axis 2 is out of range for an array of shape [2, 3]",
        log_softmax_axis_2_jvp(&m(2, 3), m(2, 3));
    sum_axis_grad, "sum_axis: axis 2 is out of range for an array of shape [2, 3]",
        sum_axis_2_grad(&m(2, 3));
    sum_axis_jvp, "sum_axis: axis 2 is out of range for an array of shape [2, 3]",
        sum_axis_2_jvp(&m(2, 3), m(2, 3));
    mean_axis_out_of_range_grad, "mean_axis: axis 2 is out of range for an array of shape [2, 3]",
        mean_axis_2_grad(&m(2, 3));
    mean_axis_out_of_range_jvp, "mean_axis: axis 2 is out of range for an array of shape [2, 3]",
        mean_axis_2_jvp(&m(2, 3), m(2, 3));
    std_axis_grad, "std_axis: axis 2 is out of range for an array of shape [2, 3]",
        std_axis_2_grad(&m(2, 3));

    // Variance with too few elements for its `ddof`.
    variance_ddof_grad,
        "var: ddof 1.0 must be at least 0 and below the number of elements reduced, 1 (the array's shape is [1])",
        sample_variance_grad(&v(1));
    variance_ddof_jvp,
        "var: ddof 1.0 must be at least 0 and below the number of elements reduced, 1 (the array's shape is [1])",
        sample_variance_jvp(&v(1), v(1));

    // Labels.
    label_out_of_range_grad,
        "cross_entropy: label 3 (row 1) is out of range for logits of shape [2, 3]; labels are class indices in 0..3",
        ce_loss_grad(&m(2, 3), &[0, 3]);
    label_out_of_range_jvp,
        "cross_entropy: label 3 (row 1) is out of range for logits of shape [2, 3]",
        ce_loss_jvp(&m(2, 3), &[0, 3], m(2, 3));
    label_out_of_range_direct,
        "cross_entropy: label 7 (row 0) is out of range for logits of shape [2, 3]",
        cross_entropy(m(2, 3), [7, 0]);
    label_out_of_range_with_no_classes,
        "cross_entropy: label 0 (row 0) is out of range for logits of shape [1, 0]; labels are class indices in 0..0",
        ce_loss_grad(&m(1, 0), &[0]);
    too_few_labels_grad,
        "cross_entropy: 1 labels for logits of shape [2, 3]; give one label per row",
        ce_loss_grad(&m(2, 3), &[0]);
    too_many_labels_jvp,
        "cross_entropy: 3 labels for logits of shape [2, 3]; give one label per row",
        ce_loss_jvp(&m(2, 3), &[0, 1, 2], m(2, 3));
    labels_for_empty_logits_direct,
        "cross_entropy: 1 labels for logits of shape [0, 3]; give one label per row",
        cross_entropy(m(0, 3), vec![0]);

    // Empty arrays.
    mean_empty_grad, "mean: the array of shape [0] is empty",
        mean_all_grad(&v(0));
    mean_empty_jvp, "mean: the array of shape [0] is empty",
        mean_all_jvp(&v(0), v(0));
    mean_axis_empty_grad, "mean_axis: axis 0 of shape [0, 3] is empty",
        mean_axis_0_grad(&m(0, 3));
    mean_axis_empty_jvp, "mean_axis: axis 0 of shape [0, 3] is empty",
        mean_axis_0_jvp(&m(0, 3), m(0, 3));
    mse_empty_grad, "mse: the prediction of shape [0] is empty",
        mse_loss_grad(&v(0), &v(0));
    mse_empty_jvp, "mse: the prediction of shape [0] is empty",
        mse_loss_jvp(&v(0), &v(0), v(0));
    bce_empty_grad, "bce: the prediction of shape [0] is empty",
        bce_loss_grad(&v(0), &v(0));
    bce_with_logits_empty_jvp, "bce_with_logits: the prediction of shape [0] is empty",
        bce_logits_loss_jvp(&v(0), &v(0), v(0));
    bce_with_logits_empty_direct, "bce_with_logits: the prediction of shape [0] is empty",
        bce_with_logits(&v(0), &v(0));
    logsumexp_empty_grad, "logsumexp: the array of shape [0] is empty",
        lse_grad(&v(0));
    logsumexp_empty_jvp, "logsumexp: the array of shape [0] is empty",
        lse_jvp(&v(0), v(0));
    cross_entropy_empty_grad, "cross_entropy: the logits of shape [0, 3] are empty",
        ce_loss_grad(&m(0, 3), &[]);
    cross_entropy_empty_jvp, "cross_entropy: the logits of shape [0, 3] are empty",
        ce_loss_jvp(&m(0, 3), &[], m(0, 3));
}

// ---------------------------------------------------------------------------------------
// Where the panics point

/// Where a panic happened: file, line and column.
type Location = (String, u32, u32);

/// A panic's message and location.
type Panic = (String, Location);

thread_local! {
    /// The location of the last panic on this thread, recorded by `record_locations`' hook.
    static LAST_PANIC: RefCell<Option<Location>> = const { RefCell::new(None) };
}

/// Installs (once per process) a panic hook that records each panic's location for the
/// panicking thread, then runs the default hook.
fn record_locations() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Some(location) = info.location() {
                let here = (
                    location.file().to_owned(),
                    location.line(),
                    location.column(),
                );
                LAST_PANIC.with(|last| *last.borrow_mut() = Some(here));
            }
            default(info);
        }));
    });
}

/// Runs `call`, which must panic, and returns its message and location.
fn panic_of(call: impl FnOnce()) -> Panic {
    record_locations();
    LAST_PANIC.with(|last| *last.borrow_mut() = None);
    let payload = catch_unwind(AssertUnwindSafe(call)).expect_err("the call panics");
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    let location = LAST_PANIC
        .with(|last| last.borrow_mut().take())
        .expect("the hook saw the panic");
    (message, location)
}

/// The line of `a.dot(b)` in `scaled_product`, inside `0.5 * …` (another node, at another
/// column).
const SCALED_PRODUCT_LINE: u32 = line!() + 4;

#[differentiable(hessian)]
fn scaled_product(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    let c = 0.5 * a.dot(b);
    c.sum()
}

/// `mat_mat` and `product` called from other differentiable functions: the tangents and
/// cotangents reach their rules through their companions, which run their own generated
/// code, spanned in their own bodies. (Their values come from the original functions, where
/// `a.dot(b)` is ndarray's own.)
#[differentiable]
fn calls_mat_mat(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    2.0 * mat_mat(a, b)
}

#[differentiable]
fn calls_product(a: &Array2<f64>, b: &Array2<f64>) -> Array2<f64> {
    product(a, b)
}

/// The text of this file from `line`:`column` (1-based, as `Location` counts) to the end of
/// the line.
fn source_at(line: u32, column: u32) -> &'static str {
    let text = include_str!("runtime_errors.rs")
        .lines()
        .nth(line as usize - 1)
        .expect("the line is in this file");
    &text[column as usize - 1..]
}

/// A mismatch of `dot` reached through every generated function: a name, the start of the
/// message, the line of the `a.dot(b)` it must point at, and the panic.
fn dot_mismatches() -> Vec<(&'static str, &'static str, u32, Panic)> {
    const SHAPES: &str = "dot: shapes [2, 4] and [3, 2] are not aligned";
    vec![
        // The forward sweep's call of `forward`, in every generated function.
        (
            "f_grad",
            SHAPES,
            MAT_MAT_LINE,
            panic_of(|| {
                let _ = mat_mat_grad(&m(2, 4), &m(3, 2));
            }),
        ),
        (
            "f_vjp",
            SHAPES,
            PRODUCT_LINE,
            panic_of(|| {
                let _ = product_vjp(&m(2, 4), &m(3, 2), m(2, 2));
            }),
        ),
        (
            "f_jvp",
            SHAPES,
            MAT_MAT_LINE,
            panic_of(|| {
                let _ = mat_mat_jvp(&m(2, 4), &m(3, 2), m(2, 4), m(3, 2));
            }),
        ),
        (
            "f_jacobian",
            SHAPES,
            PRODUCT_LINE,
            panic_of(|| {
                let _ = product_jacobian(&m(2, 4), &m(3, 2));
            }),
        ),
        (
            "f_hessian",
            SHAPES,
            SCALED_PRODUCT_LINE,
            panic_of(|| {
                let _ = scaled_product_hessian(&m(2, 4), &m(3, 2));
            }),
        ),
        (
            "f_grad, nested",
            SHAPES,
            SCALED_PRODUCT_LINE,
            panic_of(|| {
                let _ = scaled_product_grad(&m(2, 4), &m(3, 2));
            }),
        ),
        // The rules: a pullback given a cotangent, a pushforward given a tangent of the
        // wrong shape.
        (
            "f_vjp's vjp0",
            "dot: the cotangent of the product has shape [2, 50]",
            PRODUCT_LINE,
            panic_of(|| {
                let _ = product_vjp(&m(2, 3), &m(3, 2), m(2, 50));
            }),
        ),
        (
            "f_jvp's jvp1",
            "dot: the tangent of the right factor has shape [30, 2]",
            MAT_MAT_LINE,
            panic_of(|| {
                let _ = mat_mat_jvp(&m(2, 3), &m(3, 2), m(2, 3), m(30, 2));
            }),
        ),
        // Through a call: in the called function's companions.
        (
            "f_jvp of a caller",
            "dot: the tangent of the right factor has shape [30, 2]",
            MAT_MAT_LINE,
            panic_of(|| {
                let _ = calls_mat_mat_jvp(&m(2, 3), &m(3, 2), m(2, 3), m(30, 2));
            }),
        ),
        (
            "f_vjp of a caller",
            "dot: the cotangent of the product has shape [2, 50]",
            PRODUCT_LINE,
            panic_of(|| {
                let _ = calls_product_vjp(&m(2, 3), &m(3, 2), m(2, 50));
            }),
        ),
    ]
}

/// What the README promises: a shape mismatch in the generated code panics at the line and
/// column of the expression that caused it (the `dot` of `a.dot(b)`, as rustc locates a
/// method call: not the `#[differentiable]` line, not the statement, not the `sum` of
/// `a.dot(b).sum()` nor the `*` of `0.5 * a.dot(b)`), in every generated function and in
/// its rules.
#[test]
fn a_dot_mismatch_points_at_the_users_expression() {
    for (mode, expected, line, (message, (file, at_line, column))) in dot_mismatches() {
        assert!(message.starts_with(expected), "{mode}: {message}");
        assert_eq!(
            (file.as_str(), at_line),
            (file!(), line),
            "{mode}: {message}"
        );
        assert!(
            source_at(line, column).starts_with("dot(b)"),
            "{mode}: column {column} of line {line} is {:?}",
            source_at(line, column)
        );
    }
}

/// Every case above, through the generated code or the runtime directly, panics in this file
/// with the expected message, at the expression that failed (in the generated code, the
/// expression of the node whose rule panicked), not at a `#[differentiable]` attribute.
#[test]
fn every_error_points_at_this_file() {
    for &(name, expected, call) in CASES {
        let (message, (file, line, column)) = panic_of(call);
        assert!(message.contains(expected), "{name}: {message}");
        assert_eq!(
            file,
            file!(),
            "{name}: panicked at {file}:{line}: {message}"
        );
        // At an expression (the operator of a binary one), never the attribute.
        let at = source_at(line, column);
        assert!(
            !at.starts_with("#["),
            "{name}: panicked at {line}:{column}, {at:?}: {message}"
        );
    }
}

/// The runtime's functions called in the original function (not the generated code) point at
/// the call too.
#[test]
fn errors_in_the_original_function_point_at_the_call() {
    let (message, (file, ..)) = panic_of(|| {
        let _ = ce_loss(&m(2, 3), &[0, 5]);
    });
    assert!(
        message.starts_with("cross_entropy: label 5 (row 1)"),
        "{message}"
    );
    assert_eq!(file, file!());
    let (message, (file, ..)) = panic_of(|| {
        let _ = lse(&v(0));
    });
    assert!(
        message.starts_with("logsumexp: the array of shape [0] is empty"),
        "{message}"
    );
    assert_eq!(file, file!());
}

/// Labels in any layout: a view, and an owned array that is not contiguous.
#[test]
fn labels_may_be_strided() {
    let z = array![[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]];
    let all = Array1::from(vec![2_usize, 9, 0, 9]);
    let every_other: ArrayView1<usize> = all.slice(autodiff::ndarray::s![..;2]);
    let owned = all.clone().slice_move(autodiff::ndarray::s![..;2]);
    let want = cross_entropy(&z, [2, 0]);
    assert_eq!(cross_entropy(&z, every_other), want);
    assert_eq!(cross_entropy(&z, &owned), want);
    let (value, grad) = ce_loss_grad(&z, &[2, 0]);
    assert_eq!(value, want);
    assert_eq!(grad.shape(), &[2, 3]);
}
