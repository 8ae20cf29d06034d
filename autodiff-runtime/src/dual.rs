//! Forward-mode dual numbers, for second derivatives.
//!
//! A dual number v + εv̇ carries a value `re` = v and a tangent `eps` = v̇, with ε² = 0: then
//! f(v + εv̇) = f(v) + εf′(v)v̇ for every smooth f, so arithmetic on duals computes a
//! derivative alongside each value (forward mode). [`Dual`] implements [`Float`] with the
//! derivative of every method, and comparisons look at the value alone, so that a branch
//! (`if x > 0`, `max`, the stable forms of `sigmoid` and `logsumexp`) takes the path the
//! plain float would.
//!
//! The runtime's rules (the `forward` and `vjpK` functions of [`prim`](crate::prim), the
//! losses, the matrix products) are generic over [`Float`], and the scalar and array traits
//! they use are implemented for `Dual<f32>` and `Dual<f64>` too. So the reverse-mode code the
//! macro generates runs unchanged on duals, and since the pullbacks are then evaluated on
//! duals they are themselves differentiated: with the parameters seeded along a direction v
//! ([`Seed`]) and the constants lifted with a zero tangent ([`Lift`]), the gradient's value
//! part is ∇f(x) and its tangent part ([`Unlift::autodiff_eps`]) is the Hessian-vector
//! product ∇²f(x)·v (forward-over-reverse), at about the cost of a few gradients.
//!
//! ```
//! use autodiff_runtime::dual::{Dual, Unlift};
//! use autodiff_runtime::prim;
//!
//! // f(x) = sin x: the pullback of 1 is cos x, and its derivative −sin x.
//! let x = Dual::new(0.5_f64, 1.0);
//! let y = prim::sin::forward(x);
//! let gradient = prim::sin::vjp0(x, &y, Dual::constant(1.0));
//! assert_eq!(gradient.autodiff_re(), 0.5_f64.cos());
//! assert_eq!(gradient.autodiff_eps(), -(0.5_f64.sin()));
//! ```

use std::cmp::Ordering;
use std::fmt;
use std::iter::{Product, Sum};
use std::num::FpCategory;
use std::ops::{
    Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Rem, RemAssign, Sub, SubAssign,
};

use ndarray::{Array, ArrayBase, Data, Dimension};
use num_traits::{Float, FromPrimitive, Num, NumCast, One, ToPrimitive, Zero};

use crate::fast::{FastMath, Kernel};

/// A dual number `re + ε·eps` with ε² = 0: a value and its derivative along one direction.
///
/// Equality and ordering compare `re` only (a tangent does not change which branch a
/// comparison takes); compare `eps` explicitly where it matters.
#[derive(Clone, Copy, Debug, Default)]
pub struct Dual<F> {
    /// The value.
    pub re: F,
    /// The tangent: the value's derivative along the seeded direction.
    pub eps: F,
}

impl<F> Dual<F> {
    /// The dual `re + ε·eps`.
    #[inline(always)]
    pub const fn new(re: F, eps: F) -> Self {
        Dual { re, eps }
    }
}

impl<F: Zero> Dual<F> {
    /// A constant: `re` with a zero tangent.
    #[inline(always)]
    pub fn constant(re: F) -> Self {
        Dual { re, eps: F::zero() }
    }
}

impl<F: Zero> From<F> for Dual<F> {
    /// A constant: `re` with a zero tangent.
    #[inline(always)]
    fn from(re: F) -> Self {
        Dual::constant(re)
    }
}

impl<F: PartialEq> PartialEq for Dual<F> {
    /// Whether the values are equal; the tangents are not compared.
    #[inline(always)]
    fn eq(&self, other: &Self) -> bool {
        self.re == other.re
    }
}

impl<F: PartialOrd> PartialOrd for Dual<F> {
    /// The order of the values; the tangents are not compared.
    #[inline(always)]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.re.partial_cmp(&other.re)
    }
}

impl<F: fmt::Display + Float> fmt::Display for Dual<F> {
    /// `re + epsε` (or `re - |eps|ε`), each part with the formatter's options.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.re, f)?;
        let (sign, eps) = match self.eps.is_sign_negative() && !self.eps.is_nan() {
            true => (" - ", -self.eps),
            false => (" + ", self.eps),
        };
        f.write_str(sign)?;
        fmt::Display::fmt(&eps, f)?;
        f.write_str("ε")
    }
}

