//! Dual numbers: `Float` on duals against `f64` and finite differences, and the runtime's
//! rules evaluated on duals (forward-over-reverse) against finite differences of the same
//! rules on `f64`: second derivatives, and Hessian-vector products of small models chained
//! from the rules by hand, as the generated code chains them.

use autodiff_runtime::check::close;
use autodiff_runtime::dual::{Dual, Lift, Seed, Unlift};
use autodiff_runtime::fast::FastMath;
use autodiff_runtime::linalg::Scalar;
use autodiff_runtime::value::{Arg, Map};
use autodiff_runtime::{prim, Tangent};
use ndarray::{
    array, Array, Array0, Array1, Array2, ArrayView, ArrayView1, ArrayView2, Axis, Dimension,
};
use num_traits::Float;

/// A small xorshift generator: the same "random" points on every run.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + (hi - lo) * ((self.0 >> 11) as f64 / (1u64 << 53) as f64)
    }
    fn array<D: Dimension>(&mut self, shape: impl ndarray::ShapeBuilder<Dim = D>) -> Array<f64, D> {
        Array::from_shape_simple_fn(shape, || self.uniform(-1.0, 1.0))
    }
}

/// The central difference of `f` at `x` along `v`.
fn directional(f: impl Fn(&[f64]) -> f64, x: &[f64], v: &[f64]) -> f64 {
    let h = 1e-5;
    let at = |s: f64| {
        let p: Vec<f64> = x.iter().zip(v).map(|(x, v)| x + s * v).collect();
        f(&p)
    };
    (at(h) - at(-h)) / (2.0 * h)
}

#[track_caller]
fn assert_close(what: &str, got: f64, want: f64, tol: f64) {
    assert!(close(got, want, tol), "{what}: {got} vs {want}");
}

// ---------------------------------------------------------------------------------------------
// Float on duals

