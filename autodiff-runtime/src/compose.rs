//! What the generated code needs to call one differentiable function from another: passing
//! the caller's values as the callee's parameter types ask, and the contributions the
//! callee's companion returns (see the macro's `call.rs`).

use ndarray::{Array, ArrayView, Dimension};
use num_traits::Float;

/// A value of the caller's trace passed to a parameter of type `T`: a scalar by value, an
/// array lent (`&Array`), viewed (`ArrayView`) or copied (`Array`), whichever the called
/// function's parameter is. Called as a method, so that `x`, `&x` and `&&x` all work.
pub trait Pass<'a, T> {
    fn autodiff_pass(&'a self) -> T;
}

macro_rules! pass_scalars {
    ($($t:ty),*) => {$(
        impl<'a> Pass<'a, $t> for $t {
            #[inline(always)]
            fn autodiff_pass(&'a self) -> $t {
                *self
            }
        }
    )*};
}

pass_scalars!(f32, f64);

impl<'a, A, D: Dimension> Pass<'a, &'a Array<A, D>> for Array<A, D> {
    fn autodiff_pass(&'a self) -> &'a Array<A, D> {
        self
    }
}

impl<'a, A, D: Dimension> Pass<'a, ArrayView<'a, A, D>> for Array<A, D> {
    fn autodiff_pass(&'a self) -> ArrayView<'a, A, D> {
        self.view()
    }
}

impl<'a, A: Clone, D: Dimension> Pass<'a, Array<A, D>> for Array<A, D> {
    fn autodiff_pass(&'a self) -> Array<A, D> {
        self.clone()
    }
}

impl<'a, 'b: 'a, A, D: Dimension> Pass<'a, ArrayView<'a, A, D>> for ArrayView<'b, A, D> {
    fn autodiff_pass(&'a self) -> ArrayView<'a, A, D> {
        self.view()
    }
}

impl<'a, A: Clone, D: Dimension> Pass<'a, Array<A, D>> for ArrayView<'_, A, D> {
    fn autodiff_pass(&'a self) -> Array<A, D> {
        self.to_owned()
    }
}

/// A parameter the called function does not differentiate: its place in the companion's
/// contributions and tangents.
#[derive(Clone, Copy, Debug)]
pub struct Constant;

/// A contribution to an argument's adjoint: a float or an array of floats.
#[diagnostic::on_unimplemented(
    message = "the function called here does not differentiate this argument, which depends on the differentiated parameters",
    label = "a differentiated value, passed where the called function takes a constant",
    note = "differentiate that parameter in the called function (add it to its `wrt(...)`), or pass a value that does not depend on the parameters"
)]
pub trait Contribution {
    /// The contribution itself (through a projection, so that a `Constant` in its place is
    /// one error, not a chain of mismatched types).
    type Value;
    fn into_value(self) -> Self::Value;
}

impl Contribution for f32 {
    type Value = f32;
    fn into_value(self) -> f32 {
        self
    }
}

impl Contribution for f64 {
    type Value = f64;
    fn into_value(self) -> f64 {
        self
    }
}

impl<A: Float, D: Dimension> Contribution for Array<A, D> {
    type Value = Self;
    fn into_value(self) -> Self {
        self
    }
}

/// On dual numbers, in a caller's Hessian (a called function's `dual_vjp` companion; an
/// array of them is an array of floats).
impl<F: crate::dual::Real> Contribution for crate::dual::Dual<F> {
    type Value = Self;
    fn into_value(self) -> Self {
        self
    }
}

/// The called function's contribution to one of its arguments.
#[inline(always)]
pub fn differentiated<C: Contribution>(contribution: C) -> C::Value {
    contribution.into_value()
}

/// What the companion of a called function takes as the tangent of a parameter it does not
/// differentiate: only `None`.
#[diagnostic::on_unimplemented(
    message = "the function called here does not differentiate this argument, which depends on the differentiated parameters",
    label = "a differentiated value, passed where the called function takes a constant",
    note = "differentiate that parameter in the called function (add it to its `wrt(...)`), or pass a value that does not depend on the parameters"
)]
pub trait NoTangent {}

