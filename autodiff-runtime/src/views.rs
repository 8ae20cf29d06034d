//! Views of an array that read a part of it: `x.slice(s![..])`, `x.slice_axis(..)`,
//! `x.index_axis(..)`, `x.select(..)`, `m.diag()`. Each result is an owned array (the
//! generated code owns its values); each adjoint is the result's adjoint added in place into
//! the part of the argument's adjoint it was read from (`add_at`), as `row` and `column` do,
//! so that a read inside a loop costs the part read, not a zero array of the whole. `vjp0`
//! builds that zero array for callers of the rules by hand. Forward mode reads the same part
//! of the tangent.

use core::ops::Add;

use ndarray::{ArrayViewMut, Axis, Dimension, SliceInfoElem};

/// A zero array of shape `dim` with a part's adjoint added by `add`: what `vjp0` returns.
#[track_caller]
fn scattered<A: Clone + num_traits::Zero, D: Dimension>(
    dim: D,
    add: impl FnOnce(&mut ndarray::Array<A, D>),
) -> ndarray::Array<A, D> {
    let mut adjoint = ndarray::Array::zeros(dim);
    add(&mut adjoint);
    adjoint
}

/// `part += g`, elementwise, the shapes checked first.
#[track_caller]
fn add_into<A: Clone + Add<Output = A>, D: Dimension, E: Dimension>(
    op: &str,
    mut part: ArrayViewMut<'_, A, D>,
    g: ndarray::ArrayView<'_, A, E>,
) {
    if part.shape() != g.shape() {
        crate::value::check_adjoint(op, g.shape(), part.shape());
    }
    let g = g
        .into_dimensionality::<D>()
        .expect("the same shape, so the same rank");
    part.zip_mut_with(&g, |a, b| *a = a.clone() + b.clone());
}

/// Panics, naming `op` and the shape, unless `axis` is an axis of an array of `shape`.
#[track_caller]
fn check_axis(op: &str, shape: &[usize], axis: Axis) {
    if axis.index() >= shape.len() {
        panic!(
            "{op}: axis {} is out of bounds for an array of shape {shape:?}",
            axis.index()
        );
    }
}

/// Panics, naming `op` and the shape, unless `index` is an index of `shape`'s `axis`.
#[track_caller]
fn check_index(op: &str, shape: &[usize], axis: Axis, index: usize) {
    check_axis(op, shape, axis);
    if index >= shape[axis.index()] {
        panic!(
            "{op}: index {index} is out of bounds for axis {} of an array of shape {shape:?}",
            axis.index()
        );
    }
}

/// Whether a (possibly negative) position lies within an axis of `len`: `-len ..= len` for a
/// slice's bound, `-len .. len` for an index.
fn within(len: usize, position: isize, bound: bool) -> bool {
    let len = len as isize;
    let top = if bound { len } else { len - 1 };
    -len <= position && position <= top
}

/// Panics with the op, the offending element and the shape where ndarray's slicing would
/// panic (a bound or index past the axis, a zero step, the wrong number of axes).
#[track_caller]
fn check_slice(op: &str, shape: &[usize], info: &[SliceInfoElem]) {
    let mut axis = 0;
    for elem in info {
        let len = |axis: usize| shape.get(axis).copied();
        let fits = match *elem {
            SliceInfoElem::NewAxis => continue,
            SliceInfoElem::Index(index) => len(axis).is_some_and(|n| within(n, index, false)),
            SliceInfoElem::Slice { start, end, step } => {
                step != 0
                    && len(axis).is_some_and(|n| {
                        within(n, start, true) && end.map_or(true, |end| within(n, end, true))
                    })
            }
        };
        if !fits {
            panic!(
                "{op}: {elem:?} does not fit axis {axis} of an array of shape {shape:?} \
                 (bounds within the axis, counted from its end when negative, and a step not 0)"
            );
        }
        axis += 1;
    }
    if axis != shape.len() {
        panic!(
            "{op}: the slice has {axis} axes for an array of shape {shape:?}; give one \
             range or index per axis"
        );
    }
}

/// `x.slice(s![..])`: ranges with steps, negative bounds, single indices (removing the axis)
/// and new axes, as ndarray's `s!` gives them. The slice argument is a constant (`Copy`).
pub mod slice {
    use core::ops::Add;

    use ndarray::{Array, ArrayView, Dimension, SliceArg};
    use num_traits::Zero;