#[test]
#[allow(deprecated)] // abs_sub
fn float_methods_match_f64_and_carry_their_derivatives() {
    macro_rules! unary {
        ($name:literal, |$x:ident| $body:expr, $lo:expr, $hi:expr) => {
            (
                $name,
                (|$x: f64| $body) as fn(f64) -> f64,
                (|$x: Dual<f64>| $body) as fn(Dual<f64>) -> Dual<f64>,
                ($lo, $hi),
            )
        };
    }
    let table = [
        unary!("exp", |x| x.exp(), -3.0, 3.0),
        unary!("exp2", |x| x.exp2(), -3.0, 3.0),
        unary!("exp_m1", |x| x.exp_m1(), -3.0, 3.0),
        unary!("ln", |x| x.ln(), 0.1, 5.0),
        unary!("ln_1p", |x| x.ln_1p(), -0.5, 5.0),
        unary!("log2", |x| x.log2(), 0.1, 5.0),
        unary!("log10", |x| x.log10(), 0.1, 5.0),
        unary!("sqrt", |x| x.sqrt(), 0.1, 5.0),
        unary!("cbrt", |x| x.cbrt(), 0.1, 5.0),
        unary!("recip", |x| x.recip(), 0.2, 5.0),
        unary!("powi 3", |x| x.powi(3), -2.0, 2.0),
        unary!("powi -2", |x| x.powi(-2), 0.3, 2.0),
        unary!("sin", |x| x.sin(), -4.0, 4.0),
        unary!("cos", |x| x.cos(), -4.0, 4.0),
        unary!("tan", |x| x.tan(), -1.3, 1.3),
        unary!("sin_cos.0", |x| x.sin_cos().0, -4.0, 4.0),
        unary!("sin_cos.1", |x| x.sin_cos().1, -4.0, 4.0),
        unary!("asin", |x| x.asin(), -0.9, 0.9),
        unary!("acos", |x| x.acos(), -0.9, 0.9),
        unary!("atan", |x| x.atan(), -4.0, 4.0),
        unary!("sinh", |x| x.sinh(), -3.0, 3.0),
        unary!("cosh", |x| x.cosh(), -3.0, 3.0),
        unary!("tanh", |x| x.tanh(), -3.0, 3.0),
        unary!("asinh", |x| x.asinh(), -3.0, 3.0),
        unary!("acosh", |x| x.acosh(), 1.1, 4.0),
        unary!("atanh", |x| x.atanh(), -0.9, 0.9),
        unary!("abs", |x| x.abs(), -3.0, 3.0),
        unary!("fract", |x| x.fract(), 0.05, 0.95),
        unary!("floor", |x| x.floor(), 0.1, 0.9),
        unary!("ceil", |x| x.ceil(), 0.1, 0.9),
        unary!("round", |x| x.round(), 0.1, 0.4),
        unary!("trunc", |x| x.trunc(), 1.1, 1.9),
        unary!("signum", |x| x.signum(), 0.1, 3.0),
        unary!("to_degrees", |x| x.to_degrees(), -3.0, 3.0),
        unary!("to_radians", |x| x.to_radians(), -90.0, 90.0),
        unary!("neg", |x| -x, -3.0, 3.0),
        unary!("mul, add", |x| x * x + x, -3.0, 3.0),
        unary!("div, sub", |x| (x - x * x) / (x * x + x), 0.5, 3.0),
        unary!("rem", |x| (x * x) % x.exp(), 0.5, 3.0),
        unary!("powf by itself", |x| x.powf(x), 0.2, 3.0),
        unary!("log in its own base", |x| (x * x + x).log(x), 1.5, 3.0),
        unary!("atan2", |x| x.sin().atan2(x * x - x), -3.0, 3.0),
        unary!("hypot", |x| x.hypot(x.cos()), -3.0, 3.0),
        unary!("max", |x| x.max(x.cos()), -3.0, 3.0),
        unary!("min", |x| x.min(x.cos()), -3.0, 3.0),
        unary!("mul_add", |x| x.mul_add(x.sin(), x.exp()), -3.0, 3.0),
        unary!("copysign", |x| x.copysign(x.sin()), -3.0, 3.0),
        unary!(
            "clamp",
            |x| x.clamp(x.sin() - x * x, x.cos() + x * x),
            -3.0,
            3.0
        ),
        unary!("abs_sub", |x| x.abs_sub(x.cos()), -3.0, 3.0),
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for (name, plain, dual, (lo, hi)) in table {
        for _ in 0..20 {
            let x = rng.uniform(lo, hi);
            let y = dual(Dual::new(x, 1.0));
            assert_eq!(y.re.to_bits(), plain(x).to_bits(), "{name}({x}): the value");
            let want = directional(|p| plain(p[0]), &[x], &[1.0]);
            assert_close(&format!("{name}'({x})"), y.eps, want, 1e-6);
            // A constant stays a constant.
            assert_eq!(
                dual(Dual::constant(x)).eps,
                0.0,
                "{name}({x}) of a constant"
            );
        }
    }
}

#[test]
fn kinks_singularities_and_special_values() {
    let d = |re: f64, eps: f64| Dual::new(re, eps);
    // abs and the others at their kinks: the rules' derivatives, never NaN.
    assert_eq!(d(0.0, 1.0).abs().eps, 0.0);
    assert_eq!(d(-2.0, 1.0).abs().eps, -1.0);
    assert_eq!(d(1.0, 1.0).max(d(1.0, 5.0)).eps, 1.0);
    assert_eq!(d(1.0, 1.0).min(d(1.0, 5.0)).eps, 1.0);
    assert_eq!(d(f64::NAN, 1.0).max(d(2.0, 5.0)).eps, 5.0);
    assert_eq!(d(2.0, 1.0).max(d(f64::NAN, 5.0)).eps, 1.0);
    assert_eq!(d(0.0, 1.0).hypot(d(0.0, 1.0)).eps, 0.0);
    assert_eq!(d(0.0, 1.0).atan2(d(0.0, 1.0)).eps, 0.0);
    assert_eq!(d(0.0, 1.0).powi(0), d(1.0, 0.0));
    assert_eq!(d(0.0, 1.0).powi(0).eps, 0.0);
    assert_eq!(d(0.0, 0.0).powf(d(2.0, 1.0)).eps, 0.0);
    // A constant at a singularity of the derivative keeps a zero tangent.
    for f in [Float::sqrt, Float::ln, Float::cbrt, Float::recip] as [fn(Dual<f64>) -> Dual<f64>; 4]
    {
        assert_eq!(f(Dual::constant(0.0)).eps, 0.0);
    }
    assert_eq!(Dual::constant(1.0).asin().eps, 0.0);
    // Predicates and constants look at the value.
    let nan = Dual::<f64>::nan();
    assert!(nan.is_nan() && !nan.is_finite() && nan != nan);
    assert!(Dual::<f64>::infinity().is_infinite());
    assert_eq!(Dual::<f64>::epsilon().re, f64::EPSILON);
    assert_eq!(Dual::<f64>::max_value().re, f64::MAX);
    assert_eq!(Dual::<f64>::min_positive_value().re, f64::MIN_POSITIVE);
    assert!(Dual::<f64>::neg_zero().is_sign_negative());
    assert_eq!(d(2.5, 7.0).integer_decode(), 2.5_f64.integer_decode());
    assert_eq!(d(1e-310, 1.0).classify(), std::num::FpCategory::Subnormal);
    // Comparison by value; zero and one need a zero tangent.
    assert_eq!(d(1.0, 2.0), d(1.0, 3.0));
    assert!(d(1.0, 9.0) < d(2.0, -9.0));
    assert!(!num_traits::Zero::is_zero(&d(0.0, 1.0)));
    assert!(!num_traits::One::is_one(&d(1.0, 1.0)));
    // Conversions make constants.
    let parsed: Dual<f64> = num_traits::Num::from_str_radix("2.5", 10).unwrap();
    assert_eq!((parsed.re, parsed.eps), (2.5, 0.0));
    let cast: Dual<f32> = num_traits::NumCast::from(3_u8).unwrap();
    assert_eq!((cast.re, cast.eps), (3.0, 0.0));
    assert_eq!(num_traits::ToPrimitive::to_i64(&d(3.7, 1.0)), Some(3));
    let mut acc = d(1.0, 1.0);
    acc += d(2.0, 1.0);
    acc *= d(2.0, 0.0);
    acc -= d(1.0, 1.0);
    acc /= d(5.0, 0.0);
    acc %= d(0.75, 0.0);
    assert_eq!((acc.re, acc.eps), (1.0 % 0.75, (4.0 - 1.0) / 5.0));
    let total: Dual<f64> = [d(1.0, 2.0), d(3.0, 4.0)].iter().sum();
    assert_eq!((total.re, total.eps), (4.0, 6.0));
    assert_eq!(format!("{:.2}", d(1.0, -0.5)), "1.00 - 0.50ε");
    assert_eq!(d(1.5, 2.0).to_string(), "1.5 + 2ε");
}

// ---------------------------------------------------------------------------------------------
// Scalar rules on duals: second derivatives

/// For an elementwise rule of one argument: `vjp0` on duals, with x and the cotangent g both
/// seeded, is the derivative of `vjp0` on f64 along the seed.
macro_rules! check_unary_rule {
    ($rng:ident, $module:ident, $lo:expr, $hi:expr) => {{
        let pull = |x: f64, g: f64| {
            let y = prim::$module::forward(x);
            prim::$module::vjp0(x, &y, g)
        };
        for _ in 0..20 {
            let (x, g, vg) = (
                $rng.uniform($lo, $hi),
                $rng.uniform(-2.0, 2.0),
                $rng.uniform(-1.0, 1.0),
            );
            let (xd, gd) = (Dual::new(x, 1.0), Dual::new(g, vg));
            let yd = prim::$module::forward(xd);
            assert_eq!(
                yd.re,
                prim::$module::forward(x),
                "{}({x})",
                stringify!($module)
            );
            let pulled = prim::$module::vjp0(xd, &yd, gd);
            assert_eq!(pulled.re, pull(x, g));
            let want = directional(|p| pull(p[0], p[1]), &[x, g], &[1.0, vg]);
            assert_close(
                &format!("{}''({x})", stringify!($module)),
                pulled.eps,
                want,
                1e-6,
            );
            // Seeded with 1, the pullback of 1 is the second derivative.
            let second = prim::$module::vjp0(xd, &yd, Tangent::one_like(&yd)).eps;
            let want = directional(|p| pull(p[0], 1.0), &[x], &[1.0]);
            assert_close(
                &format!("{}''({x})", stringify!($module)),
                second,
                want,
                1e-6,
            );
            // The forward-mode rule on duals agrees too.
            let pushed = prim::$module::jvp0(xd, &yd, gd);
            assert_eq!(pushed.re, pull(x, g));
        }
    }};
}

/// For an elementwise rule of two arguments: both pullbacks on duals, with a, b and g
/// seeded along a random direction.
macro_rules! check_binary_rule {
    ($rng:ident, $module:ident, ($alo:expr, $ahi:expr), ($blo:expr, $bhi:expr)) => {{
        let pull = |a: f64, b: f64, g: f64| {
            let y = prim::$module::forward(a, b);
            (
                prim::$module::vjp0(a, b, &y, g),
                prim::$module::vjp1(a, b, &y, g),
            )
        };
        for _ in 0..20 {
            let p = [
                $rng.uniform($alo, $ahi),
                $rng.uniform($blo, $bhi),
                $rng.uniform(-2.0, 2.0),
            ];
            let v = [
                $rng.uniform(-1.0, 1.0),
                $rng.uniform(-1.0, 1.0),
                $rng.uniform(-1.0, 1.0),
            ];
            let [a, b, g] = [0, 1, 2].map(|k| Dual::new(p[k], v[k]));
            let y = prim::$module::forward(a, b);
            let (da, db) = (
                prim::$module::vjp0(a, b, &y, g),
                prim::$module::vjp1(a, b, &y, g),
            );
            assert_eq!((da.re, db.re), pull(p[0], p[1], p[2]));
            let name = stringify!($module);
            let want = directional(|q| pull(q[0], q[1], q[2]).0, &p, &v);
            assert_close(&format!("{name}: vjp0 at {p:?}"), da.eps, want, 1e-6);
            let want = directional(|q| pull(q[0], q[1], q[2]).1, &p, &v);
            assert_close(&format!("{name}: vjp1 at {p:?}"), db.eps, want, 1e-6);
        }
    }};
}

#[test]
fn scalar_pullbacks_on_duals_give_second_derivatives() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    check_unary_rule!(rng, neg, -3.0, 3.0);
    check_unary_rule!(rng, exp, -3.0, 3.0);
    check_unary_rule!(rng, exp2, -3.0, 3.0);
    check_unary_rule!(rng, exp_m1, -3.0, 3.0);
    check_unary_rule!(rng, ln, 0.1, 5.0);
    check_unary_rule!(rng, ln_1p, -0.5, 5.0);
    check_unary_rule!(rng, log2, 0.1, 5.0);
    check_unary_rule!(rng, log10, 0.1, 5.0);
    check_unary_rule!(rng, sin, -4.0, 4.0);
    check_unary_rule!(rng, cos, -4.0, 4.0);
    check_unary_rule!(rng, tan, -1.3, 1.3);
    check_unary_rule!(rng, asin, -0.9, 0.9);
    check_unary_rule!(rng, acos, -0.9, 0.9);
    check_unary_rule!(rng, atan, -4.0, 4.0);
    check_unary_rule!(rng, sinh, -3.0, 3.0);
    check_unary_rule!(rng, cosh, -3.0, 3.0);
    check_unary_rule!(rng, tanh, -3.0, 3.0);
    check_unary_rule!(rng, sqrt, 0.1, 5.0);
    check_unary_rule!(rng, cbrt, 0.1, 5.0);
    check_unary_rule!(rng, recip, 0.2, 5.0);
    check_unary_rule!(rng, abs, -3.0, 3.0);
    check_unary_rule!(rng, sigmoid, -6.0, 6.0);
    check_unary_rule!(rng, relu, -3.0, 3.0);
    check_unary_rule!(rng, softplus, -6.0, 6.0);
    check_binary_rule!(rng, add, (-3.0, 3.0), (-3.0, 3.0));
    check_binary_rule!(rng, sub, (-3.0, 3.0), (-3.0, 3.0));
    check_binary_rule!(rng, mul, (-3.0, 3.0), (-3.0, 3.0));
    check_binary_rule!(rng, div, (-3.0, 3.0), (0.5, 3.0));
    check_binary_rule!(rng, powf, (0.2, 3.0), (-2.0, 3.0));
    check_binary_rule!(rng, atan2, (-3.0, 3.0), (-3.0, 3.0));
    check_binary_rule!(rng, hypot, (-3.0, 3.0), (-3.0, 3.0));
    check_binary_rule!(rng, max, (-3.0, 3.0), (-3.0, 3.0));
    check_binary_rule!(rng, min, (-3.0, 3.0), (-3.0, 3.0));

    // powi, whose exponent is a constant.
    for n in [-2, 0, 1, 3] {
        let pull = |x: f64| prim::powi::vjp0(x, n, &x.powi(n), 1.0);
        let x = rng.uniform(0.3, 2.0);
        let xd = Dual::new(x, 1.0);
        let yd = prim::powi::forward(xd, n);
        let second = prim::powi::vjp0(xd, n, &yd, Dual::constant(1.0)).eps;
        assert_close(
            "powi''",
            second,
            directional(|p| pull(p[0]), &[x], &[1.0]),
            1e-6,
        );
    }

    // mul_add, of three arguments.
    let pull = |q: &[f64]| {
        let y = prim::mul_add::forward(q[0], q[1], q[2]);
        [
            prim::mul_add::vjp0(q[0], q[1], q[2], &y, q[3]),
            prim::mul_add::vjp1(q[0], q[1], q[2], &y, q[3]),
            prim::mul_add::vjp2(q[0], q[1], q[2], &y, q[3]),
        ]
    };
    let (p, v) = ([0.5, -1.5, 2.0, 0.7], [0.3, 0.9, -0.4, 0.2]);
    let d: Vec<Dual<f64>> = p.iter().zip(&v).map(|(&p, &v)| Dual::new(p, v)).collect();
    let y = prim::mul_add::forward(d[0], d[1], d[2]);
    let got = [
        prim::mul_add::vjp0(d[0], d[1], d[2], &y, d[3]),
        prim::mul_add::vjp1(d[0], d[1], d[2], &y, d[3]),
        prim::mul_add::vjp2(d[0], d[1], d[2], &y, d[3]),
    ];
    for (k, got) in got.iter().enumerate() {
        let want = directional(|q| pull(q)[k], &p, &v);
        assert_close("mul_add", got.eps, want, 1e-6);
    }
}

