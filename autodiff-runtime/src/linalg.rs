//! The array primitives that are not elementwise: matrix products, transposition and
//! reductions, each with its pullbacks. `dot`'s adjoints are the lectures' matrix formulas:
//! for C = AB, Ā = C̄Bᵀ and B̄ = AᵀC̄.

use std::any::TypeId;

use ndarray::linalg::general_mat_mul;
use ndarray::{Array, Array1, Array2, ArrayView, ArrayView1, ArrayView2, Axis, Dimension};
use num_traits::Float;

use crate::dual::Dual;

/// The products `a.dot(&b)` of ndarray: matrix·matrix, matrix·vector, vector·matrix and
/// vector·vector.
pub trait MatMul<R>: Sized {
    type Output;
    type LeftGrad;
    type RightGrad;
    /// The product; panics naming both shapes if they are not aligned.
    #[track_caller]
    fn matmul(self, r: R) -> Self::Output;
    /// The left factor's adjoint from the product's, ḠBᵀ. The pullbacks and pushforwards
    /// panic if the (co)tangent they are given does not have its value's shape (a caller's
    /// `f_vjp` cotangent or `f_jvp` tangent of the wrong shape).
    #[track_caller]
    fn pull_left(self, r: R, g: &Self::Output) -> Self::LeftGrad;
    /// The right factor's adjoint, AᵀḠ.
    #[track_caller]
    fn pull_right(self, r: R, g: &Self::Output) -> Self::RightGrad;
    /// Forward mode: the product's tangent from the left factor's, ȦB.
    #[track_caller]
    fn push_left(self, r: R, t: Self::LeftGrad) -> Self::Output;
    /// The product's tangent from the right factor's, AḂ.
    #[track_caller]
    fn push_right(self, r: R, t: Self::RightGrad) -> Self::Output;
}

/// The element types `dot` works on.
pub trait Scalar: Float + ndarray::LinalgScalar {}
impl<A: Float + ndarray::LinalgScalar> Scalar for A {}

#[track_caller]
fn check_aligned(inner_a: usize, inner_b: usize, a: &[usize], b: &[usize]) {
    if inner_a != inner_b {
        panic!("dot: shapes {a:?} and {b:?} are not aligned ({inner_a} != {inner_b})");
    }
}

/// Panics unless a tangent or cotangent has the shape of the value it belongs to (`what` is
/// "tangent of the left factor", …, `owner` "factor" or "product").
#[track_caller]
fn check_like(what: &str, owner: &str, got: &[usize], want: &[usize]) {
    if got != want {
        panic!("dot: the {what} has shape {got:?}; the {owner} has shape {want:?}");
    }
}

#[track_caller]
fn check_cotangent(got: &[usize], product: &[usize]) {
    check_like("cotangent of the product", "product", got, product);
}

#[track_caller]
fn check_left_tangent(got: &[usize], factor: &[usize]) {
    check_like("tangent of the left factor", "factor", got, factor);
}

#[track_caller]
fn check_right_tangent(got: &[usize], factor: &[usize]) {
    check_like("tangent of the right factor", "factor", got, factor);
}

