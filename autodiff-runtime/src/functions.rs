//! Functions users call in their own code that neither `std` nor `ndarray` has: the special
//! functions of [`special`](crate::special) on scalars and arrays, array maxima and minima
//! with their positions, the Euclidean norm, the outer product and the trace. The macro knows
//! their derivatives ([`rules`]).

use ndarray::{Array, Array1, Array2, ArrayView, ArrayView1, Axis, Dimension, RemoveAxis, Zip};
use num_traits::Float;

use crate::activations::Elementwise;
use crate::linalg::Scalar;
use crate::special;
use crate::value::ArrayLike;

/// The error function erf(x) = 2/√π ∫₀ˣ e^(−t²) dt, elementwise on arrays; the normal CDF
/// is Φ(x) = ½(1 + erf(x/√2)).
///
/// ```
/// use autodiff_runtime::erf;
/// use ndarray::array;
/// assert!((erf(0.5_f64) - 0.5204998778130465).abs() < 1e-16);
/// assert_eq!(erf(&array![0.0, 0.5]), array![0.0, erf(0.5)]);
/// ```
#[inline]
pub fn erf<X: Elementwise>(x: X) -> X::Output {
    x.map_elements(special::erf)
}

/// The complementary error function erfc(x) = 1 − erf(x), accurate for large x where
/// `1.0 - erf(x)` is 0, elementwise on arrays.
///
/// ```
/// use autodiff_runtime::erfc;
/// assert!(erfc(10.0_f64) > 2.0e-45);
/// ```
#[inline]
pub fn erfc<X: Elementwise>(x: X) -> X::Output {
    x.map_elements(special::erfc)
}

/// ln |Γ(x)|, elementwise on arrays (`f64::ln_gamma` is not stable Rust); +∞ at 0, −1, −2, ….
///
/// ```
/// use autodiff_runtime::ln_gamma;
/// assert!((ln_gamma(5.0_f64) - 24.0_f64.ln()).abs() < 1e-14);
/// ```
#[inline]
pub fn ln_gamma<X: Elementwise>(x: X) -> X::Output {
    x.map_elements(special::ln_gamma)
}

/// The digamma function ψ(x) = Γ′(x)/Γ(x), the derivative of [`ln_gamma`], elementwise on
/// arrays; NaN at its poles 0, −1, −2, ….
///
/// ```
/// use autodiff_runtime::digamma;
/// assert!((digamma(1.0_f64) + 0.5772156649015329).abs() < 1e-15);
/// ```
#[inline]
pub fn digamma<X: Elementwise>(x: X) -> X::Output {
    x.map_elements(special::digamma)
}

/// Whether `v` beats the best so far `best` for a maximum (`greater`) or a minimum: strictly
/// (a tie keeps the first), and a NaN beats any number (it is the result, as in NumPy).
#[inline]
fn beats<A: Float>(v: A, best: A, greater: bool) -> bool {
    if best.is_nan() {
        false
    } else if v.is_nan() {
        true
    } else if greater {
        v > best
    } else {
        v < best
    }
}

/// The position, in logical (row-major) order, of the first largest (`greater`) or smallest
/// element; panics naming `op` on an empty array.
#[track_caller]
fn extreme_position<A: Float, D: Dimension>(
    op: &str,
    x: &ArrayView<'_, A, D>,
    greater: bool,
) -> usize {
    let mut iter = x.iter().copied().enumerate();
    let Some((_, first)) = iter.next() else {
        panic!("{op}: the array of shape {:?} is empty", x.shape());
    };
    iter.fold((0, first), |(k, best), (i, v)| {
        match beats(v, best, greater) {
            true => (i, v),
            false => (k, best),
        }
    })
    .0
}

/// The element [`extreme_position`] picks. A contiguous array is scanned eight elements at a
/// time, which the compiler vectorizes; the ordered scan decides where there is a NaN (the
/// first one is the result).
#[track_caller]
fn extreme_value<A: Float, D: Dimension, const GREATER: bool>(
    op: &str,
    x: &ArrayView<'_, A, D>,
) -> A {
    if let Some(value) = x.as_slice().and_then(lanes_extreme::<A, GREATER>) {
        return value;
    }
    let k = extreme_position(op, x, GREATER);
    x.iter()
        .nth(k)
        .copied()
        .expect("the position is within the array")
}

