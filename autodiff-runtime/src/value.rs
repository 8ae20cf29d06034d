//! The values generated code computes with: scalars (`f32`, `f64`) and `ndarray` arrays. One
//! primitive's rules are written once, against the traits here, and serve both kinds: for a
//! scalar they inline to plain arithmetic, for an array they are single passes over memory
//! that write into the incoming adjoint's buffer where they can.

use ndarray::{Array, ArrayBase, ArrayView, Axis, Data, DimMax, Dimension, Zip};
use num_traits::{Float, Zero};

use crate::dual::Dual;
use crate::fast::{FastMath, Kernel};
use crate::parallel::zip_on_cores;
use crate::Tangent;

/// How generated code reads an argument: a scalar by value, an array (owned, borrowed at any
/// depth of `&`, or a view) as an [`ArrayView`]. Called with method syntax, so that auto-deref
/// accepts `x`, `&x` and `&&x` alike.
pub trait Arg {
    /// `Self` for a scalar, an `ArrayView` for an array.
    type Value<'a>
    where
        Self: 'a;
    fn autodiff_arg(&self) -> Self::Value<'_>;
}

/// Anything a user may pass where the runtime expects an array: an owned array, a view, or a
/// reference to either.
pub trait ArrayLike {
    type Elem;
    type Dim: Dimension;
    fn as_view(&self) -> ArrayView<'_, Self::Elem, Self::Dim>;
}

impl<A, S: Data<Elem = A>, D: Dimension> ArrayLike for ArrayBase<S, D> {
    type Elem = A;
    type Dim = D;
    #[inline]
    fn as_view(&self) -> ArrayView<'_, A, D> {
        self.view()
    }
}

impl<X: ArrayLike + ?Sized> ArrayLike for &X {
    type Elem = X::Elem;
    type Dim = X::Dim;
    #[inline]
    fn as_view(&self) -> ArrayView<'_, X::Elem, X::Dim> {
        (**self).as_view()
    }
}

impl<A, S: Data<Elem = A>, D: Dimension> Arg for ArrayBase<S, D> {
    type Value<'a>
        = ArrayView<'a, A, D>
    where
        Self: 'a;
    #[inline(always)]
    fn autodiff_arg(&self) -> ArrayView<'_, A, D> {
        self.view()
    }
}

/// A `Vec` of floats (a field `v: Vec<f64>` of a struct of parameters), read as a vector.
impl<A: num_traits::Float> Arg for Vec<A> {
    type Value<'a>
        = ndarray::ArrayView1<'a, A>
    where
        Self: 'a;
    #[inline(always)]
    fn autodiff_arg(&self) -> ndarray::ArrayView1<'_, A> {
        self.as_slice().autodiff_arg()
    }
}

/// A slice of floats (a constant parameter `x: &[f64]` iterated in `x.iter().map(…)`), read
/// as a vector.
impl<A: num_traits::Float> Arg for [A] {
    type Value<'a>
        = ndarray::ArrayView1<'a, A>
    where
        Self: 'a;
    #[inline(always)]
    fn autodiff_arg(&self) -> ndarray::ArrayView1<'_, A> {
        ndarray::ArrayView1::from(self)
    }
}

/// A value an elementwise primitive applies to: a scalar, or an array view.
pub trait Map: Sized {
    type Elem: FastMath;
    /// What the primitive returns and what its adjoint is: `Self` for a scalar, an owned
    /// array of the same shape for a view.
    type Owned: Tangent;
    /// `f` applied to every element.
    fn map(self, f: impl Fn(Self::Elem) -> Self::Elem) -> Self::Owned;
    /// `exact` for a scalar; for an array, the vectorized `kernel`, which agrees with `exact`
    /// to a few units in the last place.
    fn map_kernel(self, exact: impl Fn(Self::Elem) -> Self::Elem, kernel: Kernel) -> Self::Owned;
    /// The pullback of an elementwise `y = f(x)`: g · ∂(x, y), computed in g's buffer.
    fn pull(
        self,
        y: &Self::Owned,
        g: Self::Owned,
        partial: impl Fn(Self::Elem, Self::Elem) -> Self::Elem + Sync + Send,
    ) -> Self::Owned;
    /// [`Map::pull`] in `g` and, in the same pass, the sum of the result's rows, as a one-row
    /// array of its rank: for a matrix in standard order with rows of at least 32 elements,
    /// in blocks of [`ROWS_PER_SUM`] rows on every core, summed in [`unbroadcast_ref`]'s
    /// order. `None`, and `g` untouched, for anything else.
    fn pull_summing_rows(
        &self,
        _y: &Self::Owned,
        _g: &mut Self::Owned,
        _partial: impl Fn(Self::Elem, Self::Elem) -> Self::Elem + Sync + Send,
    ) -> Option<Self::Owned> {
        None
    }
    /// A zero of the same shape: the gradient of an input the result does not depend on.
    fn zeros(self) -> Self::Owned;
    /// The shape of an array, `[]` for a scalar.
    fn value_shape(&self) -> &[usize];
}

