//! Variance and standard deviation, over the whole array (`x.var(ddof)`, `x.std(ddof)`) and
//! along an axis (`x.var_axis(Axis(k), ddof)`, `x.std_axis(Axis(k), ddof)`), as ndarray
//! defines them: Σ (xᵢ − μ)² / (n − ddof), with `ddof` a constant (0 for the population
//! variance, 1 for the sample variance).
//!
//! ∂var/∂xᵢ = 2 (xᵢ − μ) / (n − ddof) (the mean's own dependence on xᵢ cancels, as the
//! deviations sum to zero), and ∂std/∂xᵢ = (xᵢ − μ) / ((n − ddof) std). Where the standard
//! deviation is 0 (all elements equal) its derivative is taken to be 0, the subgradient of
//! √· at 0 that keeps the gradient finite, as PyTorch's `std` does not.

use ndarray::{Array, ArrayView, Axis, RemoveAxis};
use num_traits::Float;

use crate::value::len_as;

/// n − ddof, after checking that ndarray's `var` accepts them.
#[track_caller]
fn denominator<A: Float>(op: &str, n: usize, ddof: A, shape: &[usize]) -> A {
    let n_as: A = len_as(n);
    if !(ddof >= A::zero() && ddof < n_as) {
        panic!(
            "{op}: ddof {:?} must be at least 0 and below the number of elements reduced, {n} (the array's shape is {shape:?})",
            ddof.to_f64().unwrap_or(f64::NAN)
        );
    }
    n_as - ddof
}

/// The deviations xᵢ − μ along `axis` (all axes for `None`), and n − ddof.
#[track_caller]
fn deviations<A: Float, D: RemoveAxis>(
    op: &str,
    x: &ArrayView<'_, A, D>,
    axis: Option<Axis>,
    ddof: A,
) -> (Array<A, D>, A) {
    match axis {
        None => {
            let n = denominator(op, x.len(), ddof, x.shape());
            let mean = x.sum() / len_as(x.len());
            (x.mapv(|v| v - mean), n)
        }
        Some(axis) => {
            crate::value::check_axis(op, axis, x.shape());
            let count = x.len_of(axis);
            let n = denominator(op, count, ddof, x.shape());
            let mean = x.sum_axis(axis).mapv(|s| s / len_as(count));
            (x - &unreduce::<A, D>(mean, axis), n)
        }
    }
}

/// A reduction along `axis` with that axis put back (of length 1), to broadcast against
/// the input.
fn unreduce<A, D: RemoveAxis>(reduced: Array<A, D::Smaller>, axis: Axis) -> Array<A, D> {
    reduced
        .insert_axis(axis)
        .into_dimensionality()
        .expect("a reduction's dimension plus one is the input's")
}

/// The variance of all of `x`, for the operation `op`.
#[track_caller]
fn variance<A: Float, D: RemoveAxis>(op: &str, x: ArrayView<'_, A, D>, ddof: A) -> A {
    let (d, n) = deviations(op, &x, None, ddof);
    d.iter().fold(A::zero(), |s, &d| s + d * d) / n
}

/// The variance along `axis`, for the operation `op`.
#[track_caller]
fn variance_along<A: Float, D: RemoveAxis>(
    op: &str,
    x: ArrayView<'_, A, D>,
    axis: Axis,
    ddof: A,
) -> Array<A, D::Smaller> {
    let (d, n) = deviations(op, &x, Some(axis), ddof);
    d.mapv(|d| d * d).sum_axis(axis).mapv(|s| s / n)
}

/// The pullback of a whole-array moment: the deviations times `scale(n − ddof)`.
#[track_caller]
fn scaled_deviations<A: Float, D: RemoveAxis>(
    op: &str,
    x: &ArrayView<'_, A, D>,
    ddof: A,
    scale: impl FnOnce(A) -> A,
) -> Array<A, D> {
    let (d, n) = deviations(op, x, None, ddof);
    let scale = scale(n);
    d.mapv(|d| d * scale)
}

/// Forward mode of a whole-array moment: Σ (xᵢ − μ) tᵢ, and n − ddof.
#[track_caller]
fn deviations_dot<A: Float, D: RemoveAxis>(
    op: &str,
    x: &ArrayView<'_, A, D>,
    ddof: A,
    t: &Array<A, D>,
) -> (A, A) {
    crate::value::check_tangent(op, t.shape(), x.shape());
    let (d, n) = deviations(op, x, None, ddof);
    (d.iter().zip(t).fold(A::zero(), |s, (&d, &t)| s + d * t), n)
}

/// ∂std/∂xᵢ's factor 1/std, with 1/0 taken as 0.
fn inverse_or_zero<A: Float>(s: A) -> A {
    match s == A::zero() {
        true => A::zero(),
        false => s.recip(),
    }
}

/// `g` (one value per reduced line) put back along `axis` and multiplied into `deviations`.
fn spread_times<A: Float, D: RemoveAxis>(
    deviations: Array<A, D>,
    axis: Axis,
    g: Array<A, D::Smaller>,
) -> Array<A, D> {
    deviations * &unreduce::<A, D>(g, axis)
}

/// `x.var(ddof)`
pub mod var {
    use super::*;

