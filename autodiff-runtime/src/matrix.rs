//! Small dense matrices: the determinant, the inverse and the solution of a linear system, by
//! an LU factorization with partial pivoting written here (generic over the float type, so
//! that it runs on dual numbers too), with the adjoints of the standard identities
//! (Giles, "An extended collection of matrix derivative results for forward and reverse mode
//! automatic differentiation", 2008, §2.2): for Y = A⁻¹, Ȧ ↦ −Y Ȧ Y and Ā = −Yᵀ Ȳ Yᵀ; for
//! d = det A, ḋ = d tr(A⁻¹ Ȧ) and Ā = d̄ d A⁻ᵀ; for x = A⁻¹ b, b̄ = A⁻ᵀ x̄ and Ā = −b̄ xᵀ.
//!
//! Meant for the small matrices of statistics and physics (a covariance, a metric, a
//! Jacobian): O(n³) each, with no blocking.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use num_traits::Float;

use crate::linalg::{MatMul, Scalar};
use crate::value::{check_adjoint, check_tangent, ArrayLike};

/// P A = L U, packed: U on and above the diagonal, L's multipliers below, `perm[i]` the row of
/// A in row i, `sign` the permutation's sign; `None` if a pivot is exactly zero (singular).
struct Lu<A> {
    lu: Array2<A>,
    perm: Vec<usize>,
    sign: A,
}

#[track_caller]
fn check_square(op: &str, shape: &[usize]) {
    if shape[0] != shape[1] {
        panic!("{op}: the matrix of shape {shape:?} is not square");
    }
}

/// The factorization, with the pivot of largest magnitude in each column.
fn factor<A: Float>(a: ArrayView2<'_, A>) -> Option<Lu<A>> {
    let n = a.nrows();
    let mut lu = a.to_owned();
    let mut perm: Vec<usize> = (0..n).collect();
    let mut sign = A::one();
    for k in 0..n {
        let pivot = (k..n)
            .reduce(|best, i| match lu[[i, k]].abs() > lu[[best, k]].abs() {
                true => i,
                false => best,
            })
            .expect("k < n");
        if lu[[pivot, k]].is_zero() {
            return None;
        }
        if pivot != k {
            for j in 0..n {
                lu.swap([k, j], [pivot, j]);
            }
            perm.swap(k, pivot);
            sign = -sign;
        }
        let diagonal = lu[[k, k]];
        for i in k + 1..n {
            let multiplier = lu[[i, k]] / diagonal;
            lu[[i, k]] = multiplier;
            for j in k + 1..n {
                let update = multiplier * lu[[k, j]];
                lu[[i, j]] = lu[[i, j]] - update;
            }
        }
    }
    Some(Lu { lu, perm, sign })
}

impl<A: Float> Lu<A> {
    fn det(&self) -> A {
        self.lu.diag().iter().fold(self.sign, |d, &u| d * u)
    }

    /// x with A x = b.
    fn solve(&self, b: ArrayView1<'_, A>) -> Array1<A> {
        let n = self.lu.nrows();
        let mut x: Array1<A> = self.perm.iter().map(|&i| b[i]).collect();
        for i in 0..n {
            for j in 0..i {
                let update = self.lu[[i, j]] * x[j];
                x[i] = x[i] - update;
            }
        }
        for i in (0..n).rev() {
            for j in i + 1..n {
                let update = self.lu[[i, j]] * x[j];
                x[i] = x[i] - update;
            }
            x[i] = x[i] / self.lu[[i, i]];
        }
        x
    }

    /// A⁻¹, column by column.
    fn inverse(&self) -> Array2<A> {
        let n = self.lu.nrows();
        let mut inverse = Array2::zeros((n, n));
        let mut unit = Array1::zeros(n);
        for j in 0..n {
            unit[j] = A::one();
            inverse.column_mut(j).assign(&self.solve(unit.view()));
            unit[j] = A::zero();
        }
        inverse
    }
}

/// The factorization of an invertible square matrix; panics naming `op` otherwise.
#[track_caller]
fn invertible<A: Float>(op: &str, a: ArrayView2<'_, A>) -> Lu<A> {
    check_square(op, a.shape());
    match factor(a) {
        Some(lu) => lu,
        None => panic!("{op}: the matrix of shape {:?} is singular", a.shape()),
    }
}

