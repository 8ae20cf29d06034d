//! Model parameters as one value: a struct of arrays and scalars (nested structs and `Vec`s of
//! them allowed), which a `#[differentiable]` function takes whole and whose gradient has the
//! same type, as JAX does with pytrees. Optimizers see only leaves: flat slices of floats.

use ndarray::{Array, Dimension};
use num_traits::{Float, Zero};

use crate::dual::Dual;

/// A value made of float leaves that a gradient can be taken with respect to.
///
/// Implemented for `f32`, `f64` (and their [`Dual`]s), `ndarray` arrays of them, `Vec`s and
/// tuples (up to 8) of parameters, and any struct with `#[derive(Parameters)]` (from the
/// `autodiff` crate).
///
/// ```
/// use autodiff_runtime::Parameters;
/// use ndarray::{array, Array2};
///
/// let layers = vec![array![[1.0, 2.0], [3.0, 4.0]], array![[0.5, -0.5]]];
/// assert_eq!(layers.num_parameters(), 6);
/// assert_eq!(layers.zeros_like()[0], Array2::<f64>::zeros((2, 2)));
/// ```
/// What [`Parameters::for_each_leaf_mut_with`] calls on each pair of leaves.
pub type LeafPair<'a, A> = dyn FnMut(&mut [A], &[A]) + 'a;

#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a set of parameters",
    label = "differentiated here, so its type must implement `Parameters`",
    note = "derive it with `#[derive(Parameters)]`, or list the parameters to differentiate in `#[differentiable(wrt(...))]` and leave this one out"
)]
pub trait Parameters {
    /// The float type of every leaf.
    type Elem: Float;

    /// A value of the same shape with every leaf zero: the gradient of a loss that does not
    /// depend on it, and the starting state of an optimizer.
    fn zeros_like(&self) -> Self;

    /// `f` on every leaf, in a fixed order, as a slice in standard (row-major) order.
    fn for_each_leaf(&self, f: &mut dyn FnMut(&[Self::Elem]));

    /// `f` on every leaf of `self` beside the same leaf of `other` (a gradient, say), in the
    /// order of [`for_each_leaf`](Self::for_each_leaf).
    ///
    /// # Panics
    /// If a leaf of `other` has a different shape from `self`'s.
    fn for_each_leaf_mut_with(&mut self, other: &Self, f: &mut LeafPair<'_, Self::Elem>);

    /// The number of floats in all leaves.
    fn num_parameters(&self) -> usize {
        let mut count = 0;
        self.for_each_leaf(&mut |leaf| count += leaf.len());
        count
    }
}

macro_rules! scalar_parameters {
    ($($t:ty),*) => {$(
        impl Parameters for $t {
            type Elem = $t;
            fn zeros_like(&self) -> $t {
                <$t as Zero>::zero()
            }
            fn for_each_leaf(&self, f: &mut dyn FnMut(&[$t])) {
                f(std::slice::from_ref(self));
            }
            fn for_each_leaf_mut_with(&mut self, other: &$t, f: &mut LeafPair<'_, $t>) {
                f(std::slice::from_mut(self), std::slice::from_ref(other));
            }
        }
    )*};
}

scalar_parameters!(f32, f64, Dual<f32>, Dual<f64>);

impl<A: Float, D: Dimension> Parameters for Array<A, D> {
    type Elem = A;
    fn zeros_like(&self) -> Self {
        Array::zeros(self.raw_dim())
    }
    fn for_each_leaf(&self, f: &mut dyn FnMut(&[A])) {
        match self.as_slice() {
            Some(leaf) => f(leaf),
            None => f(self
                .as_standard_layout()
                .as_slice()
                .expect("standard layout")),
        }
    }
    fn for_each_leaf_mut_with(&mut self, other: &Self, f: &mut LeafPair<'_, A>) {
        assert_eq!(
            self.shape(),
            other.shape(),
            "Parameters: a leaf of shape {:?} paired with one of shape {:?}",
            self.shape(),
            other.shape()
        );
        let other = other.as_standard_layout();
        let other = other.as_slice().expect("standard layout");
        match self.as_slice_mut() {
            Some(leaf) => f(leaf, other),
            None => {
                // A transposed or sliced leaf: update a row-major copy and write it back.
                let mut copy = self.as_standard_layout().into_owned();
                f(copy.as_slice_mut().expect("standard layout"), other);
                self.assign(&copy);
            }
        }
    }
}

impl<P: Parameters> Parameters for Vec<P> {
    type Elem = P::Elem;
    fn zeros_like(&self) -> Self {
        self.iter().map(P::zeros_like).collect()
    }
    fn for_each_leaf(&self, f: &mut dyn FnMut(&[P::Elem])) {
        for item in self {
            item.for_each_leaf(f);
        }
    }
    fn for_each_leaf_mut_with(&mut self, other: &Self, f: &mut LeafPair<'_, P::Elem>) {
        assert_eq!(
            self.len(),
            other.len(),
            "Parameters: a Vec of {} items paired with one of {}",
            self.len(),
            other.len()
        );
        for (item, other) in self.iter_mut().zip(other) {
            item.for_each_leaf_mut_with(other, f);
        }
    }
}

/// What the generated code needs of a struct of parameters (or a `Vec` of them) that is
/// passed whole to another differentiable function, read element by element, or whose
/// contributions are summed: the operations of [`Tangent`](crate::Tangent), leaf by leaf.
/// `#[derive(Parameters)]` implements those traits with these; fields marked
/// `#[parameters(skip)]` are no leaves, so they keep the value `zeros_like` gave them.
pub mod leaves {
    use num_traits::One;