impl NoTangent for Option<Constant> {}

/// The marker a function calling another's generated derivative (`g_grad(x)`, `g_jvp(x, t)`)
/// passes to the hidden functions that differentiate it (see the macro's `nested.rs`). They
/// exist only where `g` has `#[differentiable(hessian)]`; elsewhere they are stubs that ask
/// for [`SecondOrder`], which nothing implements, so the call is this error.
#[derive(Clone, Copy, Debug)]
pub struct Nested;

/// What the stub of a gradient without second derivatives asks of [`Nested`]: never true.
#[diagnostic::on_unimplemented(
    message = "the function whose generated derivative is called here has no second derivatives: add `hessian` to its attribute, `#[differentiable(hessian)]`",
    label = "a derivative of a function without `#[differentiable(hessian)]`",
    note = "differentiating a function that calls `g_grad` or `g_jvp` needs the derivatives of g's derivatives (its Hessian-vector products), which `#[differentiable(hessian)]` on `g` generates"
)]
pub trait SecondOrder {}

/// What the stub of a function without second derivatives asks of [`Nested`] when the
/// Hessian of a caller goes through a call of it: never true.
#[diagnostic::on_unimplemented(
    message = "`hessian` differentiates through this call twice, and the called function has no second derivatives: add `hessian` to its attribute, `#[differentiable(hessian)]`",
    label = "a call of a function without `#[differentiable(hessian)]`",
    note = "the caller's Hessian needs the called function's Hessian-vector products, which `#[differentiable(hessian)]` on it generates (a function with custom rules, or with a struct of parameters, has none to offer here)"
)]
pub trait CalledTwice {}

/// What the stub of a function with an array or tuple result asks of [`Nested`] when the
/// Hessian of a caller goes through a call of it: never true.
#[diagnostic::on_unimplemented(
    message = "`hessian` differentiates through a call twice only when the called function returns a scalar; this one returns an array or a tuple",
    label = "a call of a function with an array or tuple result",
    note = "the caller's Hessian needs the called function's Hessian-vector products, which only a function with a scalar result has (`#[differentiable(hessian)]`); write that part of the computation in the caller, or drop `hessian`"
)]
pub trait CalledTwiceForScalars {}

/// A called function's contribution to one argument on dual numbers, in the caller's
/// Hessian: its gradient entry `g` and that entry of its Hessian-vector product `h` along the
/// arguments' tangents, pulled back from the cotangent c = cᵣ + ε cₑ: cᵣ g + ε (cₑ g + cᵣ h),
/// the derivative of c ∇g along the tangents.
pub trait DualPullback: Sized {
    type Elem;
    type Lifted;
    fn autodiff_dual_pullback(self, h: Self, c: crate::dual::Dual<Self::Elem>) -> Self::Lifted;
}

impl<F: crate::dual::Real> DualPullback for F {
    type Elem = F;
    type Lifted = crate::dual::Dual<F>;
    #[inline(always)]
    fn autodiff_dual_pullback(self, h: F, c: crate::dual::Dual<F>) -> crate::dual::Dual<F> {
        crate::dual::Dual::new(c.re * self, c.eps * self + c.re * h)
    }
}

impl<F: crate::dual::Real, D: Dimension> DualPullback for Array<F, D> {
    type Elem = F;
    type Lifted = Array<crate::dual::Dual<F>, D>;
    #[track_caller]
    fn autodiff_dual_pullback(self, h: Self, c: crate::dual::Dual<F>) -> Self::Lifted {
        crate::value::same_shape("dual pullback", self.shape(), h.shape());
        ndarray::Zip::from(&self)
            .and(&h)
            .map_collect(|&g, &h| g.autodiff_dual_pullback(h, c))
    }
}