/// A constant of the float type.
#[inline(always)]
fn lit<F: Float>(v: f64) -> F {
    F::from(v).expect("f64 constants are representable in every float type")
}

/// The tangent `eps · derivative`, zero when `eps` is: a constant stays a constant even
/// where the derivative is infinite or undefined (√ at 0, ln at 0, asin at ±1).
#[inline(always)]
fn chain<F: Float>(eps: F, derivative: F) -> F {
    if eps.is_zero() {
        F::zero()
    } else {
        eps * derivative
    }
}

impl<F: Float> Neg for Dual<F> {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        Dual::new(-self.re, -self.eps)
    }
}

impl<F: Float> Add for Dual<F> {
    type Output = Self;
    #[inline(always)]
    fn add(self, rhs: Self) -> Self {
        Dual::new(self.re + rhs.re, self.eps + rhs.eps)
    }
}

impl<F: Float> Sub for Dual<F> {
    type Output = Self;
    #[inline(always)]
    fn sub(self, rhs: Self) -> Self {
        Dual::new(self.re - rhs.re, self.eps - rhs.eps)
    }
}

impl<F: Float> Mul for Dual<F> {
    type Output = Self;
    /// (a + εȧ)(b + εḃ) = ab + ε(aḃ + ȧb).
    #[inline(always)]
    fn mul(self, rhs: Self) -> Self {
        Dual::new(self.re * rhs.re, self.re * rhs.eps + self.eps * rhs.re)
    }
}

impl<F: Float> Div for Dual<F> {
    type Output = Self;
    /// (a + εȧ)/(b + εḃ) = a/b + ε(ȧ − (a/b)ḃ)/b.
    #[inline(always)]
    fn div(self, rhs: Self) -> Self {
        let re = self.re / rhs.re;
        Dual::new(re, (self.eps - re * rhs.eps) / rhs.re)
    }
}

impl<F: Float> Rem for Dual<F> {
    type Output = Self;
    /// a − b·trunc(a/b), with trunc's derivative 0.
    #[inline]
    fn rem(self, rhs: Self) -> Self {
        let quotient = (self.re / rhs.re).trunc();
        Dual::new(self.re % rhs.re, self.eps - rhs.eps * quotient)
    }
}

macro_rules! assign_ops {
    ($($assign:ident $method:ident $op:tt),*) => {$(
        impl<F: Float> $assign for Dual<F> {
            #[inline(always)]
            fn $method(&mut self, rhs: Self) {
                *self = *self $op rhs;
            }
        }
    )*};
}

assign_ops!(
    AddAssign add_assign +,
    SubAssign sub_assign -,
    MulAssign mul_assign *,
    DivAssign div_assign /,
    RemAssign rem_assign %
);

impl<F: Float> Sum for Dual<F> {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::zero(), Add::add)
    }
}

impl<'a, F: Float> Sum<&'a Dual<F>> for Dual<F> {
    fn sum<I: Iterator<Item = &'a Self>>(iter: I) -> Self {
        iter.copied().sum()
    }
}

impl<F: Float> Product for Dual<F> {
    fn product<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::one(), Mul::mul)
    }
}

impl<'a, F: Float> Product<&'a Dual<F>> for Dual<F> {
    fn product<I: Iterator<Item = &'a Self>>(iter: I) -> Self {
        iter.copied().product()
    }
}

impl<F: Float> Zero for Dual<F> {
    #[inline(always)]
    fn zero() -> Self {
        Dual::new(F::zero(), F::zero())
    }
    /// Both parts zero: code that skips a multiplication by zero must not drop a tangent.
    #[inline(always)]
    fn is_zero(&self) -> bool {
        self.re.is_zero() && self.eps.is_zero()
    }
}

impl<F: Float> One for Dual<F> {
    #[inline(always)]
    fn one() -> Self {
        Dual::constant(F::one())
    }
    /// A value of one with a zero tangent.
    #[inline(always)]
    fn is_one(&self) -> bool {
        self.re.is_one() && self.eps.is_zero()
    }
}

