//! The primitives, one module each: `forward` computes the value and `vjpK` the contribution
//! to argument K's adjoint, given the arguments, a reference to the result `y` and the
//! result's adjoint `g` (v̄ = ∂output/∂v), which it may consume and reuse. Rules may use `y`
//! where that is cheaper than recomputing (exp, sqrt, tanh, sigmoid), as hand-written
//! gradients do.
//!
//! The elementwise primitives are written once for scalars and arrays (see [`Map`] and
//! [`Broadcast`]); the array-only ones (`dot`, reductions, losses) live in their own modules
//! and are re-exported here. The macro's rule table (`autodiff-core/src/rules.rs`) names
//! these modules; the scalar paths are `#[inline(always)]` so that the generated code folds to
//! plain arithmetic.

use num_traits::Float;

use crate::value::{
    check_adjoint, check_tangent, Broadcast, Map, MapInto, ReduceTo, Shape, ZipInto,
};
use crate::Tangent;

pub use crate::functions::rules::{amax, amax_axis, amin, amin_axis, norm, outer, trace};
pub use crate::linalg::{dot, mean, mean_axis, sum, sum_axis, t};
pub use crate::losses::rules::{
    bce, bce_with_logits, cross_entropy, log_softmax, logsumexp, mse, softmax,
};
pub use crate::matrix::rules::{det, inv, solve};
pub use crate::moments::{std, std_axis, var, var_axis};
pub use crate::reshape::{
    broadcast, concatenate, flatten, insert_axis, into_shape_with_order, permuted_axes,
    reversed_axes, stack,
};
pub use crate::views::{diag, index_axis, remove_axis, select, slice, slice_axis};

/// A floating-point constant in the value's own type.
#[inline(always)]
fn lit<T: Float>(v: f64) -> T {
    T::from(v).expect("f64 constants are representable in every float type")
}

/// Sign with sign(0) = 0: the subgradient the rules of `abs` and friends use at the kink.
#[inline(always)]
fn sign<T: Float>(x: T) -> T {
    if x > T::zero() {
        T::one()
    } else if x < T::zero() {
        -T::one()
    } else {
        T::zero()
    }
}

