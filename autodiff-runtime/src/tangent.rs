//! What the generated adjoint code needs of a value: a one of the same kind (the seed), and
//! accumulation of contributions that reach one variable along several paths (fan-out).

use ndarray::{Array, Dimension};
use num_traits::{Float, One};

use crate::dual::Dual;

/// A value the generated derivative code can seed and accumulate: a scalar or an owned array.
pub trait Tangent: Sized {
    /// A one of the same kind: the seed v̄ₗ = ∂y/∂y of the adjoint sweep.
    fn one_like(&self) -> Self;
    /// `self + contribution`: the multivariate chain rule's sum at fan-out, in place for
    /// arrays.
    fn accumulate(self, contribution: Self) -> Self;
    /// `−self`, in place for arrays.
    fn negate(self) -> Self;
    /// A copy, for an adjoint that more than one pullback consumes.
    fn duplicate(&self) -> Self;
    /// The shape of an array, `[]` for a scalar: what the rules check a caller's tangent or
    /// cotangent against.
    #[inline(always)]
    fn tangent_shape(&self) -> &[usize] {
        &[]
    }
}

macro_rules! scalar_tangent {
    ($($t:ty),*) => {$(
        impl Tangent for $t {
            #[inline(always)]
            fn one_like(&self) -> Self {
                <$t as One>::one()
            }
            #[inline(always)]
            fn accumulate(self, contribution: Self) -> Self {
                self + contribution
            }
            #[inline(always)]
            fn negate(self) -> Self {
                -self
            }
            #[inline(always)]
            fn duplicate(&self) -> Self {
                *self
            }
        }
    )*};
}

// A dual's one is 1 + 0ε: the seed is a constant.
scalar_tangent!(f32, f64, Dual<f32>, Dual<f64>);

impl<A: Float, D: Dimension> Tangent for Array<A, D> {
    fn one_like(&self) -> Self {
        Array::ones(self.raw_dim())
    }
    #[track_caller]
    fn accumulate(mut self, contribution: Self) -> Self {
        crate::value::same_shape("accumulate", self.shape(), contribution.shape());
        self.zip_mut_with(&contribution, |s, &c| *s = *s + c);
        self
    }
    fn negate(mut self) -> Self {
        self.mapv_inplace(|x| -x);
        self
    }
    fn duplicate(&self) -> Self {
        self.clone()
    }
    #[inline]
    fn tangent_shape(&self) -> &[usize] {
        self.shape()
    }
}

/// A contribution multiplied by a scalar adjoint `g`: how the adjoint of a loop fused from a
/// seed of one is scaled to the real seed once it is known (the contributions are linear in
/// it). In place for arrays.
pub trait Scaled<S> {
    fn scaled(self, g: S) -> Self;
}

macro_rules! scalar_scaled {
    ($($t:ty),*) => {$(
        impl Scaled<$t> for $t {
            #[inline(always)]
            fn scaled(self, g: $t) -> Self {
                self * g
            }
        }
    )*};
}

scalar_scaled!(f32, f64, Dual<f32>, Dual<f64>);

impl<A: Float, D: Dimension> Scaled<A> for Array<A, D> {
    fn scaled(mut self, g: A) -> Self {
        self.mapv_inplace(|v| v * g);
        self
    }
}

/// [`Scaled::scaled`] as a function, for the generated code.
#[inline(always)]
pub fn scaled<T: Scaled<S>, S>(contribution: T, g: S) -> T {
    contribution.scaled(g)
}