impl<F: Float> Num for Dual<F> {
    type FromStrRadixErr = F::FromStrRadixErr;
    /// A constant parsed as `F`.
    fn from_str_radix(str: &str, radix: u32) -> Result<Self, Self::FromStrRadixErr> {
        F::from_str_radix(str, radix).map(Dual::constant)
    }
}

impl<F: Float> ToPrimitive for Dual<F> {
    fn to_i64(&self) -> Option<i64> {
        self.re.to_i64()
    }
    fn to_u64(&self) -> Option<u64> {
        self.re.to_u64()
    }
    fn to_i128(&self) -> Option<i128> {
        self.re.to_i128()
    }
    fn to_u128(&self) -> Option<u128> {
        self.re.to_u128()
    }
    fn to_f32(&self) -> Option<f32> {
        self.re.to_f32()
    }
    fn to_f64(&self) -> Option<f64> {
        self.re.to_f64()
    }
}

impl<F: Float> NumCast for Dual<F> {
    /// A constant.
    #[inline(always)]
    fn from<T: ToPrimitive>(n: T) -> Option<Self> {
        <F as NumCast>::from(n).map(Dual::constant)
    }
}

impl<F: Float + FromPrimitive> FromPrimitive for Dual<F> {
    fn from_i64(n: i64) -> Option<Self> {
        F::from_i64(n).map(Dual::constant)
    }
    fn from_u64(n: u64) -> Option<Self> {
        F::from_u64(n).map(Dual::constant)
    }
    fn from_i128(n: i128) -> Option<Self> {
        F::from_i128(n).map(Dual::constant)
    }
    fn from_u128(n: u128) -> Option<Self> {
        F::from_u128(n).map(Dual::constant)
    }
    fn from_f32(n: f32) -> Option<Self> {
        F::from_f32(n).map(Dual::constant)
    }
    fn from_f64(n: f64) -> Option<Self> {
        F::from_f64(n).map(Dual::constant)
    }
}

impl<F: 'static + Clone> ndarray::ScalarOperand for Dual<F> {}

/// Each method's value is `F`'s on `re`; its tangent is the derivative times `eps`. The
/// predicates and `classify`/`integer_decode` look at `re`; the special values are constants.
/// Where a function is not differentiable (the kinks of `abs`, `max`, `min`, the jumps of
/// `floor` and friends) the tangent is the one the runtime's rules use: a one-sided or zero
/// derivative, never NaN.
impl<F: Float> Float for Dual<F> {
    fn nan() -> Self {
        Dual::constant(F::nan())
    }
    fn infinity() -> Self {
        Dual::constant(F::infinity())
    }
    fn neg_infinity() -> Self {
        Dual::constant(F::neg_infinity())
    }
    fn neg_zero() -> Self {
        Dual::constant(F::neg_zero())
    }
    fn min_value() -> Self {
        Dual::constant(F::min_value())
    }
    fn min_positive_value() -> Self {
        Dual::constant(F::min_positive_value())
    }
    fn epsilon() -> Self {
        Dual::constant(F::epsilon())
    }
    fn max_value() -> Self {
        Dual::constant(F::max_value())
    }

    #[inline]
    fn is_nan(self) -> bool {
        self.re.is_nan()
    }
    #[inline]
    fn is_infinite(self) -> bool {
        self.re.is_infinite()
    }
    #[inline]
    fn is_finite(self) -> bool {
        self.re.is_finite()
    }
    #[inline]
    fn is_normal(self) -> bool {
        self.re.is_normal()
    }
    #[inline]
    fn is_subnormal(self) -> bool {
        self.re.is_subnormal()
    }
    #[inline]
    fn classify(self) -> FpCategory {
        self.re.classify()
    }
    #[inline]
    fn is_sign_positive(self) -> bool {
        self.re.is_sign_positive()
    }
    #[inline]
    fn is_sign_negative(self) -> bool {
        self.re.is_sign_negative()
    }
    fn integer_decode(self) -> (u64, i16, i8) {
        self.re.integer_decode()
    }