/// [`DualPullback::autodiff_dual_pullback`] as a function, for the generated code.
#[inline(always)]
pub fn dual_pullback<G: DualPullback>(g: G, h: G, c: crate::dual::Dual<G::Elem>) -> G::Lifted {
    g.autodiff_dual_pullback(h, c)
}

/// Σ aᵢ bᵢ of two floats or two arrays of one shape: [`inner`] without the walk over
/// leaves, for the parameters that are not structs.
pub trait Dot {
    type Elem;
    fn autodiff_dot(&self, other: &Self) -> Self::Elem;
}

macro_rules! dot_scalars {
    ($($t:ty),*) => {$(
        impl Dot for $t {
            type Elem = $t;
            #[inline(always)]
            fn autodiff_dot(&self, other: &$t) -> $t {
                self * other
            }
        }
    )*};
}

dot_scalars!(f32, f64);

impl<A: Float, D: Dimension> Dot for Array<A, D> {
    type Elem = A;
    #[track_caller]
    fn autodiff_dot(&self, other: &Self) -> A {
        crate::value::same_shape("dot", self.shape(), other.shape());
        self.iter()
            .zip(other.iter())
            .fold(A::zero(), |sum, (&a, &b)| sum + a * b)
    }
}

/// [`Dot::autodiff_dot`] as a function, for the generated code.
#[inline(always)]
pub fn dot<T: Dot>(a: &T, b: &T) -> T::Elem {
    a.autodiff_dot(b)
}

/// `p` times the scalar `g`, every leaf (floats, arrays, structs of parameters, their
/// hyperparameters kept): a contribution of a called `g_jvp`'s hidden functions, scaled by
/// the cotangent.
pub fn scale<P: crate::Parameters>(mut p: P, g: P::Elem) -> P {
    let zeros = p.zeros_like();
    p.for_each_leaf_mut_with(&zeros, &mut |leaf, _| {
        for x in leaf {
            *x = *x * g;
        }
    });
    p
}

/// Σ aᵢ bᵢ over every leaf of two values of one gradient type (floats, arrays, structs of
/// parameters): how the hidden functions that differentiate a called `g_jvp` contract a
/// gradient (or H·v) with a tangent.
pub fn inner<P: crate::Parameters>(a: &P, b: &P) -> P::Elem {
    // Leaf beside leaf through a copy of `b` (no allocation for a float).
    let mut copy = b.zeros_like();
    copy.for_each_leaf_mut_with(b, &mut |c, b| c.copy_from_slice(b));
    let mut sum = <P::Elem as num_traits::Zero>::zero();
    copy.for_each_leaf_mut_with(a, &mut |b, a| {
        for (&x, &y) in a.iter().zip(b.iter()) {
            sum = sum + x * y;
        }
    });
    sum
}

/// A field of a struct of parameters cast to a float type (`p.n_heads as f64`): a constant,
/// which is right only for a hyperparameter of an integer type (`#[parameters(skip)]`); the
/// cast of a differentiated float field would drop its derivative, so it does not compile.
#[diagnostic::on_unimplemented(
    message = "this field is cast to a float type as a constant, but it is `{Self}`, which may be a differentiated parameter",
    label = "a float field cast with `as`",
    note = "drop the cast (`p.x`, not `p.x as f64`): a field read as it is is differentiated; `as` makes constants of integer fields only"
)]
pub trait Hyperparameter: Copy {}

macro_rules! hyperparameters {
    ($($t:ty),*) => { $(impl Hyperparameter for $t {})* };
}
hyperparameters!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, bool);

/// The integer field `value` itself ([`Hyperparameter`]).
#[inline(always)]
pub fn hyperparameter<T: Hyperparameter>(value: T) -> T {
    value
}

/// One, in the float type `F`: the seed of `f_grad` for a function with custom rules.
#[inline(always)]
pub fn one<F: Float>() -> F {
    F::one()
}

/// `value`, of the type of `previous`: a literal assigned to a variable (`a = 0.75;`) keeps
/// the type the variable had, as it does in the original function.
pub fn like<T>(previous: &T, value: T) -> T {
    let _ = previous;
    value
}