impl<'a, A: FastMath, D: Dimension> Map for ArrayView<'a, A, D> {
    type Elem = A;
    type Owned = Array<A, D>;
    #[inline]
    fn map(self, f: impl Fn(A) -> A) -> Array<A, D> {
        self.mapv(f)
    }
    #[inline]
    fn map_kernel(self, _exact: impl Fn(A) -> A, kernel: Kernel) -> Array<A, D> {
        match self.as_slice() {
            Some(src) => Array::from_shape_vec(self.raw_dim(), A::map_contiguous(kernel, src))
                .expect("one result per element, in standard order"),
            // Laid out in order first: the same kernel, so the same bits, as a contiguous
            // array's.
            None => {
                let x = self.as_standard_layout();
                let src = x.as_slice().expect("standard layout is contiguous");
                Array::from_shape_vec(self.raw_dim(), A::map_contiguous(kernel, src))
                    .expect("one result per element, in standard order")
            }
        }
    }
    #[inline]
    fn pull(
        self,
        y: &Array<A, D>,
        mut g: Array<A, D>,
        partial: impl Fn(A, A) -> A + Sync + Send,
    ) -> Array<A, D> {
        let len = g.len();
        zip_on_cores!(
            Zip::from(&mut g).and(&self).and(y),
            len,
            for_each / par_for_each,
            |g, &x, &y| { *g = *g * partial(x, y) }
        );
        g
    }
    fn pull_summing_rows(
        &self,
        y: &Array<A, D>,
        g: &mut Array<A, D>,
        partial: impl Fn(A, A) -> A + Sync + Send,
    ) -> Option<Array<A, D>> {
        use rayon::prelude::*;
        let width = y.shape().last().copied().unwrap_or(0);
        let (x, y) = (self.as_slice()?, y.as_slice()?);
        let mut row = g.raw_dim();
        let gs = g.as_slice_mut()?;
        if row.ndim() != 2 || width < 32 || x.len() != gs.len() || y.len() != gs.len() {
            return None;
        }
        let block = width * ROWS_PER_SUM;
        // Each row's products added to the block's sum as they are made: one pass.
        let pull_and_sum = |((g, x), y): ((&mut [A], &[A]), &[A])| {
            let mut rows = g
                .chunks_exact_mut(width)
                .zip(x.chunks_exact(width).zip(y.chunks_exact(width)));
            let (first, (x0, y0)) = rows.next().expect("a block has a row");
            let mut sum = Vec::with_capacity(width);
            for (g, (&x, &y)) in first.iter_mut().zip(x0.iter().zip(y0)) {
                *g = *g * partial(x, y);
                sum.push(*g);
            }
            for (g, (x, y)) in rows {
                for ((g, s), (&x, &y)) in g.iter_mut().zip(&mut sum).zip(x.iter().zip(y)) {
                    *g = *g * partial(x, y);
                    *s = *s + *g;
                }
            }
            sum
        };
        let sums: Vec<Vec<A>> = match crate::parallel::split(gs.len()) {
            true => gs
                .par_chunks_mut(block)
                .zip(x.par_chunks(block))
                .zip(y.par_chunks(block))
                .map(pull_and_sum)
                .collect(),
            false => gs
                .chunks_mut(block)
                .zip(x.chunks(block))
                .zip(y.chunks(block))
                .map(pull_and_sum)
                .collect(),
        };
        let mut sums = sums.into_iter();
        let mut sum = sums.next()?;
        sums.for_each(|block| add_rows(&mut sum, &block));
        row[0] = 1;
        Some(Array::from_shape_vec(row, sum).expect("one sum per column"))
    }
    #[inline]
    fn zeros(self) -> Array<A, D> {
        Array::zeros(self.raw_dim())
    }
    #[inline]
    fn value_shape(&self) -> &[usize] {
        self.shape()
    }
}

/// Two values combined elementwise with NumPy's broadcasting: scalar ⊕ scalar,
/// scalar ⊕ array, array ⊕ scalar and array ⊕ array.
pub trait Broadcast<R: Map>: Map<Elem = R::Elem> {
    /// The result: a scalar, or an array of the broadcast shape.
    type Output: Tangent;
    /// `f` applied to every pair; panics naming `op` and both shapes if they do not broadcast.
    #[track_caller]
    fn zip_with(
        self,
        r: R,
        op: &str,
        f: impl Fn(Self::Elem, Self::Elem) -> Self::Elem + Sync + Send,
    ) -> Self::Output;
    /// The adjoint of the left argument: g · ∂(a, b, y) summed back to the left's shape.
    fn pull_left(
        self,
        r: R,
        y: &Self::Output,
        g: Self::Output,
        partial: impl Fn(Self::Elem, Self::Elem, Self::Elem) -> Self::Elem + Sync + Send,
    ) -> Self::Owned;
    /// The adjoint of the right argument.
    fn pull_right(
        self,
        r: R,
        y: &Self::Output,
        g: Self::Output,
        partial: impl Fn(Self::Elem, Self::Elem, Self::Elem) -> Self::Elem + Sync + Send,
    ) -> R::Owned;
    /// Forward mode: the result's tangent from the left argument's tangent t,
    /// t · ∂(a, b, y) broadcast to the result's shape.
    fn push_left(
        self,
        r: R,
        y: &Self::Output,
        t: Self::Owned,
        partial: impl Fn(Self::Elem, Self::Elem, Self::Elem) -> Self::Elem + Sync + Send,
    ) -> Self::Output;
    /// The result's tangent from the right argument's tangent.
    fn push_right(
        self,
        r: R,
        y: &Self::Output,
        t: R::Owned,
        partial: impl Fn(Self::Elem, Self::Elem, Self::Elem) -> Self::Elem + Sync + Send,
    ) -> Self::Output;
    /// [`Broadcast::pull_left`] for a partial that does not read the result (a product's),
    /// which the caller then need not keep.
    fn pull_left_unread(
        self,
        r: R,
        g: Self::Output,
        partial: impl Fn(Self::Elem, Self::Elem) -> Self::Elem + Sync + Send,
    ) -> Self::Owned;
    /// [`Broadcast::pull_right`] for a partial that does not read the result.
    fn pull_right_unread(
        self,
        r: R,
        g: Self::Output,
        partial: impl Fn(Self::Elem, Self::Elem) -> Self::Elem + Sync + Send,
    ) -> R::Owned;
    /// g summed back to the left's shape: the adjoint through a linear op such as `+`.
    fn reduce_left(self, g: Self::Output) -> Self::Owned;
    /// g summed back to the right's shape.
    fn reduce_right(r: R, g: Self::Output) -> R::Owned;
}

/// An owned operand an elementwise primitive writes its result into, when the generated
/// code has no later use for its value: an array's own buffer where it is laid out in
/// standard order (as a fresh result would be), a fresh result otherwise. The same
/// arithmetic, element by element, as [`Map::map`] and [`Map::map_kernel`].
pub trait MapInto: Sized {
    type Elem: FastMath;
    /// `f` (or `kernel`, for an array) applied to every element.
    fn map_into(self, f: impl Fn(Self::Elem) -> Self::Elem, kernel: Option<Kernel>) -> Self;
}

