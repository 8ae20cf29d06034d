//! Activation functions users call in their own code; the macro knows their derivatives.

use num_traits::Float;

/// The logistic function σ(x) = 1 / (1 + e⁻ˣ), computed without overflow for any `x`.
///
/// ```
/// use autodiff_runtime::sigmoid;
/// assert_eq!(sigmoid(0.0_f64), 0.5);
/// assert!(sigmoid(-1000.0_f64) >= 0.0);
/// ```
#[inline]
pub fn sigmoid<T: Float>(x: T) -> T {
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

/// The rectified linear unit max(x, 0). Its derivative at 0 is taken to be 0, the
/// machine-learning convention of the lectures.
///
/// ```
/// use autodiff_runtime::relu;
/// assert_eq!(relu(-2.0_f64), 0.0);
/// assert_eq!(relu(3.0_f64), 3.0);
/// ```
#[inline]
pub fn relu<T: Float>(x: T) -> T {
    if x > T::zero() {
        x
    } else {
        T::zero()
    }
}

/// softplus(x) = ln(1 + eˣ), a smooth relu, computed stably as max(x, 0) + ln(1 + e^−|x|).
///
/// ```
/// use autodiff_runtime::softplus;
/// assert!((softplus(0.0_f64) - 2.0_f64.ln()).abs() < 1e-15);
/// assert_eq!(softplus(1000.0_f64), 1000.0);
/// ```
#[inline]
pub fn softplus<T: Float>(x: T) -> T {
    relu(x) + (-x.abs()).exp().ln_1p()
}