    /// Piecewise constant: tangent 0.
    #[inline]
    fn floor(self) -> Self {
        Dual::constant(self.re.floor())
    }
    /// Piecewise constant: tangent 0.
    #[inline]
    fn ceil(self) -> Self {
        Dual::constant(self.re.ceil())
    }
    /// Piecewise constant: tangent 0.
    #[inline]
    fn round(self) -> Self {
        Dual::constant(self.re.round())
    }
    /// Piecewise constant: tangent 0.
    #[inline]
    fn trunc(self) -> Self {
        Dual::constant(self.re.trunc())
    }
    /// x − trunc x: the tangent passes through.
    #[inline]
    fn fract(self) -> Self {
        Dual::new(self.re.fract(), self.eps)
    }
    /// Tangent sign(x)·ẋ, and 0 at 0.
    #[inline]
    fn abs(self) -> Self {
        let eps = if self.re > F::zero() {
            self.eps
        } else if self.re < F::zero() {
            -self.eps
        } else {
            F::zero()
        };
        Dual::new(self.re.abs(), eps)
    }
    /// Piecewise constant: tangent 0.
    #[inline]
    fn signum(self) -> Self {
        Dual::constant(self.re.signum())
    }
    /// ±x by the sign of `sign`, whose own tangent does not matter.
    #[inline]
    fn copysign(self, sign: Self) -> Self {
        let re = self.re.copysign(sign.re);
        let eps = if self.re.is_sign_negative() == sign.re.is_sign_negative() {
            self.eps
        } else {
            -self.eps
        };
        Dual::new(re, eps)
    }