/// The first largest (`GREATER`) or smallest element of `values`, or `None` if it is empty
/// or holds a NaN: the extreme value by eight running extremes, then its first occurrence
/// (equal values may differ in their bits: ±0, or dual numbers, which compare their values).
fn lanes_extreme<A: Float, const GREATER: bool>(values: &[A]) -> Option<A> {
    const LANES: usize = 8;
    let first = *values.first()?;
    let beats = |v: A, best: A| if GREATER { v > best } else { v < best };
    let (mut best, mut nan) = ([first; LANES], [false; LANES]);
    let chunks = values.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for lane in 0..LANES {
            let v = chunk[lane];
            nan[lane] |= v.is_nan();
            best[lane] = if beats(v, best[lane]) { v } else { best[lane] };
        }
    }
    let mut extreme = first;
    for &v in best.iter().chain(rest) {
        if v.is_nan() {
            return None;
        }
        extreme = if beats(v, extreme) { v } else { extreme };
    }
    if nan.contains(&true) {
        return None;
    }
    first_equal(values, extreme).map(|k| values[k])
}

/// The position of the first element equal to `y`, eight at a time.
fn first_equal<A: Float>(values: &[A], y: A) -> Option<usize> {
    const LANES: usize = 8;
    let chunks = values.chunks_exact(LANES);
    let rest = values.len() - chunks.remainder().len();
    for (c, chunk) in chunks.enumerate() {
        if chunk.iter().fold(false, |any, &v| any | (v == y)) {
            return chunk.iter().position(|&v| v == y).map(|k| c * LANES + k);
        }
    }
    values[rest..]
        .iter()
        .position(|&v| v == y)
        .map(|k| rest + k)
}

/// The logical position of `y`, the value [`extreme_value`] found: its first occurrence
/// (the first NaN if it is NaN), found by a search that stops there instead of a scan for
/// the extreme.
#[track_caller]
fn position_of<A: Float, D: Dimension>(
    op: &str,
    x: &ArrayView<'_, A, D>,
    y: A,
    greater: bool,
) -> usize {
    let found = match x.as_slice() {
        Some(values) if y.is_nan() => values.iter().position(|v| v.is_nan()),
        Some(values) => first_equal(values, y),
        None => None,
    };
    found.unwrap_or_else(|| extreme_position(op, x, greater))
}

/// The index of the first largest (`greater`) or smallest element, as the array indexes.
#[track_caller]
fn extreme_index<A: Float, D: Dimension>(
    op: &str,
    x: ArrayView<'_, A, D>,
    greater: bool,
) -> D::Pattern {
    let k = extreme_position(op, &x, greater);
    x.indexed_iter()
        .nth(k)
        .map(|(index, _)| index)
        .expect("the position is within the array")
}

/// The largest element of an array (NaN if it holds one). Its derivative goes to the first
/// largest element: the subgradient at a tie is e_k for the first k, as `argmax` picks it.
///
/// ```
/// use autodiff_runtime::amax;
/// use ndarray::array;
/// assert_eq!(amax(&array![[1.0, 5.0], [5.0, -2.0]]), 5.0);
/// ```
///
/// # Panics
/// If the array is empty.
#[track_caller]
pub fn amax<A: Float, X: ArrayLike<Elem = A>>(x: X) -> A {
    extreme_value::<A, _, true>("amax", &x.as_view())
}

/// The smallest element of an array (NaN if it holds one); its derivative goes to the first
/// smallest element.
///
/// # Panics
/// If the array is empty.
#[track_caller]
pub fn amin<A: Float, X: ArrayLike<Elem = A>>(x: X) -> A {
    extreme_value::<A, _, false>("amin", &x.as_view())
}

/// The index of the first largest element (of the first NaN, if there is one): a `usize` for
/// a vector, `(i, j)` for a matrix, as the array is indexed. An integer, so a constant of a
/// `#[differentiable]` function: `x[argmax(&x)]` reads the largest element.
///
/// ```
/// use autodiff_runtime::argmax;
/// use ndarray::array;
/// assert_eq!(argmax(&array![1.0, 3.0, 3.0]), 1);
/// assert_eq!(argmax(&array![[1.0, 2.0], [4.0, 3.0]]), (1, 0));
/// ```
///
/// # Panics
/// If the array is empty.
#[track_caller]
pub fn argmax<A: Float, D: Dimension, X: ArrayLike<Elem = A, Dim = D>>(x: X) -> D::Pattern {
    extreme_index("argmax", x.as_view(), true)
}