/// The gradient of f(x, y) = sin(xy) + eˣ/y, chained from the rules as the generated code
/// chains them, for one scalar type.
macro_rules! scalar_gradient {
    ($name:ident, $T:ty) => {
        fn $name(x: $T, y: $T) -> ($T, $T) {
            let a = prim::mul::forward(x, y);
            let s = prim::sin::forward(a);
            let e = prim::exp::forward(x);
            let q = prim::div::forward(e, y);
            let f = prim::add::forward(s, q);
            let g_f = f.one_like();
            let g_s = prim::add::vjp0(s, q, &f, g_f.duplicate());
            let g_q = prim::add::vjp1(s, q, &f, g_f);
            let g_e = prim::div::vjp0(e, y, &q, g_q.duplicate());
            let g_y = prim::div::vjp1(e, y, &q, g_q);
            let g_x = prim::exp::vjp0(x, &e, g_e);
            let g_a = prim::sin::vjp0(a, &s, g_s);
            let g_x = g_x.accumulate(prim::mul::vjp0(x, y, &a, g_a.duplicate()));
            let g_y = g_y.accumulate(prim::mul::vjp1(x, y, &a, g_a));
            (g_x, g_y)
        }
    };
}

scalar_gradient!(scalar_f64, f64);
scalar_gradient!(scalar_dual, Dual<f64>);

