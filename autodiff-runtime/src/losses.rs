//! Losses and normalizations, written to be stable for any input, with their derivative rules
//! (in [`rules`]) beside them. Losses take `(prediction, target)` in that order, as PyTorch's
//! do, and average over every element (or, for `cross_entropy`, every row).

use std::borrow::Cow;

use ndarray::{
    Array, ArrayView, ArrayView1, ArrayView2, ArrayViewMut1, Axis, Dimension, RemoveAxis, Zip,
};
use num_traits::Float;

use crate::activations::scalar::{sigmoid, softplus};
use crate::fast::{exp_in_place, sum_exp_shifted};
use crate::value::{
    check_adjoint, check_axis, check_tangent, len_as as count, same_shape, ArrayLike,
};

#[track_caller]
fn nonempty<A, D: Dimension>(op: &str, x: &ArrayView<'_, A, D>) {
    if x.is_empty() {
        panic!("{op}: the prediction of shape {:?} is empty", x.shape());
    }
}

#[track_caller]
fn pair<'p, 'y, A, D: Dimension>(
    op: &str,
    prediction: &'p impl ArrayLike<Elem = A, Dim = D>,
    target: &'y impl ArrayLike<Elem = A, Dim = D>,
) -> (ArrayView<'p, A, D>, ArrayView<'y, A, D>) {
    let (p, y) = (prediction.as_view(), target.as_view());
    same_shape(op, p.shape(), y.shape());
    nonempty(op, &p);
    (p, y)
}

/// Mean squared error, mean((p − y)²).
///
/// ```
/// use autodiff_runtime::mse;
/// use ndarray::array;
/// assert_eq!(mse(&array![1.0, 2.0], &array![1.0, 4.0]), 2.0);
/// ```
#[track_caller]
pub fn mse<A, D, P, Y>(prediction: P, target: Y) -> A
where
    A: Float + 'static,
    D: Dimension,
    P: ArrayLike<Elem = A, Dim = D>,
    Y: ArrayLike<Elem = A, Dim = D>,
{
    let (p, y) = pair("mse", &prediction, &target);
    let sum = Zip::from(&p)
        .and(&y)
        .fold(A::zero(), |s, &p, &y| s + (p - y) * (p - y));
    sum / count(p.len())
}

/// Binary cross-entropy of probabilities, −mean[y ln p + (1 − y) ln(1 − p)] (the lectures'
/// form), with 0 · ln 0 = 0: a prediction of exactly 0 or 1 that matches its label costs 0
/// (one that contradicts it costs ∞). For raw scores prefer [`bce_with_logits`], which cannot
/// overflow.
///
/// ```
/// use autodiff_runtime::bce;
/// use ndarray::array;
/// let loss = bce(&array![0.9, 0.2], &array![1.0, 0.0]);
/// assert!((loss - (-(0.9_f64.ln() + 0.8_f64.ln()) / 2.0)).abs() < 1e-15);
/// ```
#[track_caller]
pub fn bce<A, D, P, Y>(prediction: P, target: Y) -> A
where
    A: Float + 'static,
    D: Dimension,
    P: ArrayLike<Elem = A, Dim = D>,
    Y: ArrayLike<Elem = A, Dim = D>,
{
    let (p, y) = pair("bce", &prediction, &target);
    let sum = Zip::from(&p).and(&y).fold(A::zero(), |s, &p, &y| {
        s - (weighted(y, p.ln()) + weighted(A::one() - y, (-p).ln_1p()))
    });
    sum / count(p.len())
}

/// w · ln(…) with 0 · ln 0 = 0, its limit (SciPy's `xlogy`): a saturated prediction (a sigmoid
/// that rounded to exactly 0 or 1) that matches its label costs 0 rather than 0 · −∞ = NaN.
/// For w ≠ 0 it is the product, NaN and ±∞ included.
fn weighted<A: Float + 'static>(w: A, log: A) -> A {
    if w == A::zero() {
        A::zero()
    } else {
        w * log
    }
}

