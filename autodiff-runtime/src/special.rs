//! Special functions for the rules and for users: the error function and its complement, the
//! logarithm of the gamma function, the digamma function and its derivative (trigamma).
//!
//! Each is written once, generic over [`Float`], in plain arithmetic and comparisons: on
//! `f32` and `f64` it computes the value, and on [`Dual`](crate::dual::Dual) numbers the same
//! arithmetic carries the derivative, so the Hessians' forward-over-reverse code needs no
//! rule of its own for them.
//!
//! - `erf`, `erfc`: the rational approximations of FreeBSD's `s_erf.c` (Sun Microsystems,
//!   1993; the source the `libm` crate and musl port), whose error bounds are below 2⁻⁵⁷ on
//!   each interval; ported to generic code with the intervals compared on |x| in place of the
//!   high word of its bits.
//! - `ln_gamma`, `digamma`, `trigamma`: Stirling's asymptotic series (Abramowitz and Stegun
//!   6.1.40, 6.3.18 and 6.4.12, with the Bernoulli numbers up to B₁₆) for x ≥ 10, the
//!   recurrences Γ(x + 1) = xΓ(x), ψ(x + 1) = ψ(x) + 1/x and ψ′(x + 1) = ψ′(x) − 1/x² to reach
//!   it, and the reflection formulas (A&S 6.1.17, 6.3.7, 6.4.7) for x ≤ 0.

// The coefficients below are written digit for digit as s_erf.c prints them (more digits
// than an f64 holds), so that they can be compared with the source.
#![allow(clippy::excessive_precision)]

use num_traits::Float;

/// A constant in the value's own type.
#[inline(always)]
fn lit<T: Float>(v: f64) -> T {
    T::from(v).expect("f64 constants are representable in every float type")
}

/// p₀ + z(p₁ + z(p₂ + …)), by Horner's rule.
#[inline(always)]
fn poly<T: Float>(z: T, coefficients: &[f64]) -> T {
    coefficients
        .iter()
        .rev()
        .fold(T::zero(), |acc, &c| acc * z + lit::<T>(c))
}

// s_erf.c's coefficients.
const ERX: f64 = 8.45062911510467529297e-01;
const EFX8: f64 = 1.02703333676410069053e+00;
/// erf on [0, 0.84375]: x + x·PP(x²)/QQ(x²).
const PP: [f64; 5] = [
    1.28379167095512558561e-01,
    -3.25042107247001499370e-01,
    -2.84817495755985104766e-02,
    -5.77027029648944159157e-03,
    -2.37630166566501626084e-05,
];
const QQ: [f64; 6] = [
    1.0,
    3.97917223959155352819e-01,
    6.50222499887672944485e-02,
    5.08130628187576562776e-03,
    1.32494738004321644526e-04,
    -3.96022827877536812320e-06,
];
/// erf on [0.84375, 1.25]: ERX + PA(s)/QA(s), s = |x| − 1.
const PA: [f64; 7] = [
    -2.36211856075265944077e-03,
    4.14856118683748331666e-01,
    -3.72207876035701323847e-01,
    3.18346619901161753674e-01,
    -1.10894694282396677476e-01,
    3.54783043256182359371e-02,
    -2.16637559486879084300e-03,
];
const QA: [f64; 7] = [
    1.0,
    1.06420880400844228286e-01,
    5.40397917702171048937e-01,
    7.18286544141962662868e-02,
    1.26171219808761642112e-01,
    1.36370839120290507362e-02,
    1.19844998467991074170e-02,
];
/// erfc on [1.25, 1/0.35]: exp(−x² − 0.5625 + RA(z)/SA(z))/x, z = 1/x².
const RA: [f64; 8] = [
    -9.86494403484714822705e-03,
    -6.93858572707181764372e-01,
    -1.05586262253232909814e+01,
    -6.23753324503260060396e+01,
    -1.62396669462573470355e+02,
    -1.84605092906711035994e+02,
    -8.12874355063065934246e+01,
    -9.81432934416914548592e+00,
];
const SA: [f64; 9] = [
    1.0,
    1.96512716674392571292e+01,
    1.37657754143519042600e+02,
    4.34565877475229228821e+02,
    6.45387271733267880336e+02,
    4.29008140027567833386e+02,
    1.08635005541779435134e+02,
    6.57024977031928170135e+00,
    -6.04244152148580987438e-02,
];
/// erfc on [1/0.35, 28]: as above with RB/SB.
const RB: [f64; 7] = [
    -9.86494292470009928597e-03,
    -7.99283237680523006574e-01,
    -1.77579549177547519889e+01,
    -1.60636384855821916062e+02,
    -6.37566443368389627722e+02,
    -1.02509513161107724954e+03,
    -4.83519191608651397019e+02,
];
const SB: [f64; 8] = [
    1.0,
    3.03380607434824582924e+01,
    3.25792512996573918826e+02,
    1.53672958608443695994e+03,
    3.19985821950859553908e+03,
    2.55305040643316442583e+03,
    4.74528541206955367215e+02,
    -2.24409524465858183362e+01,
];