/// Its Hessian, column by column, each column one forward-over-reverse pass.
#[test]
fn hessian_of_a_scalar_function_column_by_column() {
    let (x, y) = (0.7_f64, 1.3_f64);
    let (c, s, e) = ((x * y).cos(), (x * y).sin(), x.exp());
    let want = [
        [-y * y * s + e / y, c - x * y * s - e / (y * y)],
        [
            c - x * y * s - e / (y * y),
            -x * x * s + 2.0 * e / (y * y * y),
        ],
    ];
    for (k, (vx, vy)) in [(1.0, 0.0), (0.0, 1.0)].into_iter().enumerate() {
        let (gx, gy) = scalar_dual(x.autodiff_seed(&vx), y.autodiff_seed(&vy));
        assert_eq!((gx.re, gy.re), scalar_f64(x, y));
        assert_close("H[0][k]", gx.eps, want[0][k], 1e-12);
        assert_close("H[1][k]", gy.eps, want[1][k], 1e-12);
    }
}

// ---------------------------------------------------------------------------------------------
// Arrays of duals

#[test]
fn elementwise_rules_on_dual_arrays_agree_with_dual_scalars() {
    let mut rng = Rng(7);
    let x = rng.array((4, 3));
    let xd = x.autodiff_seed(&rng.array((4, 3)));
    let bias = rng.array(3).autodiff_seed(&rng.array(3));
    // The vectorized kernels' fallback on duals, and the broadcasting pullbacks.
    for (name, forward, scalar) in [
        (
            "exp",
            prim::exp::forward::<ArrayView2<Dual<f64>>> as fn(_) -> _,
            Float::exp as fn(_) -> _,
        ),
        ("tanh", prim::tanh::forward, Float::tanh),
        (
            "sigmoid",
            prim::sigmoid::forward,
            prim::sigmoid::forward::<Dual<f64>>,
        ),
        ("sin", prim::sin::forward, Float::sin),
    ] {
        let y = forward(xd.view());
        for (y, &x) in y.iter().zip(&xd) {
            let want = scalar(x);
            assert_eq!((y.re, y.eps), (want.re, want.eps), "{name}");
        }
    }
    let y = prim::mul::forward(xd.view(), bias.view());
    let g = xd.mapv(Float::cos);
    let left = prim::mul::vjp0(xd.view(), bias.view(), &y, g.clone());
    let right = prim::mul::vjp1(xd.view(), bias.view(), &y, g.clone());
    let mut sum = Array1::<Dual<f64>>::zeros(3);
    for ((i, j), &x) in xd.indexed_iter() {
        let y = prim::mul::forward(x, bias[j]);
        let l = prim::mul::vjp0(x, bias[j], &y, g[[i, j]]);
        assert_eq!((left[[i, j]].re, left[[i, j]].eps), (l.re, l.eps));
        sum[j] += prim::mul::vjp1(x, bias[j], &y, g[[i, j]]);
    }
    for (got, want) in right.iter().zip(&sum) {
        assert!(close(got.re, want.re, 1e-14) && close(got.eps, want.eps, 1e-14));
    }
    // A scalar against an array: the pullback to the scalar folds from a dual zero.
    let s = Dual::new(1.5, -0.5);
    let y = prim::mul::forward(xd.view(), s);
    let ds = prim::mul::vjp1(xd.view(), s, &y, g.clone());
    let want = xd
        .iter()
        .zip(&g)
        .fold(Dual::constant(0.0), |acc, (&x, &g)| acc + x * g);
    assert!(close(ds.re, want.re, 1e-14) && close(ds.eps, want.eps, 1e-14));
    // And f32: the kernels' fallback and a broadcast pullback.
    let x32 = x.mapv(|v| v as f32).autodiff_seed(&Array2::ones((4, 3)));
    let y32 = prim::sigmoid::forward(x32.view());
    let s32 = Dual::new(2.0_f32, 1.0);
    let z32 = prim::mul::forward(y32.view(), s32);
    let ds32 = prim::mul::vjp1(y32.view(), s32, &z32, Tangent::one_like(&z32));
    let want: f64 = x.iter().map(|&x| 1.0 / (1.0 + (-x).exp())).sum();
    let want_eps: f64 = x.iter().map(|&x| 1.0 / (2.0 + x.exp() + (-x).exp())).sum();
    assert!(close(ds32.re.into(), want, 1e-5) && close(ds32.eps.into(), want_eps, 1e-5));
    let y = prim::sub::forward(s, xd.view());
    let ds = prim::sub::vjp0(s, xd.view(), &y, g.clone());
    let want: Dual<f64> = g.iter().sum();
    assert!(close(ds.re, want.re, 1e-14) && close(ds.eps, want.eps, 1e-14));
}