/// The determinant of a square matrix (1 for a 0 × 0 one), by LU factorization with partial
/// pivoting. Its gradient is the cofactor matrix, det(A) A⁻ᵀ where A is invertible, and
/// computed from the minors where it is not (exact there too).
///
/// ```
/// use autodiff_runtime::det;
/// use ndarray::array;
/// assert!((det(&array![[2.0_f64, 1.0], [1.0, 3.0]]) - 5.0).abs() < 1e-15);
/// ```
///
/// # Panics
/// If the matrix is not square.
#[track_caller]
pub fn det<A: Float, X: ArrayLike<Elem = A, Dim = ndarray::Ix2>>(a: X) -> A {
    let a = a.as_view();
    check_square("det", a.shape());
    factor(a).map_or(A::zero(), |lu| lu.det())
}

/// The inverse of a square matrix, by LU factorization with partial pivoting.
///
/// ```
/// use autodiff_runtime::inv;
/// use ndarray::array;
/// let y = inv(&array![[2.0, 0.0], [0.0, 4.0]]);
/// assert_eq!(y, array![[0.5, 0.0], [0.0, 0.25]]);
/// ```
///
/// # Panics
/// If the matrix is not square, or singular (a zero pivot).
#[track_caller]
pub fn inv<A: Float, X: ArrayLike<Elem = A, Dim = ndarray::Ix2>>(a: X) -> Array2<A> {
    invertible("inv", a.as_view()).inverse()
}

/// The solution x of the linear system A x = b, by LU factorization with partial pivoting
/// (NumPy's `solve(a, b)` for a vector b).
///
/// ```
/// use autodiff_runtime::solve;
/// use ndarray::array;
/// let x = solve(&array![[2.0_f64, 1.0], [1.0, 3.0]], &array![3.0, 5.0]);
/// assert!((x[0] - 0.8).abs() < 1e-15 && (x[1] - 1.4).abs() < 1e-15);
/// ```
///
/// # Panics
/// If the matrix is not square, singular (a zero pivot), or b's length is not its size.
#[track_caller]
pub fn solve<A: Float, X, B>(a: X, b: B) -> Array1<A>
where
    X: ArrayLike<Elem = A, Dim = ndarray::Ix2>,
    B: ArrayLike<Elem = A, Dim = ndarray::Ix1>,
{
    rules::solve::forward(a.as_view(), b.as_view())
}

/// The rules of the matrix functions above, as the macro's table names them.
pub mod rules {
    use super::*;

    /// The cofactor matrix C = ∂ det A/∂A: det A · A⁻ᵀ, or, where A is singular, each
    /// cofactor (−1)ⁱ⁺ʲ det(A without row i and column j) itself, so that the derivative is
    /// exact there too.
    fn cofactors<A: Float>(a: ArrayView2<'_, A>) -> Array2<A> {
        if let Some(lu) = factor(a) {
            let d = lu.det();
            return lu.inverse().t().mapv(|v| v * d);
        }
        let n = a.nrows();
        let others = |k: usize| (0..n).filter(|&i| i != k).collect::<Vec<_>>();
        Array2::from_shape_fn((n, n), |(i, j)| {
            let minor = a.select(Axis(0), &others(i)).select(Axis(1), &others(j));
            let d = factor(minor.view()).map_or(A::zero(), |lu| lu.det());
            match (i + j) % 2 {
                0 => d,
                _ => -d,
            }
        })
    }

    /// `det(a)`: Ā = d̄ C, ḋ = ⟨C, Ȧ⟩ with C the cofactor matrix (det A · A⁻ᵀ).
    pub mod det {
        use super::*;

        #[track_caller]
        pub fn forward<A: Float>(a: ArrayView2<'_, A>) -> A {
            super::super::det(a)
        }
        #[track_caller]
        pub fn vjp0<A: Float>(a: ArrayView2<'_, A>, _y: &A, g: A) -> Array2<A> {
            check_square("det", a.shape());
            cofactors(a).mapv(|c| c * g)
        }
        #[track_caller]
        pub fn jvp0<A: Float>(a: ArrayView2<'_, A>, _y: &A, t: Array2<A>) -> A {
            check_tangent("det", t.shape(), a.shape());
            ndarray::Zip::from(&cofactors(a))
                .and(&t)
                .fold(A::zero(), |s, &c, &t| s + c * t)
        }
    }

    /// `inv(a)`: Ā = −Yᵀ Ȳ Yᵀ, Ẏ = −Y Ȧ Y.
    pub mod inv {
        use super::*;

        #[track_caller]
        pub fn forward<A: Float>(a: ArrayView2<'_, A>) -> Array2<A> {
            super::super::inv(a)
        }
        #[track_caller]
        pub fn vjp0<A: Scalar>(_a: ArrayView2<'_, A>, y: &Array2<A>, g: Array2<A>) -> Array2<A> {
            check_adjoint("inv", g.shape(), y.shape());
            let left = y.t().matmul(g.view());
            left.view().matmul(y.t()).mapv(|v| -v)
        }
        #[track_caller]
        pub fn jvp0<A: Scalar>(a: ArrayView2<'_, A>, y: &Array2<A>, t: Array2<A>) -> Array2<A> {
            check_tangent("inv", t.shape(), a.shape());
            let left = y.view().matmul(t.view());
            left.view().matmul(y.view()).mapv(|v| -v)
        }
    }