/// The index of the first smallest element; see [`argmax`].
///
/// # Panics
/// If the array is empty.
#[track_caller]
pub fn argmin<A: Float, D: Dimension, X: ArrayLike<Elem = A, Dim = D>>(x: X) -> D::Pattern {
    extreme_index("argmin", x.as_view(), false)
}

/// Each lane's first largest (`greater`) or smallest element's position along `axis`.
#[track_caller]
fn lane_positions<A: Float, D: RemoveAxis>(
    op: &str,
    x: &ArrayView<'_, A, D>,
    axis: Axis,
    greater: bool,
) -> Array<usize, D::Smaller> {
    crate::value::check_axis(op, axis, x.shape());
    if x.len_of(axis) == 0 {
        panic!(
            "{op}: axis {} of shape {:?} is empty",
            axis.index(),
            x.shape()
        );
    }
    Zip::from(x.lanes(axis)).map_collect(|lane| extreme_position(op, &lane, greater))
}

/// The largest element along `axis` (NumPy's `amax(x, axis)`): one dimension fewer. Its
/// derivative goes to the first largest element of each lane.
///
/// ```
/// use autodiff_runtime::amax_axis;
/// use ndarray::{array, Axis};
/// assert_eq!(amax_axis(&array![[1.0, 5.0], [3.0, -2.0]], Axis(0)), array![3.0, 5.0]);
/// ```
///
/// # Panics
/// If `axis` is out of range or that axis is empty.
#[track_caller]
pub fn amax_axis<A: Float, D: RemoveAxis, X: ArrayLike<Elem = A, Dim = D>>(
    x: X,
    axis: Axis,
) -> Array<A, D::Smaller> {
    rules::lane_extremes("amax_axis", x.as_view(), axis, true)
}

/// The smallest element along `axis`; see [`amax_axis`].
///
/// # Panics
/// If `axis` is out of range or that axis is empty.
#[track_caller]
pub fn amin_axis<A: Float, D: RemoveAxis, X: ArrayLike<Elem = A, Dim = D>>(
    x: X,
    axis: Axis,
) -> Array<A, D::Smaller> {
    rules::lane_extremes("amin_axis", x.as_view(), axis, false)
}

/// The Euclidean (L2, Frobenius for a matrix) norm √(Σ xᵢ²) of an array. Its gradient x/‖x‖
/// is taken as 0 at x = 0 (the minimum-norm subgradient, as JAX and PyTorch take it).
///
/// ```
/// use autodiff_runtime::norm;
/// use ndarray::array;
/// assert_eq!(norm(&array![3.0, 4.0]), 5.0);
/// ```
pub fn norm<A: Float, X: ArrayLike<Elem = A>>(x: X) -> A {
    x.as_view()
        .iter()
        .fold(A::zero(), |sum, &v| sum + v * v)
        .sqrt()
}

/// The outer product a ⊗ b of two vectors: the matrix of aᵢbⱼ.
///
/// ```
/// use autodiff_runtime::outer;
/// use ndarray::array;
/// assert_eq!(outer(&array![1.0, 2.0], &array![3.0, 4.0, 5.0]), array![[3.0, 4.0, 5.0], [6.0, 8.0, 10.0]]);
/// ```
pub fn outer<A: Scalar, X, Y>(a: X, b: Y) -> Array2<A>
where
    X: ArrayLike<Elem = A, Dim = ndarray::Ix1>,
    Y: ArrayLike<Elem = A, Dim = ndarray::Ix1>,
{
    rules::outer::forward(a.as_view(), b.as_view())
}

/// The trace Σ mᵢᵢ of a square matrix.
///
/// ```
/// use autodiff_runtime::trace;
/// use ndarray::array;
/// assert_eq!(trace(&array![[1.0, 2.0], [3.0, 4.0]]), 5.0);
/// ```
///
/// # Panics
/// If the matrix is not square.
#[track_caller]
pub fn trace<A: Float, X: ArrayLike<Elem = A, Dim = ndarray::Ix2>>(m: X) -> A {
    rules::trace::forward(m.as_view())
}

/// The rules of the array functions above, as the macro's table names them.
pub mod rules {
    use super::*;
    use crate::value::{check_adjoint, check_tangent};