    #[inline]
    #[track_caller]
    pub fn forward<A: Clone, D: Dimension, I: SliceArg<D> + Copy>(
        x: ArrayView<'_, A, D>,
        info: I,
    ) -> Array<A, I::OutDim> {
        super::check_slice("slice", x.shape(), info.as_ref());
        x.slice_move(info).to_owned()
    }

    /// The adjoint as an array of `x`'s shape; the generated code uses [`add_at`] instead.
    #[track_caller]
    pub fn vjp0<A: Clone + Zero + Add<Output = A>, D: Dimension, I: SliceArg<D> + Copy>(
        x: ArrayView<'_, A, D>,
        info: I,
        _y: &Array<A, I::OutDim>,
        g: Array<A, I::OutDim>,
    ) -> Array<A, D> {
        super::scattered(x.raw_dim(), |adjoint| add_at(adjoint, info, g))
    }

    /// Forward mode: the tangent's slice.
    #[track_caller]
    pub fn jvp0<A: Clone, D: Dimension, I: SliceArg<D> + Copy>(
        x: ArrayView<'_, A, D>,
        info: I,
        _y: &Array<A, I::OutDim>,
        t: Array<A, D>,
    ) -> Array<A, I::OutDim> {
        crate::value::check_tangent("slice", t.shape(), x.shape());
        forward(t.view(), info)
    }

    /// `adjoint.slice_mut(info) += g`, in place.
    #[inline]
    #[track_caller]
    pub fn add_at<A: Clone + Add<Output = A>, D: Dimension, I: SliceArg<D> + Copy>(
        adjoint: &mut Array<A, D>,
        info: I,
        g: Array<A, I::OutDim>,
    ) {
        super::check_slice("slice", adjoint.shape(), info.as_ref());
        super::add_into("slice", adjoint.slice_mut(info), g.view());
    }
}

/// `x.slice_axis(Axis(k), Slice::from(a..b))`: one axis sliced, the rank kept.
pub mod slice_axis {
    use core::ops::Add;

    use ndarray::{Array, ArrayView, Axis, Dimension, Slice, SliceInfoElem};
    use num_traits::Zero;

    #[track_caller]
    fn check(shape: &[usize], axis: Axis, slice: Slice) {
        super::check_axis("slice_axis", shape, axis);
        super::check_slice(
            "slice_axis",
            &shape[axis.index()..=axis.index()],
            &[SliceInfoElem::from(slice)],
        );
    }

    #[inline]
    #[track_caller]
    pub fn forward<A: Clone, D: Dimension>(
        x: ArrayView<'_, A, D>,
        axis: Axis,
        slice: Slice,
    ) -> Array<A, D> {
        check(x.shape(), axis, slice);
        x.slice_axis(axis, slice).to_owned()
    }

    /// The adjoint as an array of `x`'s shape; the generated code uses [`add_at`] instead.
    #[track_caller]
    pub fn vjp0<A: Clone + Zero + Add<Output = A>, D: Dimension>(
        x: ArrayView<'_, A, D>,
        axis: Axis,
        slice: Slice,
        _y: &Array<A, D>,
        g: Array<A, D>,
    ) -> Array<A, D> {
        super::scattered(x.raw_dim(), |adjoint| add_at(adjoint, axis, slice, g))
    }

    /// Forward mode: the tangent's slice.
    #[track_caller]
    pub fn jvp0<A: Clone, D: Dimension>(
        x: ArrayView<'_, A, D>,
        axis: Axis,
        slice: Slice,
        _y: &Array<A, D>,
        t: Array<A, D>,
    ) -> Array<A, D> {
        crate::value::check_tangent("slice_axis", t.shape(), x.shape());
        forward(t.view(), axis, slice)
    }

    /// `adjoint.slice_axis_mut(axis, slice) += g`, in place.
    #[inline]
    #[track_caller]
    pub fn add_at<A: Clone + Add<Output = A>, D: Dimension>(
        adjoint: &mut Array<A, D>,
        axis: Axis,
        slice: Slice,
        g: Array<A, D>,
    ) {
        check(adjoint.shape(), axis, slice);
        super::add_into("slice_axis", adjoint.slice_axis_mut(axis, slice), g.view());
    }
}

/// `x.index_axis(Axis(k), i)`: the subarray at index i along axis k, one rank less (a row or
/// a column of a matrix, an element of a vector as a zero-dimensional array).
pub mod index_axis {
    use core::ops::Add;

