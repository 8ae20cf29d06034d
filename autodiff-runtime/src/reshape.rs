//! Reshaping of differentiated arrays (issue 14): each result is an owned array with the same
//! elements in another arrangement, so each adjoint is the result's adjoint arranged back
//! (`broadcast`'s summed over the broadcast axes, `concatenate`'s and `stack`'s split), and
//! each tangent the same reshaping of the argument's tangent.

use ndarray::{Array, ArrayView, Axis, Dimension};

/// Panics, naming `op` and the shape, unless `axis` is one of an array of `ndim` axes (`+ 1`
/// for `insert_axis`, which may add one after the last).
#[track_caller]
fn check_axis(op: &str, shape: &[usize], axis: Axis, extra: usize) {
    if axis.index() >= shape.len() + extra {
        panic!(
            "{op}: axis {} is out of bounds for an array of shape {shape:?}",
            axis.index()
        );
    }
}

/// `g`'s parts along `axis`: the first `len` subarrays and the rest.
fn split<A: Clone, D: Dimension>(
    g: ArrayView<'_, A, D>,
    axis: Axis,
    len: usize,
) -> (Array<A, D>, Array<A, D>) {
    let (first, rest) = g.split_at(axis, len);
    (owned(first), owned(rest))
}

/// `part.to_owned()`, also for an empty part, whose strides from `split_at` ndarray's
/// `to_owned` rejects (an array first concatenated onto with no rows).
fn owned<A: Clone, D: Dimension>(part: ArrayView<'_, A, D>) -> Array<A, D> {
    match part.is_empty() {
        true => Array::from_shape_vec(part.raw_dim(), Vec::new()).expect("no elements"),
        false => part.to_owned(),
    }
}

/// `x.into_shape_with_order(shape).unwrap()`, `x.to_shape(shape).unwrap()`: the elements in
/// row-major order (or the order given with the shape) in a new shape.
pub mod into_shape_with_order {
    use ndarray::{Array, ArrayView, Dimension, Order, ShapeArg};
    use num_traits::Float;

    use crate::value::{ArrayShape, Shape};

    /// The shape and the order, checked against the argument's size.
    #[track_caller]
    fn target<E: ShapeArg>(shape: E, from: &[usize]) -> (E::Dim, Order) {
        let (dim, order) = shape.into_shape_and_order();
        if dim.size() != from.iter().product::<usize>() {
            panic!(
                "into_shape_with_order: an array of shape {from:?} cannot be reshaped to {:?} \
                 (the number of elements differs)",
                dim.slice()
            );
        }
        (dim, order.unwrap_or(Order::RowMajor))
    }

    /// `x`'s elements, read in `order`, in the shape `dim`.
    fn arranged<A: Clone, D: Dimension, E: Dimension>(
        x: ArrayView<'_, A, D>,
        dim: E,
        order: Order,
    ) -> Array<A, E> {
        x.to_shape((dim, order))
            .expect("the sizes agree")
            .into_owned()
    }

    /// [`arranged`] for an owned array, in its own buffer where its layout allows (an adjoint
    /// fresh from the result's pullback is in row-major order).
    fn regrouped<A: Clone, D: Dimension, E: Dimension>(
        x: Array<A, D>,
        dim: E,
        order: Order,
    ) -> Array<A, E> {
        let contiguous = match order {
            Order::RowMajor => x.is_standard_layout(),
            Order::ColumnMajor => x.t().is_standard_layout(),
            _ => false,
        };
        match contiguous {
            true => x
                .into_shape_with_order((dim, order))
                .expect("the sizes agree and the layout is contiguous"),
            false => arranged(x.view(), dim, order),
        }
    }

    #[track_caller]
    pub fn forward<A: Clone, D: Dimension, E: ShapeArg>(
        x: ArrayView<'_, A, D>,
        shape: E,
    ) -> Array<A, E::Dim> {
        let (dim, order) = target(shape, x.shape());
        arranged(x, dim, order)
    }

    /// [`forward`] of an array the generated code has no later use for: in its own buffer
    /// where its layout allows.
    #[track_caller]
    pub fn forward_into<A: Clone, D: Dimension, E: ShapeArg>(
        x: Array<A, D>,
        shape: E,
    ) -> Array<A, E::Dim> {
        let (dim, order) = target(shape, x.shape());
        regrouped(x, dim, order)
    }