/// A·B into a new matrix: with the `gemm` crate for `f32` and `f64` (vectorized kernels for
/// any strides, so transposed operands cost no copy; threaded on rayon's pool when the
/// product is large; the output is written without being zeroed first), with ndarray for
/// other element types. Panics if the inner dimensions differ: every caller checks its shapes
/// first with a clearer message, and the `gemm` call below is only sound with this check.
#[track_caller]
fn mat_mat<A: Scalar>(a: ArrayView2<A>, b: ArrayView2<A>) -> Array2<A> {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    check_aligned(k, b.nrows(), a.shape(), b.shape());
    let kernel_for = |t| TypeId::of::<A>() == t;
    // Dual products of a few thousand multiply-adds stay generic: splitting them costs more.
    if m * k * n >= 1 << 12 && kernel_for(TypeId::of::<Dual<f64>>()) {
        // SAFETY: `A` is `Dual<f64>` (the same `TypeId`): the views, and the product
        // returned, are of the same types either way.
        return unsafe { same_type(dual_mat_mat(same_type(a), same_type(b))) };
    }
    if m == 0
        || n == 0
        || k == 0
        || !(kernel_for(TypeId::of::<f64>()) || kernel_for(TypeId::of::<f32>()))
    {
        let mut out = Array2::zeros((m, n));
        general_mat_mul(A::one(), &a, &b, A::zero(), &mut out);
        return out;
    }
    let mut out = Array2::<A>::uninit((m, n));
    // SAFETY: A is f32 or f64 (gemm's supported types, checked by `TypeId` above). gemm reads
    // lhs[i, p] at a.as_ptr() + i·rs + p·cs for i < m, p < k, and rhs[p, j] likewise for
    // p < k, j < n: with `a`'s own strides and shape (m × k) and `b`'s (k × n, as
    // `check_aligned` above guarantees: without it a k larger than b's rows would read past
    // `b`) every such address is an element of the live views `a` and `b`, whatever their
    // strides (negative, zero for broadcast views, transposed). It writes dst[i, j] at
    // out + i·n + j, every element of the fresh m × n row-major `out`, which does not alias
    // `a` or `b`. With `read_dst` false it never reads `out` (alpha is ignored) and writes
    // every element, so `out` is initialized afterwards. m, n, k > 0 here.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr().cast::<A>(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            a.strides()[1],
            a.strides()[0],
            b.as_ptr(),
            b.strides()[1],
            b.strides()[0],
            A::zero(),
            A::one(),
            false,
            false,
            false,
            gemm::Parallelism::Rayon(0),
        );
        out.assume_init()
    }
}

/// The product of dual matrices from three products of floats on the kernels above:
/// (A + εA′)(B + εB′) = AB + ε(A′B + AB′). ndarray's generic product would multiply the
/// dual numbers one by one (the Hessian's sweeps run on them).
fn dual_mat_mat(a: ArrayView2<Dual<f64>>, b: ArrayView2<Dual<f64>>) -> Array2<Dual<f64>> {
    let (a_re, a_eps) = (a.mapv(|v| v.re), a.mapv(|v| v.eps));
    let (b_re, b_eps) = (b.mapv(|v| v.re), b.mapv(|v| v.eps));
    let re = mat_mat(a_re.view(), b_re.view());
    let mut eps = mat_mat(a_eps.view(), b_re.view());
    eps += &mat_mat(a_re.view(), b_eps.view());
    ndarray::Zip::from(&re)
        .and(&eps)
        .map_collect(|&re, &eps| Dual::new(re, eps))
}

/// `value` as the type `T` that its type `S` is.
///
/// # Safety
///
/// `S` and `T` must be the same type (checked by the caller, by `TypeId`).
unsafe fn same_type<S, T>(value: S) -> T {
    let value = std::mem::ManuallyDrop::new(value);
    // SAFETY: the caller guarantees `S` is `T`: same size, layout and validity; the original
    // is not dropped, so ownership moves to the copy.
    unsafe { std::mem::transmute_copy::<S, T>(&value) }
}

/// A·x into a new vector.
#[track_caller]
fn mat_vec<A: Scalar>(a: ArrayView2<A>, x: ArrayView1<A>) -> Array1<A> {
    let m = a.nrows();
    column(mat_mat(a, x.insert_axis(Axis(1))), m)
}

/// a ⊗ b, the outer product.
pub(crate) fn outer<A: Scalar>(a: ArrayView1<A>, b: ArrayView1<A>) -> Array2<A> {
    mat_mat(a.insert_axis(Axis(1)), b.insert_axis(Axis(0)))
}

/// An m × 1 matrix as a vector, without a copy.
fn column<A: Scalar>(c: Array2<A>, m: usize) -> Array1<A> {
    c.into_shape_with_order(m)
        .expect("an m × 1 row-major matrix is a vector")
}

impl<'a, 'b, A: Scalar> MatMul<ArrayView2<'b, A>> for ArrayView2<'a, A> {
    type Output = Array2<A>;
    type LeftGrad = Array2<A>;
    type RightGrad = Array2<A>;
    fn matmul(self, b: ArrayView2<'b, A>) -> Array2<A> {
        check_aligned(self.ncols(), b.nrows(), self.shape(), b.shape());
        mat_mat(self, b)
    }
    fn pull_left(self, b: ArrayView2<'b, A>, g: &Array2<A>) -> Array2<A> {
        check_cotangent(g.shape(), &[self.nrows(), b.ncols()]);
        mat_mat(g.view(), b.t())
    }
    fn pull_right(self, b: ArrayView2<'b, A>, g: &Array2<A>) -> Array2<A> {
        check_cotangent(g.shape(), &[self.nrows(), b.ncols()]);
        mat_mat(self.t(), g.view())
    }
    fn push_left(self, b: ArrayView2<'b, A>, t: Array2<A>) -> Array2<A> {
        check_left_tangent(t.shape(), self.shape());
        mat_mat(t.view(), b)
    }
    fn push_right(self, b: ArrayView2<'b, A>, t: Array2<A>) -> Array2<A> {
        check_right_tangent(t.shape(), b.shape());
        mat_mat(self, t.view())
    }
}

