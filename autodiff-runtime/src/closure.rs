//! Elementwise closures, fused: `x.mapv(|v| body)` on a differentiated array. The macro lowers
//! `body` to a per-element program and calls [`forward`] with the code computing, for one
//! element, its value and its partial derivatives: in the element, then in each captured
//! differentiated scalar. One pass over the array gives the result and the partials, which
//! are all the derivative sweeps read: the pullback is `ḡ ⊙ ∂y/∂v` ([`vjp`]), a captured
//! scalar's adjoint `Σ ḡ ⊙ ∂y/∂w` ([`vjp_captured`]), the tangent `ẋ ⊙ ∂y/∂v` ([`jvp`]) plus
//! `ẇ ∂y/∂w` ([`jvp_captured`]).

use ndarray::{Array, ArrayView, Dimension, Zip};
use num_traits::{Float, Zero};

use rayon::prelude::*;

use crate::parallel::{split, zip_on_cores, MIN_PARALLEL_LEN};
use crate::value::check_tangent;

/// The result of `f` over every element of the `M` arrays `xs` (one shape; `M` is 1 for
/// `mapv`, more for a `Zip`) and its `N` partials, each an array of that shape, in one pass.
#[inline]
#[track_caller]
pub fn forward<A: Copy + Zero, D: Dimension, const M: usize, const N: usize>(
    xs: [ArrayView<'_, A, D>; M],
    mut f: impl FnMut([A; M]) -> (A, [A; N]),
) -> (Array<A, D>, [Array<A, D>; N]) {
    let shape = same_shapes(&xs);
    // Zeroed buffers in standard layout (fresh pages, zero already), written in logical
    // order: the order of `x.iter()`.
    let mut values = Array::zeros(shape.clone());
    let mut partials: [Array<A, D>; N] = core::array::from_fn(|_| Array::zeros(shape.clone()));
    let ys = values.as_slice_mut().expect("a fresh array is contiguous");
    let mut ds = partials.each_mut().map(|d| {
        d.as_slice_mut()
            .expect("a fresh array is contiguous")
            .iter_mut()
    });
    let mut write = |y: &mut A, v: [A; M]| {
        let (value, d) = f(v);
        *y = value;
        for (out, d) in ds.iter_mut().zip(d) {
            if let Some(out) = out.next() {
                *out = d;
            }
        }
    };
    match (M, xs[0].as_slice()) {
        (1, Some(x)) => ys.iter_mut().zip(x).for_each(|(y, &v)| write(y, [v; M])),
        _ => {
            let mut iters = xs.each_ref().map(|x| x.iter());
            for y in ys.iter_mut() {
                let v = iters.each_mut().map(|it| *it.next().expect("one shape"));
                write(y, v);
            }
        }
    }
    (values, partials)
}

/// [`forward`] where only sums are kept (`x.mapv(f).sum()`): `(Σ f, the partials in the
/// elements, each an array, Σ of every partial)`. No array of values is made, and the
/// partials in captured scalars (all but the first `M`), which are only ever summed, are
/// summed in the pass.
#[inline]
#[track_caller]
pub fn forward_sum<A: Copy + Zero, D: Dimension, const M: usize, const N: usize>(
    xs: [ArrayView<'_, A, D>; M],
    mut f: impl FnMut([A; M]) -> (A, [A; N]),
) -> (A, [Array<A, D>; M], [A; N]) {
    let shape = same_shapes(&xs);
    let mut partials: [Array<A, D>; M] = core::array::from_fn(|_| Array::zeros(shape.clone()));
    let mut ds = partials.each_mut().map(|d| {
        d.as_slice_mut()
            .expect("a fresh array is contiguous")
            .iter_mut()
    });
    let (mut sum, mut sums) = (A::zero(), [A::zero(); N]);
    let mut add = |v: [A; M]| {
        let (value, d) = f(v);
        sum = sum + value;
        for (out, d) in ds.iter_mut().zip(d) {
            if let Some(out) = out.next() {
                *out = d;
            }
        }
        for (total, d) in sums.iter_mut().zip(d) {
            *total = *total + d;
        }
    };
    match (M, xs[0].as_slice()) {
        (1, Some(x)) => x.iter().for_each(|&v| add([v; M])),
        _ => {
            let mut iters = xs.each_ref().map(|x| x.iter());
            for _ in 0..shape.size() {
                add(iters.each_mut().map(|it| *it.next().expect("one shape")));
            }
        }
    }
    (sum, partials, sums)
}

/// [`forward_sum`] of one long contiguous array in chunks on rayon's pool: each chunk's
/// sums, then their sums in order (the same on every run).
fn forward_sum_on_cores<A, D, F, const N: usize>(
    x: ArrayView<'_, A, D>,
    f: F,
) -> (A, [Array<A, D>; 1], [A; N])
where
    A: Copy + Zero + Send + Sync,
    D: Dimension,
    F: Fn(A) -> (A, [A; N]) + Sync,
{
    let len = x.len();
    let Some(xs) = x.as_slice().filter(|_| split(len)) else {
        return forward_sum([x], |[v]| f(v));
    };
    let mut partial = Array::zeros(x.raw_dim());
    let chunk = len
        .div_ceil(rayon::current_num_threads())
        .max(MIN_PARALLEL_LEN / 2);
    let jobs: Vec<(&mut [A], &[A])> = partial
        .as_slice_mut()
        .expect("a fresh array is contiguous")
        .chunks_mut(chunk)
        .zip(xs.chunks(chunk))
        .collect();
    let chunks: Vec<(A, [A; N])> = jobs
        .into_par_iter()
        .map(|(ds, xs)| {
            let (mut sum, mut sums) = (A::zero(), [A::zero(); N]);
            for (out, &v) in ds.iter_mut().zip(xs) {
                let (value, d) = f(v);
                sum = sum + value;
                *out = d[0];
                for (total, d) in sums.iter_mut().zip(d) {
                    *total = *total + d;
                }
            }
            (sum, sums)
        })
        .collect();
    let (sum, sums) = chunks.into_iter().fold(
        (A::zero(), [A::zero(); N]),
        |(sum, mut sums), (chunk_sum, chunk_sums)| {
            for (total, s) in sums.iter_mut().zip(chunk_sums) {
                *total = *total + s;
            }
            (sum + chunk_sum, sums)
        },
    );
    (sum, [partial], sums)
}

/// The arrays' common shape; a panic naming every shape where they differ.
#[track_caller]
fn same_shapes<A, D: Dimension, const M: usize>(xs: &[ArrayView<'_, A, D>; M]) -> D {
    let first = xs[0].raw_dim();
    if xs.iter().any(|x| x.raw_dim() != first) {
        let shapes: Vec<&[usize]> = xs.iter().map(|x| x.shape()).collect();
        panic!("Zip: the arrays' shapes {shapes:?} differ; Zip maps arrays of one shape");
    }
    first
}

/// The constants an elementwise closure reads, by reference: whether they can be shared
/// between threads decides whether the closure runs on every core. The generated code calls
/// `(&Env(&constants)).autodiff_cores()` with [`Shared`] and [`Unshared`] in scope, and
/// method resolution takes the first whose bounds hold: [`Cores`] or [`OneCore`], each a
/// [`Run`] of the closure.
pub struct Env<'a, E>(pub &'a E);

/// Run on every core.
pub struct Cores;
/// Run on one core.
pub struct OneCore;

pub trait Shared {
    fn autodiff_cores(&self) -> Cores;
}

impl<E: Sync> Shared for Env<'_, E> {
    #[inline(always)]
    fn autodiff_cores(&self) -> Cores {
        Cores
    }
}

pub trait Unshared {
    fn autodiff_cores(&self) -> OneCore;
}

impl<E> Unshared for &Env<'_, E> {
    #[inline(always)]
    fn autodiff_cores(&self) -> OneCore {
        OneCore
    }
}