/// `f` on duals seeded along `v` has in its tangent the directional derivative of `f` on
/// `f64` (central differences), and in its value `f` itself.
#[track_caller]
fn assert_directional<D: Dimension, E: Dimension>(
    name: &str,
    x: &Array<f64, D>,
    v: &Array<f64, D>,
    plain: impl Fn(ArrayView<f64, D>) -> Array<f64, E>,
    dual: impl Fn(ArrayView<Dual<f64>, D>) -> Array<Dual<f64>, E>,
) {
    let got = dual(x.autodiff_seed(v).view());
    let value = plain(x.view());
    assert_eq!(got.shape(), value.shape(), "{name}");
    for (g, w) in got.iter().zip(&value) {
        assert!(close(g.re, *w, 1e-12), "{name}: value {} vs {w}", g.re);
    }
    let h = 1e-5;
    let up = plain((x + &(v * h)).view());
    let down = plain((x - &(v * h)).view());
    let want = (up - down) / (2.0 * h);
    for (g, w) in got.autodiff_eps().iter().zip(&want) {
        assert_close(name, *g, *w, 1e-6);
    }
}

/// A constant array of the element type, the same in every test.
fn constant<A: Float, D: Dimension>(shape: impl ndarray::ShapeBuilder<Dim = D>) -> Array<A, D> {
    let mut k = 0;
    Array::from_shape_simple_fn(shape, || {
        k += 1;
        A::from((k * 37 % 11) as f64 / 5.0 - 1.0).unwrap()
    })
}

fn sin_of<A: Float, D: Dimension>(y: &Array<A, D>) -> Array<A, D> {
    y.mapv(Float::sin)
}

fn logistic<A: Float>(x: A) -> A {
    (A::one() + (-x).exp()).recip()
}