    /// Each lane's extreme along `axis`.
    #[track_caller]
    pub(super) fn lane_extremes<A: Float, D: RemoveAxis>(
        op: &str,
        x: ArrayView<'_, A, D>,
        axis: Axis,
        greater: bool,
    ) -> Array<A, D::Smaller> {
        let positions = lane_positions(op, &x, axis, greater);
        Zip::from(x.lanes(axis))
            .and(&positions)
            .map_collect(|lane, &k| lane[k])
    }

    /// A zero array of `x`'s shape with `g` at logical position k.
    fn one_hot<A: Float, D: Dimension>(x: &ArrayView<'_, A, D>, k: usize, g: A) -> Array<A, D> {
        let mut adjoint = Array::zeros(x.raw_dim());
        if let Some(element) = adjoint.iter_mut().nth(k) {
            *element = g;
        }
        adjoint
    }

    /// The rules of a whole-array extreme (`amax`, `amin`): the adjoint `g` at the first
    /// extreme element, the tangent's element there. The pullbacks find that element as the
    /// first occurrence of `y`, which must be the forward value (as the generated code
    /// passes it).
    macro_rules! extreme_rules {
        ($op:ident, $greater:literal) => {
            #[track_caller]
            pub fn forward<A: Float, D: Dimension>(x: ArrayView<'_, A, D>) -> A {
                super::super::$op(x)
            }
            #[track_caller]
            pub fn vjp0<A: Float, D: Dimension>(
                x: ArrayView<'_, A, D>,
                y: &A,
                g: A,
            ) -> Array<A, D> {
                one_hot(&x, position_of(stringify!($op), &x, *y, $greater), g)
            }
            /// `g` added in place at the extreme element of `adjoint` (of x's shape): the
            /// contribution of [`vjp0`] to an adjoint x already has, with no array of zeros.
            #[track_caller]
            pub fn add_at<A: Float, D: Dimension>(
                adjoint: &mut Array<A, D>,
                x: ArrayView<'_, A, D>,
                y: &A,
                g: A,
            ) {
                check_adjoint(stringify!($op), adjoint.shape(), x.shape());
                let k = position_of(stringify!($op), &x, *y, $greater);
                if let Some(element) = adjoint.iter_mut().nth(k) {
                    *element = *element + g;
                }
            }
            #[track_caller]
            pub fn jvp0<A: Float, D: Dimension>(
                x: ArrayView<'_, A, D>,
                y: &A,
                t: Array<A, D>,
            ) -> A {
                check_tangent(stringify!($op), t.shape(), x.shape());
                let k = position_of(stringify!($op), &x, *y, $greater);
                t.iter()
                    .nth(k)
                    .copied()
                    .expect("the position is within the array")
            }
        };
    }

    /// `amax(x)`: the adjoint goes to the first largest element.
    pub mod amax {
        use super::*;
        extreme_rules!(amax, true);
    }

    /// `amin(x)`: the adjoint goes to the first smallest element.
    pub mod amin {
        use super::*;
        extreme_rules!(amin, false);
    }

    /// The rules of an extreme along an axis (`amax_axis`, `amin_axis`): each lane's adjoint
    /// at its first extreme element, each lane's tangent there.
    macro_rules! lane_rules {
        ($op:ident, $greater:literal) => {
            #[track_caller]
            pub fn forward<A: Float, D: RemoveAxis>(
                x: ArrayView<'_, A, D>,
                axis: Axis,
            ) -> Array<A, D::Smaller> {
                lane_extremes(stringify!($op), x, axis, $greater)
            }
            #[track_caller]
            pub fn vjp0<A: Float, D: RemoveAxis>(
                x: ArrayView<'_, A, D>,
                axis: Axis,
                y: &Array<A, D::Smaller>,
                g: Array<A, D::Smaller>,
            ) -> Array<A, D> {
                check_adjoint(stringify!($op), g.shape(), y.shape());
                let positions = lane_positions(stringify!($op), &x, axis, $greater);
                let mut adjoint = Array::zeros(x.raw_dim());
                Zip::from(adjoint.lanes_mut(axis))
                    .and(&positions)
                    .and(&g)
                    .for_each(|mut lane, &k, &g| lane[k] = g);
                adjoint
            }
            #[track_caller]
            pub fn jvp0<A: Float, D: RemoveAxis>(
                x: ArrayView<'_, A, D>,
                axis: Axis,
                _y: &Array<A, D::Smaller>,
                t: Array<A, D>,
            ) -> Array<A, D::Smaller> {
                check_tangent(stringify!($op), t.shape(), x.shape());
                let positions = lane_positions(stringify!($op), &x, axis, $greater);
                Zip::from(t.lanes(axis))
                    .and(&positions)
                    .map_collect(|lane, &k| lane[k])
            }
        };
    }

