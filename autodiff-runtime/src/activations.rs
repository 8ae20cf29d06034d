//! Activation functions users call in their own code, on scalars and arrays alike; the macro
//! knows their derivatives.

use ndarray::{Array, ArrayBase, Data, Dimension};

use crate::dual::Dual;
use crate::fast::{FastMath, Kernel};
use crate::value::Map;

/// What an elementwise function applies to: a scalar, or an array taken by value or by
/// reference (`sigmoid(&u)` and `sigmoid(x.dot(&w) + &b)` both work).
pub trait Elementwise {
    type Elem: FastMath;
    /// The result: a scalar, or an owned array of the same shape.
    type Output;
    fn map_elements(self, f: impl Fn(Self::Elem) -> Self::Elem) -> Self::Output;
    /// `exact` for a scalar, the vectorized `kernel` for an array (as the derivative rules
    /// compute it, so that the original and its gradient return the same value).
    fn map_kernel(self, exact: impl Fn(Self::Elem) -> Self::Elem, _kernel: Kernel) -> Self::Output
    where
        Self: Sized,
    {
        self.map_elements(exact)
    }
}

impl Elementwise for f32 {
    type Elem = f32;
    type Output = f32;
    #[inline]
    fn map_elements(self, f: impl Fn(f32) -> f32) -> f32 {
        f(self)
    }
}

impl Elementwise for f64 {
    type Elem = f64;
    type Output = f64;
    #[inline]
    fn map_elements(self, f: impl Fn(f64) -> f64) -> f64 {
        f(self)
    }
}

/// Duals, so that the activations also run in forward-over-reverse code.
impl<F: FastMath> Elementwise for Dual<F> {
    type Elem = Dual<F>;
    type Output = Dual<F>;
    #[inline]
    fn map_elements(self, f: impl Fn(Dual<F>) -> Dual<F>) -> Dual<F> {
        f(self)
    }
}

impl<A: FastMath, S: Data<Elem = A>, D: Dimension> Elementwise for ArrayBase<S, D> {
    type Elem = A;
    type Output = Array<A, D>;
    #[inline]
    fn map_elements(self, f: impl Fn(A) -> A) -> Array<A, D> {
        self.mapv(f)
    }
    #[inline]
    fn map_kernel(self, exact: impl Fn(A) -> A, kernel: Kernel) -> Array<A, D> {
        Map::map_kernel(self.view(), exact, kernel)
    }
}

impl<A: FastMath, S: Data<Elem = A>, D: Dimension> Elementwise for &ArrayBase<S, D> {
    type Elem = A;
    type Output = Array<A, D>;
    #[inline]
    fn map_elements(self, f: impl Fn(A) -> A) -> Array<A, D> {
        self.mapv(f)
    }
    #[inline]
    fn map_kernel(self, exact: impl Fn(A) -> A, kernel: Kernel) -> Array<A, D> {
        Map::map_kernel(self.view(), exact, kernel)
    }
}

/// The logistic function σ(x) = 1 / (1 + e⁻ˣ), computed without overflow for any `x`,
/// elementwise on arrays.
///
/// ```
/// use autodiff_runtime::sigmoid;
/// use ndarray::array;
/// assert_eq!(sigmoid(0.0_f64), 0.5);
/// assert!(sigmoid(-1000.0_f64) >= 0.0);
/// assert_eq!(sigmoid(&array![0.0, 0.0]), array![0.5, 0.5]);
/// ```
#[inline]
pub fn sigmoid<X: Elementwise>(x: X) -> X::Output {
    x.map_kernel(scalar::sigmoid, Kernel::Sigmoid)
}

/// The rectified linear unit max(x, 0), elementwise on arrays. Its derivative at 0 is taken
/// to be 0, the machine-learning convention of the lectures. NaN stays NaN (as in PyTorch),
/// where `f64::max` would turn it into 0.
///
/// ```
/// use autodiff_runtime::relu;
/// assert_eq!(relu(-2.0_f64), 0.0);
/// assert_eq!(relu(3.0_f64), 3.0);
/// assert!(relu(f64::NAN).is_nan());
/// ```
#[inline]
pub fn relu<X: Elementwise>(x: X) -> X::Output {
    x.map_elements(scalar::relu)
}

/// softplus(x) = ln(1 + eˣ), a smooth relu, computed stably as max(x, 0) + ln(1 + e^−|x|),
/// elementwise on arrays.
///
/// ```
/// use autodiff_runtime::softplus;
/// assert!((softplus(0.0_f64) - 2.0_f64.ln()).abs() < 1e-15);
/// assert_eq!(softplus(1000.0_f64), 1000.0);
/// ```
#[inline]
pub fn softplus<X: Elementwise>(x: X) -> X::Output {
    x.map_elements(scalar::softplus)
}

/// The scalar formulas, shared with the derivative rules.
pub(crate) mod scalar {
    use num_traits::Float;

    #[inline(always)]
    pub fn sigmoid<T: Float>(x: T) -> T {
        if x >= T::zero() {
            T::one() / (T::one() + (-x).exp())
        } else {
            let e = x.exp();
            e / (T::one() + e)
        }
    }

    /// max(x, 0), with NaN passed through (`x <= 0` is false for NaN).
    #[inline(always)]
    pub fn relu<T: Float>(x: T) -> T {
        if x <= T::zero() {
            T::zero()
        } else {
            x
        }
    }

    /// relu′: 1 above 0, 0 at and below 0 (the lectures' relu′(0) = 0), NaN at NaN.
    #[inline(always)]
    pub fn relu_derivative<T: Float>(x: T) -> T {
        if x > T::zero() {
            T::one()
        } else if x <= T::zero() {
            T::zero()
        } else {
            x
        }
    }

    #[inline(always)]
    pub fn softplus<T: Float>(x: T) -> T {
        relu(x) + (-x.abs()).exp().ln_1p()
    }
}