/// The matrix products in every shape, with both factors depending on the seeded x (so that
/// each pullback is differentiated in both factors and the cotangent).
fn products<A: Scalar + FastMath>(x: ArrayView2<A>) -> Array1<A> {
    let mut parts: Vec<A> = Vec::new();
    // mat · mat
    let y = prim::dot::forward(x, x.t());
    let g = sin_of(&y);
    parts.extend(prim::dot::vjp0(x, x.t(), &y, g.clone()));
    parts.extend(prim::dot::vjp1(x, x.t(), &y, g));
    // mat · vec
    let y = prim::dot::forward(x, x.row(0));
    let g = sin_of(&y);
    parts.extend(prim::dot::vjp0(x, x.row(0), &y, g.clone()));
    parts.extend(prim::dot::vjp1(x, x.row(0), &y, g.clone()));
    parts.extend(prim::dot::jvp0(x, x.row(0), &y, x.mapv(Float::cos)));
    // vec · mat
    let y = prim::dot::forward(x.column(1), x);
    let g = sin_of(&y);
    parts.extend(prim::dot::vjp0(x.column(1), x, &y, g.clone()));
    parts.extend(prim::dot::vjp1(x.column(1), x, &y, g));
    // vec · vec
    let y = prim::dot::forward(x.row(0), x.row(1));
    parts.extend(prim::dot::vjp0(x.row(0), x.row(1), &y, y.sin()));
    parts.extend(prim::dot::vjp1(x.row(0), x.row(1), &y, y.cos()));
    Array1::from(parts)
}

/// The reductions and the transpose.
fn reductions<A: Float + FastMath>(x: ArrayView2<A>) -> Array1<A> {
    let mut parts: Vec<A> = Vec::new();
    let y = prim::t::forward(x);
    let g = y.mapv(Float::sin);
    parts.extend(prim::t::vjp0(x, &y, g));
    let y = prim::sum::forward(x);
    parts.extend(prim::sum::vjp0(x, &y, y.sin()));
    let y = prim::mean::forward(x);
    parts.extend(prim::mean::vjp0(x, &y, y.sin()));
    for axis in [Axis(0), Axis(1)] {
        let y = prim::sum_axis::forward(x, axis);
        parts.extend(prim::sum_axis::vjp0(x, axis, &y, y.mapv(Float::sin)));
        let y = prim::mean_axis::forward(x, axis);
        parts.extend(prim::mean_axis::vjp0(x, axis, &y, y.mapv(Float::sin)));
    }
    Array1::from(parts)
}

/// The losses and normalizations, each pullback with a cotangent depending on the result.
fn losses<A: Float + FastMath>(x: ArrayView2<A>) -> Array1<A> {
    let mut parts: Vec<A> = Vec::new();
    let target = constant::<A, _>(x.raw_dim());
    let probabilities = x.mapv(logistic);
    let labels = [1, 0, 2];
    let t = target.view();
    let out = prim::mse::forward(x, t);
    parts.extend(prim::mse::vjp0(x, t, &out, out.sin()));
    parts.extend(prim::mse::vjp1(x, t, &out, out.cos()));
    let out = prim::bce_with_logits::forward(x, t);
    parts.extend(prim::bce_with_logits::vjp0(x, t, &out, out.sin()));
    parts.extend(prim::bce_with_logits::vjp1(x, t, &out, out.cos()));
    let p = probabilities.view();
    let target = target.mapv(logistic);
    let out = prim::bce::forward(p, target.view());
    parts.extend(prim::bce::vjp0(p, target.view(), &out, out.sin()));
    parts.extend(prim::bce::vjp1(p, target.view(), &out, out.cos()));
    let out = prim::cross_entropy::forward(x, labels);
    parts.extend(prim::cross_entropy::vjp0(x, labels, &out, out.sin()));
    let out = prim::logsumexp::forward(x);
    parts.extend(prim::logsumexp::vjp0(x, &out, out.sin()));
    for axis in [Axis(0), Axis(1)] {
        let y = prim::softmax::forward(x, axis);
        parts.extend(prim::softmax::vjp0(x, axis, &y, y.mapv(Float::sin)));
        let y = prim::log_softmax::forward(x, axis);
        parts.extend(prim::log_softmax::vjp0(x, axis, &y, y.mapv(Float::sin)));
        parts.extend(prim::log_softmax::jvp0(x, axis, &y, x.mapv(Float::cos)));
    }
    Array1::from(parts)
}

#[test]
fn array_pullbacks_on_duals_are_differentiated() {
    let mut rng = Rng(11);
    for _ in 0..5 {
        let (x, v) = (rng.array((3, 4)), rng.array((3, 4)));
        assert_directional("products", &x, &v, products::<f64>, products::<Dual<f64>>);
        assert_directional(
            "reductions",
            &x,
            &v,
            reductions::<f64>,
            reductions::<Dual<f64>>,
        );
        assert_directional("losses", &x, &v, losses::<f64>, losses::<Dual<f64>>);
    }
}

/// The products of dual matrices (ndarray's general product) against the product rule.
#[test]
fn dual_matrix_products_follow_the_product_rule() {
    let mut rng = Rng(3);
    let (a, da, b, db) = (
        rng.array((5, 7)),
        rng.array((5, 7)),
        rng.array((7, 2)),
        rng.array((7, 2)),
    );
    let (ad, bd) = (a.autodiff_seed(&da), b.autodiff_seed(&db));
    let product = prim::dot::forward(ad.view(), bd.view());
    let want_eps = da.dot(&b) + a.dot(&db);
    for ((got, re), eps) in product.iter().zip(&a.dot(&b)).zip(&want_eps) {
        assert!(close(got.re, *re, 1e-14) && close(got.eps, *eps, 1e-14));
    }
    // Transposed operands: strides that are not 1.
    let transposed = prim::dot::forward(bd.t(), ad.t());
    for (got, want) in transposed.iter().zip(&product.t()) {
        assert!(close(got.re, want.re, 1e-14) && close(got.eps, want.eps, 1e-14));
    }
    // And f32.
    let a32 = a.mapv(|v| v as f32).autodiff_seed(&da.mapv(|v| v as f32));
    let p32 = prim::dot::forward(a32.view(), a32.t());
    let want = a.dot(&a.t());
    let want_eps = da.dot(&a.t()) + a.dot(&da.t());
    for ((got, re), eps) in p32.iter().zip(&want).zip(&want_eps) {
        assert!(close(got.re.into(), *re, 1e-5) && close(got.eps.into(), *eps, 1e-5));
    }
}