impl<A: FastMath, D: Dimension> MapInto for Array<A, D> {
    type Elem = A;
    #[inline]
    fn map_into(mut self, f: impl Fn(A) -> A, kernel: Option<Kernel>) -> Array<A, D> {
        match (self.as_slice_mut(), kernel) {
            (Some(buf), Some(kernel)) => A::map_in_place(kernel, buf),
            (Some(_), None) => self.mapv_inplace(f),
            (None, Some(kernel)) => return self.view().map_kernel(f, kernel),
            (None, None) => return self.view().map(f),
        }
        self
    }
}

/// The binary twin of [`MapInto`]: `self ⊕ r` with broadcasting, in `self`'s buffer when it
/// has the result's shape and standard layout; the same arithmetic as
/// [`Broadcast::zip_with`]. `swapped`: `self` is `op`'s right operand, named second where
/// the shapes do not broadcast.
pub trait ZipInto<R: Map>: Sized {
    type Output;
    #[track_caller]
    fn zip_into(
        self,
        r: R,
        op: &str,
        swapped: bool,
        f: impl Fn(R::Elem, R::Elem) -> R::Elem + Sync + Send,
    ) -> Self::Output;

    /// [`ZipInto::zip_into`], then [`MapInto::map_into`] of its result with `g` (or `kernel`),
    /// with the same bits. Where `r` broadcasts along the rows of `self`'s buffer, in one pass:
    /// each row zipped and then mapped while it is in cache (the chain a user writes as
    /// `(x.dot(&w) + &b).tanh()`).
    #[track_caller]
    fn zip_into_map(
        self,
        r: R,
        op: &str,
        swapped: bool,
        f: impl Fn(R::Elem, R::Elem) -> R::Elem + Sync + Send,
        g: impl Fn(R::Elem) -> R::Elem + Sync + Send,
        kernel: Option<Kernel>,
    ) -> Self::Output
    where
        Self::Output: MapInto<Elem = R::Elem>,
    {
        self.zip_into(r, op, swapped, f).map_into(g, kernel)
    }
}