/// Binary cross-entropy of logits z, mean[softplus(z) − y z]: the same as
/// `bce(sigmoid(z), y)` without overflow for any z. Its gradient is (σ(z) − y)/N.
///
/// ```
/// use autodiff_runtime::{bce, bce_with_logits, sigmoid};
/// use ndarray::array;
/// let (z, y) = (array![2.0_f64, -1.0], array![1.0, 0.0]);
/// let stable: f64 = bce_with_logits(&z, &y);
/// assert!((stable - bce(&sigmoid(&z), &y)).abs() < 1e-15);
/// let far: f64 = bce_with_logits(&array![-1000.0], &array![1.0]);
/// assert_eq!(far, 1000.0);
/// ```
#[track_caller]
pub fn bce_with_logits<A, D, P, Y>(logits: P, target: Y) -> A
where
    A: Float + 'static,
    D: Dimension,
    P: ArrayLike<Elem = A, Dim = D>,
    Y: ArrayLike<Elem = A, Dim = D>,
{
    let (z, y) = pair("bce_with_logits", &logits, &target);
    let sum = Zip::from(&z)
        .and(&y)
        .fold(A::zero(), |s, &z, &y| s + softplus(z) - y * z);
    sum / count(z.len())
}

/// ln Σ eˣ over every element, computed stably (shifted by the maximum).
///
/// ```
/// use autodiff_runtime::logsumexp;
/// use ndarray::array;
/// assert!((logsumexp(&array![1000.0, 1000.0]) - (1000.0 + 2.0_f64.ln())).abs() < 1e-12);
/// ```
#[track_caller]
pub fn logsumexp<A, D, X>(x: X) -> A
where
    A: Float + 'static,
    D: Dimension,
    X: ArrayLike<Elem = A, Dim = D>,
{
    let x = x.as_view();
    if x.is_empty() {
        panic!("logsumexp: the array of shape {:?} is empty", x.shape());
    }
    lse(x.iter().copied())
}

/// The largest element of a lane, or NaN if it holds one (`Float::max` skips NaN, which would
/// let `logsumexp([NaN])` return −∞ and `logsumexp([∞, NaN])` return ∞); −∞ for an empty
/// lane.
fn lane_max<A: Float + 'static>(lane: impl Iterator<Item = A>) -> A {
    lane.fold(A::neg_infinity(), |max, v| {
        if max.is_nan() || v <= max {
            max
        } else {
            v
        }
    })
}

/// ln Σ exp over a lane, shifted by its maximum; −∞ stays −∞, +∞ stays +∞, NaN stays NaN.
fn lse<A: Float + 'static>(lane: impl Iterator<Item = A> + Clone) -> A {
    let max = lane_max(lane.clone());
    if !max.is_finite() {
        return max;
    }
    max + sum_exp_shifted(lane, max).ln()
}

/// e^(v − shift) for every element of `lane`, in place, by [`exp_in_place`] (through
/// `scratch` where the lane is not contiguous).
fn exp_shifted<A: Float + 'static>(mut lane: ArrayViewMut1<'_, A>, shift: A, scratch: &mut Vec<A>) {
    lane.mapv_inplace(|v| v - shift);
    if let Some(values) = lane.as_slice_mut() {
        return exp_in_place(values);
    }
    scratch.clear();
    scratch.extend(lane.iter().copied());
    exp_in_place(scratch);
    lane.assign(&ArrayView1::from(&scratch[..]));
}

/// The log of the softmax along `axis`: xᵢ − ln Σⱼ e^xⱼ, computed stably.
///
/// ```
/// use autodiff_runtime::log_softmax;
/// use ndarray::{array, Axis};
/// let out = log_softmax(&array![[0.0, 0.0], [1000.0, 0.0]], Axis(1));
/// assert!((out[[0, 0]] - 0.5_f64.ln()).abs() < 1e-15);
/// assert_eq!(out[[1, 0]], 0.0);
/// ```
#[track_caller]
pub fn log_softmax<A, D, X>(x: X, axis: Axis) -> Array<A, D>
where
    A: Float + 'static,
    D: Dimension,
    X: ArrayLike<Elem = A, Dim = D>,
{
    let x = x.as_view();
    check_axis("log_softmax", axis, x.shape());
    let mut out = x.to_owned();
    for mut lane in out.lanes_mut(axis) {
        let shift = lse(lane.iter().copied());
        lane.mapv_inplace(|v| v - shift);
    }
    out
}