// ---------------------------------------------------------------------------------------------
// Hessian-vector products of small models

/// f(w) = Σ σ(Xw) and its gradient Xᵀσ′(Xw), chained from the rules by hand.
fn logistic_gradient<A: Scalar + FastMath>(x: ArrayView2<A>, w: ArrayView1<A>) -> Array1<A> {
    let z = prim::dot::forward(x, w);
    let s = prim::sigmoid::forward(z.view());
    let f = prim::sum::forward(s.view());
    let g_s = prim::sum::vjp0(s.view(), &f, A::one());
    let g_z = prim::sigmoid::vjp0(z.view(), &s, g_s);
    prim::dot::vjp1(x, w, &z, g_z)
}

#[test]
fn hessian_vector_product_of_a_sum_of_sigmoids() {
    let mut rng = Rng(5);
    let x = rng.array((6, 3)) * 2.0;
    for _ in 0..5 {
        let (w, v) = (rng.array(3), rng.array(3));
        let data = &x; // as generated code sees a borrowed data argument
        let lifted = data.autodiff_lift();
        let gradient = logistic_gradient(lifted.view(), w.autodiff_seed(&v).view());
        let plain = logistic_gradient(x.view(), w.view());
        for (g, p) in gradient.autodiff_re().iter().zip(&plain) {
            assert!(close(*g, *p, 1e-14));
        }
        let hv = gradient.autodiff_eps();
        let h = 1e-5;
        let up = logistic_gradient(x.view(), (&w + &(&v * h)).view());
        let down = logistic_gradient(x.view(), (&w - &(&v * h)).view());
        let by_differences = (up - down) / (2.0 * h);
        // And the closed form Xᵀ diag(σ″(Xw)) X v.
        let z = x.dot(&w);
        let s2 = z.mapv(|z| {
            let s = 1.0 / (1.0 + (-z).exp());
            s * (1.0 - s) * (1.0 - 2.0 * s)
        });
        let closed = x.t().dot(&(s2 * x.dot(&v)));
        for ((got, fd), exact) in hv.iter().zip(&by_differences).zip(&closed) {
            assert_close("Hv", *got, *fd, 1e-6);
            assert_close("Hv", *got, *exact, 1e-12);
        }
    }
}

/// The gradient of mse(tanh((XW + b)·s)·v, t) in (W, b, s, v), chained from the rules with
/// broadcasting, a scalar parameter and fan-out, for one element type.
macro_rules! mlp_gradient {
    ($name:ident, $A:ty) => {
        #[allow(clippy::type_complexity)]
        fn $name(
            x: ArrayView2<$A>,
            (w, b, s, v): (ArrayView2<$A>, ArrayView1<$A>, $A, ArrayView1<$A>),
            t: ArrayView1<$A>,
        ) -> (Array2<$A>, Array1<$A>, $A, Array1<$A>) {
            let u = prim::dot::forward(x, w);
            let z = prim::add::forward(u.view(), b);
            let zs = prim::mul::forward(z.view(), s);
            let h = prim::tanh::forward(zs.view());
            let o = prim::dot::forward(h.view(), v);
            let loss = prim::mse::forward(o.view(), t);
            let g_loss = Tangent::one_like(&loss);
            let g_o = prim::mse::vjp0(o.view(), t, &loss, g_loss);
            let g_h = prim::dot::vjp0(h.view(), v, &o, g_o.duplicate());
            let g_v = prim::dot::vjp1(h.view(), v, &o, g_o);
            let g_zs = prim::tanh::vjp0(zs.view(), &h, g_h);
            let g_z = prim::mul::vjp0(z.view(), s, &zs, g_zs.duplicate());
            let g_s = prim::mul::vjp1(z.view(), s, &zs, g_zs);
            let g_u = prim::add::vjp0(u.view(), b, &z, g_z.duplicate());
            let g_b = prim::add::vjp1(u.view(), b, &z, g_z);
            let g_w = prim::dot::vjp1(x, w, &u, g_u);
            let g_x = prim::dot::vjp0(x, w, &u, Map::zeros(u.view()));
            assert_eq!(g_x.shape(), x.shape());
            (g_w, g_b, g_s, g_v)
        }
    };
}

mlp_gradient!(mlp_f64, f64);
mlp_gradient!(mlp_dual, Dual<f64>);