    /// `amax_axis(x, axis)`: each lane's adjoint goes to its first largest element.
    pub mod amax_axis {
        use super::*;
        lane_rules!(amax_axis, true);
    }

    /// `amin_axis(x, axis)`: each lane's adjoint goes to its first smallest element.
    pub mod amin_axis {
        use super::*;
        lane_rules!(amin_axis, false);
    }

    /// `norm(x)`: x̄ = ȳ x / ‖x‖, and 0 at x = 0.
    pub mod norm {
        use super::*;

        pub fn forward<A: Float, D: Dimension>(x: ArrayView<'_, A, D>) -> A {
            super::super::norm(x)
        }
        pub fn vjp0<A: Float, D: Dimension>(x: ArrayView<'_, A, D>, y: &A, g: A) -> Array<A, D> {
            match y.is_zero() {
                true => Array::zeros(x.raw_dim()),
                false => {
                    let scale = g / *y;
                    x.mapv(|x| x * scale)
                }
            }
        }
        #[track_caller]
        pub fn jvp0<A: Float, D: Dimension>(x: ArrayView<'_, A, D>, y: &A, t: Array<A, D>) -> A {
            check_tangent("norm", t.shape(), x.shape());
            match y.is_zero() {
                true => A::zero(),
                false => Zip::from(&x).and(&t).fold(A::zero(), |s, &x, &t| s + x * t) / *y,
            }
        }
    }

    /// `outer(a, b)`: ā = Ḡ b, b̄ = Ḡᵀ a.
    pub mod outer {
        use super::*;
        use crate::linalg::MatMul;

        pub fn forward<A: Scalar>(a: ArrayView1<'_, A>, b: ArrayView1<'_, A>) -> Array2<A> {
            crate::linalg::outer(a, b)
        }
        #[track_caller]
        pub fn vjp0<A: Scalar>(
            a: ArrayView1<'_, A>,
            b: ArrayView1<'_, A>,
            _y: &Array2<A>,
            g: Array2<A>,
        ) -> Array1<A> {
            check_adjoint("outer", g.shape(), &[a.len(), b.len()]);
            g.view().matmul(b)
        }
        #[track_caller]
        pub fn vjp1<A: Scalar>(
            a: ArrayView1<'_, A>,
            b: ArrayView1<'_, A>,
            _y: &Array2<A>,
            g: Array2<A>,
        ) -> Array1<A> {
            check_adjoint("outer", g.shape(), &[a.len(), b.len()]);
            a.matmul(g.view())
        }
        #[track_caller]
        pub fn jvp0<A: Scalar>(
            a: ArrayView1<'_, A>,
            b: ArrayView1<'_, A>,
            _y: &Array2<A>,
            t: Array1<A>,
        ) -> Array2<A> {
            check_tangent("outer", t.shape(), a.shape());
            crate::linalg::outer(t.view(), b)
        }
        #[track_caller]
        pub fn jvp1<A: Scalar>(
            a: ArrayView1<'_, A>,
            b: ArrayView1<'_, A>,
            _y: &Array2<A>,
            t: Array1<A>,
        ) -> Array2<A> {
            check_tangent("outer", t.shape(), b.shape());
            crate::linalg::outer(a, t.view())
        }
    }

    /// `trace(m)`: m̄ = ȳ I.
    pub mod trace {
        use super::*;
        use ndarray::ArrayView2;

        #[track_caller]
        fn check_square(shape: &[usize]) {
            if shape[0] != shape[1] {
                panic!("trace: the matrix of shape {shape:?} is not square");
            }
        }