    use super::Parameters;

    /// A value of the same shape with every leaf one.
    pub fn one_like<P: Parameters>(p: &P) -> P {
        let mut one = p.zeros_like();
        one.for_each_leaf_mut_with(p, &mut |leaf, _| leaf.fill(P::Elem::one()));
        one
    }

    /// `sum + contribution`, leaf by leaf, in place.
    #[track_caller]
    pub fn accumulate<P: Parameters>(mut sum: P, contribution: P) -> P {
        add_to(&mut sum, &contribution);
        sum
    }

    /// `*sum += contribution`, leaf by leaf: a contribution to a part of an adjoint
    /// (`adjoint.layers[i].w`), added where it belongs.
    #[track_caller]
    pub fn add_to<P: Parameters>(sum: &mut P, contribution: &P) {
        sum.for_each_leaf_mut_with(contribution, &mut |s, c| {
            for (s, &c) in s.iter_mut().zip(c) {
                *s = *s + c;
            }
        });
    }

    /// What a field accessor returns: a place for the field's gradient or tangent, `None` for
    /// a field marked `#[parameters(skip)]` (which has neither).
    pub trait Slot<'a, T> {
        fn slot(self) -> Option<&'a mut T>;
    }

    /// [`Slot`] read-only.
    pub trait SlotRef<'a, T> {
        fn slot(self) -> Option<&'a T>;
    }

    impl<'a, T> Slot<'a, T> for Option<&'a mut T> {
        #[inline(always)]
        fn slot(self) -> Option<&'a mut T> {
            self
        }
    }

    impl<'a, T> SlotRef<'a, T> for Option<&'a T> {
        #[inline(always)]
        fn slot(self) -> Option<&'a T> {
            self
        }
    }

    /// The accessor of a struct without `#[derive(Parameters)]`, which is already an error
    /// ("not a set of parameters"): it makes that the only one.
    pub struct NotDerived;

    impl<'a, T> Slot<'a, T> for NotDerived {
        fn slot(self) -> Option<&'a mut T> {
            None
        }
    }

    impl<'a, T> SlotRef<'a, T> for NotDerived {
        fn slot(self) -> Option<&'a T> {
            None
        }
    }

    /// A field's gradient written through its accessor (a skipped field keeps its value).
    #[inline(always)]
    pub fn set<'a, T: 'a>(slot: impl Slot<'a, T>, value: T) {
        if let Some(slot) = slot.slot() {
            *slot = value;
        }
    }

    /// A field's gradient added through its accessor, as [`set`].
    #[track_caller]
    pub fn add<'a, P: Parameters + 'a>(slot: impl Slot<'a, P>, contribution: &P) {
        if let Some(slot) = slot.slot() {
            add_to(slot, contribution);
        }
    }

    /// A copy of a field's tangent read through its accessor; zero for a skipped field (a
    /// hyperparameter), whose value is `value`.
    #[inline(always)]
    pub fn tangent<'a, T: Parameters + crate::Tangent + 'a>(
        slot: impl SlotRef<'a, T>,
        value: &T,
    ) -> T {
        match slot.slot() {
            Some(tangent) => tangent.duplicate(),
            None => value.zeros_like(),
        }
    }

    /// Where a leaf of `p` starts in the flattened order of its leaves: the first element
    /// that `mark` (setting that leaf to ones through its accessor) makes nonzero; `None` if
    /// it marks nothing (a field marked `#[parameters(skip)]`, or an empty array).
    pub fn offset_of<P: Parameters>(p: &P, mark: impl FnOnce(&mut P)) -> Option<usize> {
        let mut marked = p.zeros_like();
        mark(&mut marked);
        let (mut offset, mut found) = (0, None);
        marked.for_each_leaf(&mut |leaf| {
            if found.is_none() {
                found = leaf
                    .iter()
                    .position(|x| !num_traits::Zero::is_zero(x))
                    .map(|k| offset + k);
                offset += leaf.len();
            }
        });
        found
    }

    /// `−p`, leaf by leaf, in place.
    pub fn negate<P: Parameters>(mut p: P) -> P {
        let zeros = p.zeros_like();
        p.for_each_leaf_mut_with(&zeros, &mut |leaf, _| {
            for x in leaf {
                *x = -*x;
            }
        });
        p
    }

    /// A copy, made from [`Parameters::zeros_like`] (no `Clone` needed).
    pub fn duplicate<P: Parameters>(p: &P) -> P {
        let mut copy = p.zeros_like();
        copy.for_each_leaf_mut_with(p, &mut |leaf, other| leaf.copy_from_slice(other));
        copy
    }

    /// The shape of a struct of parameters, as an adjoint starts from it: a zero of it.
    pub struct ZerosShape<P>(pub P);

    impl<P: Parameters> Clone for ZerosShape<P> {
        fn clone(&self) -> Self {
            ZerosShape(self.0.zeros_like())
        }
    }

    impl<P: Parameters + crate::Tangent> crate::value::Shaped for ZerosShape<P> {
        type Shape = Self;
        fn autodiff_shape(&self) -> Self {
            self.clone()
        }
    }

    impl<P: Parameters + crate::Tangent> crate::value::Shape for ZerosShape<P> {
        type Value = P;
        fn dims(&self) -> &[usize] {
            &[]
        }
        fn autodiff_zeros(&self) -> P {
            self.0.zeros_like()
        }
    }
}