/// erf(x) − x over x on |x| < 0.84375.
#[inline]
fn erf_small_ratio<T: Float>(x: T) -> T {
    let z = x * x;
    poly(z, &PP) / poly(z, &QQ)
}

/// erf(|x|) − ERX on 0.84375 ≤ |x| < 1.25.
#[inline]
fn erf_near_one<T: Float>(ax: T) -> T {
    let s = ax - T::one();
    poly(s, &PA) / poly(s, &QA)
}

/// erfc(|x|) on 0.84375 ≤ |x| < 28.
fn erfc_tail<T: Float>(ax: T) -> T {
    if ax < lit(1.25) {
        return lit::<T>(1.0 - ERX) - erf_near_one(ax);
    }
    let s = (ax * ax).recip();
    let (r, big_s) = if ax < lit(1.0 / 0.35) {
        (poly(s, &RA), poly(s, &SA))
    } else {
        (poly(s, &RB), poly(s, &SB))
    };
    // exp(−x²) as exp(−z²)·exp((z − x)(z + x)) with z = x to 32 bits, exactly squared: the
    // identity holds for any z, so the derivative (on duals) is exact too.
    let z: T = ax
        .to_f64()
        .map(|v| f64::from_bits(v.to_bits() & 0xffff_ffff_0000_0000))
        .and_then(T::from)
        .unwrap_or(ax);
    (-z * z - lit(0.5625)).exp() * ((z - ax) * (z + ax) + r / big_s).exp() / ax
}

/// The error function erf(x) = 2/√π ∫₀ˣ e^(−t²) dt, to within an ulp or so in `f64`.
///
/// ```
/// use autodiff_runtime::special::erf;
/// assert!((erf(0.5_f64) - 0.5204998778130465).abs() < 1e-16);
/// assert_eq!(erf(-0.5_f64), -erf(0.5_f64));
/// ```
pub fn erf<T: Float>(x: T) -> T {
    if x.is_nan() {
        return x;
    }
    let ax = x.abs();
    let y = if ax < lit(0.84375) {
        if ax < lit(3.725290298461914e-9) {
            // |x| < 2⁻²⁸: x + x·(2/√π − 1), without underflow.
            return lit::<T>(0.125) * (lit::<T>(8.0) * x + lit::<T>(EFX8) * x);
        }
        return x + x * erf_small_ratio(x);
    } else if ax < lit(1.25) {
        lit::<T>(ERX) + erf_near_one(ax)
    } else if ax < lit(28.0) {
        // 1 in f64 from x = 6 on, but on duals the tail still carries the derivative.
        T::one() - erfc_tail(ax)
    } else {
        // 1 − tiny; a constant (its derivative, 2/√π e^(−x²), underflows here).
        T::one()
    };
    if x < T::zero() {
        -y
    } else {
        y
    }
}

/// The complementary error function erfc(x) = 1 − erf(x), accurate in relative terms for
/// large x where 1 − erf(x) would cancel (erfc(10) ≈ 2·10⁻⁴⁵).
///
/// ```
/// use autodiff_runtime::special::erfc;
/// assert!((erfc(0.5_f64) - 0.4795001221869535).abs() < 1e-16);
/// assert!((erfc(10.0_f64) / 2.088487583762545e-45 - 1.0).abs() < 1e-14);
/// ```
pub fn erfc<T: Float>(x: T) -> T {
    if x.is_nan() {
        return x;
    }
    let ax = x.abs();
    if ax < lit(0.84375) {
        let r = erf_small_ratio(x);
        return if x < lit(0.25) {
            T::one() - (x + x * r)
        } else {
            lit::<T>(0.5) - (x - lit(0.5) + x * r)
        };
    }
    if ax < lit(28.0) {
        let tail = erfc_tail(ax);
        return if x < T::zero() {
            lit::<T>(2.0) - tail
        } else {
            tail
        };
    }
    if x < T::zero() {
        lit(2.0)
    } else {
        T::zero()
    }
}