    /// x·a + b, the value with one rounding.
    #[inline]
    fn mul_add(self, a: Self, b: Self) -> Self {
        let eps = self.eps * a.re + self.re * a.eps + b.eps;
        Dual::new(self.re.mul_add(a.re, b.re), eps)
    }
    #[inline]
    fn recip(self) -> Self {
        let re = self.re.recip();
        Dual::new(re, chain(self.eps, -re * re))
    }
    /// n xⁿ⁻¹ ẋ; xⁿ is constant for n = 0.
    #[inline]
    fn powi(self, n: i32) -> Self {
        let re = self.re.powi(n);
        let eps = match n {
            0 => F::zero(),
            _ => chain(
                self.eps,
                lit::<F>(<f64 as From<i32>>::from(n)) * self.re.powi(n - 1),
            ),
        };
        Dual::new(re, eps)
    }
    /// p xᵖ⁻¹ ẋ + xᵖ ln x ṗ, the second term taken as 0 at x = 0 (as the `powf` rule does).
    #[inline]
    fn powf(self, n: Self) -> Self {
        let re = self.re.powf(n.re);
        let by_base = chain(self.eps, n.re * self.re.powf(n.re - F::one()));
        let by_exponent = match self.re.is_zero() {
            true => F::zero(),
            false => chain(n.eps, re * self.re.ln()),
        };
        Dual::new(re, by_base + by_exponent)
    }
    #[inline]
    fn sqrt(self) -> Self {
        let re = self.re.sqrt();
        Dual::new(re, chain(self.eps, (re + re).recip()))
    }
    #[inline]
    fn cbrt(self) -> Self {
        let re = self.re.cbrt();
        Dual::new(re, chain(self.eps, (lit::<F>(3.0) * re * re).recip()))
    }
    #[inline]
    fn exp(self) -> Self {
        let re = self.re.exp();
        Dual::new(re, chain(self.eps, re))
    }
    #[inline]
    fn exp2(self) -> Self {
        let re = self.re.exp2();
        Dual::new(re, chain(self.eps, re * lit(core::f64::consts::LN_2)))
    }
    #[inline]
    fn exp_m1(self) -> Self {
        let re = self.re.exp_m1();
        Dual::new(re, chain(self.eps, re + F::one()))
    }
    #[inline]
    fn ln(self) -> Self {
        Dual::new(self.re.ln(), chain(self.eps, self.re.recip()))
    }
    #[inline]
    fn ln_1p(self) -> Self {
        Dual::new(
            self.re.ln_1p(),
            chain(self.eps, (F::one() + self.re).recip()),
        )
    }
    /// ln x / ln b, differentiated in both.
    #[inline]
    fn log(self, base: Self) -> Self {
        let quotient = self.ln() / base.ln();
        Dual::new(self.re.log(base.re), quotient.eps)
    }
    #[inline]
    fn log2(self) -> Self {
        let d = (self.re * lit(core::f64::consts::LN_2)).recip();
        Dual::new(self.re.log2(), chain(self.eps, d))
    }
    #[inline]
    fn log10(self) -> Self {
        let d = (self.re * lit(core::f64::consts::LN_10)).recip();
        Dual::new(self.re.log10(), chain(self.eps, d))
    }
    #[inline]
    fn to_degrees(self) -> Self {
        Dual::new(self.re.to_degrees(), self.eps.to_degrees())
    }
    #[inline]
    fn to_radians(self) -> Self {
        Dual::new(self.re.to_radians(), self.eps.to_radians())
    }
    /// The larger by value, with its tangent; a tie, or a NaN `other`, picks `self` (as the
    /// `max` rule does).
    #[inline]
    fn max(self, other: Self) -> Self {
        if self.re >= other.re || other.re.is_nan() {
            self
        } else {
            other
        }
    }
    /// The smaller by value, with its tangent; a tie, or a NaN `other`, picks `self`.
    #[inline]
    fn min(self, other: Self) -> Self {
        if self.re <= other.re || other.re.is_nan() {
            self
        } else {
            other
        }
    }
    /// x − y where x > y, else 0.
    #[allow(deprecated)]
    fn abs_sub(self, other: Self) -> Self {
        let eps = match self.re > other.re {
            true => self.eps - other.eps,
            false => F::zero(),
        };
        Dual::new(self.re.abs_sub(other.re), eps)
    }
    /// (xẋ + yẏ)/√(x² + y²), taken as 0 at the origin.
    #[inline]
    fn hypot(self, other: Self) -> Self {
        let re = self.re.hypot(other.re);
        let eps = match re.is_zero() {
            true => F::zero(),
            false => (self.re * self.eps + other.re * other.eps) / re,
        };
        Dual::new(re, eps)
    }
    #[inline]
    fn sin(self) -> Self {
        Dual::new(self.re.sin(), chain(self.eps, self.re.cos()))
    }
    #[inline]
    fn cos(self) -> Self {
        Dual::new(self.re.cos(), chain(self.eps, -self.re.sin()))
    }
    #[inline]
    fn sin_cos(self) -> (Self, Self) {
        let (sin, cos) = self.re.sin_cos();
        (
            Dual::new(sin, chain(self.eps, cos)),
            Dual::new(cos, chain(self.eps, -sin)),
        )
    }
    #[inline]
    fn tan(self) -> Self {
        let re = self.re.tan();
        Dual::new(re, chain(self.eps, F::one() + re * re))
    }
    #[inline]
    fn asin(self) -> Self {
        let d = (F::one() - self.re * self.re).sqrt().recip();
        Dual::new(self.re.asin(), chain(self.eps, d))
    }
    #[inline]
    fn acos(self) -> Self {
        let d = -(F::one() - self.re * self.re).sqrt().recip();
        Dual::new(self.re.acos(), chain(self.eps, d))
    }
    #[inline]
    fn atan(self) -> Self {
        let d = (F::one() + self.re * self.re).recip();
        Dual::new(self.re.atan(), chain(self.eps, d))
    }
    /// The angle of (x, y) = (other, self): (xẏ − yẋ)/(x² + y²), taken as 0 at the origin.
    #[inline]
    fn atan2(self, other: Self) -> Self {
        let (y, x) = (self.re, other.re);
        let r2 = x * x + y * y;
        let eps = match r2.is_zero() {
            true => F::zero(),
            false => (x * self.eps - y * other.eps) / r2,
        };
        Dual::new(y.atan2(x), eps)
    }
    #[inline]
    fn sinh(self) -> Self {
        Dual::new(self.re.sinh(), chain(self.eps, self.re.cosh()))
    }
    #[inline]
    fn cosh(self) -> Self {
        Dual::new(self.re.cosh(), chain(self.eps, self.re.sinh()))
    }
    #[inline]
    fn tanh(self) -> Self {
        let re = self.re.tanh();
        Dual::new(re, chain(self.eps, F::one() - re * re))
    }
    #[inline]
    fn asinh(self) -> Self {
        let d = (self.re * self.re + F::one()).sqrt().recip();
        Dual::new(self.re.asinh(), chain(self.eps, d))
    }
    #[inline]
    fn acosh(self) -> Self {
        let d = (self.re * self.re - F::one()).sqrt().recip();
        Dual::new(self.re.acosh(), chain(self.eps, d))
    }
    #[inline]
    fn atanh(self) -> Self {
        let d = (F::one() - self.re * self.re).recip();
        Dual::new(self.re.atanh(), chain(self.eps, d))
    }
}