macro_rules! scalar_values {
    ($($t:ty),*) => {$(
        impl Arg for $t {
            type Value<'a> = $t;
            #[inline(always)]
            fn autodiff_arg(&self) -> $t {
                *self
            }
        }

        impl Map for $t {
            type Elem = $t;
            type Owned = $t;
            #[inline(always)]
            fn map(self, f: impl Fn($t) -> $t) -> $t {
                f(self)
            }
            #[inline(always)]
            fn map_kernel(self, exact: impl Fn($t) -> $t, _kernel: Kernel) -> $t {
                exact(self)
            }
            #[inline(always)]
            fn pull(self, y: &$t, g: $t, partial: impl Fn($t, $t) -> $t + Sync + Send) -> $t {
                g * partial(self, *y)
            }
            #[inline(always)]
            fn zeros(self) -> $t {
                <$t as Zero>::zero()
            }
            #[inline(always)]
            fn value_shape(&self) -> &[usize] {
                &[]
            }
        }

        impl MapInto for $t {
            type Elem = $t;
            #[inline(always)]
            fn map_into(self, f: impl Fn($t) -> $t, _kernel: Option<Kernel>) -> $t {
                f(self)
            }
        }

        impl<R: Map<Elem = $t>> ZipInto<R> for $t where $t: Broadcast<R> {
            type Output = <$t as Broadcast<R>>::Output;
            #[inline(always)]
            #[track_caller]
            fn zip_into(self, r: R, op: &str, _swapped: bool, f: impl Fn($t, $t) -> $t + Sync + Send) -> Self::Output {
                self.zip_with(r, op, f)
            }
        }

        impl<D: Dimension> ZipInto<$t> for Array<$t, D> {
            type Output = Array<$t, D>;
            #[inline]
            fn zip_into(mut self, r: $t, op: &str, _swapped: bool, f: impl Fn($t, $t) -> $t + Sync + Send) -> Array<$t, D> {
                if !self.is_standard_layout() {
                    return self.view().zip_with(r, op, f);
                }
                self.mapv_inplace(|a| f(a, r));
                self
            }
        }

        impl<'b, D, E> ZipInto<ArrayView<'b, $t, E>> for Array<$t, D>
        where
            D: Dimension + DimMax<E>,
            E: Dimension,
        {
            type Output = Array<$t, <D as DimMax<E>>::Output>;
            #[inline]
            #[track_caller]
            fn zip_into(self, r: ArrayView<'b, $t, E>, op: &str, swapped: bool, f: impl Fn($t, $t) -> $t + Sync + Send) -> Self::Output {
                // Reused when `r` broadcasts to `self`'s shape, which is then the result's.
                if !self.is_standard_layout() || r.broadcast(self.raw_dim()).is_none() {
                    if swapped {
                        broadcast_shape::<ndarray::IxDyn>(op, r.shape(), self.shape());
                    }
                    return self.view().zip_with(r, op, f);
                }
                let mut out = self
                    .into_dimensionality::<<D as DimMax<E>>::Output>()
                    .expect("the broadcast has the rank of the larger operand");
                let len = out.len();
                zip_on_cores!(Zip::from(&mut out).and_broadcast(&r), len, for_each / par_for_each,
                    |a, &b| *a = f(*a, b));
                out
            }
            #[inline]
            #[track_caller]
            fn zip_into_map(
                self,
                r: ArrayView<'b, $t, E>,
                op: &str,
                swapped: bool,
                f: impl Fn($t, $t) -> $t + Sync + Send,
                g: impl Fn($t) -> $t + Sync + Send,
                kernel: Option<Kernel>,
            ) -> Self::Output {
                // Rows shorter than a few vectors cost more in per-row calls than the second
                // pass they save.
                let short = self.shape().last().map_or(true, |&len| len < 32);
                if self.ndim() < 2 || short || !self.is_standard_layout() || r.broadcast(self.raw_dim()).is_none() {
                    return self.zip_into(r, op, swapped, f).map_into(g, kernel);
                }
                let mut out = self
                    .into_dimensionality::<<D as DimMax<E>>::Output>()
                    .expect("the broadcast has the rank of the larger operand");
                let r = r.broadcast(out.raw_dim()).expect("checked above");
                let len = out.len();
                // Rows of a buffer in standard order are contiguous: the kernel's loop runs on
                // each, as it would on the whole buffer.
                let row = |mut row: ndarray::ArrayViewMut1<$t>, r: ndarray::ArrayView1<$t>| {
                    Zip::from(&mut row).and(&r).for_each(|a, &b| *a = f(*a, b));
                    let row = row.into_slice().expect("a row in standard order is contiguous");
                    match kernel {
                        Some(kernel) => <$t as FastMath>::map_in_place(kernel, row),
                        None => row.iter_mut().for_each(|x| *x = g(*x)),
                    }
                };
                zip_on_cores!(Zip::from(out.rows_mut()).and(r.rows()), len, for_each / par_for_each, row);
                out
            }
        }

        impl Broadcast<$t> for $t {
            type Output = $t;
            #[inline(always)]
            fn zip_with(self, r: $t, _op: &str, f: impl Fn($t, $t) -> $t + Sync + Send) -> $t {
                f(self, r)
            }
            #[inline(always)]
            fn pull_left(self, r: $t, y: &$t, g: $t, partial: impl Fn($t, $t, $t) -> $t + Sync + Send) -> $t {
                g * partial(self, r, *y)
            }
            #[inline(always)]
            fn pull_right(self, r: $t, y: &$t, g: $t, partial: impl Fn($t, $t, $t) -> $t + Sync + Send) -> $t {
                g * partial(self, r, *y)
            }
            #[inline(always)]
            fn push_left(self, r: $t, y: &$t, t: $t, partial: impl Fn($t, $t, $t) -> $t + Sync + Send) -> $t {
                t * partial(self, r, *y)
            }
            #[inline(always)]
            fn push_right(self, r: $t, y: &$t, t: $t, partial: impl Fn($t, $t, $t) -> $t + Sync + Send) -> $t {
                t * partial(self, r, *y)
            }
            #[inline(always)]
            fn pull_left_unread(self, r: $t, g: $t, partial: impl Fn($t, $t) -> $t + Sync + Send) -> $t {
                g * partial(self, r)
            }
            #[inline(always)]
            fn pull_right_unread(self, r: $t, g: $t, partial: impl Fn($t, $t) -> $t + Sync + Send) -> $t {
                g * partial(self, r)
            }
            #[inline(always)]
            fn reduce_left(self, g: $t) -> $t {
                g
            }
            #[inline(always)]
            fn reduce_right(_r: $t, g: $t) -> $t {
                g
            }
        }

        impl<'b, D: Dimension> Broadcast<ArrayView<'b, $t, D>> for $t {
            type Output = Array<$t, D>;
            fn zip_with(self, r: ArrayView<'b, $t, D>, _op: &str, f: impl Fn($t, $t) -> $t + Sync + Send) -> Array<$t, D> {
                r.mapv(|b| f(self, b))
            }
            fn pull_left(self, r: ArrayView<'b, $t, D>, y: &Array<$t, D>, g: Array<$t, D>, partial: impl Fn($t, $t, $t) -> $t + Sync + Send) -> $t {
                Zip::from(&g).and(&r).and(y).fold(<$t as Zero>::zero(), |sum, &g, &b, &y| sum + g * partial(self, b, y))
            }
            fn pull_right(self, r: ArrayView<'b, $t, D>, y: &Array<$t, D>, mut g: Array<$t, D>, partial: impl Fn($t, $t, $t) -> $t + Sync + Send) -> Array<$t, D> {
                Zip::from(&mut g).and(&r).and(y).for_each(|g, &b, &y| *g *= partial(self, b, y));
                g
            }
            fn push_left(self, r: ArrayView<'b, $t, D>, y: &Array<$t, D>, t: $t, partial: impl Fn($t, $t, $t) -> $t + Sync + Send) -> Array<$t, D> {
                Zip::from(&r).and(y).map_collect(|&b, &y| t * partial(self, b, y))
            }
            fn push_right(self, r: ArrayView<'b, $t, D>, y: &Array<$t, D>, mut t: Array<$t, D>, partial: impl Fn($t, $t, $t) -> $t + Sync + Send) -> Array<$t, D> {
                Zip::from(&mut t).and(&r).and(y).for_each(|t, &b, &y| *t *= partial(self, b, y));
                t
            }
            fn pull_left_unread(self, r: ArrayView<'b, $t, D>, g: Array<$t, D>, partial: impl Fn($t, $t) -> $t + Sync + Send) -> $t {
                Zip::from(&g).and(&r).fold(<$t as Zero>::zero(), |sum, &g, &b| sum + g * partial(self, b))
            }
            fn pull_right_unread(self, r: ArrayView<'b, $t, D>, mut g: Array<$t, D>, partial: impl Fn($t, $t) -> $t + Sync + Send) -> Array<$t, D> {
                Zip::from(&mut g).and(&r).for_each(|g, &b| *g *= partial(self, b));
                g
            }
            fn reduce_left(self, g: Array<$t, D>) -> $t {
                g.sum()
            }
            fn reduce_right(_r: ArrayView<'b, $t, D>, g: Array<$t, D>) -> Array<$t, D> {
                g
            }
        }

        impl<'a, D: Dimension> Broadcast<$t> for ArrayView<'a, $t, D> {
            type Output = Array<$t, D>;
            fn zip_with(self, r: $t, _op: &str, f: impl Fn($t, $t) -> $t + Sync + Send) -> Array<$t, D> {
                self.mapv(|a| f(a, r))
            }
            fn pull_left(self, r: $t, y: &Array<$t, D>, mut g: Array<$t, D>, partial: impl Fn($t, $t, $t) -> $t + Sync + Send) -> Array<$t, D> {
                Zip::from(&mut g).and(&self).and(y).for_each(|g, &a, &y| *g *= partial(a, r, y));
                g
            }
            fn pull_right(self, r: $t, y: &Array<$t, D>, g: Array<$t, D>, partial: impl Fn($t, $t, $t) -> $t + Sync + Send) -> $t {
                Zip::from(&g).and(&self).and(y).fold(<$t as Zero>::zero(), |sum, &g, &a, &y| sum + g * partial(a, r, y))
            }
            fn push_left(self, r: $t, y: &Array<$t, D>, mut t: Array<$t, D>, partial: impl Fn($t, $t, $t) -> $t + Sync + Send) -> Array<$t, D> {
                Zip::from(&mut t).and(&self).and(y).for_each(|t, &a, &y| *t *= partial(a, r, y));
                t
            }
            fn push_right(self, r: $t, y: &Array<$t, D>, t: $t, partial: impl Fn($t, $t, $t) -> $t + Sync + Send) -> Array<$t, D> {
                Zip::from(&self).and(y).map_collect(|&a, &y| t * partial(a, r, y))
            }
            fn pull_left_unread(self, r: $t, mut g: Array<$t, D>, partial: impl Fn($t, $t) -> $t + Sync + Send) -> Array<$t, D> {
                Zip::from(&mut g).and(&self).for_each(|g, &a| *g *= partial(a, r));
                g
            }
            fn pull_right_unread(self, r: $t, g: Array<$t, D>, partial: impl Fn($t, $t) -> $t + Sync + Send) -> $t {
                Zip::from(&g).and(&self).fold(<$t as Zero>::zero(), |sum, &g, &a| sum + g * partial(a, r))
            }
            fn reduce_left(self, g: Array<$t, D>) -> Array<$t, D> {
                g
            }
            fn reduce_right(_r: $t, g: Array<$t, D>) -> $t {
                g.sum()
            }
        }

        impl<'a, 'b, D, E> Broadcast<ArrayView<'b, $t, E>> for ArrayView<'a, $t, D>
        where
            D: Dimension + DimMax<E>,
            E: Dimension,
        {
            type Output = Array<$t, <D as DimMax<E>>::Output>;
            #[track_caller]
            fn zip_with(self, r: ArrayView<'b, $t, E>, op: &str, f: impl Fn($t, $t) -> $t + Sync + Send) -> Self::Output {
                if self.shape() == r.shape() {
                    let r = r.into_dimensionality::<D>().expect("same shape, same rank");
                    let out = zip_on_cores!(Zip::from(&self).and(&r), r.len(), map_collect / par_map_collect, |&a, &b| f(a, b));
                    return out.into_dimensionality().expect("same rank as the broadcast");
                }
                let shape = broadcast_shape::<<D as DimMax<E>>::Output>(op, self.shape(), r.shape());
                let (a, b) = (self.broadcast(shape.clone()), r.broadcast(shape));
                let (Some(a), Some(b)) = (a, b) else {
                    unreachable!("both shapes broadcast to their common shape")
                };
                zip_on_cores!(Zip::from(&a).and(&b), a.len(), map_collect / par_map_collect, |&a, &b| f(a, b))
            }
            fn pull_left(self, r: ArrayView<'b, $t, E>, y: &Self::Output, mut g: Self::Output, partial: impl Fn($t, $t, $t) -> $t + Sync + Send) -> Array<$t, D> {
                let len = g.len();
                zip_on_cores!(Zip::from(&mut g).and_broadcast(&self).and_broadcast(&r).and(y), len, for_each / par_for_each,
                    |g, &a, &b, &y| *g *= partial(a, b, y));
                unbroadcast(g, self.raw_dim())
            }
            fn pull_right(self, r: ArrayView<'b, $t, E>, y: &Self::Output, mut g: Self::Output, partial: impl Fn($t, $t, $t) -> $t + Sync + Send) -> Array<$t, E> {
                let len = g.len();
                zip_on_cores!(Zip::from(&mut g).and_broadcast(&self).and_broadcast(&r).and(y), len, for_each / par_for_each,
                    |g, &a, &b, &y| *g *= partial(a, b, y));
                unbroadcast(g, r.raw_dim())
            }
            fn push_left(self, r: ArrayView<'b, $t, E>, y: &Self::Output, t: Array<$t, D>, partial: impl Fn($t, $t, $t) -> $t + Sync + Send) -> Self::Output {
                zip_on_cores!(Zip::from(y).and_broadcast(&t).and_broadcast(&self).and_broadcast(&r), y.len(),
                    map_collect / par_map_collect, |&y, &t, &a, &b| t * partial(a, b, y))
            }
            fn push_right(self, r: ArrayView<'b, $t, E>, y: &Self::Output, t: Array<$t, E>, partial: impl Fn($t, $t, $t) -> $t + Sync + Send) -> Self::Output {
                zip_on_cores!(Zip::from(y).and_broadcast(&t).and_broadcast(&self).and_broadcast(&r), y.len(),
                    map_collect / par_map_collect, |&y, &t, &a, &b| t * partial(a, b, y))
            }
            fn pull_left_unread(self, r: ArrayView<'b, $t, E>, mut g: Self::Output, partial: impl Fn($t, $t) -> $t + Sync + Send) -> Array<$t, D> {
                let len = g.len();
                zip_on_cores!(Zip::from(&mut g).and_broadcast(&self).and_broadcast(&r), len, for_each / par_for_each,
                    |g, &a, &b| *g *= partial(a, b));
                unbroadcast(g, self.raw_dim())
            }
            fn pull_right_unread(self, r: ArrayView<'b, $t, E>, mut g: Self::Output, partial: impl Fn($t, $t) -> $t + Sync + Send) -> Array<$t, E> {
                let len = g.len();
                zip_on_cores!(Zip::from(&mut g).and_broadcast(&self).and_broadcast(&r), len, for_each / par_for_each,
                    |g, &a, &b| *g *= partial(a, b));
                unbroadcast(g, r.raw_dim())
            }
            fn reduce_left(self, g: Self::Output) -> Array<$t, D> {
                unbroadcast(g, self.raw_dim())
            }
            fn reduce_right(r: ArrayView<'b, $t, E>, g: Self::Output) -> Array<$t, E> {
                unbroadcast(g, r.raw_dim())
            }
        }
    )*};
}