impl<'a, 'b, A: Scalar> MatMul<ArrayView1<'b, A>> for ArrayView2<'a, A> {
    type Output = Array1<A>;
    type LeftGrad = Array2<A>;
    type RightGrad = Array1<A>;
    fn matmul(self, x: ArrayView1<'b, A>) -> Array1<A> {
        check_aligned(self.ncols(), x.len(), self.shape(), x.shape());
        mat_vec(self, x)
    }
    fn pull_left(self, x: ArrayView1<'b, A>, g: &Array1<A>) -> Array2<A> {
        check_cotangent(g.shape(), &[self.nrows()]);
        outer(g.view(), x)
    }
    fn pull_right(self, _x: ArrayView1<'b, A>, g: &Array1<A>) -> Array1<A> {
        check_cotangent(g.shape(), &[self.nrows()]);
        mat_vec(self.t(), g.view())
    }
    fn push_left(self, x: ArrayView1<'b, A>, t: Array2<A>) -> Array1<A> {
        check_left_tangent(t.shape(), self.shape());
        mat_vec(t.view(), x)
    }
    fn push_right(self, x: ArrayView1<'b, A>, t: Array1<A>) -> Array1<A> {
        check_right_tangent(t.shape(), x.shape());
        mat_vec(self, t.view())
    }
}

impl<'a, 'b, A: Scalar> MatMul<ArrayView2<'b, A>> for ArrayView1<'a, A> {
    type Output = Array1<A>;
    type LeftGrad = Array1<A>;
    type RightGrad = Array2<A>;
    fn matmul(self, b: ArrayView2<'b, A>) -> Array1<A> {
        check_aligned(self.len(), b.nrows(), self.shape(), b.shape());
        mat_vec(b.t(), self)
    }
    fn pull_left(self, b: ArrayView2<'b, A>, g: &Array1<A>) -> Array1<A> {
        check_cotangent(g.shape(), &[b.ncols()]);
        mat_vec(b, g.view())
    }
    fn pull_right(self, b: ArrayView2<'b, A>, g: &Array1<A>) -> Array2<A> {
        check_cotangent(g.shape(), &[b.ncols()]);
        outer(self, g.view())
    }
    fn push_left(self, b: ArrayView2<'b, A>, t: Array1<A>) -> Array1<A> {
        check_left_tangent(t.shape(), self.shape());
        mat_vec(b.t(), t.view())
    }
    fn push_right(self, b: ArrayView2<'b, A>, t: Array2<A>) -> Array1<A> {
        check_right_tangent(t.shape(), b.shape());
        mat_vec(t.t(), self)
    }
}

impl<'a, 'b, A: Scalar> MatMul<ArrayView1<'b, A>> for ArrayView1<'a, A> {
    type Output = A;
    type LeftGrad = Array1<A>;
    type RightGrad = Array1<A>;
    fn matmul(self, b: ArrayView1<'b, A>) -> A {
        check_aligned(self.len(), b.len(), self.shape(), b.shape());
        self.dot(&b)
    }
    fn pull_left(self, b: ArrayView1<'b, A>, g: &A) -> Array1<A> {
        b.mapv(|b| *g * b)
    }
    fn pull_right(self, _b: ArrayView1<'b, A>, g: &A) -> Array1<A> {
        self.mapv(|a| *g * a)
    }
    fn push_left(self, b: ArrayView1<'b, A>, t: Array1<A>) -> A {
        check_left_tangent(t.shape(), self.shape());
        t.dot(&b)
    }
    fn push_right(self, b: ArrayView1<'b, A>, t: Array1<A>) -> A {
        check_right_tangent(t.shape(), b.shape());
        self.dot(&t)
    }
}

/// `a.dot(&b)`
pub mod dot {
    use super::MatMul;