    /// [`vjp0`] from the argument's shape, kept before its array was moved into the result.
    #[track_caller]
    pub fn vjp0_shaped<A: Float, D: Dimension, E: ShapeArg>(
        x: ArrayShape<A, D>,
        shape: E,
        _y: &Array<A, E::Dim>,
        g: Array<A, E::Dim>,
    ) -> Array<A, D> {
        let (dim, order) = target(shape, x.dims());
        crate::value::check_adjoint("into_shape_with_order", g.shape(), dim.slice());
        regrouped(g, x.raw_dim(), order)
    }

    /// The adjoint in the argument's shape, read in the same order.
    #[track_caller]
    pub fn vjp0<A: Clone, D: Dimension, E: ShapeArg>(
        x: ArrayView<'_, A, D>,
        shape: E,
        _y: &Array<A, E::Dim>,
        g: Array<A, E::Dim>,
    ) -> Array<A, D> {
        let (dim, order) = target(shape, x.shape());
        crate::value::check_adjoint("into_shape_with_order", g.shape(), dim.slice());
        regrouped(g, x.raw_dim(), order)
    }

    #[track_caller]
    pub fn jvp0<A: Clone, D: Dimension, E: ShapeArg>(
        x: ArrayView<'_, A, D>,
        shape: E,
        _y: &Array<A, E::Dim>,
        t: Array<A, D>,
    ) -> Array<A, E::Dim> {
        crate::value::check_tangent("into_shape_with_order", t.shape(), x.shape());
        let (dim, order) = target(shape, t.shape());
        regrouped(t, dim, order)
    }
}

/// `x.flatten()`: the elements in row-major order, as a vector.
pub mod flatten {
    use ndarray::{Array, Array1, ArrayView, Dimension};

    #[inline]
    pub fn forward<A: Clone, D: Dimension>(x: ArrayView<'_, A, D>) -> Array1<A> {
        x.flatten().into_owned()
    }

    /// The adjoint in the argument's shape.
    #[track_caller]
    pub fn vjp0<A: Clone, D: Dimension>(
        x: ArrayView<'_, A, D>,
        _y: &Array1<A>,
        g: Array1<A>,
    ) -> Array<A, D> {
        crate::value::check_adjoint("flatten", g.shape(), &[x.len()]);
        g.into_shape_with_order(x.raw_dim())
            .expect("as many elements")
    }

    #[track_caller]
    pub fn jvp0<A: Clone, D: Dimension>(
        x: ArrayView<'_, A, D>,
        _y: &Array1<A>,
        t: Array<A, D>,
    ) -> Array1<A> {
        crate::value::check_tangent("flatten", t.shape(), x.shape());
        // In the tangent's own buffer where it is in row-major order already.
        match t.is_standard_layout() {
            true => {
                let len = t.len();
                t.into_shape_with_order(len)
                    .expect("a row-major array has a row-major vector of its elements")
            }
            false => forward(t.view()),
        }
    }
}

/// `x.insert_axis(Axis(k))`: a new axis of length 1.
pub mod insert_axis {
    use ndarray::{Array, ArrayView, Axis, Dimension};

    #[track_caller]
    pub fn forward<A: Clone, D: Dimension>(
        x: ArrayView<'_, A, D>,
        axis: Axis,
    ) -> Array<A, D::Larger> {
        super::check_axis("insert_axis", x.shape(), axis, 1);
        x.insert_axis(axis).to_owned()
    }

    /// The adjoint without the axis.
    #[track_caller]
    pub fn vjp0<A: Clone, D: Dimension>(
        x: ArrayView<'_, A, D>,
        axis: Axis,
        _y: &Array<A, D::Larger>,
        g: Array<A, D::Larger>,
    ) -> Array<A, D> {
        let mut expected = x.shape().to_vec();
        expected.insert(axis.index().min(expected.len()), 1);
        crate::value::check_adjoint("insert_axis", g.shape(), &expected);
        g.into_shape_with_order(x.raw_dim())
            .expect("the same elements without the axis of length 1")
    }

    #[track_caller]
    pub fn jvp0<A: Clone, D: Dimension>(
        x: ArrayView<'_, A, D>,
        axis: Axis,
        _y: &Array<A, D::Larger>,
        t: Array<A, D>,
    ) -> Array<A, D::Larger> {
        crate::value::check_tangent("insert_axis", t.shape(), x.shape());
        forward(t.view(), axis)
    }
}