        #[track_caller]
        pub fn forward<A: Float>(m: ArrayView2<'_, A>) -> A {
            check_square(m.shape());
            m.diag().iter().fold(A::zero(), |s, &v| s + v)
        }
        #[track_caller]
        pub fn vjp0<A: Float>(m: ArrayView2<'_, A>, _y: &A, g: A) -> Array2<A> {
            check_square(m.shape());
            let mut adjoint = Array2::zeros(m.raw_dim());
            adjoint.diag_mut().fill(g);
            adjoint
        }
        #[track_caller]
        pub fn jvp0<A: Float>(m: ArrayView2<'_, A>, _y: &A, t: Array2<A>) -> A {
            check_tangent("trace", t.shape(), m.shape());
            forward(t.view())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::s;

    /// The element the ordered scan picks, bit for bit, and its position.
    fn by_scan(x: &Array1<f64>, greater: bool) -> (u64, usize) {
        let k = extreme_position("scan", &x.view(), greater);
        (x[k].to_bits(), k)
    }

    /// Arrays of every length up to 40 drawn from a few values that make ties, both zeros,
    /// infinities and NaN, by a fixed linear congruential sequence.
    fn arrays() -> impl Iterator<Item = Array1<f64>> {
        const VALUES: [f64; 9] = [
            -0.0,
            0.0,
            1.5,
            -2.0,
            1.5,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -7.25,
        ];
        let mut state = 12345_u64;
        (0..2000).map(move |case| {
            let len = case % 41;
            // Mostly plain values; a NaN, an infinity or a zero in some of the arrays.
            let palette = 2 + case % VALUES.len();
            Array1::from_shape_fn(len, |_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let pick = (state >> 33) as usize % palette;
                VALUES[(pick + case / 41) % VALUES.len()]
            })
        })
    }

    /// The lanes and the search for the value's first occurrence pick what the ordered scan
    /// picks: the same bits (the first NaN, the first zero's sign) at the same position, in
    /// a contiguous array and in a reversed view (no slice: the scan itself).
    #[test]
    fn lanes_and_search_agree_with_the_ordered_scan() {
        for x in arrays().filter(|x| !x.is_empty()) {
            for greater in [true, false] {
                let (bits, k) = by_scan(&x, greater);
                let value = if greater { amax(&x) } else { amin(&x) };
                assert_eq!(value.to_bits(), bits, "{x} greater={greater}");
                assert_eq!(position_of("search", &x.view(), value, greater), k, "{x}");
                // The same values reversed: a contiguous copy (lanes) against the view
                // (no slice: the ordered scan).
                let reversed = x.slice(s![..;-1]).to_owned();
                let (lanes, scan) = match greater {
                    true => (amax(&reversed), amax(x.slice(s![..;-1]))),
                    false => (amin(&reversed), amin(x.slice(s![..;-1]))),
                };
                assert_eq!(lanes.to_bits(), scan.to_bits(), "{x} reversed");
                let (bits, k) = by_scan(&reversed, greater);
                assert_eq!(lanes.to_bits(), bits, "{x} reversed");
                assert_eq!(
                    position_of("search", &reversed.view(), lanes, greater),
                    k,
                    "{x} reversed"
                );
            }
        }
    }

    /// Dual numbers compare their values only: among tied values the first element, with its
    /// own tangent, is the extreme, wherever the lanes met the tied copies.
    #[test]
    fn ties_of_dual_numbers_go_to_the_first() {
        use crate::dual::Dual;
        for (len, first, second) in [(16, 2, 9), (16, 9, 10), (20, 1, 17), (9, 0, 8)] {
            let x = Array1::from_shape_fn(len, |i| Dual {
                re: if i == first || i == second { 1.0 } else { 0.5 },
                eps: i as f64,
            });
            assert_eq!(
                amax(&x).eps,
                first as f64,
                "len {len}, tied at {first} and {second}"
            );
            let y = x.mapv(|v| -v);
            assert_eq!(amin(&y).eps, -(first as f64));
        }
    }

    /// The pullbacks put the adjoint at the first extreme element, as `argmax` finds it.
    #[test]
    fn pullbacks_at_the_first_extreme() {
        let x = Array1::from(vec![1.0, 9.0, -3.0, 9.0, 2.0, 0.5, 9.0, 1.0, 4.0, 9.0]);
        let y = amax(&x);
        let g = rules::amax::vjp0(x.view(), &y, 2.0);
        assert_eq!(g[1], 2.0);
        assert_eq!(g.sum(), 2.0);
        let mut adjoint = Array1::ones(10);
        rules::amax::add_at(&mut adjoint, x.view(), &y, 3.0);
        assert_eq!(adjoint[1], 4.0);
        let y = amin(&x);
        assert_eq!(
            rules::amin::jvp0(x.view(), &y, Array1::range(0.0, 10.0, 1.0)),
            2.0
        );
    }
}
