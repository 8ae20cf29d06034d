//! Every primitive's derivative rule against central finite differences, at many random
//! points of its domain (JAX's `check_grads`): one row per primitive, one proptest per arity.

use autodiff::check::{central_difference, close};
use autodiff::prelude::*;
use proptest::prelude::*;

const STEP: f64 = 1e-6;
const TOLERANCE: f64 = 1e-6;

/// A row: the function, its generated gradient, the domain of each argument, and a kink
/// (where the derivative jumps) to keep away from.
struct Row<F, G, J> {
    name: &'static str,
    f: F,
    grad: G,
    /// Forward mode, which must agree with the gradient: jvp(x, ẋ) = ∇f(x) · ẋ.
    jvp: J,
    domain: &'static [(f64, f64)],
    kink: Option<fn(&[f64]) -> f64>,
}

/// Maps uniform draws in [0, 1) onto each argument's domain.
fn point(domain: &[(f64, f64)], t: &[f64]) -> Vec<f64> {
    domain
        .iter()
        .zip(t)
        .map(|(&(lo, hi), &t)| lo + t * (hi - lo))
        .collect()
}

fn check(name: &str, x: &[f64], exact: &[f64], f: impl Fn(&[f64]) -> f64) {
    let numeric = central_difference(f, x, STEP);
    for (k, (e, n)) in exact.iter().zip(&numeric).enumerate() {
        assert!(
            close(*e, *n, TOLERANCE),
            "{name} at {x:?}: ∂/∂x{k} is {e}, finite differences give {n}"
        );
    }
}

macro_rules! rows {
    ($table:ident: $params:tt, $f:ty, $grad:ty, $jvp:ty;
     $($name:ident = $body:expr, [$($domain:expr),+] $(, kink $kink:expr)?;)+) => {
        $(rows!(@function $name $params $body);)+
        const $table: &[Row<$f, $grad, $jvp>] = &[$(
            Row {
                name: stringify!($name),
                f: $name::f,
                grad: $name::f_grad,
                jvp: $name::f_jvp,
                domain: &[$($domain),+],
                kink: rows!(@kink $($kink)?),
            }
        ),+];
    };
    (@function $name:ident ($($x:ident),+) $body:expr) => {
        mod $name {
            use super::*;
            #[differentiable]
            pub fn f($($x: f64),+) -> f64 {
                $body
            }
        }
    };
    (@kink) => { None };
    (@kink $kink:expr) => { Some($kink) };
}

type Grad2 = (f64, (f64, f64));
type Grad3 = (f64, (f64, f64, f64));
type Jvp2 = fn(f64, f64, f64, f64) -> (f64, f64);
type Jvp3 = fn(f64, f64, f64, f64, f64, f64) -> (f64, f64);

/// Forward and reverse mode agree: the tangent along ẋ is the gradient's dot product with ẋ.
fn check_jvp(
    name: &str,
    x: &[f64],
    gradient: &[f64],
    (value, tangent): (f64, f64),
    direction: &[f64],
    f: f64,
) {
    assert_eq!(value.to_bits(), f.to_bits(), "{name} at {x:?}: jvp value");
    let dot: f64 = gradient.iter().zip(direction).map(|(g, d)| g * d).sum();
    assert!(
        close(tangent, dot, 1e-12),
        "{name} at {x:?}: jvp {tangent}, ∇f·ẋ = {dot}"
    );
}