    /// `solve(a, b)`: b̄ = A⁻ᵀ x̄, Ā = −b̄ xᵀ; ẋ = A⁻¹ (ḃ − Ȧ x).
    pub mod solve {
        use super::*;

        #[track_caller]
        pub fn forward<A: Float>(a: ArrayView2<'_, A>, b: ArrayView1<'_, A>) -> Array1<A> {
            let lu = invertible("solve", a);
            if b.len() != a.nrows() {
                panic!(
                    "solve: the right-hand side of shape {:?} does not match the matrix of shape {:?}",
                    b.shape(),
                    a.shape()
                );
            }
            lu.solve(b)
        }
        /// A⁻ᵀ x̄.
        #[track_caller]
        fn pulled<A: Float>(a: ArrayView2<'_, A>, x: &Array1<A>, g: &Array1<A>) -> Array1<A> {
            check_adjoint("solve", g.shape(), x.shape());
            invertible("solve", a.t()).solve(g.view())
        }
        #[track_caller]
        pub fn vjp0<A: Scalar>(
            a: ArrayView2<'_, A>,
            _b: ArrayView1<'_, A>,
            x: &Array1<A>,
            g: Array1<A>,
        ) -> Array2<A> {
            let b_bar = pulled(a, x, &g);
            crate::linalg::outer(b_bar.view(), x.view()).mapv(|v| -v)
        }
        #[track_caller]
        pub fn vjp1<A: Float>(
            a: ArrayView2<'_, A>,
            _b: ArrayView1<'_, A>,
            x: &Array1<A>,
            g: Array1<A>,
        ) -> Array1<A> {
            pulled(a, x, &g)
        }
        #[track_caller]
        pub fn jvp0<A: Scalar>(
            a: ArrayView2<'_, A>,
            _b: ArrayView1<'_, A>,
            x: &Array1<A>,
            t: Array2<A>,
        ) -> Array1<A> {
            check_tangent("solve", t.shape(), a.shape());
            let rhs = t.view().matmul(x.view()).mapv(|v| -v);
            invertible("solve", a).solve(rhs.view())
        }
        #[track_caller]
        pub fn jvp1<A: Float>(
            a: ArrayView2<'_, A>,
            b: ArrayView1<'_, A>,
            _x: &Array1<A>,
            t: Array1<A>,
        ) -> Array1<A> {
            check_tangent("solve", t.shape(), b.shape());
            invertible("solve", a).solve(t.view())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn factorization_agrees_with_closed_forms() {
        let a = array![[0.0, 2.0, 1.0], [1.0, 1.0, 0.0], [3.0, 0.0, 1.0]];
        // det by the rule of Sarrus: 0 + 0 + 0 − 3 − 0 − 2 = −5 (a zero first pivot: swapped).
        assert!((det(&a) + 5.0).abs() < 1e-14, "{}", det(&a));
        let y = inv(&a);
        let identity = a.dot(&y);
        assert!(identity
            .indexed_iter()
            .all(|((i, j), &v)| (v - f64::from(u8::from(i == j))).abs() < 1e-14));
        let x = solve(&a, &array![1.0, 2.0, 3.0]);
        assert!((a.dot(&x) - array![1.0, 2.0, 3.0])
            .iter()
            .all(|e| e.abs() < 1e-14));
        assert_eq!(det(&array![[1.0, 2.0], [2.0, 4.0]]), 0.0);
        assert_eq!(det(Array2::<f64>::zeros((0, 0))), 1.0);
    }

    /// At a singular matrix the gradient is the cofactor matrix, from the minors.
    #[test]
    fn determinant_gradient_at_a_singular_matrix() {
        let a = array![[1.0, 2.0], [2.0, 4.0]];
        let g = rules::det::vjp0(a.view(), &0.0, 1.0);
        assert_eq!(g, array![[4.0, -2.0], [-2.0, 1.0]]);
    }

    #[test]
    #[should_panic(expected = "inv: the matrix of shape [2, 2] is singular")]
    fn singular_matrices_panic() {
        inv(&array![[1.0, 2.0], [2.0, 4.0]]);
    }

    #[test]
    #[should_panic(expected = "det: the matrix of shape [2, 3] is not square")]
    fn rectangular_matrices_panic() {
        det(Array2::<f64>::zeros((2, 3)));
    }
}