/// The `M` arrays a closure maps together, one shape.
pub type Views<'a, A, D, const M: usize> = [ArrayView<'a, A, D>; M];

/// What [`forward_sum`] returns: the sum, the partials in the elements, every partial's sum.
pub type Sums<A, D, const M: usize, const N: usize> = (A, [Array<A, D>; M], [A; N]);

/// [`forward`] and [`forward_sum`] where [`Env`] decided.
pub trait Run<A, F, const M: usize, const N: usize> {
    #[track_caller]
    fn run<D: Dimension>(self, xs: Views<'_, A, D, M>, f: F) -> (Array<A, D>, [Array<A, D>; N]);
    #[track_caller]
    fn run_sum<D: Dimension>(self, xs: Views<'_, A, D, M>, f: F) -> Sums<A, D, M, N>;
}

impl<A, F, const M: usize, const N: usize> Run<A, F, M, N> for Cores
where
    A: Copy + Zero + Send + Sync,
    F: Fn([A; M]) -> (A, [A; N]) + Sync,
{
    #[inline]
    fn run<D: Dimension>(self, xs: Views<'_, A, D, M>, f: F) -> (Array<A, D>, [Array<A, D>; N]) {
        // One array in chunks on every core; several zipped on one.
        match M {
            1 => forward_on_cores(xs[0].clone(), |v| f([v; M])),
            _ => forward(xs, f),
        }
    }
    #[inline]
    fn run_sum<D: Dimension>(self, xs: Views<'_, A, D, M>, f: F) -> Sums<A, D, M, N> {
        match M {
            1 => {
                let (sum, [partial], sums) = forward_sum_on_cores(xs[0].clone(), |v| f([v; M]));
                let mut partial = Some(partial);
                let partials = core::array::from_fn(|_| partial.take().expect("M is 1"));
                (sum, partials, sums)
            }
            _ => forward_sum(xs, f),
        }
    }
}

impl<A, F, const M: usize, const N: usize> Run<A, F, M, N> for OneCore
where
    A: Copy + Zero,
    F: Fn([A; M]) -> (A, [A; N]),
{
    #[inline]
    fn run<D: Dimension>(self, xs: Views<'_, A, D, M>, f: F) -> (Array<A, D>, [Array<A, D>; N]) {
        forward(xs, f)
    }
    #[inline]
    fn run_sum<D: Dimension>(self, xs: Views<'_, A, D, M>, f: F) -> Sums<A, D, M, N> {
        forward_sum(xs, f)
    }
}

/// A chunk of the values, the same chunk of each partial, and of the elements.
type Job<'a, A, const N: usize> = (&'a mut [A], [&'a mut [A]; N], &'a [A]);

/// [`forward`] in chunks on rayon's pool, for a long contiguous `x`.
fn forward_on_cores<A, D, F, const N: usize>(
    x: ArrayView<'_, A, D>,
    f: F,
) -> (Array<A, D>, [Array<A, D>; N])
where
    A: Copy + Zero + Send + Sync,
    D: Dimension,
    F: Fn(A) -> (A, [A; N]) + Sync,
{
    let len = x.len();
    let Some(xs) = x.as_slice().filter(|_| split(len)) else {
        return forward([x], |[v]| f(v));
    };
    let mut values = Array::zeros(x.raw_dim());
    let mut partials: [Array<A, D>; N] = core::array::from_fn(|_| Array::zeros(x.raw_dim()));
    let chunk = len
        .div_ceil(rayon::current_num_threads())
        .max(MIN_PARALLEL_LEN / 2);
    let mut partial_chunks = partials.each_mut().map(|d| {
        d.as_slice_mut()
            .expect("a fresh array is contiguous")
            .chunks_mut(chunk)
    });
    // Every chunk of the values with the same chunk of each partial and of x.
    let jobs: Vec<Job<'_, A, N>> = values
        .as_slice_mut()
        .expect("a fresh array is contiguous")
        .chunks_mut(chunk)
        .zip(xs.chunks(chunk))
        .map(|(ys, xs)| {
            let ds = partial_chunks
                .each_mut()
                .map(|chunks| chunks.next().expect("as many chunks as the values"));
            (ys, ds, xs)
        })
        .collect();
    jobs.into_par_iter().for_each(|(ys, mut ds, xs)| {
        for (k, (y, &v)) in ys.iter_mut().zip(xs).enumerate() {
            let (value, d) = f(v);
            *y = value;
            for (out, d) in ds.iter_mut().zip(d) {
                out[k] = d;
            }
        }
    });
    (values, partials)
}

/// The element's adjoint: `g ⊙ ∂y/∂v`, in g's buffer.
#[inline]
#[track_caller]
pub fn vjp<A: Float + Send + Sync, D: Dimension>(
    partial: &Array<A, D>,
    g: Array<A, D>,
) -> Array<A, D> {
    crate::value::check_adjoint("mapv", g.shape(), partial.shape());
    times(partial, g)
}

/// `t ⊙ partial`, in t's buffer, on every core when long.
#[inline]
fn times<A: Float + Send + Sync, D: Dimension>(
    partial: &Array<A, D>,
    mut t: Array<A, D>,
) -> Array<A, D> {
    let len = t.len();
    zip_on_cores!(
        Zip::from(&mut t).and(partial),
        len,
        for_each / par_for_each,
        |t, &d| *t = *t * d
    );
    t
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
pub fn jvp<A: Float + Send + Sync, D: Dimension>(
    partial: &Array<A, D>,
    t: Array<A, D>,
) -> Array<A, D> {
    check_tangent("mapv", t.shape(), partial.shape());
    times(partial, t)
}

/// The result's tangent from a captured scalar's: `t ∂y/∂w`.
#[inline]
pub fn jvp_captured<A: Float, D: Dimension>(partial: &Array<A, D>, t: A) -> Array<A, D> {
    partial.mapv(|d| d * t)
}

/// Of a summed map (`x.mapv(f).sum()`), whose adjoint `g` is a scalar: the element's
/// adjoint `g ∂y/∂v`.
#[inline]
pub fn vjp_summed<A: Float + Send + Sync, D: Dimension>(
    partial: &Array<A, D>,
    g: A,
) -> Array<A, D> {
    let mut out = Array::zeros(partial.raw_dim());
    let len = out.len();
    zip_on_cores!(
        Zip::from(&mut out).and(partial),
        len,
        for_each / par_for_each,
        |o, &d| *o = d * g
    );
    out
}

/// [`vjp_summed`] written in the partials' own buffer, for a sweep that reads them once
/// (`f_vjp`; a Jacobian's or a Hessian's sweeps read them again).
#[inline]
pub fn vjp_summed_in_place<A: Float + Send + Sync, D: Dimension>(
    mut partial: Array<A, D>,
    g: A,
) -> Array<A, D> {
    let len = partial.len();
    zip_on_cores!(Zip::from(&mut partial), len, for_each / par_for_each, |d| {
        *d = *d * g
    });
    partial
}

/// Of a summed map: a captured scalar's adjoint, `g Σ ∂y/∂w` (the sum made in the pass).
#[inline(always)]
pub fn vjp_captured_summed<A: Float>(partial_sum: &A, g: A) -> A {
    g * *partial_sum
}

/// Of a summed map: the sum's tangent from the element's, `Σ t ⊙ ∂y/∂v`.
#[inline]
#[track_caller]
pub fn jvp_summed<A: Float, D: Dimension>(partial: &Array<A, D>, t: Array<A, D>) -> A {
    check_tangent("mapv", t.shape(), partial.shape());
    Zip::from(&t)
        .and(partial)
        .fold(A::zero(), |sum, &t, &d| sum + t * d)
}

/// Of a summed map: the sum's tangent from a captured scalar's, `t Σ ∂y/∂w`.
#[inline(always)]
pub fn jvp_captured_summed<A: Float>(partial_sum: &A, t: A) -> A {
    t * *partial_sum
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
        let (y, [d]) = forward([x.t()], |[v]: [f64; 1]| (v * v, [2.0 * v]));
        assert_eq!(y, array![[1.0, 9.0], [4.0, 16.0]]);
        assert_eq!(d, array![[2.0, 6.0], [4.0, 8.0]]);
        assert_eq!(
            vjp(&d, array![[1.0, 1.0], [0.5, 0.5]]),
            array![[2.0, 6.0], [2.0, 4.0]]
        );
        assert_eq!(vjp_captured(&d, &array![[1.0, 0.0], [0.0, 1.0]]), 10.0);
    }
}