// Duals too, so that the same generated code computes Hessian-vector products.
scalar_values!(f32, f64, Dual<f32>, Dual<f64>);

/// What a pullback that reads nothing of a value but its shape (add's, sub's, neg's, and a
/// zero adjoint's start) takes of it: nothing for a scalar, so that a loop's tape stores
/// nothing for it; an array's dimension. A shape is its own shape, so that the same
/// generated code reads a value where it is at hand and the shape a tape kept of it.
pub trait Shaped {
    type Shape: Shape;
    fn autodiff_shape(&self) -> Self::Shape;
}

/// A value's shape, as [`Shaped`] gives it.
pub trait Shape: Shaped<Shape = Self> + Clone {
    /// The value of the kind: a scalar, or an owned array.
    type Value: Tangent;
    /// The lengths of the axes, `[]` for a scalar.
    fn dims(&self) -> &[usize];
    /// A zero of this shape: the start of an adjoint.
    fn autodiff_zeros(&self) -> Self::Value;
}

/// The shape of a scalar of type `T`: nothing.
pub struct ScalarShape<T>(core::marker::PhantomData<T>);

impl<T> Clone for ScalarShape<T> {
    #[inline(always)]
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for ScalarShape<T> {}

impl<T> Shaped for ScalarShape<T>
where
    ScalarShape<T>: Shape,
{
    type Shape = Self;
    #[inline(always)]
    fn autodiff_shape(&self) -> Self {
        *self
    }
}

/// The shape of an array of `A`: its dimension.
pub struct ArrayShape<A, D>(D, core::marker::PhantomData<A>);

impl<A, D: Clone> ArrayShape<A, D> {
    /// The dimension, as ndarray's constructors take it.
    pub fn raw_dim(&self) -> D {
        self.0.clone()
    }
}

impl<A, D: Clone> Clone for ArrayShape<A, D> {
    #[inline(always)]
    fn clone(&self) -> Self {
        ArrayShape(self.0.clone(), core::marker::PhantomData)
    }
}

impl<A: Float, D: Dimension> Shaped for ArrayShape<A, D> {
    type Shape = Self;
    #[inline(always)]
    fn autodiff_shape(&self) -> Self {
        self.clone()
    }
}

impl<A: Float, D: Dimension> Shape for ArrayShape<A, D> {
    type Value = Array<A, D>;
    #[inline(always)]
    fn dims(&self) -> &[usize] {
        self.0.slice()
    }
    #[inline]
    fn autodiff_zeros(&self) -> Array<A, D> {
        Array::zeros(self.0.clone())
    }
}

impl<X: Shaped + ?Sized> Shaped for &X {
    type Shape = X::Shape;
    #[inline(always)]
    fn autodiff_shape(&self) -> X::Shape {
        (**self).autodiff_shape()
    }
}

impl<A: Float, S: Data<Elem = A>, D: Dimension> Shaped for ArrayBase<S, D> {
    type Shape = ArrayShape<A, D>;
    #[inline(always)]
    fn autodiff_shape(&self) -> ArrayShape<A, D> {
        ArrayShape(self.raw_dim(), core::marker::PhantomData)
    }
}

/// An adjoint summed back to a shape: that of the operand of a broadcasting add or sub.
pub trait ReduceTo<G> {
    type Output: Tangent;
    fn reduce(self, g: G) -> Self::Output;
    /// The same, reading `g` where it is: a copy only where no sum is needed.
    fn reduce_ref(self, g: &G) -> Self::Output;
}

impl<A: Float + 'static, D: Dimension, E: Dimension> ReduceTo<Array<A, E>> for ArrayShape<A, D> {
    type Output = Array<A, D>;
    #[inline]
    fn reduce(self, g: Array<A, E>) -> Array<A, D> {
        unbroadcast(g, self.0)
    }
    #[inline]
    fn reduce_ref(self, g: &Array<A, E>) -> Array<A, D> {
        unbroadcast_ref(g, self.0)
    }
}