/// Arrays of duals have no vectorized kernels: each element goes through [`Float`]'s exact
/// formulas.
impl<F: FastMath> FastMath for Dual<F> {
    #[inline]
    fn apply(kernel: Kernel, x: Self) -> Self {
        match kernel {
            Kernel::Exp => x.exp(),
            Kernel::Tanh => x.tanh(),
            Kernel::Sigmoid => crate::activations::scalar::sigmoid(x),
        }
    }
    fn map_contiguous(kernel: Kernel, src: &[Self]) -> Vec<Self> {
        src.iter().map(|&x| Self::apply(kernel, x)).collect()
    }
    fn map_in_place(kernel: Kernel, buf: &mut [Self]) {
        buf.iter_mut().for_each(|x| *x = Self::apply(kernel, *x));
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// The plain float types a [`Dual`] is built on: `f32` and `f64`.
pub trait Real: FastMath + sealed::Sealed {}
impl Real for f32 {}
impl Real for f64 {}

/// A constant turned into duals: each float with a zero tangent. Called as a method, so that
/// `x`, `&x` and `&&x` all work.
///
/// ```
/// use autodiff_runtime::dual::{Dual, Lift};
/// use ndarray::array;
///
/// let data = array![[1.0, 2.0]];
/// let lifted = (&data).autodiff_lift();
/// assert_eq!(lifted[[0, 1]].re, 2.0);
/// assert_eq!(lifted[[0, 1]].eps, 0.0);
/// assert_eq!(3.0_f32.autodiff_lift().eps, 0.0);
/// ```
pub trait Lift {
    /// `Dual<F>` for a scalar, an owned array of them for an array.
    type Lifted;
    fn autodiff_lift(&self) -> Self::Lifted;
}

impl<F: Real> Lift for F {
    type Lifted = Dual<F>;
    #[inline(always)]
    fn autodiff_lift(&self) -> Dual<F> {
        Dual::constant(*self)
    }
}

impl<F: Real, S: Data<Elem = F>, D: Dimension> Lift for ArrayBase<S, D> {
    type Lifted = Array<Dual<F>, D>;
    fn autodiff_lift(&self) -> Array<Dual<F>, D> {
        self.mapv(Dual::constant)
    }
}

/// Constant data in a slice (`c: &[f64]` iterated by an elementwise closure), as a vector.
impl<F: Real> Lift for [F] {
    type Lifted = ndarray::Array1<Dual<F>>;
    fn autodiff_lift(&self) -> ndarray::Array1<Dual<F>> {
        self.iter().map(|&v| Dual::constant(v)).collect()
    }
}

impl<F: Real> Lift for Vec<F> {
    type Lifted = ndarray::Array1<Dual<F>>;
    fn autodiff_lift(&self) -> ndarray::Array1<Dual<F>> {
        self.as_slice().autodiff_lift()
    }
}

/// A value turned into duals along a direction: `re` the value, `eps` the tangent, the
/// seed of a Hessian-vector product. Called as a method, so that `x`, `&x` and `&&x` all work.
///
/// ```
/// use autodiff_runtime::dual::Seed;
/// use ndarray::array;
///
/// let x = array![1.0, 2.0];
/// let seeded = x.view().autodiff_seed(&array![0.0, 1.0]);
/// assert_eq!((seeded[1].re, seeded[1].eps), (2.0, 1.0));
/// assert_eq!(2.0_f64.autodiff_seed(&1.0).eps, 1.0);
/// ```
pub trait Seed: Lift {
    /// The tangent's type: the scalar, or an owned array of the same shape.
    type Owned;
    /// The duals `self + ε·tangent`.
    ///
    /// # Panics
    /// If an array's tangent has a different shape, naming both.
    #[track_caller]
    fn autodiff_seed(&self, tangent: &Self::Owned) -> Self::Lifted;
}

impl<F: Real> Seed for F {
    type Owned = F;
    #[inline(always)]
    fn autodiff_seed(&self, tangent: &F) -> Dual<F> {
        Dual::new(*self, *tangent)
    }
}

impl<F: Real, S: Data<Elem = F>, D: Dimension> Seed for ArrayBase<S, D> {
    type Owned = Array<F, D>;
    #[track_caller]
    fn autodiff_seed(&self, tangent: &Array<F, D>) -> Array<Dual<F>, D> {
        if self.shape() != tangent.shape() {
            panic!(
                "autodiff_seed: a value of shape {:?} seeded with a tangent of shape {:?}; both must have the same shape",
                self.shape(),
                tangent.shape()
            );
        }
        ndarray::Zip::from(self)
            .and(tangent)
            .map_collect(|&re, &eps| Dual::new(re, eps))
    }
}

/// The two parts of a dual result: its values ([`autodiff_re`](Unlift::autodiff_re)) and its
/// tangents ([`autodiff_eps`](Unlift::autodiff_eps)), for a scalar, an array of duals, or a
/// tuple of them (a gradient with respect to several parameters).
///
/// ```
/// use autodiff_runtime::dual::{Dual, Unlift};
/// use ndarray::array;
///
/// let g = (Dual::new(1.0, 2.0), array![Dual::new(3.0, 4.0)]);
/// assert_eq!(g.autodiff_re(), (1.0, array![3.0]));
/// assert_eq!(g.autodiff_eps(), (2.0, array![4.0]));
/// ```
pub trait Unlift {
    /// `F` for a dual, an owned array of `F` for an array of duals.
    type Part;
    /// The values.
    fn autodiff_re(&self) -> Self::Part;
    /// The tangents.
    fn autodiff_eps(&self) -> Self::Part;
}

impl<F: Float> Unlift for Dual<F> {
    type Part = F;
    #[inline(always)]
    fn autodiff_re(&self) -> F {
        self.re
    }
    #[inline(always)]
    fn autodiff_eps(&self) -> F {
        self.eps
    }
}

impl<F: Float, S: Data<Elem = Dual<F>>, D: Dimension> Unlift for ArrayBase<S, D> {
    type Part = Array<F, D>;
    fn autodiff_re(&self) -> Array<F, D> {
        self.map(|x| x.re)
    }
    fn autodiff_eps(&self) -> Array<F, D> {
        self.map(|x| x.eps)
    }
}

macro_rules! unlift_tuples {
    ($(($($p:ident $k:tt),+))*) => {$(
        impl<$($p: Unlift),+> Unlift for ($($p,)+) {
            type Part = ($($p::Part,)+);
            fn autodiff_re(&self) -> Self::Part {
                ($(self.$k.autodiff_re(),)+)
            }
            fn autodiff_eps(&self) -> Self::Part {
                ($(self.$k.autodiff_eps(),)+)
            }
        }
    )*};
}

unlift_tuples! {
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, G 5)
    (A 0, B 1, C 2, D 3, E 4, G 5, H 6)
    (A 0, B 1, C 2, D 3, E 4, G 5, H 6, I 7)
    (A 0, B 1, C 2, D 3, E 4, G 5, H 6, I 7, J 8)
    (A 0, B 1, C 2, D 3, E 4, G 5, H 6, I 7, J 8, K 9)
    (A 0, B 1, C 2, D 3, E 4, G 5, H 6, I 7, J 8, K 9, L 10)
    (A 0, B 1, C 2, D 3, E 4, G 5, H 6, I 7, J 8, K 9, L 10, M 11)
    (A 0, B 1, C 2, D 3, E 4, G 5, H 6, I 7, J 8, K 9, L 10, M 11, N 12)
    (A 0, B 1, C 2, D 3, E 4, G 5, H 6, I 7, J 8, K 9, L 10, M 11, N 12, O 13)
    (A 0, B 1, C 2, D 3, E 4, G 5, H 6, I 7, J 8, K 9, L 10, M 11, N 12, O 13, P 14)
    (A 0, B 1, C 2, D 3, E 4, G 5, H 6, I 7, J 8, K 9, L 10, M 11, N 12, O 13, P 14, Q 15)
}