/// `x.reversed_axes()`: every axis reversed (the transpose of a matrix), made owned.
pub mod reversed_axes {
    use ndarray::{Array, ArrayView, Dimension};

    #[inline]
    pub fn forward<A: Clone, D: Dimension>(x: ArrayView<'_, A, D>) -> Array<A, D> {
        x.reversed_axes().to_owned()
    }

    #[track_caller]
    pub fn vjp0<A: Clone, D: Dimension>(
        x: ArrayView<'_, A, D>,
        _y: &Array<A, D>,
        g: Array<A, D>,
    ) -> Array<A, D> {
        let expected: Vec<usize> = x.shape().iter().rev().copied().collect();
        crate::value::check_adjoint("reversed_axes", g.shape(), &expected);
        g.reversed_axes()
    }

    #[track_caller]
    pub fn jvp0<A: Clone, D: Dimension>(
        x: ArrayView<'_, A, D>,
        _y: &Array<A, D>,
        t: Array<A, D>,
    ) -> Array<A, D> {
        crate::value::check_tangent("reversed_axes", t.shape(), x.shape());
        t.reversed_axes()
    }
}

/// `x.permuted_axes(axes)`: the axes in the order `axes` gives; the adjoint permutes back.
pub mod permuted_axes {
    use ndarray::{Array, ArrayView, Dimension, IntoDimension};

    /// `axes` as a dimension, checked to be a permutation of `x`'s axes.
    #[track_caller]
    fn permutation<D: Dimension, T: IntoDimension<Dim = D>>(axes: T, shape: &[usize]) -> D {
        let axes = axes.into_dimension();
        let mut seen = vec![false; shape.len()];
        let valid = axes.ndim() == shape.len()
            && axes
                .slice()
                .iter()
                .all(|&k| k < shape.len() && !std::mem::replace(&mut seen[k], true));
        if !valid {
            panic!(
                "permuted_axes: {:?} is not a permutation of the axes of an array of shape {shape:?}",
                axes.slice()
            );
        }
        axes
    }

    #[track_caller]
    pub fn forward<A: Clone, D: Dimension, T: IntoDimension<Dim = D>>(
        x: ArrayView<'_, A, D>,
        axes: T,
    ) -> Array<A, D> {
        let axes = permutation(axes, x.shape());
        x.permuted_axes(axes).to_owned()
    }

    /// The adjoint, its axes put back by the inverse permutation.
    #[track_caller]
    pub fn vjp0<A: Clone, D: Dimension, T: IntoDimension<Dim = D>>(
        x: ArrayView<'_, A, D>,
        axes: T,
        _y: &Array<A, D>,
        g: Array<A, D>,
    ) -> Array<A, D> {
        let axes = permutation(axes, x.shape());
        let expected: Vec<usize> = axes.slice().iter().map(|&k| x.shape()[k]).collect();
        crate::value::check_adjoint("permuted_axes", g.shape(), &expected);
        let mut inverse = axes.clone();
        for (i, &k) in axes.slice().iter().enumerate() {
            inverse[k] = i;
        }
        g.permuted_axes(inverse)
    }

    #[track_caller]
    pub fn jvp0<A: Clone, D: Dimension, T: IntoDimension<Dim = D>>(
        x: ArrayView<'_, A, D>,
        axes: T,
        _y: &Array<A, D>,
        t: Array<A, D>,
    ) -> Array<A, D> {
        crate::value::check_tangent("permuted_axes", t.shape(), x.shape());
        forward(t.view(), axes)
    }
}

/// `x.broadcast(shape).unwrap()`: the array repeated along new or length-1 axes, made owned;
/// the adjoint is summed back over them (`value::unbroadcast`).
pub mod broadcast {
    use ndarray::{Array, ArrayView, Dimension, IntoDimension};
    use num_traits::Float;

    #[track_caller]
    pub fn forward<A: Clone, D: Dimension, E: IntoDimension>(
        x: ArrayView<'_, A, D>,
        shape: E,
    ) -> Array<A, E::Dim> {
        let dim = shape.into_dimension();
        match x.broadcast(dim.clone()) {
            Some(view) => view.to_owned(),
            None => panic!(
                "broadcast: an array of shape {:?} cannot be broadcast to shape {:?}",
                x.shape(),
                dim.slice()
            ),
        }
    }