    #[inline]
    #[track_caller]
    pub fn forward<A: MatMul<B>, B>(a: A, b: B) -> A::Output {
        a.matmul(b)
    }
    #[inline]
    #[track_caller]
    pub fn vjp0<A: MatMul<B>, B>(a: A, b: B, _y: &A::Output, g: A::Output) -> A::LeftGrad {
        a.pull_left(b, &g)
    }
    #[inline]
    #[track_caller]
    pub fn vjp1<A: MatMul<B>, B>(a: A, b: B, _y: &A::Output, g: A::Output) -> A::RightGrad {
        a.pull_right(b, &g)
    }
    /// Both pullbacks, ḠBᵀ and AᵀḠ, reading the one adjoint in place (no copy of it).
    #[inline]
    #[track_caller]
    pub fn vjp_both<A: MatMul<B> + Copy, B: Copy>(
        a: A,
        b: B,
        _y: &A::Output,
        g: A::Output,
    ) -> (A::LeftGrad, A::RightGrad) {
        (a.pull_left(b, &g), a.pull_right(b, &g))
    }
    /// The pullbacks above given the result's shape, all they read of it (nothing): for a
    /// result whose buffer the forward sweep moved into a later value.
    #[inline]
    #[track_caller]
    pub fn vjp0_shaped<A: MatMul<B>, B, SY>(a: A, b: B, _y: SY, g: A::Output) -> A::LeftGrad {
        a.pull_left(b, &g)
    }
    #[inline]
    #[track_caller]
    pub fn vjp1_shaped<A: MatMul<B>, B, SY>(a: A, b: B, _y: SY, g: A::Output) -> A::RightGrad {
        a.pull_right(b, &g)
    }
    #[inline]
    #[track_caller]
    pub fn vjp_both_shaped<A: MatMul<B> + Copy, B: Copy, SY>(
        a: A,
        b: B,
        _y: SY,
        g: A::Output,
    ) -> (A::LeftGrad, A::RightGrad) {
        (a.pull_left(b, &g), a.pull_right(b, &g))
    }
    #[inline]
    #[track_caller]
    pub fn jvp0<A: MatMul<B>, B>(a: A, b: B, _y: &A::Output, t: A::LeftGrad) -> A::Output {
        a.push_left(b, t)
    }
    #[inline]
    #[track_caller]
    pub fn jvp1<A: MatMul<B>, B>(a: A, b: B, _y: &A::Output, t: A::RightGrad) -> A::Output {
        a.push_right(b, t)
    }
}

/// `a.t()`: a view with the axes reversed, so free; its adjoint is the adjoint transposed.
pub mod t {
    use ndarray::{Array, ArrayView, Dimension};

    #[inline]
    pub fn forward<A, D: Dimension>(x: ArrayView<'_, A, D>) -> ArrayView<'_, A, D> {
        x.reversed_axes()
    }
    #[inline]
    #[track_caller]
    pub fn vjp0<A, D: Dimension, Y>(x: ArrayView<'_, A, D>, _y: &Y, g: Array<A, D>) -> Array<A, D> {
        if !g.shape().iter().eq(x.shape().iter().rev()) {
            let result: Vec<usize> = x.shape().iter().rev().copied().collect();
            crate::value::check_adjoint("t", g.shape(), &result);
        }
        g.reversed_axes()
    }
    #[inline]
    #[track_caller]
    pub fn jvp0<A, D: Dimension, Y>(x: ArrayView<'_, A, D>, _y: &Y, t: Array<A, D>) -> Array<A, D> {
        crate::value::check_tangent("t", t.shape(), x.shape());
        t.reversed_axes()
    }
}

/// `a.sum()`
pub mod sum {
    use ndarray::{Array, ArrayView, Dimension};
    use num_traits::Float;

    #[inline]
    pub fn forward<A: Float, D: Dimension>(x: ArrayView<'_, A, D>) -> A {
        x.sum()
    }
    #[inline]
    pub fn vjp0<A: Float, D: Dimension>(x: ArrayView<'_, A, D>, _y: &A, g: A) -> Array<A, D> {
        Array::from_elem(x.raw_dim(), g)
    }
    #[inline]
    #[track_caller]
    pub fn jvp0<A: Float, D: Dimension>(x: ArrayView<'_, A, D>, _y: &A, t: Array<A, D>) -> A {
        crate::value::check_tangent("sum", t.shape(), x.shape());
        t.sum()
    }
}

/// `a.mean().unwrap()`
pub mod mean {
    use ndarray::{Array, ArrayView, Dimension};
    use num_traits::Float;

