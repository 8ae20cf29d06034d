//! Elementwise closures, fused: `x.mapv(|v| body)` on a differentiated array. The macro lowers
//! `body` to a per-element program and calls [`forward`] with the code computing, for one
//! element, its value and its partial derivatives: in the element, then in each captured
//! differentiated scalar. One pass over the array gives the result and the partials, which
//! are all the derivative sweeps read: the pullback is `ḡ ⊙ ∂y/∂v` ([`vjp`]), a captured
//! scalar's adjoint `Σ ḡ ⊙ ∂y/∂w` ([`vjp_captured`]), the tangent `ẋ ⊙ ∂y/∂v` ([`jvp`]) plus
//! `ẇ ∂y/∂w` ([`jvp_captured`]).

use ndarray::{Array, ArrayView, Dimension, Zip};
use num_traits::Float;

use crate::value::check_tangent;

/// The result of `f` over every element of `x` and its `N` partials, each an array of `x`'s
/// shape, in one pass.
#[inline]
pub fn forward<A: Copy, D: Dimension, const N: usize>(
    x: ArrayView<'_, A, D>,
    mut f: impl FnMut(A) -> (A, [A; N]),
) -> (Array<A, D>, [Array<A, D>; N]) {
    let len = x.len();
    let mut values = Vec::with_capacity(len);
    let mut partials: [Vec<A>; N] = core::array::from_fn(|_| Vec::with_capacity(len));
    let mut push = |v: A| {
        let (y, d) = f(v);
        values.push(y);
        for (partial, d) in partials.iter_mut().zip(d) {
            partial.push(d);
        }
    };
    // In logical (row-major) order, the order `from_shape_vec` lays the results out in.
    match x.as_slice() {
        Some(slice) => slice.iter().for_each(|&v| push(v)),
        None => x.iter().for_each(|&v| push(v)),
    }
    let shaped = |values: Vec<A>| {
        Array::from_shape_vec(x.raw_dim(), values).expect("one value per element, in order")
    };
    (shaped(values), partials.map(shaped))
}

/// The element's adjoint: `g ⊙ ∂y/∂v`, in g's buffer.
#[inline]
#[track_caller]
pub fn vjp<A: Float, D: Dimension>(partial: &Array<A, D>, mut g: Array<A, D>) -> Array<A, D> {
    crate::value::check_adjoint("mapv", g.shape(), partial.shape());
    Zip::from(&mut g).and(partial).for_each(|g, &d| *g = *g * d);
    g
}

/// A captured scalar's adjoint: `Σ g ⊙ ∂y/∂w`.
#[inline]
#[track_caller]
pub fn vjp_captured<A: Float, D: Dimension>(partial: &Array<A, D>, g: &Array<A, D>) -> A {
    crate::value::check_adjoint("mapv", g.shape(), partial.shape());
    Zip::from(g)
        .and(partial)
        .fold(A::zero(), |sum, &g, &d| sum + g * d)
}

/// The result's tangent from the element's: `t ⊙ ∂y/∂v`, in t's buffer.
#[inline]
#[track_caller]
pub fn jvp<A: Float, D: Dimension>(partial: &Array<A, D>, mut t: Array<A, D>) -> Array<A, D> {
    check_tangent("mapv", t.shape(), partial.shape());
    Zip::from(&mut t).and(partial).for_each(|t, &d| *t = *t * d);
    t
}

/// The result's tangent from a captured scalar's: `t ∂y/∂w`.
#[inline]
pub fn jvp_captured<A: Float, D: Dimension>(partial: &Array<A, D>, t: A) -> Array<A, D> {
    partial.mapv(|d| d * t)
}

/// A differentiated value a closure of `mapv` captures: a scalar.
#[diagnostic::on_unimplemented(
    message = "a closure of `mapv` or `map` may capture differentiated scalars only, not `{Self}`",
    label = "a differentiated array captured by the closure",
    note = "write the operation on the array outside the closure, e.g. `&x * &w` or `x.mapv(|v| v.tanh()) * &w`"
)]
pub trait Captured: Copy {}

impl Captured for f32 {}
impl Captured for f64 {}
impl Captured for crate::dual::Dual<f32> {}
impl Captured for crate::dual::Dual<f64> {}

/// The captured value itself, which must be a scalar ([`Captured`]).
#[inline(always)]
pub fn captured<S: Captured>(value: S) -> S {
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn one_pass_gives_values_and_partials_in_order() {
        let x = array![[1.0, 2.0], [3.0, 4.0]];
        let (y, [d]) = forward(x.t(), |v: f64| (v * v, [2.0 * v]));
        assert_eq!(y, array![[1.0, 9.0], [4.0, 16.0]]);
        assert_eq!(d, array![[2.0, 6.0], [4.0, 8.0]]);
        assert_eq!(
            vjp(&d, array![[1.0, 1.0], [0.5, 0.5]]),
            array![[2.0, 6.0], [2.0, 4.0]]
        );
        assert_eq!(vjp_captured(&d, &array![[1.0, 0.0], [0.0, 1.0]]), 10.0);
    }
}