/// A `Vec` of parameters (`layers: Vec<Dense>`) as the generated code handles it: leaf by
/// leaf.
impl<P: Parameters> crate::Tangent for Vec<P> {
    fn one_like(&self) -> Self {
        leaves::one_like(self)
    }
    #[track_caller]
    fn accumulate(self, contribution: Self) -> Self {
        leaves::accumulate(self, contribution)
    }
    fn negate(self) -> Self {
        leaves::negate(self)
    }
    fn duplicate(&self) -> Self {
        leaves::duplicate(self)
    }
}

impl<P: Parameters> crate::value::Shaped for Vec<P> {
    type Shape = leaves::ZerosShape<Vec<P>>;
    fn autodiff_shape(&self) -> Self::Shape {
        leaves::ZerosShape(self.zeros_like())
    }
}

impl<P: Parameters> crate::compose::Contribution for Vec<P> {
    type Value = Self;
    fn into_value(self) -> Self {
        self
    }
}

impl<'a, P: Parameters> crate::compose::Pass<'a, &'a Vec<P>> for Vec<P> {
    fn autodiff_pass(&'a self) -> &'a Vec<P> {
        self
    }
}

impl<'a, P: Parameters> crate::compose::Pass<'a, &'a [P]> for Vec<P> {
    fn autodiff_pass(&'a self) -> &'a [P] {
        self
    }
}