/// The softmax along `axis`: e^xᵢ / Σⱼ e^xⱼ, computed stably.
///
/// ```
/// use autodiff_runtime::softmax;
/// use ndarray::{array, Axis};
/// let p = softmax(&array![[1.0, 1.0], [1000.0, 0.0]], Axis(1));
/// assert_eq!(p, array![[0.5, 0.5], [1.0, 0.0]]);
/// ```
#[track_caller]
pub fn softmax<A, D, X>(x: X, axis: Axis) -> Array<A, D>
where
    A: Float + 'static,
    D: Dimension,
    X: ArrayLike<Elem = A, Dim = D>,
{
    let x = x.as_view();
    check_axis("softmax", axis, x.shape());
    let mut out = x.to_owned();
    let mut scratch = Vec::new();
    for mut lane in out.lanes_mut(axis) {
        let max = lane_max(lane.iter().copied());
        exp_shifted(lane.view_mut(), max, &mut scratch);
        let sum = lane.sum();
        lane.mapv_inplace(|e| e / sum);
    }
    out
}

/// Integer class labels: a slice, array, `Vec`, or `ndarray` vector (owned or a view, in any
/// layout) of `usize`, or a reference to one.
pub trait Labels {
    /// The labels in order: borrowed where they are contiguous, copied otherwise.
    fn labels(&self) -> Cow<'_, [usize]>;
}

impl Labels for [usize] {
    fn labels(&self) -> Cow<'_, [usize]> {
        Cow::Borrowed(self)
    }
}

impl<const N: usize> Labels for [usize; N] {
    fn labels(&self) -> Cow<'_, [usize]> {
        Cow::Borrowed(self)
    }
}

impl Labels for Vec<usize> {
    fn labels(&self) -> Cow<'_, [usize]> {
        Cow::Borrowed(self)
    }
}

/// An `Array1` or `ArrayView1`; one that is not contiguous (`labels.slice(s![..;2])`, an
/// owned array sliced with a step) is copied.
impl<S: ndarray::Data<Elem = usize>> Labels for ndarray::ArrayBase<S, ndarray::Ix1> {
    fn labels(&self) -> Cow<'_, [usize]> {
        match self.as_slice() {
            Some(labels) => Cow::Borrowed(labels),
            None => Cow::Owned(self.to_vec()),
        }
    }
}

impl<L: Labels + ?Sized> Labels for &L {
    fn labels(&self) -> Cow<'_, [usize]> {
        (**self).labels()
    }
}

#[track_caller]
fn check_labels<A>(logits: &ArrayView2<'_, A>, labels: &[usize]) {
    let (rows, classes) = logits.dim();
    if labels.len() != rows {
        panic!(
            "cross_entropy: {} labels for logits of shape {:?}; give one label per row",
            labels.len(),
            logits.shape()
        );
    }
    if rows == 0 {
        panic!(
            "cross_entropy: the logits of shape {:?} are empty",
            logits.shape()
        );
    }
    if let Some((row, &bad)) = labels.iter().enumerate().find(|&(_, &l)| l >= classes) {
        panic!(
            "cross_entropy: label {bad} (row {row}) is out of range for logits of shape {:?}; \
             labels are class indices in 0..{classes}",
            logits.shape()
        );
    }
}

/// Softmax cross-entropy of logits (N × C) against integer labels in 0..C, averaged over
/// the rows: mean over i of ln Σⱼ e^zᵢⱼ − zᵢ,ₗᵢ. Its gradient is (softmax(z) − onehot(l))/N.
///
/// ```
/// use autodiff_runtime::cross_entropy;
/// use ndarray::array;
/// let loss = cross_entropy(&array![[0.0, 0.0], [0.0, 0.0]], &[0, 1]);
/// assert!((loss - 2.0_f64.ln()).abs() < 1e-15);
/// ```
#[track_caller]
pub fn cross_entropy<A, X, L>(logits: X, labels: L) -> A
where
    A: Float + 'static,
    X: ArrayLike<Elem = A, Dim = ndarray::Ix2>,
    L: Labels,
{
    let z = logits.as_view();
    let labels = labels.labels();
    check_labels(&z, &labels);
    let sum = z
        .rows()
        .into_iter()
        .zip(labels.iter())
        .fold(A::zero(), |s, (row, &l)| {
            s + lse(row.iter().copied()) - row[l]
        });
    sum / count(labels.len())
}

