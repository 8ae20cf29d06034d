//! Numerical edges: the stable functions (sigmoid, softplus, logsumexp, log_softmax, softmax,
//! bce_with_logits, cross_entropy) and their derivatives in both modes at inputs of magnitude
//! 1e3 (f64) and at f32's own overflow scale (±100, ±1e3), against closed forms that do not
//! share the runtime's formulas; IEEE propagation of ln 0, 1/0, NaN and ±∞ through values and
//! derivatives (never a panic); relu′(0) = 0; and the vectorized kernels (AVX2 where the CPU
//! has it) at ±1e3, ±∞, NaN in every lane of the vector body and of the remainder tail.
//!
//! Each function is checked three ways: through a `#[differentiable]` function's `_grad` /
//! `_vjp` (reverse) and `_jvp` (forward), and through the runtime's rules called directly.

use autodiff::ndarray::{Array1, Array2, Axis};
use autodiff::prelude::*;
use autodiff::Float;
use autodiff_runtime::fast::{self, Kernel};
use autodiff_runtime::prim;

// ---------------------------------------------------------------------------------------
// Comparison

/// `got` agrees with `want`: both NaN, the same infinity, or within `abs + rel·|want|`.
fn agrees<T: Float>(got: T, want: T, rel: T, abs: T) -> bool {
    if want.is_nan() {
        return got.is_nan();
    }
    if want.is_infinite() {
        return got == want;
    }
    got.is_finite() && (got - want).abs() <= abs + rel * want.abs()
}

#[track_caller]
fn assert_agrees<T: Float + std::fmt::Debug>(what: &str, got: T, want: T, rel: T, abs: T) {
    assert!(
        agrees(got, want, rel, abs),
        "{what}: got {got:?}, want {want:?}"
    );
}

/// The same value, NaN included (the generated value must be the original's).
fn same<T: Float>(a: T, b: T) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

// ---------------------------------------------------------------------------------------
// Scalar functions: value and derivative in both modes, f64 and f32

/// Closed forms in f64, written independently of the runtime's branches:
/// σ(x) = 1/(1 + e⁻ˣ) (exact to rounding wherever e⁻ˣ is finite, 0 below that, where the true
/// value is below 1e-308), σ′(x) = 1/(4 cosh²(x/2)), softplus(x) = ln_1p(eˣ) where eˣ is
/// finite and x above (where ln(1 + e⁻ˣ) < 1e-300), tanh′ = 1/cosh².
fn reference(name: &str, x: f64) -> (f64, f64) {
    let sigma = 1.0 / (1.0 + (-x).exp());
    let sigma_prime = 0.25 / (0.5 * x).cosh().powi(2);
    match name {
        "sigmoid" => (sigma, sigma_prime),
        "softplus" => {
            let value = if x < 700.0 { x.exp().ln_1p() } else { x };
            (value, sigma)
        }
        "relu" => {
            if x.is_nan() {
                (x, x)
            } else if x > 0.0 {
                (x, 1.0)
            } else {
                (0.0, 0.0)
            }
        }
        "ln" => (x.ln(), 1.0 / x),
        "recip" => (1.0 / x, -1.0 / (x * x)),
        "exp" => (x.exp(), x.exp()),
        "tanh" => (x.tanh(), 1.0 / x.cosh().powi(2)),
        _ => unreachable!("no reference for {name}"),
    }
}

/// Absolute error allowed on top of a few ulps: σ′ = y(1 − y) rounds 1 − y to 0 for x ≳ 37
/// (the true value, e⁻ˣ, is below 1e-16 there), tanh′ = 1 − y² likewise for x ≳ 19.
fn derivative_floor(name: &str) -> f64 {
    match name {
        "sigmoid" | "tanh" => 1e-16,
        _ => 0.0,
    }
}

struct ScalarRow<T> {
    name: &'static str,
    f: fn(T) -> T,
    grad: fn(T) -> (T, T),
    jvp: fn(T, T) -> (T, T),
    forward: fn(T) -> T,
    vjp: fn(T, T, T) -> T,
    jvp_rule: fn(T, T, T) -> T,
}

macro_rules! scalar_rows {
    ($($name:ident: |$x:ident| $body:expr;)*) => {
        $(
            mod $name {
                use super::*;

                #[differentiable]
                pub fn d($x: f64) -> f64 {
                    $body
                }

                #[differentiable]
                pub fn s($x: f32) -> f32 {
                    $body
                }
            }
        )*
        const F64_ROWS: &[ScalarRow<f64>] = &[$(ScalarRow {
            name: stringify!($name),
            f: $name::d,
            grad: $name::d_grad,
            jvp: $name::d_jvp,
            forward: |x| prim::$name::forward(x),
            vjp: |x, y, g| prim::$name::vjp0(x, &y, g),
            jvp_rule: |x, y, t| prim::$name::jvp0(x, &y, t),
        }),*];
        const F32_ROWS: &[ScalarRow<f32>] = &[$(ScalarRow {
            name: stringify!($name),
            f: $name::s,
            grad: $name::s_grad,
            jvp: $name::s_jvp,
            forward: |x| prim::$name::forward(x),
            vjp: |x, y, g| prim::$name::vjp0(x, &y, g),
            jvp_rule: |x, y, t| prim::$name::jvp0(x, &y, t),
        }),*];
    };
}

scalar_rows! {
    sigmoid: |x| sigmoid(x);
    softplus: |x| softplus(x);
    relu: |x| relu(x);
    ln: |x| x.ln();
    recip: |x| x.recip();
    exp: |x| x.exp();
    tanh: |x| x.tanh();
}

const F64_POINTS: &[f64] = &[
    0.0,
    -0.0,
    1e-3,
    -1e-3,
    1.0,
    -1.0,
    20.0,
    -20.0,
    30.0,
    -30.0,
    40.0,
    -40.0,
    100.0,
    -100.0,
    700.0,
    -700.0,
    709.0,
    -709.0,
    710.0,
    -710.0,
    745.0,
    -745.0,
    1000.0,
    -1000.0,
    1e300,
    -1e300,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
];

const F32_POINTS: &[f32] = &[
    0.0,
    -0.0,
    1e-3,
    -1e-3,
    1.0,
    -1.0,
    10.0,
    -10.0,
    20.0,
    -20.0,
    80.0,
    -80.0,
    88.0,
    -88.0,
    89.0,
    -89.0,
    100.0,
    -100.0,
    104.0,
    -104.0,
    1000.0,
    -1000.0,
    1e30,
    -1e30,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::NAN,
];