macro_rules! scalar_shapes {
    ($($t:ty),*) => {$(
        impl Shaped for $t {
            type Shape = ScalarShape<$t>;
            #[inline(always)]
            fn autodiff_shape(&self) -> ScalarShape<$t> {
                ScalarShape(core::marker::PhantomData)
            }
        }

        impl Shape for ScalarShape<$t> {
            type Value = $t;
            #[inline(always)]
            fn dims(&self) -> &[usize] {
                &[]
            }
            #[inline(always)]
            fn autodiff_zeros(&self) -> $t {
                <$t as Zero>::zero()
            }
        }

        impl ReduceTo<$t> for ScalarShape<$t> {
            type Output = $t;
            #[inline(always)]
            fn reduce(self, g: $t) -> $t {
                g
            }
            #[inline(always)]
            fn reduce_ref(self, g: &$t) -> $t {
                *g
            }
        }

        impl<E: Dimension> ReduceTo<Array<$t, E>> for ScalarShape<$t> {
            type Output = $t;
            #[inline]
            fn reduce(self, g: Array<$t, E>) -> $t {
                g.sum()
            }
            #[inline]
            fn reduce_ref(self, g: &Array<$t, E>) -> $t {
                g.sum()
            }
        }
    )*};
}

scalar_shapes!(f32, f64, Dual<f32>, Dual<f64>);

/// The common shape of two broadcast operands (NumPy's rule: align trailing axes; each pair
/// of lengths is equal or one of them is 1). Panics naming the op and both shapes.
#[track_caller]
pub fn broadcast_shape<D: Dimension>(op: &str, a: &[usize], b: &[usize]) -> D {
    let ndim = a.len().max(b.len());
    let mut shape = D::zeros(ndim);
    for axis in 0..ndim {
        let len = |s: &[usize]| (axis + s.len()).checked_sub(ndim).map_or(1, |k| s[k]);
        let (m, n) = (len(a), len(b));
        shape[axis] = match (m, n) {
            _ if m == n => m,
            (1, n) => n,
            (m, 1) => m,
            _ => panic!("{op}: shapes {a:?} and {b:?} cannot be broadcast together"),
        };
    }
    shape
}