/// Where the asymptotic series take over: the recurrences shift x up to at least this.
const ASYMPTOTIC: f64 = 10.0;

/// x − round(x), in [−½, ½]: sin(πx) and tan(πx) up to sign from it, exact for large x.
#[inline]
fn offset_from_integer<T: Float>(x: T) -> T {
    x - x.round()
}

/// ln |Γ(x)|, as `f64::ln_gamma` on nightly and C's `lgamma`: +∞ at 0, −1, −2, ….
///
/// ```
/// use autodiff_runtime::special::ln_gamma;
/// assert!((ln_gamma(0.5_f64) - core::f64::consts::PI.sqrt().ln()).abs() < 1e-14);
/// assert!((ln_gamma(5.0_f64) - 24.0_f64.ln()).abs() < 1e-14);
/// ```
pub fn ln_gamma<T: Float>(x: T) -> T {
    if x.is_nan() || x == T::infinity() {
        return x;
    }
    if x <= T::zero() {
        // Γ(x)Γ(1 − x) = π / sin(πx).
        let s = offset_from_integer(x);
        if s == T::zero() {
            return T::infinity();
        }
        let pi = lit::<T>(core::f64::consts::PI);
        return (pi / (pi * s).sin().abs()).ln() - ln_gamma(T::one() - x);
    }
    let (mut x, mut product) = (x, T::one());
    let shifted = x < lit(ASYMPTOTIC);
    while x < lit(ASYMPTOTIC) {
        product = product * x;
        x = x + T::one();
    }
    let inverse = x.recip();
    let z = inverse * inverse;
    // B₂ₖ / (2k(2k − 1)) for k = 1 … 8.
    let series = inverse
        * poly(
            z,
            &[
                1.0 / 12.0,
                -1.0 / 360.0,
                1.0 / 1260.0,
                -1.0 / 1680.0,
                1.0 / 1188.0,
                -691.0 / 360_360.0,
                1.0 / 156.0,
                -3617.0 / 122_400.0,
            ],
        );
    let half_ln_two_pi = lit::<T>(0.918_938_533_204_672_8);
    let value = (x - lit(0.5)) * x.ln() - x + half_ln_two_pi + series;
    if shifted {
        value - product.ln()
    } else {
        value
    }
}

/// The digamma function ψ(x) = d ln Γ(x)/dx; NaN at its poles 0, −1, −2, ….
///
/// ```
/// use autodiff_runtime::special::digamma;
/// assert!((digamma(1.0_f64) + 0.5772156649015329).abs() < 1e-15);
/// ```
pub fn digamma<T: Float>(x: T) -> T {
    if x.is_nan() || x == T::infinity() {
        return x;
    }
    let pi = lit::<T>(core::f64::consts::PI);
    if x <= T::zero() {
        // ψ(1 − x) − ψ(x) = π cot(πx).
        let s = offset_from_integer(x);
        if s == T::zero() {
            return T::nan();
        }
        return digamma(T::one() - x) - pi / (pi * s).tan();
    }
    let (mut x, mut shift) = (x, T::zero());
    while x < lit(ASYMPTOTIC) {
        shift = shift + x.recip();
        x = x + T::one();
    }
    let z = (x * x).recip();
    // B₂ₖ / 2k for k = 1 … 8.
    let series = z * poly(
        z,
        &[
            1.0 / 12.0,
            -1.0 / 120.0,
            1.0 / 252.0,
            -1.0 / 240.0,
            1.0 / 132.0,
            -691.0 / 32_760.0,
            1.0 / 12.0,
            -3617.0 / 8160.0,
        ],
    );
    x.ln() - lit::<T>(0.5) / x - series - shift
}