    #[track_caller]
    fn count<A: Float, D: Dimension>(x: &ArrayView<'_, A, D>) -> A {
        if x.is_empty() {
            panic!("mean: the array of shape {:?} is empty", x.shape());
        }
        crate::value::len_as(x.len())
    }

    #[inline]
    #[track_caller]
    pub fn forward<A: Float, D: Dimension>(x: ArrayView<'_, A, D>) -> A {
        x.sum() / count(&x)
    }
    #[inline]
    pub fn vjp0<A: Float, D: Dimension>(x: ArrayView<'_, A, D>, _y: &A, g: A) -> Array<A, D> {
        Array::from_elem(x.raw_dim(), g / count(&x))
    }
    #[inline]
    #[track_caller]
    pub fn jvp0<A: Float, D: Dimension>(x: ArrayView<'_, A, D>, _y: &A, t: Array<A, D>) -> A {
        crate::value::check_tangent("mean", t.shape(), x.shape());
        t.sum() / count(&x)
    }
}

/// The adjoint of a reduction along `axis`: `g` repeated along that axis, times `scale`.
fn spread<A: Float, D: Dimension>(
    x: &ArrayView<'_, A, D>,
    axis: Axis,
    g: Array<A, D::Smaller>,
    scale: A,
) -> Array<A, D> {
    let len = x.len_of(axis);
    let inner: usize = x.shape()[axis.index() + 1..].iter().product();
    match g.as_slice() {
        // In row-major order the result is each block of `inner` elements of g (one per
        // index of the axes before `axis`) repeated `len` times: written in that order,
        // where a broadcast view would be visited element by element.
        Some(g) if inner > 0 && g.len() * len == x.len() => {
            let mut out = Vec::with_capacity(x.len());
            for block in g.chunks(inner) {
                match block {
                    [v] => out.extend(std::iter::repeat(*v * scale).take(len)),
                    _ => (0..len).for_each(|_| out.extend(block.iter().map(|&v| v * scale))),
                }
            }
            Array::from_shape_vec(x.raw_dim(), out).expect("the result has x's elements")
        }
        _ => {
            let g = g.insert_axis(axis);
            let spread = g
                .broadcast(x.raw_dim())
                .expect("a reduction's adjoint broadcasts back to the input's shape");
            spread.mapv(|g| g * scale)
        }
    }
}

/// `a.sum_axis(Axis(k))`
pub mod sum_axis {
    use ndarray::{Array, ArrayView, Axis, Dimension, RemoveAxis};
    use num_traits::Float;

    #[inline]
    #[track_caller]
    pub fn forward<A: Float, D: RemoveAxis>(
        x: ArrayView<'_, A, D>,
        axis: Axis,
    ) -> Array<A, D::Smaller> {
        crate::value::check_axis("sum_axis", axis, x.shape());
        let len = x.len_of(axis);
        match x.as_slice() {
            // Along the last axis of a row-major array each sum is a run of the slice: summed
            // as ndarray sums a lane (in order from zero below eight elements, its unrolled
            // fold from eight), the same bits, without its per-lane views.
            Some(values) if axis.index() + 1 == x.ndim() && len > 0 => {
                let sums = values.chunks_exact(len).map(|lane| match lane.len() {
                    ..=7 => lane.iter().fold(A::zero(), |sum, &v| sum + v),
                    _ => ndarray::ArrayView1::from(lane).sum(),
                });
                Array::from_shape_vec(x.raw_dim().remove_axis(axis), sums.collect())
                    .expect("one sum per lane")
            }
            _ => x.sum_axis(axis),
        }
    }
    #[inline]
    #[track_caller]
    pub fn vjp0<A: Float, D: Dimension>(
        x: ArrayView<'_, A, D>,
        axis: Axis,
        y: &Array<A, D::Smaller>,
        g: Array<A, D::Smaller>,
    ) -> Array<A, D> {
        crate::value::check_adjoint("sum_axis", g.shape(), y.shape());
        super::spread(&x, axis, g, A::one())
    }
    #[inline]
    #[track_caller]
    pub fn jvp0<A: Float, D: RemoveAxis>(
        x: ArrayView<'_, A, D>,
        axis: Axis,
        _y: &Array<A, D::Smaller>,
        t: Array<A, D>,
    ) -> Array<A, D::Smaller> {
        crate::value::check_tangent("sum_axis", t.shape(), x.shape());
        t.sum_axis(axis)
    }
}

/// `a.mean_axis(Axis(k)).unwrap()`
pub mod mean_axis {
    use ndarray::{Array, ArrayView, Axis, Dimension, RemoveAxis};
    use num_traits::Float;