#[test]
fn hessian_vector_product_of_a_small_network() {
    let mut rng = Rng(13);
    let (x, t) = (rng.array((8, 3)), rng.array(8));
    let (w, b, s, v) = (rng.array((3, 4)), rng.array(4), 0.8, rng.array(4));
    let (dw, db, ds, dv) = (rng.array((3, 4)), rng.array(4), -0.3, rng.array(4));
    let params = (w.view(), b.view(), s, v.view());
    let seeded = (
        w.autodiff_seed(&dw),
        b.autodiff_seed(&db),
        s.autodiff_seed(&ds),
        v.autodiff_seed(&dv),
    );
    let (xd, td) = (x.autodiff_lift(), t.view().autodiff_lift());
    let gradient = mlp_dual(
        xd.view(),
        (seeded.0.view(), seeded.1.view(), seeded.2, seeded.3.view()),
        td.view(),
    );
    let (re, hv) = (gradient.autodiff_re(), gradient.autodiff_eps());
    let plain = mlp_f64(x.view(), params, t.view());
    let h = 1e-5;
    let at = |k: f64| {
        let (w, b, v) = (&w + &(&dw * k), &b + &(&db * k), &v + &(&dv * k));
        mlp_f64(
            x.view(),
            (w.view(), b.view(), s + ds * k, v.view()),
            t.view(),
        )
    };
    let (up, down) = (at(h), at(-h));
    let flat = |g: &(Array2<f64>, Array1<f64>, f64, Array1<f64>)| -> Vec<f64> {
        g.0.iter()
            .chain(&g.1)
            .chain([&g.2])
            .chain(&g.3)
            .copied()
            .collect()
    };
    let (re, hv, plain, up, down) = (flat(&re), flat(&hv), flat(&plain), flat(&up), flat(&down));
    for k in 0..re.len() {
        // tanh on f64 arrays is the vectorized kernel, on duals libm's: a few ulps apart.
        assert_close("gradient", re[k], plain[k], 1e-12);
        assert_close("Hv", hv[k], (up[k] - down[k]) / (2.0 * h), 1e-6);
    }
}

// ---------------------------------------------------------------------------------------------
// The helpers generated code calls

#[test]
fn lift_seed_and_unlift_work_through_references_and_views() {
    // Generated code calls these on parameters of any type: bind references, as a function's
    // arguments would be (written `(&x).f()` clippy would flag the borrow).
    let data = array![[1.0, 2.0], [3.0, 4.0]];
    let (data_ref, x) = (&data, 2.5_f64);
    let (data_ref_ref, x_ref) = (&data_ref, &x);
    let x_ref_ref = &x_ref;
    let by_value = data.autodiff_lift();
    assert_eq!(by_value.autodiff_re(), data);
    assert_eq!(by_value.autodiff_eps(), Array2::<f64>::zeros((2, 2)));
    let by_ref: Array2<Dual<f64>> = data_ref.autodiff_lift();
    let by_ref_ref = data_ref_ref.autodiff_lift();
    let of_view = data.view().autodiff_lift();
    for lifted in [by_ref, by_ref_ref, of_view] {
        assert_eq!(lifted.autodiff_re(), data);
    }
    assert_eq!(x_ref_ref.autodiff_lift().re, 2.5);
    assert_eq!(x_ref.autodiff_seed(&1.0).eps, 1.0);
    let y = 1.5_f32;
    assert_eq!(y.autodiff_lift(), Dual::new(1.5_f32, 0.0));

    let w = array![1.0, 2.0, 3.0];
    let t = array![0.0, 1.0, 0.0];
    let (w_ref, w_view) = (&w, w.view());
    let w_ref_ref = &w_ref;
    for seeded in [
        w.autodiff_seed(&t),
        w_ref.autodiff_seed(&t),
        w_ref_ref.autodiff_seed(&t),
        w_view.autodiff_seed(&t),
    ] {
        assert_eq!(seeded.autodiff_re(), w);
        assert_eq!(seeded.autodiff_eps(), t);
    }
    // The generated code's other calls on duals.
    let d = Dual::new(3.0_f64, 1.0);
    let one = Tangent::one_like(&d);
    assert_eq!((one.re, one.eps), (1.0, 0.0));
    let zero = Map::zeros(d.autodiff_arg());
    assert_eq!((zero.re, zero.eps), (0.0, 0.0));
    let seeded = w.autodiff_seed(&t);
    let zeros: Array1<Dual<f64>> = Map::zeros(seeded.autodiff_arg());
    assert_eq!(zeros.autodiff_eps(), Array1::<f64>::zeros(3));
    let ones = Tangent::one_like(&seeded);
    assert_eq!(
        (ones.autodiff_re(), ones.autodiff_eps()),
        (Array1::ones(3), Array1::zeros(3))
    );
    let sum = Tangent::accumulate(seeded.clone(), seeded.clone().negate());
    assert_eq!(sum.autodiff_eps(), Array1::<f64>::zeros(3));
    let seeded_ref = &&seeded;
    let identity = Map::map(seeded_ref.autodiff_arg(), std::convert::identity);
    assert_eq!(identity.autodiff_eps(), t);
    let scalar = Array0::from_elem((), Dual::new(1.0, 2.0));
    assert_eq!(scalar.autodiff_eps().into_scalar(), 2.0);
    // The activations users call take duals too.
    let a = autodiff_runtime::sigmoid(Dual::new(0.0, 1.0));
    assert_eq!((a.re, a.eps), (0.5, 0.25));
    let r = autodiff_runtime::relu(&seeded);
    assert_eq!(r.autodiff_eps(), t);
    // Arrays of duals scale by a dual.
    let scaled = &seeded * Dual::new(2.0, 0.0);
    assert_eq!(scaled.autodiff_eps(), &t * 2.0);
}

#[test]
#[should_panic(expected = "autodiff_seed: a value of shape [3] seeded with a tangent of shape [2]")]
fn a_seed_of_another_shape_names_both() {
    array![1.0, 2.0, 3.0].autodiff_seed(&array![1.0, 0.0]);
}