    #[inline]
    #[track_caller]
    pub fn forward<A: Float, D: RemoveAxis>(x: ArrayView<'_, A, D>, ddof: A) -> A {
        variance("var", x, ddof)
    }
    #[inline]
    #[track_caller]
    pub fn vjp0<A: Float, D: RemoveAxis>(
        x: ArrayView<'_, A, D>,
        ddof: A,
        _y: &A,
        g: A,
    ) -> Array<A, D> {
        scaled_deviations("var", &x, ddof, |n| (g + g) / n)
    }
    #[inline]
    #[track_caller]
    pub fn jvp0<A: Float, D: RemoveAxis>(
        x: ArrayView<'_, A, D>,
        ddof: A,
        _y: &A,
        t: Array<A, D>,
    ) -> A {
        let (dot, n) = deviations_dot("var", &x, ddof, &t);
        (dot + dot) / n
    }
}

/// `x.std(ddof)`
pub mod std {
    use super::*;

    #[inline]
    #[track_caller]
    pub fn forward<A: Float, D: RemoveAxis>(x: ArrayView<'_, A, D>, ddof: A) -> A {
        variance("std", x, ddof).sqrt()
    }
    #[inline]
    #[track_caller]
    pub fn vjp0<A: Float, D: RemoveAxis>(
        x: ArrayView<'_, A, D>,
        ddof: A,
        y: &A,
        g: A,
    ) -> Array<A, D> {
        scaled_deviations("std", &x, ddof, |n| g * inverse_or_zero(*y) / n)
    }
    #[inline]
    #[track_caller]
    pub fn jvp0<A: Float, D: RemoveAxis>(
        x: ArrayView<'_, A, D>,
        ddof: A,
        y: &A,
        t: Array<A, D>,
    ) -> A {
        let (dot, n) = deviations_dot("std", &x, ddof, &t);
        dot * inverse_or_zero(*y) / n
    }
}

/// `x.var_axis(Axis(k), ddof)`
pub mod var_axis {
    use super::*;

    #[inline]
    #[track_caller]
    pub fn forward<A: Float, D: RemoveAxis>(
        x: ArrayView<'_, A, D>,
        axis: Axis,
        ddof: A,
    ) -> Array<A, D::Smaller> {
        variance_along("var_axis", x, axis, ddof)
    }
    #[inline]
    #[track_caller]
    pub fn vjp0<A: Float, D: RemoveAxis>(
        x: ArrayView<'_, A, D>,
        axis: Axis,
        ddof: A,
        y: &Array<A, D::Smaller>,
        g: Array<A, D::Smaller>,
    ) -> Array<A, D> {
        crate::value::check_adjoint("var_axis", g.shape(), y.shape());
        let (d, n) = deviations("var_axis", &x, Some(axis), ddof);
        let two_over_n = (A::one() + A::one()) / n;
        spread_times(d, axis, g.mapv(|g| g * two_over_n))
    }
    #[inline]
    #[track_caller]
    pub fn jvp0<A: Float, D: RemoveAxis>(
        x: ArrayView<'_, A, D>,
        axis: Axis,
        ddof: A,
        _y: &Array<A, D::Smaller>,
        t: Array<A, D>,
    ) -> Array<A, D::Smaller> {
        crate::value::check_tangent("var_axis", t.shape(), x.shape());
        let (d, n) = deviations("var_axis", &x, Some(axis), ddof);
        let two_over_n = (A::one() + A::one()) / n;
        (d * &t).sum_axis(axis).mapv(|s| s * two_over_n)
    }
}

/// `x.std_axis(Axis(k), ddof)`
pub mod std_axis {
    use super::*;

    #[inline]
    #[track_caller]
    pub fn forward<A: Float, D: RemoveAxis>(
        x: ArrayView<'_, A, D>,
        axis: Axis,
        ddof: A,
    ) -> Array<A, D::Smaller> {
        variance_along("std_axis", x, axis, ddof).mapv(A::sqrt)
    }
    #[inline]
    #[track_caller]
    pub fn vjp0<A: Float, D: RemoveAxis>(
        x: ArrayView<'_, A, D>,
        axis: Axis,
        ddof: A,
        y: &Array<A, D::Smaller>,
        g: Array<A, D::Smaller>,
    ) -> Array<A, D> {
        crate::value::check_adjoint("std_axis", g.shape(), y.shape());
        let (d, n) = deviations("std_axis", &x, Some(axis), ddof);
        let scale = ndarray::Zip::from(&g)
            .and(y)
            .map_collect(|&g, &s| g * inverse_or_zero(s) / n);
        spread_times(d, axis, scale)
    }
    #[inline]
    #[track_caller]
    pub fn jvp0<A: Float, D: RemoveAxis>(
        x: ArrayView<'_, A, D>,
        axis: Axis,
        ddof: A,
        y: &Array<A, D::Smaller>,
        t: Array<A, D>,
    ) -> Array<A, D::Smaller> {
        crate::value::check_tangent("std_axis", t.shape(), x.shape());
        let (d, n) = deviations("std_axis", &x, Some(axis), ddof);
        let dot = (d * &t).sum_axis(axis);
        ndarray::Zip::from(&dot)
            .and(y)
            .map_collect(|&dot, &s| dot * inverse_or_zero(s) / n)
    }
}