/// The derivative rules of the losses, in the form the generated code calls.
pub mod rules {
    use super::*;

    /// Forward mode of a loss of (prediction, target), from its pullbacks seeded with 1:
    /// `jvpK(p, y, out, t) = ⟨vjpK(p, y, out, 1), t⟩`.
    macro_rules! jvps_of_a_pair_loss {
        ($op:literal) => {
            #[track_caller]
            pub fn jvp0<A: Float + 'static, D: Dimension>(
                p: ArrayView<'_, A, D>,
                y: ArrayView<'_, A, D>,
                out: &A,
                t: Array<A, D>,
            ) -> A {
                check_tangent($op, t.shape(), p.shape());
                inner(vjp0(p, y, out, A::one()), t)
            }
            #[track_caller]
            pub fn jvp1<A: Float + 'static, D: Dimension>(
                p: ArrayView<'_, A, D>,
                y: ArrayView<'_, A, D>,
                out: &A,
                t: Array<A, D>,
            ) -> A {
                check_tangent($op, t.shape(), y.shape());
                inner(vjp1(p, y, out, A::one()), t)
            }
        };
    }

    /// Forward mode for a scalar loss: its directional derivative ⟨∇, t⟩ (the callers check
    /// that `t` has the gradient's shape).
    fn inner<A: Float + 'static, D: Dimension>(gradient: Array<A, D>, t: Array<A, D>) -> A {
        Zip::from(&gradient)
            .and(&t)
            .fold(A::zero(), |sum, &g, &t| sum + g * t)
    }

    /// `mse(p, y)`
    pub mod mse {
        use super::*;

        #[track_caller]
        pub fn forward<A: Float + 'static, D: Dimension>(
            p: ArrayView<'_, A, D>,
            y: ArrayView<'_, A, D>,
        ) -> A {
            super::super::mse(p, y)
        }
        pub fn vjp0<A: Float + 'static, D: Dimension>(
            p: ArrayView<'_, A, D>,
            y: ArrayView<'_, A, D>,
            _out: &A,
            g: A,
        ) -> Array<A, D> {
            let scale = (g + g) / count(p.len());
            Zip::from(&p).and(&y).map_collect(|&p, &y| scale * (p - y))
        }
        pub fn vjp1<A: Float + 'static, D: Dimension>(
            p: ArrayView<'_, A, D>,
            y: ArrayView<'_, A, D>,
            out: &A,
            g: A,
        ) -> Array<A, D> {
            vjp0(p, y, out, -g)
        }
        jvps_of_a_pair_loss!("mse");
    }

    /// `bce(p, y)`
    pub mod bce {
        use super::*;

        #[track_caller]
        pub fn forward<A: Float + 'static, D: Dimension>(
            p: ArrayView<'_, A, D>,
            y: ArrayView<'_, A, D>,
        ) -> A {
            super::super::bce(p, y)
        }
        pub fn vjp0<A: Float + 'static, D: Dimension>(
            p: ArrayView<'_, A, D>,
            y: ArrayView<'_, A, D>,
            _out: &A,
            g: A,
        ) -> Array<A, D> {
            let scale = g / count(p.len());
            Zip::from(&p).and(&y).map_collect(|&p, &y| {
                // (p − y)/(p(1 − p)) is 0/0 where a saturated prediction matches its label;
                // the limit there is the derivative of −ln(1 − p) at p = 0, 1, or of −ln p at
                // p = 1, −1 (the loss's value there is 0, see `weighted`).
                let saturated = p == y && (p == A::zero() || p == A::one());
                if saturated {
                    scale * (A::one() - (p + p))
                } else {
                    scale * (p - y) / (p * (A::one() - p))
                }
            })
        }
        pub fn vjp1<A: Float + 'static, D: Dimension>(
            p: ArrayView<'_, A, D>,
            _y: ArrayView<'_, A, D>,
            _out: &A,
            g: A,
        ) -> Array<A, D> {
            let scale = g / count(p.len());
            p.mapv(|p| scale * ((-p).ln_1p() - p.ln()))
        }
        jvps_of_a_pair_loss!("bce");
    }

    /// `bce_with_logits(z, y)`
    pub mod bce_with_logits {
        use super::*;

        #[track_caller]
        pub fn forward<A: Float + 'static, D: Dimension>(
            z: ArrayView<'_, A, D>,
            y: ArrayView<'_, A, D>,
        ) -> A {
            super::super::bce_with_logits(z, y)
        }
        pub fn vjp0<A: Float + 'static, D: Dimension>(
            z: ArrayView<'_, A, D>,
            y: ArrayView<'_, A, D>,
            _out: &A,
            g: A,
        ) -> Array<A, D> {
            let scale = g / count(z.len());
            Zip::from(&z)
                .and(&y)
                .map_collect(|&z, &y| scale * (sigmoid(z) - y))
        }
        pub fn vjp1<A: Float + 'static, D: Dimension>(
            z: ArrayView<'_, A, D>,
            _y: ArrayView<'_, A, D>,
            _out: &A,
            g: A,
        ) -> Array<A, D> {
            let scale = g / count(z.len());
            z.mapv(|z| -scale * z)
        }
        jvps_of_a_pair_loss!("bce_with_logits");
    }

    /// `logsumexp(x)`
    pub mod logsumexp {
        use super::*;

        #[track_caller]
        pub fn forward<A: Float + 'static, D: Dimension>(x: ArrayView<'_, A, D>) -> A {
            super::super::logsumexp(x)
        }
        pub fn vjp0<A: Float + 'static, D: Dimension>(
            x: ArrayView<'_, A, D>,
            y: &A,
            g: A,
        ) -> Array<A, D> {
            let mut e = x.mapv(|x| x - *y);
            // `mapv` keeps a view's memory order (transposed, reversed): any order will do.
            match e.as_slice_memory_order_mut() {
                Some(values) => exp_in_place(values),
                None => e.mapv_inplace(A::exp),
            }
            e.mapv_inplace(|e| g * e);
            e
        }
        #[track_caller]
        pub fn jvp0<A: Float + 'static, D: Dimension>(
            x: ArrayView<'_, A, D>,
            y: &A,
            t: Array<A, D>,
        ) -> A {
            check_tangent("logsumexp", t.shape(), x.shape());
            inner(vjp0(x, y, A::one()), t)
        }
    }

    /// `softmax(x, axis)`: x̄ = y ∘ (ȳ − Σ_axis ȳ ∘ y).
    pub mod softmax {
        use super::*;

        #[track_caller]
        pub fn forward<A: Float + 'static, D: Dimension>(
            x: ArrayView<'_, A, D>,
            axis: Axis,
        ) -> Array<A, D> {
            super::super::softmax(x, axis)
        }
        #[track_caller]
        pub fn vjp0<A: Float + 'static, D: RemoveAxis>(
            _x: ArrayView<'_, A, D>,
            axis: Axis,
            y: &Array<A, D>,
            mut g: Array<A, D>,
        ) -> Array<A, D> {
            check_adjoint("softmax", g.shape(), y.shape());
            Zip::from(g.lanes_mut(axis))
                .and(y.lanes(axis))
                .for_each(|mut g, y| {
                    let dot = Zip::from(&g).and(&y).fold(A::zero(), |s, &g, &y| s + g * y);
                    Zip::from(&mut g)
                        .and(&y)
                        .for_each(|g, &y| *g = y * (*g - dot));
                });
            g
        }
        /// The Jacobian diag(y) − y yᵀ of each lane is symmetric: the tangent is the same
        /// product as the adjoint.
        #[track_caller]
        pub fn jvp0<A: Float + 'static, D: RemoveAxis>(
            x: ArrayView<'_, A, D>,
            axis: Axis,
            y: &Array<A, D>,
            t: Array<A, D>,
        ) -> Array<A, D> {
            check_tangent("softmax", t.shape(), x.shape());
            vjp0(x, axis, y, t)
        }
    }

    /// `log_softmax(x, axis)`: x̄ = ȳ − softmax(x) ∘ Σ_axis ȳ, with softmax(x) = e^y.
    pub mod log_softmax {
        use super::*;

        #[track_caller]
        pub fn forward<A: Float + 'static, D: Dimension>(
            x: ArrayView<'_, A, D>,
            axis: Axis,
        ) -> Array<A, D> {
            super::super::log_softmax(x, axis)
        }
        #[track_caller]
        pub fn vjp0<A: Float + 'static, D: RemoveAxis>(
            _x: ArrayView<'_, A, D>,
            axis: Axis,
            y: &Array<A, D>,
            mut g: Array<A, D>,
        ) -> Array<A, D> {
            check_adjoint("log_softmax", g.shape(), y.shape());
            let mut softmax = Vec::new();
            Zip::from(g.lanes_mut(axis))
                .and(y.lanes(axis))
                .for_each(|mut g, y| {
                    let total = g.sum();
                    softmax.clear();
                    softmax.extend(y.iter().copied());
                    exp_in_place(&mut softmax);
                    Zip::from(&mut g)
                        .and(&ArrayView1::from(&softmax[..]))
                        .for_each(|g, &e| *g = *g - e * total);
                });
            g
        }
        /// ẏ = ẋ − Σ_axis softmax(x) ∘ ẋ.
        #[track_caller]
        pub fn jvp0<A: Float + 'static, D: RemoveAxis>(
            x: ArrayView<'_, A, D>,
            axis: Axis,
            y: &Array<A, D>,
            mut t: Array<A, D>,
        ) -> Array<A, D> {
            check_tangent("log_softmax", t.shape(), x.shape());
            Zip::from(t.lanes_mut(axis))
                .and(y.lanes(axis))
                .for_each(|mut t, y| {
                    let mean = Zip::from(&t)
                        .and(&y)
                        .fold(A::zero(), |s, &t, &y| s + y.exp() * t);
                    t.mapv_inplace(|t| t - mean);
                });
            t
        }
    }

    /// `cross_entropy(z, labels)`: z̄ = ȳ (softmax(z) − onehot(labels)) / N.
    pub mod cross_entropy {
        use super::*;

        #[track_caller]
        pub fn forward<A: Float + 'static, L: Labels>(z: ArrayView2<'_, A>, labels: L) -> A {
            super::super::cross_entropy(z, labels)
        }
        pub fn vjp0<A: Float + 'static, L: Labels>(
            z: ArrayView2<'_, A>,
            labels: L,
            _out: &A,
            g: A,
        ) -> ndarray::Array2<A> {
            let labels = labels.labels();
            let scale = g / count(labels.len());
            let mut grad = z.to_owned();
            let mut scratch = Vec::new();
            for (mut row, &l) in grad.rows_mut().into_iter().zip(labels.iter()) {
                let shift = lse(row.iter().copied());
                exp_shifted(row.view_mut(), shift, &mut scratch);
                row.mapv_inplace(|e| scale * e);
                row[l] = row[l] - scale;
            }
            grad
        }
        #[track_caller]
        pub fn jvp0<A: Float + 'static, L: Labels>(
            z: ArrayView2<'_, A>,
            labels: L,
            out: &A,
            t: ndarray::Array2<A>,
        ) -> A {
            check_tangent("cross_entropy", t.shape(), z.shape());
            inner(vjp0(z, labels, out, A::one()), t)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::rules::logsumexp;
    use ndarray::Array2;

    /// The pullback of a view in another memory order (transposed, reversed): the same
    /// adjoint as of the same values in standard order.
    #[test]
    fn logsumexp_pullback_of_views_in_any_order() {
        let a = Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f64 * 0.3 - 1.0);
        let standard = a.t().to_owned();
        let y = logsumexp::forward(standard.view());
        let want = logsumexp::vjp0(standard.view(), &y, 2.0);
        assert_eq!(logsumexp::vjp0(a.t(), &y, 2.0), want);
        let reversed = standard.slice(ndarray::s![..;-1, ..;-1]);
        let flipped = logsumexp::vjp0(reversed, &y, 2.0);
        assert_eq!(flipped.slice(ndarray::s![..;-1, ..;-1]), want);
    }
}