/// Tuples of parameters with one float type: several differentiated parameters' gradient
/// (`f_grad` returns one entry per parameter), or a function's tuple result; up to 16.
macro_rules! tuple_parameters {
    ($(($($p:ident $k:tt),+))*) => {$(
        impl<E: Float, $($p: Parameters<Elem = E>),+> Parameters for ($($p,)+) {
            type Elem = E;
            fn zeros_like(&self) -> Self {
                ($(self.$k.zeros_like(),)+)
            }
            fn for_each_leaf(&self, f: &mut dyn FnMut(&[E])) {
                $(self.$k.for_each_leaf(f);)+
            }
            fn for_each_leaf_mut_with(&mut self, other: &Self, f: &mut LeafPair<'_, E>) {
                $(self.$k.for_each_leaf_mut_with(&other.$k, f);)+
            }
        }
    )*};
}

tuple_parameters! {
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, F 4)
    (A 0, B 1, C 2, D 3, F 4, G 5)
    (A 0, B 1, C 2, D 3, F 4, G 5, H 6)
    (A 0, B 1, C 2, D 3, F 4, G 5, H 6, I 7)
    (A 0, B 1, C 2, D 3, F 4, G 5, H 6, I 7, J 8)
    (A 0, B 1, C 2, D 3, F 4, G 5, H 6, I 7, J 8, K 9)
    (A 0, B 1, C 2, D 3, F 4, G 5, H 6, I 7, J 8, K 9, L 10)
    (A 0, B 1, C 2, D 3, F 4, G 5, H 6, I 7, J 8, K 9, L 10, M 11)
    (A 0, B 1, C 2, D 3, F 4, G 5, H 6, I 7, J 8, K 9, L 10, M 11, N 12)
    (A 0, B 1, C 2, D 3, F 4, G 5, H 6, I 7, J 8, K 9, L 10, M 11, N 12, O 13)
    (A 0, B 1, C 2, D 3, F 4, G 5, H 6, I 7, J 8, K 9, L 10, M 11, N 12, O 13, P 14)
    (A 0, B 1, C 2, D 3, F 4, G 5, H 6, I 7, J 8, K 9, L 10, M 11, N 12, O 13, P 14, Q 15)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn leaves_pair_in_row_major_order_whatever_the_layout() {
        let mut p = array![[1.0, 2.0], [3.0, 4.0]].reversed_axes(); // column-major
        let g = array![[10.0, 20.0], [30.0, 40.0]];
        p.for_each_leaf_mut_with(&g, &mut |p, g| {
            for (p, g) in p.iter_mut().zip(g) {
                *p += g;
            }
        });
        assert_eq!(p, array![[11.0, 23.0], [32.0, 44.0]]);
        let mut v = vec![1.0_f64, 2.0];
        v.for_each_leaf_mut_with(&vec![0.5, 0.5], &mut |p, g| p[0] -= g[0]);
        assert_eq!(v, vec![0.5, 1.5]);
        assert_eq!(v.num_parameters(), 2);
    }

    #[test]
    #[should_panic(expected = "a leaf of shape [2] paired with one of shape [3]")]
    fn mismatched_leaves_name_both_shapes() {
        let mut p = array![1.0, 2.0];
        p.for_each_leaf_mut_with(&array![1.0, 2.0, 3.0], &mut |_, _| {});
    }
}
