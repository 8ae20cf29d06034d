//! What the generated adjoint code needs of a value: a zero and a one of the same kind, and
//! accumulation of contributions that reach one variable along several paths (fan-out).

/// A value the generated derivative code can seed and accumulate.
pub trait Tangent: Sized {
    /// A zero of the same kind (and, for tensors, shape): the gradient of an unused input.
    fn zero_like(&self) -> Self;
    /// A one of the same kind: the seed v̄ₗ = ∂y/∂y of the adjoint sweep.
    fn one_like(&self) -> Self;
    /// `self + contribution`: the multivariate chain rule's sum at fan-out.
    fn accumulate(self, contribution: Self) -> Self;
}

macro_rules! scalar_tangent {
    ($($t:ty),*) => {$(
        impl Tangent for $t {
            #[inline(always)]
            fn zero_like(&self) -> Self {
                0.0
            }
            #[inline(always)]
            fn one_like(&self) -> Self {
                1.0
            }
            #[inline(always)]
            fn accumulate(self, contribution: Self) -> Self {
                self + contribution
            }
        }
    )*};
}

scalar_tangent!(f32, f64);