/// Declares an elementwise primitive: its value and one partial derivative ∂y/∂argₖ per
/// argument, as scalar formulas. `forward` and the pullbacks `vjpK` apply them to scalars or,
/// through [`Map`] and [`Broadcast`], to arrays with broadcasting, multiplying the incoming
/// adjoint `g` in its own buffer.
macro_rules! rule {
    ($(#[$doc:meta])* $name:ident $args:tt -> $y:ident = $forward:expr;
     $([arrays: $kernel:ident])?
     $([from_y: $from_y:ident])?
     $($vjp:ident / $partial_fn:ident: $partial:expr;)+) => {
        $(#[$doc])*
        pub mod $name {
            #[allow(unused_imports)]
            use super::{
                check_adjoint, check_tangent, lit, sign, Broadcast, Map, MapInto, Tangent, ZipInto,
            };
            use num_traits::Float;

            rule!(@scalar $args $forward);
            $(rule!(@partial $args $y $partial_fn $partial);)+
            rule!(@apply $name $args [$($kernel)?] $($vjp / $partial_fn)+);
            $(rule!(@from_y $name $from_y);)?
        }
    };
    // The pullback of a rule whose partial reads only the result: `x` may be gone (its
    // buffer moved into `y`), and `y` stands in for it, which the partial ignores.
    (@from_y $name:ident $from_y:ident) => {
        #[inline(always)]
        #[track_caller]
        pub fn $from_y<X: Map>(y_arg: X, y: &X::Owned, g: X::Owned) -> X::Owned {
            vjp0(y_arg, y, g)
        }
        /// The pullbacks of the add (or, `subtract`, sub) computed with this rule by
        /// [`forward_after`], from the adjoint of this rule's result: `vjp0_from_y` and then
        /// `add::vjp_both_shaped`, with their bits, in one pass where it can
        /// ([`super::chained_pullback`]).
        #[inline(always)]
        #[track_caller]
        pub fn vjp_after<X, SA, SB>(
            y_arg: X,
            y: &X::Owned,
            a: SA,
            b: SB,
            subtract: bool,
            g: X::Owned,
        ) -> (SA::Output, SB::Output)
        where
            X: Map,
            X::Owned: crate::value::Shaped,
            SA: super::ReduceTo<X::Owned> + super::Shape,
            SB: super::ReduceTo<X::Owned> + super::Shape,
        {
            check_adjoint(stringify!($name), g.tangent_shape(), y.tangent_shape());
            super::chained_pullback(y_arg, y, a, b, subtract, g, d0)
        }
    };
    (@scalar ($($arg:ident),+) $forward:expr) => {
        /// The value, for one element.
        #[inline(always)]
        pub fn value<T: Float>($($arg: T),+) -> T {
            $forward
        }
    };
    (@partial ($($arg:ident),+) $y:ident $partial_fn:ident $partial:expr) => {
        #[inline(always)]
        #[allow(unused_variables)]
        fn $partial_fn<T: Float>($($arg: T,)+ $y: T) -> T {
            $partial
        }
    };
    (@apply $name:ident ($x:ident) [$($kernel:ident)?] $vjp:ident / $partial_fn:ident) => {
        #[inline(always)]
        pub fn forward<X: Map>(x: X) -> X::Owned {
            rule!(@map x [$($kernel)?])
        }
        /// [`forward`] in `x`'s own buffer (see [`MapInto`]).
        #[inline(always)]
        pub fn forward_into<X: MapInto>(x: X) -> X {
            x.map_into(value, rule!(@kernel [$($kernel)?]))
        }
        /// [`forward_into`] of `moved ⊕ other` (add's or sub's `forward_into_left` or
        /// `_right`: `f` is its arithmetic, `moved` first), in one pass over `moved`'s buffer
        /// where `other` broadcasts along its rows ([`ZipInto::zip_into_map`]).
        #[inline(always)]
        #[track_caller]
        pub fn forward_after<M: ZipInto<O>, O: Map>(
            moved: M,
            other: O,
            op: &str,
            swapped: bool,
            f: impl Fn(O::Elem, O::Elem) -> O::Elem + Sync + Send,
        ) -> M::Output
        where
            M::Output: MapInto<Elem = O::Elem>,
        {
            moved.zip_into_map(other, op, swapped, f, value, rule!(@kernel [$($kernel)?]))
        }
        #[inline(always)]
        #[track_caller]
        pub fn $vjp<X: Map>(x: X, y: &X::Owned, g: X::Owned) -> X::Owned {
            check_adjoint(stringify!($name), g.tangent_shape(), y.tangent_shape());
            x.pull(y, g, $partial_fn)
        }
        /// Forward mode: the tangent t · f′(x), computed in t's buffer.
        #[inline(always)]
        #[track_caller]
        pub fn jvp0<X: Map>(x: X, y: &X::Owned, t: X::Owned) -> X::Owned {
            check_tangent(stringify!($name), t.tangent_shape(), x.value_shape());
            x.pull(y, t, $partial_fn)
        }
    };
    // An elementwise value: the vectorized kernel on arrays where the rule names one.
    (@map $x:ident []) => { $x.map(value) };
    (@map $x:ident [$kernel:ident]) => { $x.map_kernel(value, crate::fast::Kernel::$kernel) };
    (@kernel []) => { None };
    (@kernel [$kernel:ident]) => { Some(crate::fast::Kernel::$kernel) };
    // Three arguments: scalars only (`mul_add` has no array form in ndarray).
    (@apply $name:ident ($a:ident, $b:ident, $c:ident) []
     $vjp0:ident / $p0:ident $vjp1:ident / $p1:ident $vjp2:ident / $p2:ident) => {
        #[inline(always)]
        pub fn forward<T: Float>(a: T, b: T, c: T) -> T {
            value(a, b, c)
        }
        rule!(@scalar_rules (a, b, c) $vjp0 jvp0 $p0);
        rule!(@scalar_rules (a, b, c) $vjp1 jvp1 $p1);
        rule!(@scalar_rules (a, b, c) $vjp2 jvp2 $p2);
    };
    (@scalar_rules ($($arg:ident),+) $vjp:ident $jvp:ident $p:ident) => {
        #[inline(always)]
        pub fn $vjp<T: Float>($($arg: T,)+ y: &T, g: T) -> T {
            g * $p($($arg,)+ *y)
        }
        /// Forward mode: the tangent t · ∂y/∂arg.
        #[inline(always)]
        pub fn $jvp<T: Float>($($arg: T,)+ y: &T, t: T) -> T {
            t * $p($($arg,)+ *y)
        }
    };
    (@apply $name:ident ($a:ident, $b:ident) [] $vjp0:ident / $p0:ident $vjp1:ident / $p1:ident) => {
        #[inline(always)]
        #[track_caller]
        pub fn forward<A: Broadcast<B>, B: Map>(a: A, b: B) -> A::Output {
            a.zip_with(b, stringify!($name), value)
        }
        /// [`forward`] in `a`'s buffer where it has the result's shape (see [`ZipInto`]).
        #[inline(always)]
        #[track_caller]
        pub fn forward_into_left<A: ZipInto<B>, B: Map>(a: A, b: B) -> A::Output {
            a.zip_into(b, stringify!($name), false, value)
        }
        /// [`forward`] in `b`'s buffer where it has the result's shape.
        #[inline(always)]
        #[track_caller]
        pub fn forward_into_right<A: Map, B: ZipInto<A>>(a: A, b: B) -> B::Output {
            b.zip_into(a, stringify!($name), true, |b, a| value(a, b))
        }
        #[inline(always)]
        #[track_caller]
        pub fn $vjp0<A: Broadcast<B>, B: Map>(a: A, b: B, y: &A::Output, g: A::Output) -> A::Owned {
            check_adjoint(stringify!($name), g.tangent_shape(), y.tangent_shape());
            a.pull_left(b, y, g, $p0)
        }
        #[inline(always)]
        #[track_caller]
        pub fn $vjp1<A: Broadcast<B>, B: Map>(a: A, b: B, y: &A::Output, g: A::Output) -> B::Owned {
            check_adjoint(stringify!($name), g.tangent_shape(), y.tangent_shape());
            a.pull_right(b, y, g, $p1)
        }
        #[inline(always)]
        #[track_caller]
        pub fn jvp0<A: Broadcast<B>, B: Map>(a: A, b: B, y: &A::Output, t: A::Owned) -> A::Output {
            check_tangent(stringify!($name), t.tangent_shape(), a.value_shape());
            a.push_left(b, y, t, $p0)
        }
        #[inline(always)]
        #[track_caller]
        pub fn jvp1<A: Broadcast<B>, B: Map>(a: A, b: B, y: &A::Output, t: B::Owned) -> A::Output {
            check_tangent(stringify!($name), t.tangent_shape(), b.value_shape());
            a.push_right(b, y, t, $p1)
        }
    };
}

/// a + b: the adjoint passes through, summed back over broadcast axes.
pub mod add {
    use super::{check_adjoint, check_tangent, Broadcast, Map, ReduceTo, Shape, Tangent, ZipInto};
    use num_traits::One;

    #[inline(always)]
    #[track_caller]
    pub fn forward<A: Broadcast<B>, B: Map>(a: A, b: B) -> A::Output {
        a.zip_with(b, "add", |a, b| a + b)
    }
    /// [`forward`] in `a`'s buffer where it has the result's shape (see [`ZipInto`]).
    #[inline(always)]
    #[track_caller]
    pub fn forward_into_left<A: ZipInto<B>, B: Map>(a: A, b: B) -> A::Output {
        a.zip_into(b, "add", false, |a, b| a + b)
    }
    /// [`forward`] in `b`'s buffer where it has the result's shape.
    #[inline(always)]
    #[track_caller]
    pub fn forward_into_right<A: Map, B: ZipInto<A>>(a: A, b: B) -> B::Output {
        b.zip_into(a, "add", true, |b, a| a + b)
    }
    #[inline(always)]
    #[track_caller]
    pub fn vjp0<A: Broadcast<B>, B: Map>(a: A, _b: B, y: &A::Output, g: A::Output) -> A::Owned {
        check_adjoint("add", g.tangent_shape(), y.tangent_shape());
        a.reduce_left(g)
    }
    #[inline(always)]
    #[track_caller]
    pub fn vjp1<A: Broadcast<B>, B: Map>(_a: A, b: B, y: &A::Output, g: A::Output) -> B::Owned {
        check_adjoint("add", g.tangent_shape(), y.tangent_shape());
        A::reduce_right(b, g)
    }
    /// The pullbacks from the operand's and the result's shapes only, which is all they read
    /// (a loop's tape keeps nothing for a scalar).
    #[inline(always)]
    #[track_caller]
    pub fn vjp0_shaped<SA: ReduceTo<G>, SY: Shape, G: Tangent>(a: SA, y: SY, g: G) -> SA::Output {
        check_adjoint("add", g.tangent_shape(), y.dims());
        a.reduce(g)
    }
    #[inline(always)]
    #[track_caller]
    pub fn vjp1_shaped<SB: ReduceTo<G>, SY: Shape, G: Tangent>(b: SB, y: SY, g: G) -> SB::Output {
        check_adjoint("add", g.tangent_shape(), y.dims());
        b.reduce(g)
    }
    /// Both pullbacks from one adjoint, with no copy of it ([`super::reduce_both`]).
    #[inline(always)]
    #[track_caller]
    pub fn vjp_both_shaped<SA, SB, SY, G>(a: SA, b: SB, y: SY, g: G) -> (SA::Output, SB::Output)
    where
        SA: ReduceTo<G> + Shape,
        SB: ReduceTo<G> + Shape,
        SY: Shape,
        G: Tangent,
    {
        check_adjoint("add", g.tangent_shape(), y.dims());
        let (ga, gb) = super::reduce_both(a, b, y, g);
        (ga, gb)
    }
    #[inline(always)]
    #[track_caller]
    pub fn jvp0<A: Broadcast<B>, B: Map>(a: A, b: B, y: &A::Output, t: A::Owned) -> A::Output {
        check_tangent("add", t.tangent_shape(), a.value_shape());
        a.push_left(b, y, t, |_, _, _| One::one())
    }
    #[inline(always)]
    #[track_caller]
    pub fn jvp1<A: Broadcast<B>, B: Map>(a: A, b: B, y: &A::Output, t: B::Owned) -> A::Output {
        check_tangent("add", t.tangent_shape(), b.value_shape());
        a.push_right(b, y, t, |_, _, _| One::one())
    }
}

/// The adjoints of both operands of a broadcasting add, from its one adjoint `g`: the
/// operand of the result's shape takes `g` as it is, after the other (broadcast) one is
/// summed from it in place, so no copy is made unless both have the result's shape.
#[inline(always)]
fn reduce_both<SA, SB, SY, G>(a: SA, b: SB, y: SY, g: G) -> (SA::Output, SB::Output)
where
    SA: ReduceTo<G> + Shape,
    SB: ReduceTo<G> + Shape,
    SY: Shape,
{
    match a.dims() == y.dims() {
        true => {
            let gb = b.reduce_ref(&g);
            (a.reduce(g), gb)
        }
        false => {
            let ga = a.reduce_ref(&g);
            (ga, b.reduce(g))
        }
    }
}

/// The pullbacks of `a + b` (or `a − b`) through the rule after it, whose partial reads
/// that rule's result `y` only, from the adjoint `g` of `y`: ḡ·f′(y), then both operands'
/// adjoints as [`add::vjp_both_shaped`] (or `sub`'s) gives them, with the same bits. Where
/// one operand has `y`'s shape and the other is a bias broadcast along the rows of a matrix,
/// the product and the bias's sum are one pass ([`Map::pull_summing_rows`]).
#[track_caller]
pub(crate) fn chained_pullback<X, SA, SB>(
    y_arg: X,
    y: &X::Owned,
    a: SA,
    b: SB,
    subtract: bool,
    mut g: X::Owned,
    partial: impl Fn(X::Elem, X::Elem) -> X::Elem + Sync + Send,
) -> (SA::Output, SB::Output)
where
    X: Map,
    X::Owned: crate::value::Shaped,
    SA: ReduceTo<X::Owned> + Shape,
    SB: ReduceTo<X::Owned> + Shape,
{
    let shape = crate::value::Shaped::autodiff_shape(y);
    let dims = y.tangent_shape();
    let full_a = a.dims() == dims;
    let bias = if full_a { b.dims() } else { a.dims() };
    // A bias of one row's shape (`[1, width]` is summed by `sum_axis`, in another order).
    let is_bias = (full_a || b.dims() == dims) && dims.len() == 2 && bias == &dims[1..];
    let sum = match is_bias {
        true => y_arg.pull_summing_rows(y, &mut g, &partial),
        false => None,
    };
    let Some(sum) = sum else {
        let g = y_arg.pull(y, g, partial);
        return match subtract {
            true => sub::vjp_both_shaped(a, b, shape, g),
            false => add::vjp_both_shaped(a, b, shape, g),
        };
    };
    let (ga, gb) = match full_a {
        true => (a.reduce(g), b.reduce(sum)),
        false => (a.reduce(sum), b.reduce(g)),
    };
    match subtract {
        true => (ga, gb.negate()),
        false => (ga, gb),
    }
}

/// a − b
pub mod sub {
    use super::{check_adjoint, check_tangent, Broadcast, Map, ReduceTo, Shape, Tangent, ZipInto};
    use num_traits::One;

    #[inline(always)]
    #[track_caller]
    pub fn forward<A: Broadcast<B>, B: Map>(a: A, b: B) -> A::Output {
        a.zip_with(b, "sub", |a, b| a - b)
    }
    /// [`forward`] in `a`'s buffer where it has the result's shape (see [`ZipInto`]).
    #[inline(always)]
    #[track_caller]
    pub fn forward_into_left<A: ZipInto<B>, B: Map>(a: A, b: B) -> A::Output {
        a.zip_into(b, "sub", false, |a, b| a - b)
    }
    /// [`forward`] in `b`'s buffer where it has the result's shape.
    #[inline(always)]
    #[track_caller]
    pub fn forward_into_right<A: Map, B: ZipInto<A>>(a: A, b: B) -> B::Output {
        b.zip_into(a, "sub", true, |b, a| a - b)
    }
    #[inline(always)]
    #[track_caller]
    pub fn vjp0<A: Broadcast<B>, B: Map>(a: A, _b: B, y: &A::Output, g: A::Output) -> A::Owned {
        check_adjoint("sub", g.tangent_shape(), y.tangent_shape());
        a.reduce_left(g)
    }
    #[inline(always)]
    #[track_caller]
    pub fn vjp1<A: Broadcast<B>, B: Map>(_a: A, b: B, y: &A::Output, g: A::Output) -> B::Owned {
        check_adjoint("sub", g.tangent_shape(), y.tangent_shape());
        A::reduce_right(b, g).negate()
    }
    /// The pullbacks from the operand's and the result's shapes only, which is all they read
    /// (a loop's tape keeps nothing for a scalar).
    #[inline(always)]
    #[track_caller]
    pub fn vjp0_shaped<SA: ReduceTo<G>, SY: Shape, G: Tangent>(a: SA, y: SY, g: G) -> SA::Output {
        check_adjoint("sub", g.tangent_shape(), y.dims());
        a.reduce(g)
    }
    #[inline(always)]
    #[track_caller]
    pub fn vjp1_shaped<SB: ReduceTo<G>, SY: Shape, G: Tangent>(b: SB, y: SY, g: G) -> SB::Output {
        check_adjoint("sub", g.tangent_shape(), y.dims());
        b.reduce(g).negate()
    }
    /// Both pullbacks from one adjoint, with no copy of it ([`super::reduce_both`]).
    #[inline(always)]
    #[track_caller]
    pub fn vjp_both_shaped<SA, SB, SY, G>(a: SA, b: SB, y: SY, g: G) -> (SA::Output, SB::Output)
    where
        SA: ReduceTo<G> + Shape,
        SB: ReduceTo<G> + Shape,
        SY: Shape,
        G: Tangent,
    {
        check_adjoint("sub", g.tangent_shape(), y.dims());
        let (ga, gb) = super::reduce_both(a, b, y, g);
        (ga, gb.negate())
    }
    #[inline(always)]
    #[track_caller]
    pub fn jvp0<A: Broadcast<B>, B: Map>(a: A, b: B, y: &A::Output, t: A::Owned) -> A::Output {
        check_tangent("sub", t.tangent_shape(), a.value_shape());
        a.push_left(b, y, t, |_, _, _| One::one())
    }
    #[inline(always)]
    #[track_caller]
    pub fn jvp1<A: Broadcast<B>, B: Map>(a: A, b: B, y: &A::Output, t: B::Owned) -> A::Output {
        check_tangent("sub", t.tangent_shape(), b.value_shape());
        a.push_right(b, y, t, |_, _, _| -<A::Elem as One>::one())
    }
}

/// −a
pub mod neg {
    use super::{check_adjoint, check_tangent, Map, MapInto, Shape, Tangent};

    #[inline(always)]
    pub fn forward<X: Map>(x: X) -> X::Owned {
        x.map(|x| -x)
    }
    /// [`forward`] in `x`'s own buffer (see [`MapInto`]).
    #[inline(always)]
    pub fn forward_into<X: MapInto>(x: X) -> X {
        x.map_into(|x| -x, None)
    }
    #[inline(always)]
    #[track_caller]
    pub fn vjp0<X: Map>(_x: X, y: &X::Owned, g: X::Owned) -> X::Owned {
        check_adjoint("neg", g.tangent_shape(), y.tangent_shape());
        g.negate()
    }
    /// The pullback from the result's shape only, which is all it reads.
    #[inline(always)]
    #[track_caller]
    pub fn vjp0_shaped<SY: Shape, G: Tangent>(y: SY, g: G) -> G {
        check_adjoint("neg", g.tangent_shape(), y.dims());
        g.negate()
    }
    #[inline(always)]
    #[track_caller]
    pub fn jvp0<X: Map>(x: X, _y: &X::Owned, t: X::Owned) -> X::Owned {
        check_tangent("neg", t.tangent_shape(), x.value_shape());
        t.negate()
    }
}

/// `x[i]`, `x[[i, j]]`: one element of an array, at a constant index. Its adjoint is one
/// element too, so the generated code adds it in place into the array's adjoint
/// ([`index::add_at`]) instead of building a one-hot array per read.
pub mod index {
    use core::fmt::Debug;
    use core::ops::Add;

    use ndarray::{Array, ArrayView, Dimension, IntoDimension, NdIndex};

    // Inlined, with the view by value: a view behind a reference would be built in memory
    // at every read.
    #[inline(always)]
    #[track_caller]
    fn element<A: Clone, D: Dimension, I: NdIndex<D> + Copy + Debug>(
        x: ArrayView<'_, A, D>,
        index: I,
    ) -> A {
        match x.get(index) {
            Some(element) => element.clone(),
            // The shape as numbers (its pattern, in registers), not the index: a loop's index
            // in the panic ties the check to its iteration, which kept it inside k-means'
            // distance loop (10–23 % of its gradient); a shape behind a reference builds the
            // view in memory at every read.
            None => out_of_bounds(x.dim()),
        }
    }

    #[inline(always)]
    #[track_caller]
    pub fn forward<A: Clone, D: Dimension, I: NdIndex<D> + Copy + Debug>(
        x: ArrayView<'_, A, D>,
        index: I,
    ) -> A {
        element(x, index)
    }

    #[cold]
    #[inline(never)]
    #[track_caller]
    fn out_of_bounds<P: IntoDimension>(shape: P) -> ! {
        let shape = shape.into_dimension();
        panic!(
            "index: an index is out of bounds for an array of shape {:?}",
            shape.slice()
        )
    }

    /// The one-hot adjoint; the generated code uses [`add_at`] instead.
    #[track_caller]
    pub fn vjp0<A: Clone + num_traits::Zero, D: Dimension, I: NdIndex<D> + Copy + Debug>(
        x: ArrayView<'_, A, D>,
        index: I,
        _y: &A,
        g: A,
    ) -> Array<A, D> {
        let mut adjoint = Array::zeros(x.raw_dim());
        add_at(&mut adjoint, index, g);
        adjoint
    }

    /// Forward mode: the tangent's element.
    #[inline(always)]
    #[track_caller]
    pub fn jvp0<A: Clone, D: Dimension, I: NdIndex<D> + Copy + Debug>(
        x: ArrayView<'_, A, D>,
        index: I,
        _y: &A,
        t: Array<A, D>,
    ) -> A {
        crate::value::same_shape("index", t.shape(), x.shape());
        element(t.view(), index)
    }

    /// `adjoint[index] += g`: the read's contribution, in place.
    #[inline(always)]
    #[track_caller]
    pub fn add_at<X: AddAt<I, A>, I, A>(adjoint: &mut X, index: I, g: A) {
        adjoint.add_at(index, g);
    }

    /// An adjoint an element read adds to: an array, or a `Vec` of floats (a field
    /// `v: Vec<f64>` of a struct of parameters, read `p.v[i]`).
    pub trait AddAt<I, A> {
        #[track_caller]
        fn add_at(&mut self, index: I, g: A);
    }

    impl<A: Clone + Add<Output = A>, D: Dimension, I: NdIndex<D> + Copy + Debug> AddAt<I, A>
        for Array<A, D>
    {
        #[inline(always)]
        #[track_caller]
        fn add_at(&mut self, index: I, g: A) {
            // One bounds check: the message is built only on failure.
            match self.get_mut(index) {
                Some(element) => *element = element.clone() + g,
                None => out_of_bounds(self.dim()),
            }
        }
    }

    impl<A: Clone + Add<Output = A>> AddAt<usize, A> for Vec<A> {
        #[inline(always)]
        #[track_caller]
        fn add_at(&mut self, index: usize, g: A) {
            let len = self.len();
            match self.get_mut(index) {
                Some(element) => *element = element.clone() + g,
                None => out_of_bounds(len),
            }
        }
    }
}

/// `m.row(i)`, `m.column(j)`: one line of a matrix, at a constant index, as an owned
/// vector. Its adjoint is one line too, added in place into the matrix's adjoint
/// ([`row::add_at`]) instead of a zero matrix per read.
mod line {
    use core::ops::Add;

    use ndarray::{Array1, Array2, ArrayView2, Axis};

    #[track_caller]
    pub fn check(op: &str, axis: Axis, shape: &[usize], index: usize) {
        if index >= shape[axis.index()] {
            panic!("{op}: index {index} is out of bounds for a matrix of shape {shape:?}");
        }
    }

    #[track_caller]
    pub fn read<A: Clone>(op: &str, axis: Axis, m: ArrayView2<'_, A>, index: usize) -> Array1<A> {
        check(op, axis, m.shape(), index);
        m.index_axis(axis, index).to_owned()
    }

    #[track_caller]
    pub fn add_at<A: Clone + Add<Output = A>>(
        op: &str,
        axis: Axis,
        adjoint: &mut Array2<A>,
        index: usize,
        g: Array1<A>,
    ) {
        check(op, axis, adjoint.shape(), index);
        let mut line = adjoint.index_axis_mut(axis, index);
        crate::value::same_shape(op, line.shape(), g.shape());
        line.zip_mut_with(&g, |a, b| *a = a.clone() + b.clone());
    }
}

/// `m.row(i)`
pub mod row {
    use core::ops::Add;

    use ndarray::{Array1, Array2, ArrayView2, Axis};
    use num_traits::Zero;

    const AXIS: Axis = Axis(0);

    #[inline]
    #[track_caller]
    pub fn forward<A: Clone>(m: ArrayView2<'_, A>, index: usize) -> Array1<A> {
        super::line::read("row", AXIS, m, index)
    }

    /// The adjoint as a matrix; the generated code uses [`add_at`] instead.
    #[track_caller]
    pub fn vjp0<A: Clone + Zero + Add<Output = A>>(
        m: ArrayView2<'_, A>,
        index: usize,
        _y: &Array1<A>,
        g: Array1<A>,
    ) -> Array2<A> {
        let mut adjoint = Array2::zeros(m.raw_dim());
        add_at(&mut adjoint, index, g);
        adjoint
    }

    /// Forward mode: the tangent's line.
    #[track_caller]
    pub fn jvp0<A: Clone>(
        m: ArrayView2<'_, A>,
        index: usize,
        _y: &Array1<A>,
        t: Array2<A>,
    ) -> Array1<A> {
        crate::value::check_tangent("row", t.shape(), m.shape());
        super::line::read("row", AXIS, t.view(), index)
    }

    /// `adjoint`'s line += g, in place.
    #[inline]
    #[track_caller]
    pub fn add_at<A: Clone + Add<Output = A>>(adjoint: &mut Array2<A>, index: usize, g: Array1<A>) {
        super::line::add_at("row", AXIS, adjoint, index, g);
    }
}

/// `m.column(j)`
pub mod column {
    use core::ops::Add;

    use ndarray::{Array1, Array2, ArrayView2, Axis};
    use num_traits::Zero;

    const AXIS: Axis = Axis(1);

    #[inline]
    #[track_caller]
    pub fn forward<A: Clone>(m: ArrayView2<'_, A>, index: usize) -> Array1<A> {
        super::line::read("column", AXIS, m, index)
    }

    /// The adjoint as a matrix; the generated code uses [`add_at`] instead.
    #[track_caller]
    pub fn vjp0<A: Clone + Zero + Add<Output = A>>(
        m: ArrayView2<'_, A>,
        index: usize,
        _y: &Array1<A>,
        g: Array1<A>,
    ) -> Array2<A> {
        let mut adjoint = Array2::zeros(m.raw_dim());
        add_at(&mut adjoint, index, g);
        adjoint
    }

    /// Forward mode: the tangent's line.
    #[track_caller]
    pub fn jvp0<A: Clone>(
        m: ArrayView2<'_, A>,
        index: usize,
        _y: &Array1<A>,
        t: Array2<A>,
    ) -> Array1<A> {
        crate::value::check_tangent("column", t.shape(), m.shape());
        super::line::read("column", AXIS, t.view(), index)
    }

    /// `adjoint`'s line += g, in place.
    #[inline]
    #[track_caller]
    pub fn add_at<A: Clone + Add<Output = A>>(adjoint: &mut Array2<A>, index: usize, g: Array1<A>) {
        super::line::add_at("column", AXIS, adjoint, index, g);
    }
}

/// `q[i] = v` on an array of the trace: the array with one element replaced. The generated
/// code moves the array in ([`set_index::set_at`]) where nothing else reads its old value,
/// and takes the element's adjoint out in place ([`set_index::take_at`]).
pub mod set_index {
    use core::fmt::Debug;

    use ndarray::{Array, ArrayView, Dimension, NdIndex};
    use num_traits::Zero;

    /// One bounds check; the panic's message made from a copy of the shape, so that the
    /// array's address reaches no call (LLVM then keeps an adjoint's shape and strides in
    /// registers through a loop, and its moves from binding to binding cost nothing).
    #[inline(always)]
    #[track_caller]
    fn slot<A, D: Dimension, I: NdIndex<D> + Copy + Debug>(
        array: &mut Array<A, D>,
        index: I,
    ) -> &mut A {
        if array.get(index).is_none() {
            out_of_bounds(index, array.raw_dim());
        }
        // SAFETY: `get` has just found an element at `index` in this array, unchanged since.
        unsafe { array.uget_mut(index) }
    }

    #[cold]
    #[inline(never)]
    #[track_caller]
    fn out_of_bounds<I: Debug, D: Dimension>(index: I, dim: D) -> ! {
        let shape = dim.slice();
        panic!("set_index: index {index:?} is out of bounds for an array of shape {shape:?}")
    }

    /// `array[index] = value`, in the array's own buffer.
    #[inline(always)]
    #[track_caller]
    pub fn set_at<A, D: Dimension, I: NdIndex<D> + Copy + Debug>(
        mut array: Array<A, D>,
        index: I,
        value: A,
    ) -> Array<A, D> {
        *slot(&mut array, index) = value;
        array
    }

    /// `array[index] = 0`: the tangent of writing a constant.
    #[inline(always)]
    #[track_caller]
    pub fn zero_at<A: Zero, D: Dimension, I: NdIndex<D> + Copy + Debug>(
        array: Array<A, D>,
        index: I,
    ) -> Array<A, D> {
        set_at(array, index, A::zero())
    }

    /// The written element's adjoint, taken out of the array's adjoint (which keeps zero
    /// there: the old element did not reach the result).
    #[inline(always)]
    #[track_caller]
    pub fn take_at<A: Zero, D: Dimension, I: NdIndex<D> + Copy + Debug>(
        adjoint: &mut Array<A, D>,
        index: I,
    ) -> A {
        core::mem::replace(slot(adjoint, index), A::zero())
    }

    /// The value, from a view of the array (a copy).
    #[track_caller]
    pub fn forward<A: Clone, D: Dimension, I: NdIndex<D> + Copy + Debug>(
        array: ArrayView<'_, A, D>,
        index: I,
        value: A,
    ) -> Array<A, D> {
        set_at(array.to_owned(), index, value)
    }

    /// The array's adjoint: the result's, with zero at the written element.
    #[track_caller]
    pub fn vjp0<A: Clone + Zero, D: Dimension, I: NdIndex<D> + Copy + Debug>(
        _array: ArrayView<'_, A, D>,
        index: I,
        _value: A,
        _y: &Array<A, D>,
        g: Array<A, D>,
    ) -> Array<A, D> {
        zero_at(g, index)
    }

    /// The value's adjoint: the result's adjoint at the written element.
    #[track_caller]
    pub fn vjp2<A: Clone + Zero, D: Dimension, I: NdIndex<D> + Copy + Debug>(
        _array: ArrayView<'_, A, D>,
        index: I,
        _value: A,
        _y: &Array<A, D>,
        mut g: Array<A, D>,
    ) -> A {
        take_at(&mut g, index)
    }

    /// Forward mode along the array: its tangent, with zero at the written element.
    #[track_caller]
    pub fn jvp0<A: Clone + Zero, D: Dimension, I: NdIndex<D> + Copy + Debug>(
        _array: ArrayView<'_, A, D>,
        index: I,
        _value: A,
        _y: &Array<A, D>,
        t: Array<A, D>,
    ) -> Array<A, D> {
        zero_at(t, index)
    }

    /// Forward mode along the value: zero but at the written element.
    #[track_caller]
    pub fn jvp2<A: Clone + Zero, D: Dimension, I: NdIndex<D> + Copy + Debug>(
        array: ArrayView<'_, A, D>,
        index: I,
        _value: A,
        _y: &Array<A, D>,
        t: A,
    ) -> Array<A, D> {
        set_at(Array::zeros(array.raw_dim()), index, t)
    }
}

rule! { /// a · b
mul(a, b) -> y = a * b; vjp0 / d0: b; vjp1 / d1: a; }

/// a · b's pullbacks from the result's shape only, which is all they read of it (a product's
/// partials are the other operand): a loop's tape keeps nothing of a scalar product for them.
pub mod mul_shaped {
    use super::{check_adjoint, Broadcast, Map, Shape, Tangent};

    #[inline(always)]
    #[track_caller]
    pub fn vjp0<A: Broadcast<B>, B: Map, SY: Shape>(a: A, b: B, y: SY, g: A::Output) -> A::Owned {
        check_adjoint("mul", g.tangent_shape(), y.dims());
        a.pull_left_unread(b, g, |_, b| b)
    }
    #[inline(always)]
    #[track_caller]
    pub fn vjp1<A: Broadcast<B>, B: Map, SY: Shape>(a: A, b: B, y: SY, g: A::Output) -> B::Owned {
        check_adjoint("mul", g.tangent_shape(), y.dims());
        a.pull_right_unread(b, g, |a, _| a)
    }
    /// `a * a`'s one pullback (`b` is `a` again), 2a·ḡ: the sum of the two above, bit for bit (doubling is
    /// exact), in one pass and without a copy of ḡ.
    #[inline(always)]
    #[track_caller]
    pub fn vjp_square<A: Broadcast<B>, B: Map, SY: Shape>(
        a: A,
        b: B,
        y: SY,
        g: A::Output,
    ) -> A::Owned {
        check_adjoint("mul", g.tangent_shape(), y.dims());
        a.pull_left_unread(b, g, |_, b| b + b)
    }
}
rule! { /// a / b
div(a, b) -> y = a / b; vjp0 / d0: b.recip(); vjp1 / d1: -y / b; }

rule! { /// ln x
ln(x) -> y = x.ln(); vjp0 / d0: x.recip(); }
rule! { /// log₂ x
log2(x) -> y = x.log2(); vjp0 / d0: (x * lit::<T>(core::f64::consts::LN_2)).recip(); }
rule! { /// log₁₀ x
log10(x) -> y = x.log10(); vjp0 / d0: (x * lit::<T>(core::f64::consts::LN_10)).recip(); }
rule! { /// eˣ
exp(x) -> y = x.exp(); [arrays: Exp] [from_y: vjp0_from_y] vjp0 / d0: y; }
rule! { /// 2ˣ
exp2(x) -> y = x.exp2(); [from_y: vjp0_from_y] vjp0 / d0: y * lit::<T>(core::f64::consts::LN_2); }
rule! { /// ln(1 + x)
ln_1p(x) -> y = x.ln_1p(); vjp0 / d0: (T::one() + x).recip(); }
rule! { /// eˣ − 1
exp_m1(x) -> y = x.exp_m1(); [from_y: vjp0_from_y] vjp0 / d0: y + T::one(); }

rule! { /// sin x
sin(x) -> y = x.sin(); vjp0 / d0: x.cos(); }
rule! { /// cos x
cos(x) -> y = x.cos(); vjp0 / d0: -x.sin(); }
rule! { /// tan x
tan(x) -> y = x.tan(); [from_y: vjp0_from_y] vjp0 / d0: T::one() + y * y; }
rule! { /// arcsin x
asin(x) -> y = x.asin(); vjp0 / d0: (T::one() - x * x).sqrt().recip(); }
rule! { /// arccos x
acos(x) -> y = x.acos(); vjp0 / d0: -(T::one() - x * x).sqrt().recip(); }
rule! { /// arctan x
atan(x) -> y = x.atan(); vjp0 / d0: (T::one() + x * x).recip(); }
rule! { /// atan2(a, b), the angle of the point (b, a)
atan2(a, b) -> y = a.atan2(b); vjp0 / d0: b / (a * a + b * b); vjp1 / d1: -a / (a * a + b * b); }
rule! { /// sinh x
sinh(x) -> y = x.sinh(); vjp0 / d0: x.cosh(); }
rule! { /// cosh x
cosh(x) -> y = x.cosh(); vjp0 / d0: x.sinh(); }
rule! { /// tanh x
tanh(x) -> y = x.tanh(); [arrays: Tanh] [from_y: vjp0_from_y] vjp0 / d0: T::one() - y * y; }

rule! { /// √x
sqrt(x) -> y = x.sqrt(); [from_y: vjp0_from_y] vjp0 / d0: (y + y).recip(); }
rule! { /// ∛x
cbrt(x) -> y = x.cbrt(); [from_y: vjp0_from_y] vjp0 / d0: (lit::<T>(3.0) * y * y).recip(); }
rule! { /// xᵖ for a float exponent; ∂/∂p is taken as 0 at x = 0, its limit for p > 0
    powf(x, p) -> y = x.powf(p);
    vjp0 / d0: p * x.powf(p - T::one());
    vjp1 / d1: if x == T::zero() { T::zero() } else { y * x.ln() };
}
rule! { /// 1/x
recip(x) -> y = x.recip(); [from_y: vjp0_from_y] vjp0 / d0: -y * y; }
rule! { /// |x|, with derivative 0 at 0
abs(x) -> y = x.abs(); vjp0 / d0: sign(x); }
rule! { /// √(a² + b²); its derivative at the origin is taken as 0
    hypot(a, b) -> y = a.hypot(b);
    vjp0 / d0: if y == T::zero() { T::zero() } else { a / y };
    vjp1 / d1: if y == T::zero() { T::zero() } else { b / y };
}
rule! { /// max(a, b); a tie sends the whole derivative to `a`
    max(a, b) -> y = a.max(b);
    vjp0 / d0: if a >= b || b.is_nan() { T::one() } else { T::zero() };
    vjp1 / d1: if a >= b || b.is_nan() { T::zero() } else { T::one() };
}
rule! { /// min(a, b); a tie sends the whole derivative to `a`
    min(a, b) -> y = a.min(b);
    vjp0 / d0: if a <= b || b.is_nan() { T::one() } else { T::zero() };
    vjp1 / d1: if a <= b || b.is_nan() { T::zero() } else { T::one() };
}
rule! { /// a·b + c with one rounding
mul_add(a, b, c) -> y = a.mul_add(b, c); vjp0 / d0: b; vjp1 / d1: a; vjp2 / d2: T::one(); }

rule! { /// σ(x) = 1/(1 + e⁻ˣ)
sigmoid(x) -> y = crate::activations::scalar::sigmoid(x); [arrays: Sigmoid] [from_y: vjp0_from_y] vjp0 / d0: y * (T::one() - y); }
rule! { /// max(x, 0), with relu′(0) = 0 as in the lectures; NaN passes through both
relu(x) -> y = crate::activations::scalar::relu(x); vjp0 / d0: crate::activations::scalar::relu_derivative(x); }
rule! { /// ln(1 + eˣ); its derivative is σ(x)
softplus(x) -> y = crate::activations::scalar::softplus(x); vjp0 / d0: crate::activations::scalar::sigmoid(x); }

rule! { /// erf x; its derivative is 2/√π e^(−x²)
    erf(x) -> y = crate::special::erf(x);
    vjp0 / d0: lit::<T>(core::f64::consts::FRAC_2_SQRT_PI) * (-(x * x)).exp();
}
rule! { /// erfc x = 1 − erf x
    erfc(x) -> y = crate::special::erfc(x);
    vjp0 / d0: -lit::<T>(core::f64::consts::FRAC_2_SQRT_PI) * (-(x * x)).exp();
}
rule! { /// ln |Γ(x)|; its derivative is the digamma function ψ(x)
ln_gamma(x) -> y = crate::special::ln_gamma(x); vjp0 / d0: crate::special::digamma(x); }
rule! { /// ψ(x); its derivative is the trigamma function ψ′(x)
digamma(x) -> y = crate::special::digamma(x); vjp0 / d0: crate::special::trigamma(x); }

// The piecewise-constant functions have derivative 0 wherever they are differentiable, and
// are given 0 at their jumps too (the one-sided derivative from either side); `fract`, x
// minus a piecewise constant, has derivative 1 everywhere. The dual numbers of the Hessians
// take the same values.
rule! { /// sign x (Rust's: ±1, with the sign of a zero); derivative 0
signum(x) -> y = x.signum(); vjp0 / d0: T::zero(); }
rule! { /// ⌊x⌋; derivative 0, also at the integers
floor(x) -> y = x.floor(); vjp0 / d0: T::zero(); }
rule! { /// ⌈x⌉; derivative 0, also at the integers
ceil(x) -> y = x.ceil(); vjp0 / d0: T::zero(); }
rule! { /// x rounded half away from zero; derivative 0, also at the half-integers
round(x) -> y = x.round(); vjp0 / d0: T::zero(); }
rule! { /// x rounded toward zero; derivative 0, also at the integers
trunc(x) -> y = x.trunc(); vjp0 / d0: T::zero(); }
rule! { /// x − trunc x; derivative 1, also at the integers
fract(x) -> y = x.fract(); vjp0 / d0: T::one(); }

/// `x.clamp(lo, hi)` with constant bounds: x limited to [lo, hi]. Its derivative is 1 on the
/// closed interval lo ≤ x ≤ hi (at a bound too, as PyTorch's `clamp`) and 0 outside; NaN
/// stays NaN, with derivative 0.
pub mod clamp {
    use super::{check_adjoint, check_tangent, Map, Tangent};
    use num_traits::{Float, One, Zero};

    #[inline(always)]
    #[track_caller]
    fn check<T: Float>(lo: T, hi: T) {
        if lo > hi || lo.is_nan() || hi.is_nan() {
            panic!(
                "clamp: the lower bound {:?} is above the upper bound {:?} (or one is NaN)",
                lo.to_f64(),
                hi.to_f64()
            );
        }
    }

    #[inline(always)]
    #[track_caller]
    pub fn forward<X: Map>(x: X, lo: X::Elem, hi: X::Elem) -> X::Owned {
        check(lo, hi);
        x.map(|x| {
            if x < lo {
                lo
            } else if x > hi {
                hi
            } else {
                x
            }
        })
    }

    /// g · [lo ≤ x ≤ hi]
    #[inline(always)]
    fn times_derivative<X: Map>(
        x: X,
        lo: X::Elem,
        hi: X::Elem,
        y: &X::Owned,
        g: X::Owned,
    ) -> X::Owned {
        x.pull(y, g, |x, _| match lo <= x && x <= hi {
            true => <X::Elem as One>::one(),
            false => <X::Elem as Zero>::zero(),
        })
    }

    #[inline(always)]
    #[track_caller]
    pub fn vjp0<X: Map>(x: X, lo: X::Elem, hi: X::Elem, y: &X::Owned, g: X::Owned) -> X::Owned {
        check_adjoint("clamp", g.tangent_shape(), y.tangent_shape());
        times_derivative(x, lo, hi, y, g)
    }
    /// Forward mode: t · [lo ≤ x ≤ hi].
    #[inline(always)]
    #[track_caller]
    pub fn jvp0<X: Map>(x: X, lo: X::Elem, hi: X::Elem, y: &X::Owned, t: X::Owned) -> X::Owned {
        check_tangent("clamp", t.tangent_shape(), x.value_shape());
        times_derivative(x, lo, hi, y, t)
    }
}

/// xⁿ for an integer exponent, which is a constant of the program (never differentiated).
pub mod powi {
    use super::{check_adjoint, check_tangent, lit, Map, Tangent};
    use num_traits::Float;

    #[inline(always)]
    pub fn forward<X: Map>(x: X, n: i32) -> X::Owned {
        x.map(|x| x.powi(n))
    }

    /// g · n xⁿ⁻¹
    #[inline(always)]
    fn times_derivative<X: Map>(x: X, n: i32, y: &X::Owned, g: X::Owned) -> X::Owned {
        match n {
            0 => x.pull(y, g, |_, _| lit::<X::Elem>(0.0)),
            _ => x.pull(y, g, |x, _| lit::<X::Elem>(f64::from(n)) * x.powi(n - 1)),
        }
    }

    #[inline(always)]
    #[track_caller]
    pub fn vjp0<X: Map>(x: X, n: i32, y: &X::Owned, g: X::Owned) -> X::Owned {
        check_adjoint("powi", g.tangent_shape(), y.tangent_shape());
        times_derivative(x, n, y, g)
    }
    /// Forward mode: n xⁿ⁻¹ t, the same product as the pullback's.
    #[inline(always)]
    #[track_caller]
    pub fn jvp0<X: Map>(x: X, n: i32, y: &X::Owned, t: X::Owned) -> X::Owned {
        check_tangent("powi", t.tangent_shape(), x.value_shape());
        times_derivative(x, n, y, t)
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{array, Array2};

    use super::{index, set_index};

    #[test]
    fn element_writes_check_their_index() {
        let written = set_index::set_at(Array2::<f64>::zeros((2, 3)), [1, 2], 5.0);
        assert_eq!(written[[1, 2]], 5.0);
        let mut adjoint = array![1.0, 2.0, 3.0];
        assert_eq!(set_index::take_at(&mut adjoint, 1), 2.0);
        assert_eq!(adjoint, array![1.0, 0.0, 3.0]);
        index::add_at(&mut adjoint, 1, 0.5);
        assert_eq!(adjoint, array![1.0, 0.5, 3.0]);
    }

    #[test]
    #[should_panic(
        expected = "set_index: index [2, 0] is out of bounds for an array of shape [2, 3]"
    )]
    fn an_element_write_out_of_bounds_names_the_shape() {
        let _ = set_index::set_at(Array2::<f64>::zeros((2, 3)), [2, 0], 5.0);
    }

    #[test]
    #[should_panic(expected = "set_index: index 3 is out of bounds for an array of shape [3]")]
    fn a_taken_element_out_of_bounds_names_the_shape() {
        let _ = set_index::take_at(&mut array![1.0, 2.0, 3.0], 3);
    }

    #[test]
    #[should_panic(expected = "index: an index is out of bounds for an array of shape [2, 3]")]
    fn an_element_read_out_of_bounds_names_the_shape() {
        let _ = index::forward(Array2::<f64>::zeros((2, 3)).view(), [0, 3]);
    }

    #[test]
    #[should_panic(expected = "index: an index is out of bounds for an array of shape [3]")]
    fn an_adjoint_added_out_of_bounds_names_the_shape() {
        index::add_at(&mut vec![0.0; 3], 3, 1.0);
    }
}