    #[track_caller]
    pub fn vjp0<A: Float + 'static, D: Dimension, E: IntoDimension>(
        x: ArrayView<'_, A, D>,
        _shape: E,
        y: &Array<A, E::Dim>,
        g: Array<A, E::Dim>,
    ) -> Array<A, D> {
        crate::value::check_adjoint("broadcast", g.shape(), y.shape());
        crate::value::unbroadcast(g, x.raw_dim())
    }

    #[track_caller]
    pub fn jvp0<A: Clone, D: Dimension, E: IntoDimension>(
        x: ArrayView<'_, A, D>,
        shape: E,
        _y: &Array<A, E::Dim>,
        t: Array<A, D>,
    ) -> Array<A, E::Dim> {
        crate::value::check_tangent("broadcast", t.shape(), x.shape());
        forward(t.view(), shape)
    }
}

/// `concatenate![Axis(k), a, b]`, `concatenate(Axis(k), &[a.view(), b.view()])`: two arrays
/// joined along an axis (more are joined two at a time); the adjoint is split there.
pub mod concatenate {
    use ndarray::{Array, ArrayView, Axis, Dimension, RemoveAxis};

    #[track_caller]
    pub fn forward<A: Clone, D: RemoveAxis>(
        axis: Axis,
        a: ArrayView<'_, A, D>,
        b: ArrayView<'_, A, D>,
    ) -> Array<A, D> {
        super::check_axis("concatenate", a.shape(), axis, 0);
        let fits = a
            .shape()
            .iter()
            .zip(b.shape())
            .enumerate()
            .all(|(k, (m, n))| k == axis.index() || m == n);
        if !fits || a.ndim() != b.ndim() {
            panic!(
                "concatenate: arrays of shapes {:?} and {:?} cannot be joined along axis {}",
                a.shape(),
                b.shape(),
                axis.index()
            );
        }
        ndarray::concatenate(axis, &[a, b]).expect("shapes checked")
    }

    #[track_caller]
    fn parts<A: Clone, D: Dimension>(
        axis: Axis,
        a: &ArrayView<'_, A, D>,
        y: &Array<A, D>,
        g: &Array<A, D>,
    ) -> (Array<A, D>, Array<A, D>) {
        crate::value::check_adjoint("concatenate", g.shape(), y.shape());
        super::split(g.view(), axis, a.len_of(axis))
    }

    #[track_caller]
    pub fn vjp1<A: Clone, D: RemoveAxis>(
        axis: Axis,
        a: ArrayView<'_, A, D>,
        _b: ArrayView<'_, A, D>,
        y: &Array<A, D>,
        g: Array<A, D>,
    ) -> Array<A, D> {
        parts(axis, &a, y, &g).0
    }

    #[track_caller]
    pub fn vjp2<A: Clone, D: RemoveAxis>(
        axis: Axis,
        a: ArrayView<'_, A, D>,
        _b: ArrayView<'_, A, D>,
        y: &Array<A, D>,
        g: Array<A, D>,
    ) -> Array<A, D> {
        parts(axis, &a, y, &g).1
    }

    /// Forward mode along `a`: its tangent beside zeros in `b`'s place.
    #[track_caller]
    pub fn jvp1<A: Clone + num_traits::Zero, D: RemoveAxis>(
        axis: Axis,
        a: ArrayView<'_, A, D>,
        b: ArrayView<'_, A, D>,
        _y: &Array<A, D>,
        t: Array<A, D>,
    ) -> Array<A, D> {
        crate::value::check_tangent("concatenate", t.shape(), a.shape());
        forward(axis, t.view(), Array::zeros(b.raw_dim()).view())
    }

    /// Forward mode along `b`: zeros in `a`'s place beside its tangent.
    #[track_caller]
    pub fn jvp2<A: Clone + num_traits::Zero, D: RemoveAxis>(
        axis: Axis,
        a: ArrayView<'_, A, D>,
        b: ArrayView<'_, A, D>,
        _y: &Array<A, D>,
        t: Array<A, D>,
    ) -> Array<A, D> {
        crate::value::check_tangent("concatenate", t.shape(), b.shape());
        forward(axis, Array::zeros(a.raw_dim()).view(), t.view())
    }
}