    #[track_caller]
    fn count<A: Float, D: Dimension>(x: &ArrayView<'_, A, D>, axis: Axis) -> A {
        crate::value::check_axis("mean_axis", axis, x.shape());
        let n = x.len_of(axis);
        if n == 0 {
            panic!(
                "mean_axis: axis {} of shape {:?} is empty",
                axis.index(),
                x.shape()
            );
        }
        crate::value::len_as(n)
    }

    #[inline]
    #[track_caller]
    pub fn forward<A: Float, D: RemoveAxis>(
        x: ArrayView<'_, A, D>,
        axis: Axis,
    ) -> Array<A, D::Smaller> {
        let n = count(&x, axis);
        let mut sum = x.sum_axis(axis);
        sum.mapv_inplace(|s| s / n);
        sum
    }
    #[inline]
    #[track_caller]
    pub fn vjp0<A: Float, D: Dimension>(
        x: ArrayView<'_, A, D>,
        axis: Axis,
        y: &Array<A, D::Smaller>,
        g: Array<A, D::Smaller>,
    ) -> Array<A, D> {
        crate::value::check_adjoint("mean_axis", g.shape(), y.shape());
        super::spread(&x, axis, g, count(&x, axis).recip())
    }
    #[inline]
    #[track_caller]
    pub fn jvp0<A: Float, D: RemoveAxis>(
        x: ArrayView<'_, A, D>,
        axis: Axis,
        _y: &Array<A, D::Smaller>,
        t: Array<A, D>,
    ) -> Array<A, D::Smaller> {
        crate::value::check_tangent("mean_axis", t.shape(), x.shape());
        let n = count(&x, axis);
        t.sum_axis(axis).mapv(|s| s / n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array2, ShapeBuilder};

    fn matrix<A: Scalar>(rows: usize, cols: usize, seed: usize) -> Array2<A> {
        Array2::from_shape_fn((rows, cols), |(i, j)| {
            A::from((i * 31 + j * 17 + seed) % 23).unwrap() / A::from(7.0).unwrap() - A::one()
        })
    }

    /// `sum_axis` along the last axis, lane by lane from the slice, has ndarray's bits:
    /// lanes of 1 to 20 elements, with signed zeros, infinities and NaN among them.
    #[test]
    fn sums_along_the_last_axis_have_ndarrays_bits() {
        let specials = [-0.0, 0.0, f64::INFINITY, f64::NAN, 1e300, -1e-300];
        for len in 1..=20 {
            let x = Array::from_shape_fn((3, 4, len), |(i, j, k)| {
                let n = i * 131 + j * 17 + k * 7;
                if n % 11 == 0 {
                    specials[n % specials.len()]
                } else {
                    (n as f64 * 0.731).sin() * 10f64.powi((n % 7) as i32 - 3)
                }
            });
            for axis in 0..3 {
                let got = sum_axis::forward(x.view(), Axis(axis));
                let want = x.sum_axis(Axis(axis));
                let bits = |a: &Array2<f64>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "len {len}, axis {axis}");
            }
        }
    }

    /// A reduction's adjoint, written block by block, is the broadcast of g along the axis
    /// scaled: along every axis of a 3-D array, for g in row-major order or not, empty
    /// shapes included.
    #[test]
    fn spread_repeats_g_along_the_axis() {
        for shape in [[2, 3, 4], [1, 5, 1], [3, 0, 2], [4, 1, 3]] {
            let x = Array::from_shape_fn(shape, |(i, j, k)| (i + 2 * j + 3 * k) as f64);
            for axis in 0..3 {
                let g = x.sum_axis(Axis(axis)) - 1.5;
                let want = g
                    .clone()
                    .insert_axis(Axis(axis))
                    .broadcast(x.raw_dim())
                    .unwrap()
                    .mapv(|v| v * 0.5);
                assert_eq!(spread(&x.view(), Axis(axis), g.clone(), 0.5), want);
                // The same g in column-major order.
                let mut g_f = Array::zeros(g.raw_dim().f());
                g_f.assign(&g);
                assert_eq!(spread(&x.view(), Axis(axis), g_f, 0.5), want);
            }
        }
    }