rows! { UNARY: (x), fn(f64) -> f64, fn(f64) -> (f64, f64), fn(f64, f64) -> (f64, f64);
    neg = -x, [(-5.0, 5.0)];
    ln = x.ln(), [(0.1, 10.0)];
    log2 = x.log2(), [(0.1, 10.0)];
    log10 = x.log10(), [(0.1, 10.0)];
    exp = x.exp(), [(-5.0, 5.0)];
    exp2 = x.exp2(), [(-5.0, 5.0)];
    ln_1p = x.ln_1p(), [(-0.9, 5.0)];
    exp_m1 = x.exp_m1(), [(-5.0, 5.0)];
    sin = x.sin(), [(-10.0, 10.0)];
    cos = x.cos(), [(-10.0, 10.0)];
    tan = x.tan(), [(-1.4, 1.4)];
    asin = x.asin(), [(-0.95, 0.95)];
    acos = x.acos(), [(-0.95, 0.95)];
    atan = x.atan(), [(-10.0, 10.0)];
    sinh = x.sinh(), [(-5.0, 5.0)];
    cosh = x.cosh(), [(-5.0, 5.0)];
    tanh = x.tanh(), [(-5.0, 5.0)];
    sqrt = x.sqrt(), [(0.01, 10.0)];
    cbrt = x.cbrt(), [(0.1, 10.0)];
    cbrt_negative = x.cbrt(), [(-10.0, -0.1)];
    powi_cube = x.powi(3), [(-3.0, 3.0)];
    powi_negative = x.powi(-2), [(0.2, 3.0)];
    powi_zero = x.powi(0), [(-3.0, 3.0)];
    powf_constant = x.powf(2.5), [(0.1, 5.0)];
    recip = x.recip(), [(0.1, 5.0)];
    abs = x.abs(), [(-5.0, 5.0)], kink |x| x[0];
    sigmoid = sigmoid(x), [(-10.0, 10.0)];
    relu = relu(x), [(-5.0, 5.0)], kink |x| x[0];
    softplus = softplus(x), [(-10.0, 10.0)];
    path_form = f64::sin(x) * f64::exp(x), [(-3.0, 3.0)];
    erf = erf(x), [(-3.0, 3.0)];
    erf_tail = erf(x), [(-6.0, -2.0)];
    erfc = erfc(x), [(-3.0, 5.0)];
    ln_gamma = ln_gamma(x), [(0.1, 20.0)];
    ln_gamma_negative = ln_gamma(x), [(-2.9, -2.1)];
    digamma = digamma(x), [(0.1, 20.0)];
    digamma_negative = digamma(x), [(-1.9, -1.1)];
    signum = x.signum() * x, [(-5.0, 5.0)], kink |x| x[0];
    floor = x.floor() + x, [(-5.0, 5.0)], kink |x| x[0] - x[0].round();
    ceil = x.ceil() * x, [(-5.0, 5.0)], kink |x| x[0] - x[0].round();
    round = x.round() * x, [(-5.0, 5.0)], kink |x| x[0] - x[0].floor() - 0.5;
    trunc = x.trunc() * x, [(-5.0, 5.0)], kink |x| x[0] - x[0].round();
    fract = x.fract(), [(-5.0, 5.0)], kink |x| x[0] - x[0].round();
    clamp = x.clamp(-1.0, 2.0), [(-5.0, 5.0)], kink |x| (x[0] + 1.0) * (x[0] - 2.0);
    clamp_path_form = f64::clamp(x * x, 0.5, 4.0), [(-3.0, 3.0)], kink |x| (x[0] * x[0] - 0.5) * (x[0] * x[0] - 4.0);
}

rows! { BINARY: (a, b), fn(f64, f64) -> f64, fn(f64, f64) -> Grad2, Jvp2;
    add = a + b, [(-5.0, 5.0), (-5.0, 5.0)];
    sub = a - b, [(-5.0, 5.0), (-5.0, 5.0)];
    mul = a * b, [(-5.0, 5.0), (-5.0, 5.0)];
    div = a / b, [(-5.0, 5.0), (0.5, 5.0)];
    atan2 = a.atan2(b), [(-5.0, 5.0), (0.5, 5.0)];
    atan2_left_half = a.atan2(b), [(0.5, 5.0), (-5.0, 5.0)];
    hypot = a.hypot(b), [(-5.0, 5.0), (0.5, 5.0)];
    powf = a.powf(b), [(0.1, 5.0), (-2.0, 2.0)];
    max = a.max(b), [(-5.0, 5.0), (-5.0, 5.0)], kink |x| x[0] - x[1];
    min = a.min(b), [(-5.0, 5.0), (-5.0, 5.0)], kink |x| x[0] - x[1];
    shared_input = a * a + (a * b).sin() - b / (1.0 + a * a), [(-3.0, 3.0), (-3.0, 3.0)];
}

rows! { TERNARY: (a, b, c), fn(f64, f64, f64) -> f64, fn(f64, f64, f64) -> Grad3, Jvp3;
    mul_add = a.mul_add(b, c), [(-5.0, 5.0), (-5.0, 5.0), (-5.0, 5.0)];
}

fn near_kink<F, G, J>(row: &Row<F, G, J>, x: &[f64]) -> bool {
    row.kink.is_some_and(|kink| kink(x).abs() < 1e-3)
}

proptest! {
    #[test]
    fn unary_rules(t in 0.0..1.0_f64) {
        for row in UNARY {
            let x = point(row.domain, &[t]);
            if near_kink(row, &x) { continue; }
            let (value, d) = (row.grad)(x[0]);
            prop_assert_eq!(value.to_bits(), (row.f)(x[0]).to_bits(), "{} value", row.name);
            check(row.name, &x, &[d], |v| (row.f)(v[0]));
            check_jvp(row.name, &x, &[d], (row.jvp)(x[0], 0.7), &[0.7], value);
        }
    }

    #[test]
    fn binary_rules(t in proptest::array::uniform2(0.0..1.0_f64)) {
        for row in BINARY {
            let x = point(row.domain, &t);
            if near_kink(row, &x) { continue; }
            let (value, (da, db)) = (row.grad)(x[0], x[1]);
            prop_assert_eq!(value.to_bits(), (row.f)(x[0], x[1]).to_bits(), "{} value", row.name);
            check(row.name, &x, &[da, db], |v| (row.f)(v[0], v[1]));
            let jvp = (row.jvp)(x[0], x[1], 0.7, -1.3);
            check_jvp(row.name, &x, &[da, db], jvp, &[0.7, -1.3], value);
        }
    }

    #[test]
    fn ternary_rules(t in proptest::array::uniform3(0.0..1.0_f64)) {
        for row in TERNARY {
            let x = point(row.domain, &t);
            let (value, (da, db, dc)) = (row.grad)(x[0], x[1], x[2]);
            prop_assert_eq!(value.to_bits(), (row.f)(x[0], x[1], x[2]).to_bits(), "{} value", row.name);
            check(row.name, &x, &[da, db, dc], |v| (row.f)(v[0], v[1], v[2]));
            let jvp = (row.jvp)(x[0], x[1], x[2], 0.7, -1.3, 0.4);
            check_jvp(row.name, &x, &[da, db, dc], jvp, &[0.7, -1.3, 0.4], value);
        }
    }
}