/// `stack![Axis(k), a, b]`, `stack(Axis(k), &[a.view(), b.view()])`: two arrays of one shape
/// stacked along a new axis; the adjoint is its two subarrays there.
pub mod stack {
    use ndarray::{Array, ArrayView, Axis, Dimension};

    #[track_caller]
    pub fn forward<A: Clone, D: Dimension>(
        axis: Axis,
        a: ArrayView<'_, A, D>,
        b: ArrayView<'_, A, D>,
    ) -> Array<A, D::Larger> {
        super::check_axis("stack", a.shape(), axis, 1);
        if a.shape() != b.shape() {
            panic!(
                "stack: arrays of shapes {:?} and {:?} differ; stacked arrays must have one shape",
                a.shape(),
                b.shape()
            );
        }
        ndarray::stack(axis, &[a, b]).expect("shapes checked")
    }

    #[track_caller]
    fn part<A: Clone, D: Dimension>(
        axis: Axis,
        a: &ArrayView<'_, A, D>,
        y: &Array<A, D::Larger>,
        g: &Array<A, D::Larger>,
        index: usize,
    ) -> Array<A, D> {
        crate::value::check_adjoint("stack", g.shape(), y.shape());
        g.index_axis(axis, index)
            .to_owned()
            .into_shape_with_order(a.raw_dim())
            .expect("a stacked part has the argument's shape")
    }

    #[track_caller]
    pub fn vjp1<A: Clone, D: Dimension>(
        axis: Axis,
        a: ArrayView<'_, A, D>,
        _b: ArrayView<'_, A, D>,
        y: &Array<A, D::Larger>,
        g: Array<A, D::Larger>,
    ) -> Array<A, D> {
        part(axis, &a, y, &g, 0)
    }

    #[track_caller]
    pub fn vjp2<A: Clone, D: Dimension>(
        axis: Axis,
        a: ArrayView<'_, A, D>,
        _b: ArrayView<'_, A, D>,
        y: &Array<A, D::Larger>,
        g: Array<A, D::Larger>,
    ) -> Array<A, D> {
        part(axis, &a, y, &g, 1)
    }

    /// Forward mode along `a`: its tangent stacked on zeros.
    #[track_caller]
    pub fn jvp1<A: Clone + num_traits::Zero, D: Dimension>(
        axis: Axis,
        a: ArrayView<'_, A, D>,
        b: ArrayView<'_, A, D>,
        _y: &Array<A, D::Larger>,
        t: Array<A, D>,
    ) -> Array<A, D::Larger> {
        crate::value::check_tangent("stack", t.shape(), a.shape());
        forward(axis, t.view(), Array::zeros(b.raw_dim()).view())
    }

    /// Forward mode along `b`: zeros stacked on its tangent.
    #[track_caller]
    pub fn jvp2<A: Clone + num_traits::Zero, D: Dimension>(
        axis: Axis,
        a: ArrayView<'_, A, D>,
        b: ArrayView<'_, A, D>,
        _y: &Array<A, D::Larger>,
        t: Array<A, D>,
    ) -> Array<A, D::Larger> {
        crate::value::check_tangent("stack", t.shape(), b.shape());
        forward(axis, Array::zeros(a.raw_dim()).view(), t.view())
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{array, Array2, Order};

    /// A reshape's and a flatten's tangent, taken in its own buffer where it can be: the
    /// same elements as reshaping a copy, in either order, from a row-major tangent and from
    /// a transposed one.
    #[test]
    fn reshaped_tangents_are_the_tangents_reshaped() {
        let x = Array2::<f64>::zeros((2, 3));
        let row_major = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let transposed = array![[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]].reversed_axes();
        for t in [row_major, transposed] {
            for order in [Order::RowMajor, Order::ColumnMajor] {
                let y = super::into_shape_with_order::forward(x.view(), ((3, 2), order));
                let got =
                    super::into_shape_with_order::jvp0(x.view(), ((3, 2), order), &y, t.clone());
                let want = t.to_shape(((3, 2), order)).unwrap().into_owned();
                assert_eq!(
                    got,
                    want,
                    "{order:?}, standard layout {}",
                    t.is_standard_layout()
                );
            }
            let y = super::flatten::forward(x.view());
            let got = super::flatten::jvp0(x.view(), &y, t.clone());
            assert_eq!(got, t.flatten().into_owned());
        }
    }
}