    /// The textbook triple loop, the reference for every layout.
    fn naive<A: Scalar>(a: ArrayView2<A>, b: ArrayView2<A>) -> Array2<A> {
        Array2::from_shape_fn((a.nrows(), b.ncols()), |(i, j)| {
            (0..a.ncols()).fold(A::zero(), |s, k| s + a[[i, k]] * b[[k, j]])
        })
    }

    fn assert_close<A: Scalar + std::fmt::Debug>(got: &Array2<A>, want: &Array2<A>, tol: A) {
        assert_eq!(got.shape(), want.shape());
        for (g, w) in got.iter().zip(want) {
            assert!(
                (*g - *w).abs() <= tol * (A::one() + w.abs()),
                "{g:?} vs {w:?}"
            );
        }
    }

    /// Dual matrices: three float products agree with the dual numbers multiplied one by
    /// one, in both parts, transposed and reversed too.
    #[test]
    fn dual_products_agree_with_the_definition() {
        for (m, k, n) in [(1, 1, 1), (2, 0, 3), (7, 5, 1), (40, 33, 17), (16, 16, 16)] {
            let dual = |rows, cols, seed| {
                let (re, eps) = (
                    matrix::<f64>(rows, cols, seed),
                    matrix::<f64>(rows, cols, seed + 5),
                );
                ndarray::Zip::from(&re)
                    .and(&eps)
                    .map_collect(|&re, &eps| Dual::new(re, eps))
            };
            let (a, b) = (dual(m, k, 1), dual(k, n, 2));
            let parts = |d: &Array2<Dual<f64>>| (d.mapv(|v| v.re), d.mapv(|v| v.eps));
            let check = |got: Array2<Dual<f64>>, want: Array2<Dual<f64>>| {
                let ((g_re, g_eps), (w_re, w_eps)) = (parts(&got), parts(&want));
                assert_close(&g_re, &w_re, 1e-12);
                assert_close(&g_eps, &w_eps, 1e-12);
            };
            check(mat_mat(a.view(), b.view()), naive(a.view(), b.view()));
            let (at, bt) = (a.t().to_owned(), b.t().to_owned());
            check(mat_mat(at.t(), bt.t()), naive(a.view(), b.view()));
            let flipped = a.slice(s![..;-1, ..]);
            check(mat_mat(flipped, b.view()), naive(flipped, b.view()));
        }
    }

    #[test]
    fn products_agree_with_the_definition_in_every_layout() {
        // Large enough that gemm splits the work over threads, and small cases around it.
        for (m, k, n) in [(1, 1, 1), (3, 0, 2), (7, 5, 1), (1, 9, 4), (300, 70, 130)] {
            let a = matrix::<f64>(m, k, 1);
            let b = matrix::<f64>(k, n, 2);
            let (at, bt) = (a.t().to_owned(), b.t().to_owned());
            let want = naive(a.view(), b.view());
            assert_close(&mat_mat(a.view(), b.view()), &want, 1e-12);
            assert_close(&mat_mat(at.t(), bt.t()), &want, 1e-12);
            // Reversed rows: negative strides.
            let flipped = naive(a.slice(s![..;-1, ..]), b.view());
            assert_close(&mat_mat(a.slice(s![..;-1, ..]), b.view()), &flipped, 1e-12);
            let want32 = naive(a.mapv(|v| v as f32).view(), b.mapv(|v| v as f32).view());
            let got32 = mat_mat(a.mapv(|v| v as f32).view(), b.mapv(|v| v as f32).view());
            assert_close(&got32, &want32, 1e-4);
        }
        // Every other column: a stride that is not 1.
        let wide = matrix::<f64>(40, 60, 3);
        let b = matrix::<f64>(30, 8, 4);
        let every_other = wide.slice(s![.., ..;2]);
        assert_close(
            &mat_mat(every_other, b.view()),
            &naive(every_other, b.view()),
            1e-12,
        );
    }