/// The conventions at the kinks: relu′(0) = 0 (the lectures'), |x|′(0) = 0, and a tie of
/// `max` / `min` sends the derivative to the receiver.
#[test]
fn derivatives_at_kinks() {
    assert_eq!(relu::f_grad(0.0), (0.0, 0.0));
    assert_eq!(abs::f_grad(0.0), (0.0, 0.0));
    assert_eq!(max::f_grad(1.0, 1.0), (1.0, (1.0, 0.0)));
    assert_eq!(min::f_grad(1.0, 1.0), (1.0, (1.0, 0.0)));
    assert_eq!(powf::f_grad(0.0, 2.0), (0.0, (0.0, 0.0)));
    assert_eq!(hypot::f_grad(0.0, 0.0), (0.0, (0.0, 0.0)));
    // The piecewise-constant functions have derivative 0 at their jumps, fract 1, and clamp
    // passes the derivative on the closed interval.
    assert_eq!(floor::f_grad(2.0), (4.0, 1.0));
    assert_eq!(ceil::f_grad(2.0), (4.0, 2.0));
    assert_eq!(round::f_grad(0.5), (0.5, 1.0));
    assert_eq!(trunc::f_grad(-3.0), (9.0, -3.0));
    assert_eq!(fract::f_grad(1.0), (0.0, 1.0));
    assert_eq!(signum::f_grad(0.0), (0.0, 1.0));
    assert_eq!(clamp::f_grad(2.0), (2.0, 1.0));
    assert_eq!(clamp::f_grad(-1.0), (-1.0, 1.0));
    assert_eq!(clamp::f_grad(2.5), (2.0, 0.0));
    assert_eq!(clamp::f_jvp(-1.5, 1.0), (-1.0, 0.0));
}

/// The special functions' derivatives at points with known values: erf′(0) = 2/√π,
/// ln Γ′(1) = ψ(1) = −γ, ψ′(1) = π²/6.
#[test]
fn special_function_derivatives() {
    let euler = 0.577_215_664_901_532_9;
    let pi = std::f64::consts::PI;
    assert_eq!(erf::f_grad(0.0), (0.0, std::f64::consts::FRAC_2_SQRT_PI));
    assert_eq!(erfc::f_grad(0.0), (1.0, -std::f64::consts::FRAC_2_SQRT_PI));
    let (value, d) = ln_gamma::f_grad(1.0);
    assert!(
        value.abs() < 1e-14 && (d + euler).abs() < 1e-15,
        "{value} {d}"
    );
    let (value, d) = digamma::f_grad(1.0);
    assert!((value + euler).abs() < 1e-15 && (d - pi * pi / 6.0).abs() < 1e-14);
}

/// The same rules in `f32`.
#[differentiable]
fn single_precision(x: f32, y: f32) -> f32 {
    x.sin() * y.exp() + sigmoid(x * y).ln() - x.powi(2) / y
}

/// The new functions in `f32`.
#[differentiable]
fn single_precision_special(x: f32, y: f32) -> f32 {
    erf(x) * ln_gamma(y) + (x * y).clamp(-1.0, 1.0) + digamma(y) * erfc(x) + x.floor()
}

/// An `f32` function's gradient at (x, y) against central differences of the function.
fn check_f32(f: fn(f32, f32) -> f32, grad: fn(f32, f32) -> (f32, (f32, f32)), x: f32, y: f32) {
    let (value, (dx, dy)) = grad(x, y);
    assert_eq!(value, f(x, y));
    let wide = |v: &[f64]| f64::from(f(v[0] as f32, v[1] as f32));
    let numeric = central_difference(wide, &[f64::from(x), f64::from(y)], 1e-3);
    for (exact, numeric) in [dx, dy].into_iter().zip(numeric) {
        assert!(
            close(f64::from(exact), numeric, 1e-3),
            "{exact} vs {numeric}"
        );
    }
}

#[test]
fn f32_functions() {
    check_f32(single_precision, single_precision_grad, 0.7, 1.3);
    check_f32(
        single_precision_special,
        single_precision_special_grad,
        0.3,
        1.7,
    );
}