/// Every scalar function at every point: the value against the closed form (IEEE's for ln
/// and 1/x of negative numbers, 0 and ±∞, NaN included), the derivative through `_grad`
/// (reverse), `_jvp` (forward) and the rules `prim::*::{vjp0, jvp0}` themselves.
#[test]
fn scalar_functions_in_both_modes_f64() {
    for row in F64_ROWS {
        let name = row.name;
        for &x in F64_POINTS {
            let (want, want_d) = reference(name, x);
            let (rel, floor) = (1e-14, f64::MIN_POSITIVE);
            let value = (row.f)(x);
            assert_agrees(&format!("{name}({x})"), value, want, rel, floor);
            let (grad_value, d) = (row.grad)(x);
            assert!(same(grad_value, value), "{name}_grad({x}) value");
            let d_floor = floor + derivative_floor(name);
            assert_agrees(&format!("{name}′({x}) reverse"), d, want_d, rel, d_floor);
            let (jvp_value, tangent) = (row.jvp)(x, 1.0);
            assert!(same(jvp_value, value), "{name}_jvp({x}) value");
            assert_agrees(
                &format!("{name}′({x}) forward"),
                tangent,
                want_d,
                rel,
                d_floor,
            );
            // The rules themselves.
            let y = (row.forward)(x);
            assert!(same(y, value), "prim::{name}::forward({x})");
            let pulled = (row.vjp)(x, y, 1.0);
            assert_agrees(
                &format!("prim::{name}::vjp0({x})"),
                pulled,
                want_d,
                rel,
                d_floor,
            );
            let pushed = (row.jvp_rule)(x, y, 1.0);
            assert_agrees(
                &format!("prim::{name}::jvp0({x})"),
                pushed,
                want_d,
                rel,
                d_floor,
            );
        }
    }
}

#[test]
fn scalar_functions_in_both_modes_f32() {
    for row in F32_ROWS {
        let name = row.name;
        for &x in F32_POINTS {
            let (want, want_d) = reference(name, f64::from(x));
            let (want, want_d) = (want as f32, want_d as f32);
            let (rel, floor) = (1e-6, f32::MIN_POSITIVE);
            let d_floor = floor + derivative_floor(name) as f32 * 1e9;
            let value = (row.f)(x);
            assert_agrees(&format!("{name}({x}_f32)"), value, want, rel, floor);
            let (grad_value, d) = (row.grad)(x);
            assert!(same(grad_value, value), "{name}_grad({x}_f32) value");
            assert_agrees(
                &format!("{name}′({x}_f32) reverse"),
                d,
                want_d,
                rel,
                d_floor,
            );
            let (jvp_value, tangent) = (row.jvp)(x, 1.0);
            assert!(same(jvp_value, value), "{name}_jvp({x}_f32) value");
            assert_agrees(
                &format!("{name}′({x}_f32) forward"),
                tangent,
                want_d,
                rel,
                d_floor,
            );
            let y = (row.forward)(x);
            assert!(same(y, value), "prim::{name}::forward({x}_f32)");
            let pulled = (row.vjp)(x, y, 1.0);
            assert_agrees(
                &format!("prim::{name}::vjp0({x}_f32)"),
                pulled,
                want_d,
                rel,
                d_floor,
            );
            let pushed = (row.jvp_rule)(x, y, 1.0);
            assert_agrees(
                &format!("prim::{name}::jvp0({x}_f32)"),
                pushed,
                want_d,
                rel,
                d_floor,
            );
        }
    }
}

/// The IEEE cases the brief names, spelled out: ln 0 = −∞ with ln′(0) = ∞, 1/0 = ∞,
/// relu′(0) = 0, NaN in → NaN out, in both modes.
#[test]
fn ieee_special_cases_spelled_out() {
    assert_eq!(ln::d_grad(0.0), (f64::NEG_INFINITY, f64::INFINITY));
    assert_eq!(ln::d_jvp(0.0, 1.0), (f64::NEG_INFINITY, f64::INFINITY));
    assert_eq!(ln::s_grad(0.0), (f32::NEG_INFINITY, f32::INFINITY));
    assert_eq!(recip::d_grad(0.0), (f64::INFINITY, f64::NEG_INFINITY));
    assert_eq!(recip::d_jvp(0.0, 1.0), (f64::INFINITY, f64::NEG_INFINITY));
    assert_eq!(relu::d_grad(0.0), (0.0, 0.0));
    assert_eq!(relu::d_jvp(0.0, 1.0), (0.0, 0.0));
    assert_eq!(relu::s_grad(0.0), (0.0, 0.0));
    assert_eq!(relu::s_jvp(-0.0, 1.0).1, 0.0);
    for row in F64_ROWS {
        let (value, d) = (row.grad)(f64::NAN);
        assert!(
            value.is_nan() && d.is_nan(),
            "{}: NaN in, NaN out",
            row.name
        );
        let (value, t) = (row.jvp)(f64::NAN, 1.0);
        assert!(
            value.is_nan() && t.is_nan(),
            "{}: NaN in, NaN out",
            row.name
        );
    }
}

mod quotient {
    use super::*;

    #[differentiable]
    pub fn f(a: f64, b: f64) -> f64 {
        a / b
    }
}

