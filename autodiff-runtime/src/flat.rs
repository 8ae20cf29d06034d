//! Parameters and results as flat vectors, laid out as JAX's `ravel_pytree` does (leaves in
//! order, each row-major): the rows and columns of generated Jacobians and Hessians.

use ndarray::{Array2, ArrayView1, ArrayViewMut1};
use num_traits::Float;

use crate::parameters::Parameters;

/// What the generated `f_jacobian` and `f_hessian` need of a parameter, a gradient or a
/// result: its length, its basis vectors and its elements, in flattened order. Called as
/// methods, so that `x`, `&x` and `&&x` all work.
pub trait Flat: Parameters + Sized {
    /// The number of floats.
    fn autodiff_len(&self) -> usize {
        self.num_parameters()
    }

    /// A value of the same shape, zero but for a one at flattened index `k − offset`: the
    /// k-th basis vector of a space in which this value's elements start at `offset`. All
    /// zeros when `k` is outside `offset .. offset + len`.
    fn autodiff_basis(&self, k: usize, offset: usize) -> Self {
        let mut basis = self.zeros_like();
        let zeros = self.zeros_like();
        let mut start = offset;
        basis.for_each_leaf_mut_with(&zeros, &mut |leaf, _| {
            if (start..start + leaf.len()).contains(&k) {
                leaf[k - start] = <Self::Elem as num_traits::One>::one();
            }
            start += leaf.len();
        });
        basis
    }

    /// Writes the elements in flattened order into `out`, which has [`autodiff_len`] of them.
    ///
    /// [`autodiff_len`]: Flat::autodiff_len
    fn autodiff_write(&self, mut out: ArrayViewMut1<'_, Self::Elem>) {
        let mut k = 0;
        self.for_each_leaf(&mut |leaf| {
            for &x in leaf {
                out[k] = x;
                k += 1;
            }
        });
    }

    /// The element at flattened index `k`, which is below [`autodiff_len`].
    ///
    /// # Panics
    /// If `k` is not below [`autodiff_len`].
    ///
    /// [`autodiff_len`]: Flat::autodiff_len
    fn autodiff_entry(&self, k: usize) -> Self::Elem {
        let (mut start, mut entry) = (0, None);
        self.for_each_leaf(&mut |leaf| {
            if entry.is_none() && (start..start + leaf.len()).contains(&k) {
                entry = Some(leaf[k - start]);
            }
            start += leaf.len();
        });
        entry.unwrap_or_else(|| panic!("flattened index {k} of a value of {start} elements"))
    }

    /// A value of the same shape whose elements, in flattened order, are `flat`'s (which
    /// has [`autodiff_len`] of them); what is not a leaf (a hyperparameter) is kept.
    ///
    /// # Panics
    /// If `flat` has another length.
    ///
    /// [`autodiff_len`]: Flat::autodiff_len
    fn autodiff_unflatten(&self, flat: ArrayView1<'_, Self::Elem>) -> Self {
        assert_eq!(
            flat.len(),
            self.autodiff_len(),
            "autodiff_unflatten: {} elements for a value of {}",
            flat.len(),
            self.autodiff_len()
        );
        let mut value = self.zeros_like();
        let zeros = self.zeros_like();
        let mut start = 0;
        value.for_each_leaf_mut_with(&zeros, &mut |leaf, _| {
            for (k, x) in leaf.iter_mut().enumerate() {
                *x = flat[start + k];
            }
            start += leaf.len();
        });
        value
    }
}

impl<P: Parameters> Flat for P {}

/// A zero `rows × cols` matrix: the Jacobian or Hessian the generated code fills in.
pub fn matrix<A: Float>(rows: usize, cols: usize) -> Array2<A> {
    Array2::zeros((rows, cols))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array1};

    #[test]
    fn basis_and_layout_follow_the_leaves() {
        let p = (2.0_f64, array![[1.0, 2.0], [3.0, 4.0]]);
        assert_eq!(p.autodiff_len(), 5);
        assert_eq!(
            p.autodiff_basis(0, 0),
            (1.0, array![[0.0, 0.0], [0.0, 0.0]])
        );
        assert_eq!(
            p.autodiff_basis(3, 0),
            (0.0, array![[0.0, 0.0], [1.0, 0.0]])
        );
        // The second parameter of a function whose first has 3 elements.
        assert_eq!(p.autodiff_basis(3, 3).0, 1.0);
        assert_eq!(p.autodiff_basis(1, 3), p.zeros_like());
        let mut out = Array1::zeros(5);
        p.autodiff_write(out.view_mut());
        assert_eq!(out, array![2.0, 1.0, 2.0, 3.0, 4.0]);
        assert_eq!(p.autodiff_entry(0), 2.0);
        assert_eq!(p.autodiff_entry(3), 3.0);
        assert_eq!(p.autodiff_unflatten(out.view()), p);
        assert_eq!(
            p.autodiff_unflatten(array![0.0, 0.0, 0.0, 0.0, 9.0].view()),
            (0.0, array![[0.0, 0.0], [0.0, 9.0]])
        );
    }
}