/// Sums a broadcast adjoint back to the shape of the operand that was broadcast: over the
/// leading axes it lacked and over its axes of length 1 (the lecture's sum₁ of the bias
/// gradient). Free when the shapes are equal.
pub fn unbroadcast<A, E, D>(g: Array<A, E>, target: D) -> Array<A, D>
where
    A: Float + 'static,
    E: Dimension,
    D: Dimension,
{
    if g.shape() == target.slice() {
        return g.into_dimensionality().expect("same shape, same rank");
    }
    unbroadcast_ref(&g, target)
}

/// How many rows a bias adjoint sums before adding the block to the total: its order of
/// additions, fixed whatever the number of threads ([`Map::pull_summing_rows`] sums blocks
/// on several, with the same bits).
pub(crate) const ROWS_PER_SUM: usize = 64;

/// `sum += row` for each row of `rows` (rows of `sum.len()` elements), in order.
#[inline]
pub(crate) fn add_rows<A: Float>(sum: &mut [A], rows: &[A]) {
    for row in rows.chunks_exact(sum.len()) {
        for (s, &r) in sum.iter_mut().zip(row) {
            *s = *s + r;
        }
    }
}

/// [`unbroadcast`] reading the adjoint in place: for the broadcast operand of an add whose
/// other operand takes the adjoint itself (a copy only where the shapes are equal).
pub fn unbroadcast_ref<A, E, D>(g: &Array<A, E>, target: D) -> Array<A, D>
where
    A: Float + 'static,
    E: Dimension,
    D: Dimension,
{
    if g.shape() == target.slice() {
        return g
            .view()
            .into_dimensionality()
            .expect("same shape, same rank")
            .to_owned();
    }
    // The common case, a bias broadcast along the batch: sum the rows of a contiguous adjoint
    // straight into the result, one vectorized pass.
    let width = target.size();
    let trailing = g.shape().ends_with(target.slice()) && width > 0 && g.len() >= width;
    if let (true, Some(rows)) = (trailing, g.as_slice()) {
        let mut blocks = rows.chunks(width * ROWS_PER_SUM).map(|block| {
            let mut sum = block[..width].to_vec();
            add_rows(&mut sum, &block[width..]);
            sum
        });
        let mut sum = blocks.next().expect("at least one row");
        blocks.for_each(|block| add_rows(&mut sum, &block));
        return Array::from_shape_vec(target, sum).expect("one sum per target element");
    }
    // Read in place until the first sum makes an array of its own.
    let mut g = ndarray::CowArray::from(g.view().into_dyn());
    while g.ndim() > target.ndim() {
        g = g.sum_axis(Axis(0)).into();
    }
    for (axis, &len) in target.slice().iter().enumerate() {
        if len == 1 && g.len_of(Axis(axis)) != 1 {
            g = g.sum_axis(Axis(axis)).insert_axis(Axis(axis)).into();
        }
    }
    g.into_owned()
        .into_dimensionality()
        .expect("unbroadcast keeps the target's rank")
}

/// Panics unless `a` and `b` have the same shape, naming the op and both shapes.
#[track_caller]
pub fn same_shape(op: &str, a: &[usize], b: &[usize]) {
    if a != b {
        panic!("{op}: shapes {a:?} and {b:?} differ; both arguments must have the same shape");
    }
}