/// Division by zero: a/0 = ±∞ (0/0 = NaN), ∂/∂a = 1/b = ∞, ∂/∂b = −(a/b)/b = −∞ · sign(a).
#[test]
fn division_by_zero_follows_ieee() {
    let cases = [
        (1.0, 0.0),
        (-1.0, 0.0),
        (1.0, -0.0),
        (0.0, 0.0),
        (f64::INFINITY, 0.0),
        (1.0, f64::INFINITY),
        (f64::NAN, 1.0),
        (1.0, f64::NAN),
    ];
    for (a, b) in cases {
        let (value, (da, db)) = quotient::f_grad(a, b);
        assert!(same(value, a / b), "{a}/{b}");
        assert!(same(da, 1.0 / b), "∂({a}/{b})/∂a = {da}");
        assert!(same(db, -(a / b) / b), "∂({a}/{b})/∂b = {db}");
        // Forward mode sums ȧ ∂/∂a + ḃ ∂/∂b in IEEE arithmetic, so a zero tangent times an
        // infinite partial is NaN, as in JAX with instantiated zero tangents.
        for (ta, tb) in [(1.0, 0.0), (0.0, 1.0), (0.5, -2.0)] {
            let (value, tangent) = quotient::f_jvp(a, b, ta, tb);
            assert!(same(value, a / b), "{a}/{b}: jvp value");
            let want = ta * da + tb * db;
            assert!(
                same(tangent, want),
                "forward mode of {a}/{b} along ({ta}, {tb}): {tangent}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// The same functions on arrays: the vectorized kernels (exp, tanh, sigmoid) in every lane

macro_rules! array_fns {
    ($($name:ident: |$x:ident| $body:expr;)*) => {
        $(
            mod $name {
                use super::*;

                #[differentiable]
                pub fn d($x: &Array1<f64>) -> Array1<f64> {
                    $body
                }

                #[differentiable]
                pub fn s($x: &Array1<f32>) -> Array1<f32> {
                    $body
                }
            }
        )*
        type VjpF64 = fn(&Array1<f64>, Array1<f64>) -> (Array1<f64>, Array1<f64>);
        type VjpF32 = fn(&Array1<f32>, Array1<f32>) -> (Array1<f32>, Array1<f32>);
        const ARRAY_ROWS: &[(&str, VjpF64, VjpF64, VjpF32, VjpF32)] = &[$((
            stringify!($name),
            $name::d_vjp,
            $name::d_jvp,
            $name::s_vjp,
            $name::s_jvp,
        )),*];
    };
}

mod arrays {
    use super::*;

    array_fns! {
        sigmoid: |x| sigmoid(x);
        softplus: |x| softplus(x);
        relu: |x| relu(x);
        ln: |x| x.ln();
        recip: |x| x.recip();
        exp: |x| x.exp();
        tanh: |x| x.tanh();
    }

    /// Lengths around the four-lane vector body and its remainder, and one past the
    /// threshold for running on every core.
    const LENGTHS: &[usize] = &[1, 3, 4, 5, 7, 8, 9, 1023, 40_001];

    /// `points` laid out cyclically from `shift`, so that across shifts every point visits
    /// every lane of the body and of the tail.
    fn layout<T: Copy>(points: &[T], len: usize, shift: usize) -> Vec<T> {
        (0..len)
            .map(|i| points[(i + shift) % points.len()])
            .collect()
    }

    fn shifts(len: usize) -> usize {
        if len < 100 {
            F64_POINTS.len()
        } else {
            1
        }
    }

    /// Values and derivatives of every elementwise function on arrays, both modes, against the
    /// scalar closed forms (the kernels agree with libm to a few ulps).
    #[test]
    fn elementwise_functions_on_arrays_f64() {
        for &(name, vjp, jvp, _, _) in ARRAY_ROWS {
            for &len in LENGTHS {
                for shift in 0..shifts(len) {
                    let x = Array1::from(layout(F64_POINTS, len, shift));
                    let ones = Array1::from_elem(len, 1.0);
                    let (value, grad) = vjp(&x, ones.clone());
                    let (jvp_value, tangent) = jvp(&x, ones);
                    for i in 0..len {
                        let (want, want_d) = reference(name, x[i]);
                        let what = format!("{name} on {len} elements at [{i}] = {}", x[i]);
                        let floor = f64::MIN_POSITIVE;
                        let d_floor = floor + derivative_floor(name);
                        assert_agrees(&what, value[i], want, 1e-14, floor);
                        assert!(same(jvp_value[i], value[i]), "{what}: jvp value");
                        assert_agrees(&format!("{what}: vjp"), grad[i], want_d, 1e-14, d_floor);
                        assert_agrees(&format!("{what}: jvp"), tangent[i], want_d, 1e-14, d_floor);
                    }
                }
            }
        }
    }

    #[test]
    fn elementwise_functions_on_arrays_f32() {
        for &(name, _, _, vjp, jvp) in ARRAY_ROWS {
            for len in [1, 4, 5, 9] {
                for shift in 0..F32_POINTS.len() {
                    let x = Array1::from(layout(F32_POINTS, len, shift));
                    let ones = Array1::from_elem(len, 1.0_f32);
                    let (value, grad) = vjp(&x, ones.clone());
                    let (jvp_value, tangent) = jvp(&x, ones);
                    for i in 0..len {
                        let (want, want_d) = reference(name, f64::from(x[i]));
                        let (want, want_d) = (want as f32, want_d as f32);
                        let what = format!("{name} on {len} f32 at [{i}] = {}", x[i]);
                        let floor = f32::MIN_POSITIVE;
                        let d_floor = floor + derivative_floor(name) as f32 * 1e9;
                        assert_agrees(&what, value[i], want, 1e-6, floor);
                        assert!(same(jvp_value[i], value[i]), "{what}: jvp value");
                        assert_agrees(&format!("{what}: vjp"), grad[i], want_d, 1e-6, d_floor);
                        assert_agrees(&format!("{what}: jvp"), tangent[i], want_d, 1e-6, d_floor);
                    }
                }
            }
        }
    }

    /// The kernels themselves, `fast::map_slice` (AVX2 + FMA where the CPU has them, else the
    /// portable loop), at every special value in every lane, against libm: ±1e3 overflow to ∞
    /// or underflow to 0, ±∞ saturate, NaN stays NaN. Includes the empty slice.
    #[test]
    fn vectorized_kernels_at_special_values_in_every_lane() {
        type Libm = fn(f64) -> f64;
        let kernels: [(Kernel, Libm, f64); 3] = [
            (Kernel::Exp, f64::exp, 2.0),
            (Kernel::Tanh, f64::tanh, 3.0),
            (Kernel::Sigmoid, |x| 1.0 / (1.0 + (-x).exp()), 4.0),
        ];
        for (kernel, libm, ulps) in kernels {
            assert!(fast::map_slice(kernel, &[]).is_empty());
            for len in [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 1023, 70_001] {
                for shift in 0..shifts(len) {
                    let src = layout(F64_POINTS, len, shift);
                    let out = fast::map_slice(kernel, &src);
                    assert_eq!(out.len(), len);
                    for (i, (&x, &y)) in src.iter().zip(&out).enumerate() {
                        let want = libm(x);
                        let what = format!("{kernel:?}({x}) in lane {i} of {len}");
                        assert_agrees(&what, y, want, ulps * f64::EPSILON, 1e-300);
                        // One element through the scalar kernel: the same bits.
                        assert!(same(y, <f64 as fast::FastMath>::apply(kernel, x)), "{what}");
                    }
                }
            }
        }
    }

    /// Non-contiguous arrays take the per-element path instead of the slice kernel: the same
    /// values.
    #[test]
    fn strided_arrays_take_the_scalar_path_with_the_same_values() {
        let x = Array1::from(layout(F64_POINTS, 2 * F64_POINTS.len(), 0));
        let every_other = x.slice(autodiff::ndarray::s![..;2]);
        let contiguous = every_other.to_owned();
        for (strided, dense) in sigmoid(&every_other).iter().zip(&sigmoid(&contiguous)) {
            assert!(same(*strided, *dense));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Losses and normalizations at 1e3 (f64) and f32's overflow scale

/// The rows [c + ln 1, c + ln 2, …, c + ln n] have closed forms for any shift c:
/// logsumexp = c + ln(n(n+1)/2), softmax = k / Σk, log_softmax = ln(k / Σk).
fn shifted_logs(c: f64, n: usize) -> Vec<f64> {
    (1..=n).map(|k| c + (k as f64).ln()).collect()
}

fn triangle(n: usize) -> f64 {
    (n * (n + 1) / 2) as f64
}

macro_rules! loss_fns {
    ($t:ident) => {
        #[differentiable]
        pub fn lse(x: &Array1<$t>) -> $t {
            logsumexp(x)
        }

        #[differentiable]
        pub fn lsm(x: &Array2<$t>) -> Array2<$t> {
            log_softmax(x, Axis(1))
        }

        #[differentiable]
        pub fn sm(x: &Array2<$t>) -> Array2<$t> {
            softmax(x, Axis(1))
        }

        #[differentiable(wrt(z))]
        pub fn bcel(z: &Array1<$t>, y: &Array1<$t>) -> $t {
            bce_with_logits(z, y)
        }

        #[differentiable(wrt(z))]
        pub fn ce(z: &Array2<$t>, labels: &[usize]) -> $t {
            cross_entropy(z, labels)
        }
    };
}

mod losses64 {
    use super::*;
    loss_fns!(f64);
}

mod losses32 {
    use super::*;
    loss_fns!(f32);
}

/// One precision's view of the loss functions, so that a test body serves f64 and f32.
trait Losses: Float + std::fmt::Debug + 'static {
    /// The shifts at this precision's own scale: where e^c overflows.
    const SHIFTS: &'static [f64];
    fn lse_grad(x: &Array1<Self>) -> (Self, Array1<Self>);
    fn lse_jvp(x: &Array1<Self>, t: Array1<Self>) -> (Self, Self);
    fn lsm_vjp(x: &Array2<Self>, g: Array2<Self>) -> (Array2<Self>, Array2<Self>);
    fn lsm_jvp(x: &Array2<Self>, t: Array2<Self>) -> (Array2<Self>, Array2<Self>);
    fn sm_vjp(x: &Array2<Self>, g: Array2<Self>) -> (Array2<Self>, Array2<Self>);
    fn sm_jvp(x: &Array2<Self>, t: Array2<Self>) -> (Array2<Self>, Array2<Self>);
    fn bcel_grad(z: &Array1<Self>, y: &Array1<Self>) -> (Self, Array1<Self>);
    fn bcel_jvp(z: &Array1<Self>, y: &Array1<Self>, t: Array1<Self>) -> (Self, Self);
    fn ce_grad(z: &Array2<Self>, labels: &[usize]) -> (Self, Array2<Self>);
    fn ce_jvp(z: &Array2<Self>, labels: &[usize], t: Array2<Self>) -> (Self, Self);
    fn of(v: f64) -> Self {
        Self::from(v).expect("representable")
    }
}

macro_rules! impl_losses {
    ($t:ident, $m:ident, $shifts:expr) => {
        impl Losses for $t {
            const SHIFTS: &'static [f64] = $shifts;
            fn lse_grad(x: &Array1<$t>) -> ($t, Array1<$t>) {
                $m::lse_grad(x)
            }
            fn lse_jvp(x: &Array1<$t>, t: Array1<$t>) -> ($t, $t) {
                $m::lse_jvp(x, t)
            }
            fn lsm_vjp(x: &Array2<$t>, g: Array2<$t>) -> (Array2<$t>, Array2<$t>) {
                $m::lsm_vjp(x, g)
            }
            fn lsm_jvp(x: &Array2<$t>, t: Array2<$t>) -> (Array2<$t>, Array2<$t>) {
                $m::lsm_jvp(x, t)
            }
            fn sm_vjp(x: &Array2<$t>, g: Array2<$t>) -> (Array2<$t>, Array2<$t>) {
                $m::sm_vjp(x, g)
            }
            fn sm_jvp(x: &Array2<$t>, t: Array2<$t>) -> (Array2<$t>, Array2<$t>) {
                $m::sm_jvp(x, t)
            }
            fn bcel_grad(z: &Array1<$t>, y: &Array1<$t>) -> ($t, Array1<$t>) {
                $m::bcel_grad(z, y)
            }
            fn bcel_jvp(z: &Array1<$t>, y: &Array1<$t>, t: Array1<$t>) -> ($t, $t) {
                $m::bcel_jvp(z, y, t)
            }
            fn ce_grad(z: &Array2<$t>, labels: &[usize]) -> ($t, Array2<$t>) {
                $m::ce_grad(z, labels)
            }
            fn ce_jvp(z: &Array2<$t>, labels: &[usize], t: Array2<$t>) -> ($t, $t) {
                $m::ce_jvp(z, labels, t)
            }
        }
    };
}

impl_losses!(f64, losses64, &[0.0, 1000.0, -1000.0, 1e5, -1e5]);
impl_losses!(f32, losses32, &[0.0, 100.0, -100.0, 1000.0, -1000.0]);

/// Tolerance at shift c: the inputs c + ln k are rounded to an ulp of c, which moves every
/// result by about that much.
fn tolerance<T: Losses>(c: f64) -> T {
    T::of(8.0) * T::epsilon() * T::of(c.abs().max(1.0))
}

fn array1<T: Losses>(v: &[f64]) -> Array1<T> {
    v.iter().map(|&v| T::of(v)).collect()
}

/// A tangent / cotangent with distinct entries, so that no sum cancels by symmetry.
fn direction<T: Losses>(n: usize) -> Vec<T> {
    (0..n).map(|i| T::of(0.5 + 0.25 * i as f64)).collect()
}

fn inner<T: Losses>(a: impl IntoIterator<Item = T>, b: &[T]) -> T {
    a.into_iter().zip(b).fold(T::zero(), |s, (a, &b)| s + a * b)
}

fn logsumexp_closed_forms<T: Losses>() {
    for &c in T::SHIFTS {
        for n in [1, 2, 3, 5, 8] {
            let x: Array1<T> = array1(&shifted_logs(c, n));
            let tol = tolerance::<T>(c);
            let want = T::of(c + triangle(n).ln());
            let what = format!("logsumexp of c + ln k, c = {c}, n = {n}");
            // The runtime function, the generated reverse and forward modes, the rules.
            assert_agrees(&what, logsumexp(&x), want, T::zero(), tol);
            let (value, grad) = T::lse_grad(&x);
            assert_agrees(&what, value, want, T::zero(), tol);
            let softmax: Vec<T> = (1..=n).map(|k| T::of(k as f64 / triangle(n))).collect();
            for (g, s) in grad.iter().zip(&softmax) {
                assert_agrees(&format!("{what}: gradient"), *g, *s, T::zero(), tol);
            }
            let t = direction::<T>(n);
            let (_, tangent) = T::lse_jvp(&x, Array1::from(t.clone()));
            let want_tangent = inner(softmax.iter().copied(), &t);
            assert_agrees(
                &format!("{what}: jvp"),
                tangent,
                want_tangent,
                T::zero(),
                tol,
            );
            let y = prim::logsumexp::forward(x.view());
            let pulled = prim::logsumexp::vjp0(x.view(), &y, T::one());
            for (g, s) in pulled.iter().zip(&softmax) {
                assert_agrees(&format!("{what}: rule"), *g, *s, T::zero(), tol);
            }
        }
    }
}

#[test]
fn logsumexp_at_large_shifts() {
    logsumexp_closed_forms::<f64>();
    logsumexp_closed_forms::<f32>();
}

/// Rows [c, −c, 0] for every positive shift (1e3 and 1e5 in f64, 100 and 1e3 in f32): every
/// exponential but one under- or overflows. logsumexp = max(c, 0) + ln(1 + e^(−|c|) + e^(−2|c|)) = |c| exactly, its gradient
/// (the softmax) is one-hot at the largest entry.
fn mixed_rows<T: Losses>() {
    for &c in T::SHIFTS.iter().filter(|&&c| c > 0.0) {
        let x: Array1<T> = array1(&[c, -c, 0.0]);
        let (value, grad) = T::lse_grad(&x);
        assert_eq!(value, T::of(c), "logsumexp([{c}, −{c}, 0])");
        // e^(−c) is 3.7e-44 for f32's c = 100: below the smallest normal number.
        let tiny = T::min_positive_value();
        for (g, want) in grad.iter().zip([1.0, 0.0, 0.0]) {
            assert_agrees(
                &format!("its gradient at c = {c}"),
                *g,
                T::of(want),
                T::zero(),
                tiny,
            );
        }
        let (_, tangent) = T::lse_jvp(&x, array1(&[0.25, 3.0, 5.0]));
        assert_eq!(tangent, T::of(0.25), "forward mode at c = {c}");

        // log_softmax and softmax along rows, a second row negated.
        let z = Array2::from_shape_vec(
            (2, 3),
            vec![
                T::of(c),
                T::of(-c),
                T::zero(),
                T::of(-c),
                T::of(c),
                T::zero(),
            ],
        )
        .expect("2 × 3");
        let want_log = [0.0, -2.0 * c, -c, -2.0 * c, 0.0, -c];
        let want_soft = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
        let g = Array2::from_shape_vec((2, 3), direction::<T>(6)).expect("2 × 3");
        let (value, grad) = T::lsm_vjp(&z, g.clone());
        assert_eq!(value, log_softmax(&z, Axis(1)));
        for (got, want) in value.iter().zip(want_log) {
            assert_agrees(
                "log_softmax of a mixed row",
                *got,
                T::of(want),
                T::zero(),
                tolerance::<T>(c),
            );
        }
        // x̄ = ȳ − softmax · Σ_row ȳ
        for (i, (got, &s)) in grad.iter().zip(&want_soft).enumerate() {
            let row_sum = g.row(i / 3).sum();
            let want = g[[i / 3, i % 3]] - T::of(s) * row_sum;
            assert_agrees(
                "log_softmax′ of a mixed row",
                *got,
                want,
                T::zero(),
                T::epsilon() * T::of(16.0),
            );
        }
        let (_, tangent) = T::lsm_jvp(&z, g.clone());
        for (i, got) in tangent.iter().enumerate() {
            let row = g.row(i / 3);
            let mean = inner(
                row.iter().copied(),
                &want_soft[i / 3 * 3..][..3]
                    .iter()
                    .map(|&s| T::of(s))
                    .collect::<Vec<_>>(),
            );
            let want = g[[i / 3, i % 3]] - mean;
            assert_agrees(
                "log_softmax jvp of a mixed row",
                *got,
                want,
                T::zero(),
                T::epsilon() * T::of(16.0),
            );
        }
        let (value, grad) = T::sm_vjp(&z, g.clone());
        for (got, want) in value.iter().zip(want_soft) {
            assert_agrees("softmax of a mixed row", *got, T::of(want), T::zero(), tiny);
        }
        // A one-hot softmax has a zero Jacobian.
        assert!(
            grad.iter().all(|g| g.abs() <= T::epsilon()),
            "softmax′ at a one-hot row: {grad:?}"
        );
        let (_, tangent) = T::sm_jvp(&z, g);
        assert!(
            tangent.iter().all(|t| t.abs() <= T::epsilon()),
            "softmax jvp at a one-hot row"
        );

        // cross_entropy of the same rows: loss per row = lse − z_label.
        for (labels, want) in [
            ([0, 1], 0.0),
            ([1, 0], 2.0 * c),
            ([2, 2], c),
            ([0, 2], c / 2.0),
        ] {
            let (value, grad) = T::ce_grad(&z, &labels);
            let what = format!("cross_entropy at c = {c}, labels {labels:?}");
            assert_agrees(&what, value, T::of(want), T::zero(), tolerance::<T>(c));
            assert_eq!(value, cross_entropy(&z, labels));
            // (softmax − onehot) / N
            for (i, got) in grad.iter().enumerate() {
                let onehot = if labels[i / 3] == i % 3 { 1.0 } else { 0.0 };
                let want = T::of((want_soft[i] - onehot) / 2.0);
                assert_agrees(
                    &format!("{what}: gradient [{i}]"),
                    *got,
                    want,
                    T::zero(),
                    T::epsilon(),
                );
            }
            let t = direction::<T>(6);
            let (_, tangent) = T::ce_jvp(
                &z,
                &labels,
                Array2::from_shape_vec((2, 3), t.clone()).expect("2 × 3"),
            );
            assert_agrees(
                &format!("{what}: jvp"),
                tangent,
                inner(grad.iter().copied(), &t),
                T::zero(),
                T::epsilon() * T::of(8.0),
            );
        }

        // bce_with_logits of [c, −c, 0]: softplus(z) − y z per element, softplus(±c) = max(±c, 0).
        for (y, want_terms) in [
            ([1.0, 0.0, 0.5], [0.0, 0.0, std::f64::consts::LN_2]),
            ([0.0, 1.0, 1.0], [c, c, std::f64::consts::LN_2]),
            ([0.5, 0.5, 0.0], [c / 2.0, c / 2.0, std::f64::consts::LN_2]),
        ] {
            let (z, y) = (array1::<T>(&[c, -c, 0.0]), array1::<T>(&y));
            let what = format!("bce_with_logits([{c}, −{c}, 0], {y:?})");
            let want = T::of(want_terms.iter().sum::<f64>() / 3.0);
            let (value, grad) = T::bcel_grad(&z, &y);
            assert_agrees(&what, value, want, T::zero(), tolerance::<T>(c));
            assert_eq!(value, bce_with_logits(&z, &y));
            // (σ(z) − y) / N with σ(c) = 1, σ(−c) = 0, σ(0) = ½.
            let sigma = [1.0, 0.0, 0.5];
            for i in 0..3 {
                let want = (T::of(sigma[i]) - y[i]) / T::of(3.0);
                assert_agrees(
                    &format!("{what}: gradient [{i}]"),
                    grad[i],
                    want,
                    T::zero(),
                    T::epsilon(),
                );
            }
            let t = direction::<T>(3);
            let (_, tangent) = T::bcel_jvp(&z, &y, Array1::from(t.clone()));
            assert_agrees(
                &format!("{what}: jvp"),
                tangent,
                inner(grad.iter().copied(), &t),
                T::zero(),
                T::epsilon() * T::of(8.0),
            );
        }
    }
}

#[test]
fn losses_on_rows_mixing_plus_and_minus_1e3() {
    mixed_rows::<f64>();
    mixed_rows::<f32>();
}

/// log_softmax, softmax and cross_entropy on rows c + ln k, against k / Σk.
fn normalizations_closed_forms<T: Losses>() {
    for &c in T::SHIFTS {
        let n = 4;
        let mut rows = shifted_logs(c, n);
        rows.extend(shifted_logs(-c, n).iter().rev());
        let z = Array2::from_shape_vec((2, n), rows.iter().map(|&v| T::of(v)).collect())
            .expect("2 × n");
        let tol = tolerance::<T>(c);
        let p = |i: usize| {
            let k = if i < n { i + 1 } else { 2 * n - i };
            k as f64 / triangle(n)
        };
        let g = Array2::from_shape_vec((2, n), direction::<T>(2 * n)).expect("2 × n");
        let (value, grad) = T::lsm_vjp(&z, g.clone());
        let (soft, soft_grad) = T::sm_vjp(&z, g.clone());
        for i in 0..2 * n {
            let (r, j) = (i / n, i % n);
            let what = format!("row {r} of c + ln k at c = {c}, [{j}]");
            assert_agrees(&what, value[[r, j]], T::of(p(i).ln()), T::zero(), tol);
            assert_agrees(&what, soft[[r, j]], T::of(p(i)), T::zero(), tol);
            let row_sum = g.row(r).sum();
            let want = g[[r, j]] - T::of(p(i)) * row_sum;
            assert_agrees(
                &format!("{what}: log_softmax′"),
                grad[[r, j]],
                want,
                T::zero(),
                tol * T::of(4.0),
            );
            let dot = (0..n).fold(T::zero(), |s, k| s + g[[r, k]] * T::of(p(r * n + k)));
            let want = T::of(p(i)) * (g[[r, j]] - dot);
            assert_agrees(
                &format!("{what}: softmax′"),
                soft_grad[[r, j]],
                want,
                T::zero(),
                tol * T::of(4.0),
            );
        }
        let (_, tangent) = T::lsm_jvp(&z, g.clone());
        let (_, soft_tangent) = T::sm_jvp(&z, g.clone());
        // Forward and reverse agree: ⟨J ẋ, ȳ⟩ = ⟨ẋ, Jᵀ ȳ⟩ with ẋ = ȳ = g.
        let lhs = inner(tangent.iter().copied(), g.as_slice().expect("standard"));
        let rhs = inner(grad.iter().copied(), g.as_slice().expect("standard"));
        assert_agrees(
            "log_softmax dot-product test",
            lhs,
            rhs,
            T::zero(),
            tol * T::of(16.0),
        );
        let lhs = inner(
            soft_tangent.iter().copied(),
            g.as_slice().expect("standard"),
        );
        let rhs = inner(soft_grad.iter().copied(), g.as_slice().expect("standard"));
        assert_agrees(
            "softmax dot-product test",
            lhs,
            rhs,
            T::zero(),
            tol * T::of(16.0),
        );

        for labels in [[0, 0], [3, 3], [1, 2]] {
            let (value, grad) = T::ce_grad(&z, &labels);
            let want = -(p(labels[0]).ln() + p(n + labels[1]).ln()) / 2.0;
            let what = format!("cross_entropy of c + ln k at c = {c}, labels {labels:?}");
            assert_agrees(&what, value, T::of(want), T::zero(), tol);
            for i in 0..2 * n {
                let onehot = if labels[i / n] == i % n { 1.0 } else { 0.0 };
                let want = T::of((p(i) - onehot) / 2.0);
                assert_agrees(
                    &format!("{what}: gradient"),
                    grad[[i / n, i % n]],
                    want,
                    T::zero(),
                    tol,
                );
            }
        }
    }
}

#[test]
fn normalizations_at_large_shifts() {
    normalizations_closed_forms::<f64>();
    normalizations_closed_forms::<f32>();
}

// ---------------------------------------------------------------------------------------
// NaN and ±∞ through the losses: IEEE propagation, never a panic

const INF: f64 = f64::INFINITY;
const NAN: f64 = f64::NAN;

/// logsumexp of rows with NaN and ±∞: NaN anywhere gives NaN (value and gradient), +∞
/// dominates, −∞ entries contribute e^−∞ = 0.
#[test]
fn logsumexp_propagates_nan_and_infinities() {
    for (x, want) in [
        (vec![NAN], NAN),
        (vec![NAN, 1.0], NAN),
        (vec![1.0, NAN], NAN),
        (vec![INF, NAN], NAN),
        (vec![NAN, INF], NAN),
        (vec![-INF, NAN], NAN),
        (vec![INF, 0.0], INF),
        (vec![INF, INF], INF),
        (vec![-INF, -INF], -INF),
        (vec![-INF, 0.0], 0.0),
        (vec![-INF, 1000.0, 1000.0], 1000.0 + std::f64::consts::LN_2),
    ] {
        let x = Array1::from(x);
        let what = format!("logsumexp({x})");
        assert!(same(logsumexp(&x), want), "{what} = {}", logsumexp(&x));
        let (value, grad) = losses64::lse_grad(&x);
        assert!(same(value, want), "{what}: _grad value {value}");
        let (value, tangent) = losses64::lse_jvp(&x, Array1::ones(x.len()));
        assert!(same(value, want), "{what}: _jvp value {value}");
        if want.is_nan() {
            assert!(grad.iter().all(|g| g.is_nan()), "{what}: gradient {grad}");
            assert!(tangent.is_nan(), "{what}: tangent {tangent}");
        }
        if want.is_finite() {
            // The softmax: 0 at −∞ entries, the others as for the finite row.
            let finite: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
            let share = 1.0 / finite.len() as f64;
            // e^(x − y) with y rounded to an ulp of |y|: exact to about |y| ε.
            let tol = tolerance::<f64>(want);
            for (g, v) in grad.iter().zip(&x) {
                let want = if v.is_finite() { share } else { 0.0 };
                assert_agrees(&format!("{what}: gradient"), *g, want, tol, 0.0);
            }
            assert_agrees(&format!("{what}: tangent"), tangent, 1.0, tol, 0.0);
        }
    }
}

#[test]
fn normalizations_and_losses_propagate_nan() {
    let z = Array2::from_shape_vec((2, 3), vec![NAN, 0.0, 1.0, 0.0, 1.0, 2.0]).expect("2 × 3");
    let g = Array2::ones((2, 3));
    for (what, (value, grad)) in [
        ("log_softmax", losses64::lsm_vjp(&z, g.clone())),
        ("softmax", losses64::sm_vjp(&z, g.clone())),
        ("log_softmax jvp", losses64::lsm_jvp(&z, g.clone())),
        ("softmax jvp", losses64::sm_jvp(&z, g.clone())),
    ] {
        // The row with NaN is NaN throughout; the other row is untouched.
        assert!(value.row(0).iter().all(|v| v.is_nan()), "{what}: {value}");
        assert!(grad.row(0).iter().all(|v| v.is_nan()), "{what}: {grad}");
        assert!(
            value.row(1).iter().all(|v| v.is_finite()),
            "{what}: {value}"
        );
        assert!(grad.row(1).iter().all(|v| v.is_finite()), "{what}: {grad}");
    }
    let (value, grad) = losses64::ce_grad(&z, &[1, 2]);
    assert!(
        value.is_nan() && grad.row(0).iter().all(|g| g.is_nan()),
        "cross_entropy: {value}, {grad}"
    );
    assert!(losses64::ce_jvp(&z, &[1, 2], g.clone()).1.is_nan());
    let (z, y) = (Array1::from(vec![NAN, 1.0]), Array1::from(vec![1.0, 0.0]));
    let (value, grad) = losses64::bcel_grad(&z, &y);
    assert!(
        value.is_nan() && grad[0].is_nan() && grad[1].is_finite(),
        "bce_with_logits: {value}, {grad}"
    );
    assert!(losses64::bcel_jvp(&z, &y, Array1::ones(2)).1.is_nan());
}

/// −∞ logits are legal (a masked class): probability 0, log-probability −∞, and finite
/// gradients everywhere.
#[test]
fn minus_infinity_logits_mask_a_class() {
    let z = Array2::from_shape_vec((1, 3), vec![-INF, 0.0, 0.0]).expect("1 × 3");
    let (value, grad) = losses64::lsm_vjp(&z, Array2::ones((1, 3)));
    assert_eq!(value[[0, 0]], -INF);
    assert_agrees(
        "log_softmax",
        value[[0, 1]],
        -std::f64::consts::LN_2,
        1e-15,
        0.0,
    );
    let close_to = |what: &str, got: &Array2<f64>, want: [f64; 3]| {
        for (g, w) in got.iter().zip(want) {
            assert_agrees(what, *g, w, 1e-15, 1e-15);
        }
    };
    // ȳ − softmax · Σȳ = 1 − [0, ½, ½] · 3
    close_to("log_softmax′", &grad, [1.0, -0.5, -0.5]);
    let t = Array2::from_shape_vec((1, 3), vec![1.0, 2.0, 4.0]).expect("1 × 3");
    let (_, tangent) = losses64::lsm_jvp(&z, t);
    close_to("log_softmax jvp", &tangent, [-2.0, -1.0, 1.0]);
    let (value, grad) = losses64::ce_grad(&z, &[1]);
    assert_agrees("cross_entropy", value, std::f64::consts::LN_2, 1e-15, 0.0);
    close_to("cross_entropy′", &grad, [0.0, -0.5, 0.5]);
    let (value, grad) = losses64::sm_vjp(&z, Array2::ones((1, 3)));
    close_to("softmax", &value, [0.0, 0.5, 0.5]);
    close_to("softmax′", &grad, [0.0, 0.0, 0.0]);
}

// ---------------------------------------------------------------------------------------
// bce of probabilities at saturation: 0 · ln 0 = 0

mod saturated {
    use super::*;

    #[differentiable(wrt(p))]
    pub fn bce_of(p: &Array1<f64>, y: &Array1<f64>) -> f64 {
        bce(p, y)
    }

    /// The lectures' logistic regression loss, on logits so large that the sigmoid rounds to
    /// exactly 0 or 1.
    #[differentiable(wrt(z))]
    pub fn logistic(z: &Array1<f64>, y: &Array1<f64>) -> f64 {
        bce(&sigmoid(z), y)
    }

    #[differentiable(wrt(p))]
    pub fn bce_of_f32(p: &Array1<f32>, y: &Array1<f32>) -> f32 {
        bce(p, y)
    }
}

/// A prediction of exactly 0 or 1 that matches its label costs 0 (the limit of y ln p at
/// y = 0, as SciPy's `xlogy` and PyTorch's clamped log have it), with the one-sided
/// derivatives ∂/∂p −ln(1 − p) = 1 at 0 and ∂/∂p −ln p = −1 at 1; one that contradicts its
/// label costs ∞ with an infinite derivative. Both modes.
#[test]
fn bce_of_saturated_predictions() {
    // (p, y, loss · 3, gradient · 3)
    type Case = ([f64; 3], [f64; 3], f64, [f64; 3]);
    let cases: [Case; 5] = [
        (
            [0.0, 1.0, 0.5],
            [0.0, 1.0, 0.5],
            2.0 * std::f64::consts::LN_2 * 0.5,
            [1.0, -1.0, 0.0],
        ),
        ([0.0, 0.0, 1.0], [0.0, 0.0, 1.0], 0.0, [1.0, 1.0, -1.0]),
        (
            [0.0, 0.5, 1.0],
            [0.0, 0.0, 1.0],
            std::f64::consts::LN_2,
            [1.0, 2.0, -1.0],
        ),
        ([0.0, 1.0, 0.5], [1.0, 0.0, 0.5], INF, [-INF, INF, 0.0]),
        ([0.0, 1.0, 0.5], [0.5, 0.5, 0.5], INF, [-INF, INF, 0.0]),
    ];
    for (p, y, loss, grad) in cases {
        let (p, y) = (Array1::from(p.to_vec()), Array1::from(y.to_vec()));
        let what = format!("bce({p}, {y})");
        let (value, gradient) = saturated::bce_of_grad(&p, &y);
        assert_agrees(&what, value, loss / 3.0, 1e-15, 0.0);
        assert!(same(value, bce(&p, &y)), "{what}: the original");
        for (g, want) in gradient.iter().zip(grad) {
            assert_agrees(
                &format!("{what}: gradient {gradient}"),
                *g,
                want / 3.0,
                1e-15,
                0.0,
            );
        }
        if grad.iter().all(|g| g.is_finite()) {
            let t = Array1::from(vec![0.5, -2.0, 3.0]);
            let (_, tangent) = saturated::bce_of_jvp(&p, &y, t.clone());
            let want = grad.iter().zip(&t).map(|(g, t)| g * t).sum::<f64>() / 3.0;
            assert_agrees(&format!("{what}: jvp"), tangent, want, 1e-15, 0.0);
        }
        let (p32, y32) = (p.mapv(|v| v as f32), y.mapv(|v| v as f32));
        let (value, gradient) = saturated::bce_of_f32_grad(&p32, &y32);
        assert_agrees(
            &format!("{what} in f32"),
            value,
            (loss / 3.0) as f32,
            1e-6,
            0.0,
        );
        for (g, want) in gradient.iter().zip(grad) {
            assert_agrees(
                &format!("{what}: f32 gradient"),
                *g,
                (want / 3.0) as f32,
                1e-6,
                0.0,
            );
        }
    }
}

/// `bce(sigmoid(z), y)` at logits ±1e3 whose labels agree (the sigmoid rounds to exactly 1
/// and 0, which cost 0) and at 0: the loss and its gradient are those of the stable
/// `bce_with_logits`.
#[test]
fn logistic_loss_on_saturated_logits_agrees_with_the_stable_form() {
    let (z, y) = (
        Array1::from(vec![1000.0, -1000.0, 0.0]),
        Array1::from(vec![1.0, 0.0, 1.0]),
    );
    let (value, gradient) = saturated::logistic_grad(&z, &y);
    let (stable, stable_gradient) = losses64::bcel_grad(&z, &y);
    assert_agrees("logistic loss", value, stable, 1e-15, 0.0);
    assert_agrees(
        "logistic loss",
        value,
        std::f64::consts::LN_2 / 3.0,
        1e-15,
        0.0,
    );
    for (g, s) in gradient.iter().zip(&stable_gradient) {
        assert_agrees("logistic gradient", *g, *s, 1e-15, 0.0);
    }
    let (_, tangent) = saturated::logistic_jvp(&z, &y, Array1::from(vec![1.0, 1.0, 1.0]));
    assert_agrees("logistic jvp", tangent, stable_gradient.sum(), 1e-15, 0.0);
}

/// The loss rules called directly (as the generated code calls them) on the mixed rows
/// [c, −c, 0], [−c, c, 0] at every shift: the pullbacks are (softmax − onehot)/N,
/// (σ(z) − y)/N and ȳ − softmax Σȳ, the pushforwards their transposes.
fn loss_rules_directly<T: Losses>() {
    let tiny = T::min_positive_value() + T::epsilon() * T::of(4.0);
    for &c in T::SHIFTS.iter().filter(|&&c| c > 0.0) {
        let z: Array2<T> = Array2::from_shape_vec((2, 3), vec![c, -c, 0.0, -c, c, 0.0])
            .expect("2 × 3")
            .mapv(T::of);
        let softmax_rows = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
        let labels = [1_usize, 2];
        let out = prim::cross_entropy::forward(z.view(), labels);
        assert_agrees(
            "cross_entropy",
            out,
            T::of((2.0 * c + c) / 2.0),
            T::zero(),
            tolerance::<T>(c),
        );
        let pulled = prim::cross_entropy::vjp0(z.view(), labels, &out, T::of(2.0));
        for (i, got) in pulled.iter().enumerate() {
            let onehot = if labels[i / 3] == i % 3 { 1.0 } else { 0.0 };
            let want = T::of(2.0 * (softmax_rows[i] - onehot) / 2.0);
            assert_agrees(
                &format!("cross_entropy rule at c = {c} [{i}]"),
                *got,
                want,
                T::zero(),
                tiny,
            );
        }
        let t = Array2::from_shape_vec((2, 3), direction::<T>(6)).expect("2 × 3");
        let pushed = prim::cross_entropy::jvp0(z.view(), labels, &out, t.clone());
        let want = inner(
            pulled.iter().map(|&g| g / T::of(2.0)),
            t.as_slice().expect("standard"),
        );
        assert_agrees(
            "cross_entropy pushforward",
            pushed,
            want,
            T::zero(),
            tiny * T::of(8.0),
        );

        let y = prim::log_softmax::forward(z.view(), Axis(1));
        let pulled = prim::log_softmax::vjp0(z.view(), Axis(1), &y, t.clone());
        let pushed = prim::log_softmax::jvp0(z.view(), Axis(1), &y, t.clone());
        for (i, (got, pushed)) in pulled.iter().zip(&pushed).enumerate() {
            let (r, j) = (i / 3, i % 3);
            let row = t.row(r);
            let want = t[[r, j]] - T::of(softmax_rows[i]) * row.sum();
            assert_agrees(
                "log_softmax pullback",
                *got,
                want,
                T::zero(),
                tiny * T::of(8.0),
            );
            let mean = (0..3).fold(T::zero(), |s, k| {
                s + T::of(softmax_rows[r * 3 + k]) * row[k]
            });
            assert_agrees(
                "log_softmax pushforward",
                *pushed,
                t[[r, j]] - mean,
                T::zero(),
                tiny * T::of(8.0),
            );
        }
        let y = prim::softmax::forward(z.view(), Axis(1));
        for rule in [prim::softmax::vjp0, prim::softmax::jvp0] {
            let got = rule(z.view(), Axis(1), &y, t.clone());
            assert!(
                got.iter().all(|g| g.abs() <= tiny * T::of(8.0)),
                "softmax rule at a one-hot row: {got:?}"
            );
        }

        let (zs, ys) = (array1::<T>(&[c, -c, 0.0]), array1::<T>(&[0.25, 0.75, 1.0]));
        let out = prim::bce_with_logits::forward(zs.view(), ys.view());
        let want = (c - 0.25 * c) + 0.75 * c + std::f64::consts::LN_2 - 0.0;
        assert_agrees(
            "bce_with_logits",
            out,
            T::of(want / 3.0),
            T::zero(),
            tolerance::<T>(c),
        );
        let pulled = prim::bce_with_logits::vjp0(zs.view(), ys.view(), &out, T::one());
        for (got, want) in pulled.iter().zip([1.0 - 0.25, 0.0 - 0.75, 0.5 - 1.0]) {
            assert_agrees(
                "bce_with_logits pullback",
                *got,
                T::of(want / 3.0),
                T::zero(),
                tiny,
            );
        }
        // ∂/∂y = −z/N, also a rule (the target may be differentiated).
        let pulled = prim::bce_with_logits::vjp1(zs.view(), ys.view(), &out, T::one());
        for (got, want) in pulled.iter().zip([-c, c, 0.0]) {
            assert_agrees(
                "bce_with_logits target pullback",
                *got,
                T::of(want / 3.0),
                T::zero(),
                tolerance::<T>(c),
            );
        }
    }
}

#[test]
fn loss_rules_called_directly_at_large_shifts() {
    loss_rules_directly::<f64>();
    loss_rules_directly::<f32>();
}