    use ndarray::{Array, ArrayView, Axis, RemoveAxis};
    use num_traits::Zero;

    #[inline]
    #[track_caller]
    pub fn forward<A: Clone, D: RemoveAxis>(
        x: ArrayView<'_, A, D>,
        axis: Axis,
        index: usize,
    ) -> Array<A, D::Smaller> {
        super::check_index("index_axis", x.shape(), axis, index);
        x.index_axis(axis, index).to_owned()
    }

    /// The adjoint as an array of `x`'s shape; the generated code uses [`add_at`] instead.
    #[track_caller]
    pub fn vjp0<A: Clone + Zero + Add<Output = A>, D: RemoveAxis>(
        x: ArrayView<'_, A, D>,
        axis: Axis,
        index: usize,
        _y: &Array<A, D::Smaller>,
        g: Array<A, D::Smaller>,
    ) -> Array<A, D> {
        super::scattered(x.raw_dim(), |adjoint| add_at(adjoint, axis, index, g))
    }

    /// Forward mode: the tangent's subarray.
    #[track_caller]
    pub fn jvp0<A: Clone, D: RemoveAxis>(
        x: ArrayView<'_, A, D>,
        axis: Axis,
        index: usize,
        _y: &Array<A, D::Smaller>,
        t: Array<A, D>,
    ) -> Array<A, D::Smaller> {
        crate::value::check_tangent("index_axis", t.shape(), x.shape());
        forward(t.view(), axis, index)
    }

    /// `adjoint.index_axis_mut(axis, index) += g`, in place.
    #[inline]
    #[track_caller]
    pub fn add_at<A: Clone + Add<Output = A>, D: RemoveAxis>(
        adjoint: &mut Array<A, D>,
        axis: Axis,
        index: usize,
        g: Array<A, D::Smaller>,
    ) {
        super::check_index("index_axis", adjoint.shape(), axis, index);
        super::add_into("index_axis", adjoint.index_axis_mut(axis, index), g.view());
    }
}

/// `x.select(Axis(k), &indices)`: a gather (an embedding lookup), indices in any order and
/// repeated at will, as any `AsRef<[usize]>` (`&[usize]`, `&Vec<usize>`, `&[usize; n]`); the adjoint adds each index's slab back, so a repeated index gets the sum.
pub mod select {
    use core::ops::Add;

    use ndarray::{Array, ArrayView, Axis, RemoveAxis};
    use num_traits::Zero;

    #[track_caller]
    fn check(shape: &[usize], axis: Axis, indices: &[usize]) {
        super::check_axis("select", shape, axis);
        let len = shape[axis.index()];
        if let Some(bad) = indices.iter().find(|&&i| i >= len) {
            panic!(
                "select: index {bad} is out of bounds for axis {} of an array of shape {shape:?}",
                axis.index()
            );
        }
    }

    #[inline]
    #[track_caller]
    pub fn forward<A: Clone, D: RemoveAxis, I: AsRef<[usize]>>(
        x: ArrayView<'_, A, D>,
        axis: Axis,
        indices: I,
    ) -> Array<A, D> {
        check(x.shape(), axis, indices.as_ref());
        x.select(axis, indices.as_ref())
    }

    /// The adjoint as an array of `x`'s shape; the generated code uses [`add_at`] instead.
    #[track_caller]
    pub fn vjp0<A: Clone + Zero + Add<Output = A>, D: RemoveAxis, I: AsRef<[usize]>>(
        x: ArrayView<'_, A, D>,
        axis: Axis,
        indices: I,
        _y: &Array<A, D>,
        g: Array<A, D>,
    ) -> Array<A, D> {
        super::scattered(x.raw_dim(), |adjoint| add_at(adjoint, axis, indices, g))
    }

    /// Forward mode: the same gather of the tangent.
    #[track_caller]
    pub fn jvp0<A: Clone, D: RemoveAxis, I: AsRef<[usize]>>(
        x: ArrayView<'_, A, D>,
        axis: Axis,
        indices: I,
        _y: &Array<A, D>,
        t: Array<A, D>,
    ) -> Array<A, D> {
        crate::value::check_tangent("select", t.shape(), x.shape());
        forward(t.view(), axis, indices)
    }