/// The trigamma function ψ′(x), the derivative of [`digamma`]; +∞ at its poles 0, −1, ….
///
/// ```
/// use autodiff_runtime::special::trigamma;
/// let pi = core::f64::consts::PI;
/// assert!((trigamma(1.0_f64) - pi * pi / 6.0).abs() < 1e-15);
/// ```
pub fn trigamma<T: Float>(x: T) -> T {
    if x.is_nan() {
        return x;
    }
    if x == T::infinity() {
        return T::zero();
    }
    if x <= T::zero() {
        // ψ′(1 − x) + ψ′(x) = π² / sin²(πx).
        let s = offset_from_integer(x);
        if s == T::zero() {
            return T::infinity();
        }
        let pi = lit::<T>(core::f64::consts::PI);
        let sin = (pi * s).sin();
        return pi * pi / (sin * sin) - trigamma(T::one() - x);
    }
    let (mut x, mut shift) = (x, T::zero());
    while x < lit(ASYMPTOTIC) {
        shift = shift + (x * x).recip();
        x = x + T::one();
    }
    let inverse = x.recip();
    let z = inverse * inverse;
    // 1/x + 1/(2x²) + Σ B₂ₖ / x^(2k+1) for k = 1 … 8.
    let series = inverse
        * z
        * poly(
            z,
            &[
                1.0 / 6.0,
                -1.0 / 30.0,
                1.0 / 42.0,
                -1.0 / 30.0,
                5.0 / 66.0,
                -691.0 / 2730.0,
                7.0 / 6.0,
                -3617.0 / 510.0,
            ],
        );
    inverse + lit::<T>(0.5) * z + series + shift
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dual::Dual;

    fn assert_relative(got: f64, want: f64, tolerance: f64, what: &str) {
        let error = (got - want).abs() / want.abs().max(f64::MIN_POSITIVE);
        assert!(
            error <= tolerance,
            "{what}: {got:e}, want {want:e} (relative error {error:e})"
        );
    }

    /// Reference values from Abramowitz and Stegun's tables and Wolfram Alpha (to 17 digits).
    #[test]
    fn erf_and_erfc_match_reference_values() {
        let table = [
            (0.0, 0.0, 1.0),
            (1e-10, 1.1283791670955126e-10, 0.99999999988716208),
            (0.1, 0.11246291601828489, 0.8875370839817151),
            (0.5, 0.5204998778130465, 0.4795001221869535),
            (0.9, 0.7969082124228321, 0.20309178757716787),
            (1.0, 0.8427007929497149, 0.15729920705028513),
            (1.5, 0.9661051464753107, 0.033894853524689273),
            (2.0, 0.9953222650189527, 0.004677734981047266),
            (3.0, 0.9999779095030014, 2.209049699858544e-5),
            (5.0, 0.9999999999984626, 1.5374597944280349e-12),
            (10.0, 1.0, 2.088487583762545e-45),
        ];
        for (x, erf_x, erfc_x) in table {
            assert_relative(erf(x), erf_x, 1e-15, &format!("erf({x})"));
            assert_relative(erfc(x), erfc_x, 1e-14, &format!("erfc({x})"));
            assert_relative(-erf(-x), erf_x, 1e-15, &format!("erf(−{x})"));
            assert_relative(erfc(-x), 2.0 - erfc_x, 1e-15, &format!("erfc(−{x})"));
        }
        assert_eq!((erf(f64::INFINITY), erf(f64::NEG_INFINITY)), (1.0, -1.0));
        assert_eq!((erfc(f64::INFINITY), erfc(f64::NEG_INFINITY)), (0.0, 2.0));
        assert!(erf(f64::NAN).is_nan() && erfc(f64::NAN).is_nan());
        assert_relative(f64::from(erf(0.5_f32)), 0.5204998778130465, 1e-6, "erf f32");
        assert_relative(
            f64::from(erfc(2.0_f32)),
            0.004677734981047266,
            1e-5,
            "erfc f32",
        );
    }

    #[test]
    fn gamma_family_matches_reference_values() {
        let pi = core::f64::consts::PI;
        let euler = 0.577_215_664_901_532_9;
        // ln Γ
        assert_relative(ln_gamma(0.5), pi.sqrt().ln(), 1e-14, "ln_gamma(0.5)");
        // Zeros of ln Γ, reached by cancellation (ln Γ(10) − ln 9!): absolutely accurate.
        for x in [1.0_f64, 2.0] {
            assert!(
                ln_gamma(x).abs() < 1e-14,
                "ln_gamma({x}) = {:e}",
                ln_gamma(x)
            );
        }
        assert_relative(ln_gamma(3.0), 2.0_f64.ln(), 1e-14, "ln_gamma(3)");
        assert_relative(ln_gamma(10.0), 362_880.0_f64.ln(), 1e-15, "ln_gamma(10)");
        assert_relative(ln_gamma(0.1), 2.252_712_651_734_206, 1e-15, "ln_gamma(0.1)");
        assert_relative(
            ln_gamma(1e-8),
            18.420_680_738_180_21,
            1e-15,
            "ln_gamma(1e-8)",
        );
        assert_relative(
            ln_gamma(100.5),
            361.435_540_467_777_6,
            1e-15,
            "ln_gamma(100.5)",
        );
        assert_relative(
            ln_gamma(-0.5),
            (2.0 * pi.sqrt()).ln(),
            1e-14,
            "ln_gamma(-0.5)",
        );
        assert_relative(
            ln_gamma(-2.5),
            -0.056_243_716_497_674_05,
            1e-13,
            "ln_gamma(-2.5)",
        );
        assert_eq!(ln_gamma(0.0_f64), f64::INFINITY);
        assert_eq!(ln_gamma(-3.0_f64), f64::INFINITY);
        // ψ
        assert_relative(digamma(1.0), -euler, 1e-15, "digamma(1)");
        assert_relative(
            digamma(0.5),
            -euler - 2.0 * 2.0_f64.ln(),
            1e-15,
            "digamma(0.5)",
        );
        assert_relative(digamma(2.0), 1.0 - euler, 1e-14, "digamma(2)");
        assert_relative(digamma(10.0), 2.251_752_589_066_721, 1e-15, "digamma(10)");
        assert_relative(digamma(100.0), 4.600_161_852_738_087, 1e-15, "digamma(100)");
        assert_relative(
            digamma(-0.5),
            0.036_489_973_978_576_52,
            1e-13,
            "digamma(-0.5)",
        );
        assert!(digamma(0.0_f64).is_nan() && digamma(-2.0_f64).is_nan());
        // ψ′
        assert_relative(trigamma(1.0), pi * pi / 6.0, 1e-15, "trigamma(1)");
        assert_relative(trigamma(0.5), pi * pi / 2.0, 1e-15, "trigamma(0.5)");
        assert_relative(trigamma(2.0), pi * pi / 6.0 - 1.0, 1e-15, "trigamma(2)");
        assert_relative(trigamma(-0.5), pi * pi / 2.0 + 4.0, 1e-14, "trigamma(-0.5)");
        assert_relative(
            trigamma(20.0),
            0.051_270_822_935_203_12,
            1e-15,
            "trigamma(20)",
        );
        // f32, where the recurrence's cancellation (ln Γ(10.5) − ln Π) costs a few digits.
        assert_relative(f64::from(ln_gamma(0.5_f32)), pi.sqrt().ln(), 1e-5, "f32");
        assert_relative(f64::from(digamma(1.0_f32)), -euler, 1e-5, "f32");
    }

    /// On duals, the arithmetic carries the derivatives: erf′ = 2/√π e^(−x²), ln Γ′ = ψ,
    /// ψ′ = trigamma, and trigamma′ against a central difference.
    #[test]
    fn derivatives_on_duals() {
        let two_over_sqrt_pi = core::f64::consts::FRAC_2_SQRT_PI;
        for x in [
            -7.0, -3.0, -1.1, -0.5, 0.0, 1e-9, 0.3, 0.9, 1.1, 2.0, 2.9, 4.0, 27.0,
        ] {
            let want = two_over_sqrt_pi * (-x * x).exp();
            let d = erf(Dual::new(x, 1.0)).eps;
            assert!(
                (d - want).abs() <= 1e-14 * want.max(1e-300),
                "erf′({x}) = {d:e}, want {want:e}"
            );
            let d = erfc(Dual::new(x, 1.0)).eps;
            assert!(
                (d + want).abs() <= 1e-14 * want.max(1e-300),
                "erfc′({x}) = {d:e}"
            );
        }
        for x in [-2.5, -0.5, 0.01, 0.5, 1.0, 3.7, 9.99, 10.0, 50.0] {
            let d = ln_gamma(Dual::new(x, 1.0)).eps;
            assert_relative(d, digamma(x), 1e-13, &format!("ln_gamma′({x})"));
            let d = digamma(Dual::new(x, 1.0)).eps;
            assert_relative(d, trigamma(x), 1e-13, &format!("digamma′({x})"));
            let h = 1e-4 * x.abs().min(1.0);
            let numeric = (trigamma(x + h) - trigamma(x - h)) / (2.0 * h);
            let d = trigamma(Dual::new(x, 1.0)).eps;
            assert_relative(d, numeric, 1e-6, &format!("trigamma′({x})"));
        }
    }
}