    /// The layouts a view can have: standard, transposed (column-major), both axes reversed
    /// (negative strides), every other column (a stride that is not 1), and broadcast (a
    /// stride of 0), all of the same m × k values except the broadcast one.
    fn layouts<A: Scalar>(
        rows: usize,
        cols: usize,
        seed: usize,
    ) -> Vec<(&'static str, Array2<A>, Array2<A>)> {
        let standard = matrix::<A>(rows, cols, seed);
        let column_major = standard.t().to_owned();
        let reversed = standard.slice(s![..;-1, ..;-1]).to_owned();
        let wide = Array2::from_shape_fn((rows, 2 * cols), |(i, j)| {
            if j % 2 == 0 {
                standard[[i, j / 2]]
            } else {
                A::nan()
            }
        });
        let row = matrix::<A>(1, cols, seed + 5);
        let broadcast = row
            .broadcast((rows, cols))
            .expect("a row broadcasts")
            .to_owned();
        // (name, storage, the same values in standard order)
        vec![
            ("standard", standard.clone(), standard.clone()),
            ("column-major", column_major, standard.clone()),
            ("reversed", reversed, standard.clone()),
            ("every other column", wide, standard),
            ("broadcast row", row, broadcast),
        ]
    }

    /// The view each layout describes.
    fn view<'a, A: Scalar>(name: &str, storage: &'a Array2<A>, rows: usize) -> ArrayView2<'a, A> {
        match name {
            "standard" => storage.view(),
            "column-major" => storage.t(),
            "reversed" => storage.slice(s![..;-1, ..;-1]),
            "every other column" => storage.slice(s![.., ..;2]),
            "broadcast row" => storage
                .broadcast((rows, storage.ncols()))
                .expect("broadcast"),
            _ => unreachable!(),
        }
    }

    /// The `gemm` call (the `unsafe` block of `mat_mat`) with every pairing of layouts, for
    /// both element types, at sizes with a dimension of 1 and sizes past gemm's blocking.
    #[test]
    fn gemm_reads_every_layout_correctly() {
        fn check<A: Scalar + std::fmt::Debug>(tol: A) {
            for (m, k, n) in [(1, 1, 1), (1, 5, 1), (4, 1, 3), (2, 3, 4), (9, 5, 17)] {
                for (a_name, a_storage, a_values) in layouts::<A>(m, k, 1) {
                    for (b_name, b_storage, b_values) in layouts::<A>(k, n, 2) {
                        let a = view(a_name, &a_storage, m);
                        let b = view(b_name, &b_storage, k);
                        assert_eq!((a.dim(), b.dim()), ((m, k), (k, n)));
                        let want = naive(a_values.view(), b_values.view());
                        let got = mat_mat(a, b);
                        assert!(got.is_standard_layout());
                        assert_close(&got, &want, tol);
                    }
                }
            }
        }
        check::<f64>(1e-12);
        check::<f32>(1e-4);
    }

    /// Empty products take ndarray's path (gemm is never called with a zero dimension) and
    /// are zeros of the right shape: an empty sum when k = 0.
    #[test]
    fn empty_products_are_zeros_without_gemm() {
        for (m, k, n) in [(0, 3, 2), (2, 0, 3), (2, 3, 0), (0, 0, 0)] {
            let a = matrix::<f64>(m, k, 1);
            let b = matrix::<f64>(k, n, 2);
            assert_eq!(mat_mat(a.view(), b.view()), Array2::zeros((m, n)));
            assert_eq!(mat_mat(b.t(), a.t()), Array2::zeros((n, m)));
        }
    }

    /// The check that keeps gemm from reading past the right factor.
    #[test]
    #[should_panic(expected = "dot: shapes [2, 30] and [3, 2] are not aligned (30 != 3)")]
    fn misaligned_products_panic_before_gemm() {
        mat_mat(
            matrix::<f64>(2, 30, 1).view(),
            matrix::<f64>(3, 2, 2).view(),
        );
    }

    #[test]
    fn vector_products_agree_with_the_definition() {
        let a = matrix::<f64>(6, 4, 5);
        let x = matrix::<f64>(4, 1, 6).column(0).to_owned();
        let y = matrix::<f64>(6, 1, 7).column(0).to_owned();
        let ax = naive(a.view(), x.view().insert_axis(Axis(1)));
        assert_close(
            &mat_vec(a.view(), x.view()).insert_axis(Axis(1)),
            &ax,
            1e-12,
        );
        let outer_want = naive(y.view().insert_axis(Axis(1)), x.view().insert_axis(Axis(0)));
        assert_close(&outer(y.view(), x.view()), &outer_want, 1e-12);
    }
}