    /// For each position j, `adjoint`'s slab `indices[j]` += g's slab j, in place.
    #[inline]
    #[track_caller]
    pub fn add_at<A: Clone + Add<Output = A>, D: RemoveAxis, I: AsRef<[usize]>>(
        adjoint: &mut Array<A, D>,
        axis: Axis,
        indices: I,
        g: Array<A, D>,
    ) {
        let indices = indices.as_ref();
        check(adjoint.shape(), axis, indices);
        let mut expected = adjoint.shape().to_vec();
        expected[axis.index()] = indices.len();
        if g.shape() != expected.as_slice() {
            crate::value::check_adjoint("select", g.shape(), &expected);
        }
        for (j, &index) in indices.iter().enumerate() {
            let slab = adjoint.index_axis_mut(axis, index);
            super::add_into("select", slab, g.index_axis(axis, j));
        }
    }
}

/// `m.diag()`: the main diagonal of a matrix (of any array: the elements with equal indices).
pub mod diag {
    use core::ops::Add;

    use ndarray::{Array, Array1, ArrayView, Dimension};
    use num_traits::Zero;

    #[inline]
    pub fn forward<A: Clone, D: Dimension>(x: ArrayView<'_, A, D>) -> Array1<A> {
        x.diag().to_owned()
    }

    /// The adjoint as an array of `x`'s shape; the generated code uses [`add_at`] instead.
    #[track_caller]
    pub fn vjp0<A: Clone + Zero + Add<Output = A>, D: Dimension>(
        x: ArrayView<'_, A, D>,
        _y: &Array1<A>,
        g: Array1<A>,
    ) -> Array<A, D> {
        super::scattered(x.raw_dim(), |adjoint| add_at(adjoint, g))
    }

    /// Forward mode: the tangent's diagonal.
    #[track_caller]
    pub fn jvp0<A: Clone, D: Dimension>(
        x: ArrayView<'_, A, D>,
        _y: &Array1<A>,
        t: Array<A, D>,
    ) -> Array1<A> {
        crate::value::check_tangent("diag", t.shape(), x.shape());
        forward(t.view())
    }

    /// `adjoint`'s diagonal += g, in place.
    #[inline]
    #[track_caller]
    pub fn add_at<A: Clone + Add<Output = A>, D: Dimension>(
        adjoint: &mut Array<A, D>,
        g: Array1<A>,
    ) {
        let diagonal = adjoint.diag_mut();
        super::add_into("diag", diagonal, g.view());
    }
}

/// `x.remove_axis(Axis(k))`: ndarray's `index_axis(Axis(k), 0)` (the axis is meant to have
/// length 1); the adjoint is added back at index 0.
pub mod remove_axis {
    use core::ops::Add;

    use ndarray::{Array, ArrayView, Axis, RemoveAxis};
    use num_traits::Zero;

    #[inline]
    #[track_caller]
    pub fn forward<A: Clone, D: RemoveAxis>(
        x: ArrayView<'_, A, D>,
        axis: Axis,
    ) -> Array<A, D::Smaller> {
        super::check_index("remove_axis", x.shape(), axis, 0);
        x.index_axis(axis, 0).to_owned()
    }

    /// The adjoint as an array of `x`'s shape; the generated code uses [`add_at`] instead.
    #[track_caller]
    pub fn vjp0<A: Clone + Zero + Add<Output = A>, D: RemoveAxis>(
        x: ArrayView<'_, A, D>,
        axis: Axis,
        _y: &Array<A, D::Smaller>,
        g: Array<A, D::Smaller>,
    ) -> Array<A, D> {
        super::scattered(x.raw_dim(), |adjoint| add_at(adjoint, axis, g))
    }

    #[track_caller]
    pub fn jvp0<A: Clone, D: RemoveAxis>(
        x: ArrayView<'_, A, D>,
        axis: Axis,
        _y: &Array<A, D::Smaller>,
        t: Array<A, D>,
    ) -> Array<A, D::Smaller> {
        crate::value::check_tangent("remove_axis", t.shape(), x.shape());
        forward(t.view(), axis)
    }

    /// `adjoint.index_axis_mut(axis, 0) += g`, in place.
    #[inline]
    #[track_caller]
    pub fn add_at<A: Clone + Add<Output = A>, D: RemoveAxis>(
        adjoint: &mut Array<A, D>,
        axis: Axis,
        g: Array<A, D::Smaller>,
    ) {
        super::check_index("remove_axis", adjoint.shape(), axis, 0);
        super::add_into("remove_axis", adjoint.index_axis_mut(axis, 0), g.view());
    }
}