/// Panics unless a forward-mode tangent has its argument's shape, naming the op: a caller's
/// `f_jvp` tangent of the wrong shape, which a reduction would otherwise sum silently and a
/// broadcast would stretch. Free for scalars (both shapes are `[]`).
#[inline(always)]
#[track_caller]
pub fn check_tangent(op: &str, tangent: &[usize], argument: &[usize]) {
    if tangent != argument {
        tangent_mismatch(op, tangent, argument);
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn tangent_mismatch(op: &str, tangent: &[usize], argument: &[usize]) -> ! {
    panic!(
        "{op}: a tangent of shape {tangent:?} for an argument of shape {argument:?}; \
         each tangent must have its argument's shape"
    );
}

/// Panics unless an adjoint has its result's shape, naming the op: a caller's `f_vjp`
/// cotangent of the wrong shape, which `unbroadcast` would otherwise sum into a gradient of
/// the wrong shape. Free for scalars.
#[inline(always)]
#[track_caller]
pub fn check_adjoint(op: &str, adjoint: &[usize], result: &[usize]) {
    if adjoint != result {
        adjoint_mismatch(op, adjoint, result);
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn adjoint_mismatch(op: &str, adjoint: &[usize], result: &[usize]) -> ! {
    panic!(
        "{op}: a cotangent of shape {adjoint:?} for a result of shape {result:?}; \
         the cotangent must have the result's shape"
    );
}

/// Panics unless `axis` is an axis of `shape`, naming the op.
#[track_caller]
pub(crate) fn check_axis(op: &str, axis: Axis, shape: &[usize]) {
    if axis.index() >= shape.len() {
        panic!(
            "{op}: axis {} is out of range for an array of shape {shape:?}",
            axis.index()
        );
    }
}

/// An array length in the element type, for means.
pub(crate) fn len_as<A: Float>(n: usize) -> A {
    A::from(n).expect("an array's length is representable as a float")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array1, Array2, Array3, Ix0, Ix1, Ix2};

    /// The chain in one pass over rows has the bits of the zip and then the map, for every
    /// operand layout: a row, a column and a matrix broadcast, a scalar, a transposed buffer,
    /// a vector, long enough for every core or not; with a kernel and without; f32 too.
    #[test]
    fn zip_into_map_has_the_bits_of_the_zip_then_the_map() {
        use crate::prim::{sqrt, tanh};
        fn same<A: Float>(a: &[A], b: &[A]) -> bool {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
        }
        for (n, m) in [(3, 5), (700, 100)] {
            let x =
                Array2::from_shape_fn((n, m), |(i, j)| ((i * 7 + j * 3) as f64 * 0.37).sin() * 4.0);
            let row = Array1::from_shape_fn(m, |j| j as f64 * 0.1 - 2.0);
            let column = Array2::from_shape_fn((n, 1), |(i, _)| i as f64 * 0.01);
            let sub = |a: f64, b: f64| a - b;
            let rsub = |a: f64, b: f64| b - a;
            let check = |fused: Array2<f64>, unfused: Array2<f64>| {
                assert_eq!(fused.shape(), unfused.shape());
                assert!(same(fused.as_slice().unwrap(), unfused.as_slice().unwrap()));
            };
            check(
                tanh::forward_after(x.clone(), row.view(), "sub", false, sub),
                tanh::forward_into(x.clone().zip_into(row.view(), "sub", false, sub)),
            );
            check(
                tanh::forward_after(x.clone(), column.view(), "sub", true, rsub),
                tanh::forward_into(x.clone().zip_into(column.view(), "sub", true, rsub)),
            );
            check(
                sqrt::forward_after(x.clone(), x.view(), "add", false, |a, b| a + b),
                sqrt::forward_into(&x + &x),
            );
            check(
                tanh::forward_after(x.clone(), 0.5, "add", false, |a, b| a + b),
                tanh::forward_into(&x + 0.5),
            );
            let transposed = x.t().to_owned().reversed_axes();
            let fused =
                tanh::forward_after(transposed.clone(), row.view(), "add", false, |a, b| a + b);
            let unfused = tanh::forward_into(&transposed + &row);
            assert_eq!(fused, unfused);
            let v = row.clone();
            assert!(same(
                tanh::forward_after(v.clone(), v.view(), "add", false, |a, b| a + b)
                    .as_slice()
                    .unwrap(),
                tanh::forward_into(&v + &v).as_slice().unwrap(),
            ));
            let x32 = x.mapv(|v| v as f32);
            let row32 = row.mapv(|v| v as f32);
            let fused = tanh::forward_after(x32.clone(), row32.view(), "add", false, |a, b| a + b);
            assert!(same(
                fused.as_slice().unwrap(),
                tanh::forward_into(&x32 + &row32).as_slice().unwrap()
            ));
        }
    }

    /// The chain's pullback in one pass has the bits of the rule's pullback and then add's or
    /// sub's, with the bias on either side, its rows more than one block and enough for every
    /// core or not, and where it does not apply (a column, same shapes, a short row).
    #[test]
    fn chained_pullbacks_have_the_bits_of_the_two() {
        use crate::prim::{add, sub, tanh};
        for (n, m) in [(3, 40), (130, 40), (700, 100), (9, 5)] {
            let y = tanh::forward(
                Array2::from_shape_fn((n, m), |(i, j)| ((i * 7 + j * 3) as f64 * 0.37).sin())
                    .view(),
            );
            let g = Array2::from_shape_fn((n, m), |(i, j)| ((i + 2 * j) as f64 * 0.11).cos());
            let shape =
                |dims: &[usize]| Array::<f64, _>::zeros(ndarray::IxDyn(dims)).autodiff_shape();
            let full = y.autodiff_shape();
            for other in [shape(&[m]), shape(&[1, m]), shape(&[n, 1]), shape(&[n, m])] {
                for subtract in [false, true] {
                    let pulled = tanh::vjp0_from_y(y.view(), &y, g.clone());
                    let (a, b) = match subtract {
                        true => sub::vjp_both_shaped(
                            full.clone(),
                            other.clone(),
                            full.clone(),
                            pulled.clone(),
                        ),
                        false => add::vjp_both_shaped(
                            full.clone(),
                            other.clone(),
                            full.clone(),
                            pulled.clone(),
                        ),
                    };
                    let (fa, fb) = tanh::vjp_after(
                        y.view(),
                        &y,
                        full.clone(),
                        other.clone(),
                        subtract,
                        g.clone(),
                    );
                    assert_eq!((&fa, &fb), (&a, &b), "{n} × {m}, {:?}", other.dims());
                    let (b, a) = match subtract {
                        true => {
                            sub::vjp_both_shaped(other.clone(), full.clone(), full.clone(), pulled)
                        }
                        false => {
                            add::vjp_both_shaped(other.clone(), full.clone(), full.clone(), pulled)
                        }
                    };
                    let (fb, fa) = tanh::vjp_after(
                        y.view(),
                        &y,
                        other.clone(),
                        full.clone(),
                        subtract,
                        g.clone(),
                    );
                    assert_eq!((&fa, &fb), (&a, &b), "{n} × {m}, {:?} first", other.dims());
                }
            }
        }
    }

    #[test]
    fn unbroadcast_sums_over_the_broadcast_axes() {
        let g = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        assert_eq!(unbroadcast(g.clone(), Ix1(3)), array![5.0, 7.0, 9.0]);
        assert_eq!(unbroadcast(g.clone(), Ix2(2, 1)), array![[6.0], [15.0]]);
        assert_eq!(unbroadcast(g.clone(), Ix2(1, 3)), array![[5.0, 7.0, 9.0]]);
        assert_eq!(unbroadcast(g.clone(), Ix2(1, 1)), array![[21.0]]);
        assert_eq!(unbroadcast(g.clone(), Ix0()).into_scalar(), 21.0);
        assert_eq!(unbroadcast(g.clone(), Ix2(2, 3)), g);
        // Not contiguous: the general path.
        assert_eq!(unbroadcast(g.reversed_axes(), Ix1(2)), array![6.0, 15.0]);
        let cube = Array3::from_shape_fn((2, 3, 4), |(i, j, k)| (i * 12 + j * 4 + k) as f64);
        assert_eq!(unbroadcast(cube.clone(), Ix2(3, 1)).shape(), &[3, 1]);
        assert_eq!(unbroadcast(cube, Ix1(4)), array![60.0, 66.0, 72.0, 78.0]);
        let empty = Array::<f64, _>::zeros((0, 3));
        assert_eq!(unbroadcast(empty, Ix1(3)), array![0.0, 0.0, 0.0]);
    }

    #[test]
    #[should_panic(expected = "add: shapes [2, 3] and [2] cannot be broadcast together")]
    fn incompatible_shapes_name_the_op() {
        broadcast_shape::<Ix2>("add", &[2, 3], &[2]);
    }
}
