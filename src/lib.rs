//! # autodiff — compile-time automatic differentiation
//!
//! `#[differentiable]` reads an ordinary Rust function, lowers its body to an SSA evaluation
//! trace (the Wengert list v₍₁₋ₙ₎ … v₀, v₁ … vₗ) and emits, beside the untouched original,
//! `f_grad`: a plain function that returns the value and the gradient, with no tape of
//! operations and no dynamic dispatch (straight-line code stays straight-line; a loop
//! records one entry per iteration and runs its adjoint backwards). Beside it: `f_vjp` (reverse mode seeded with a
//! cotangent), `f_jvp` (forward mode), `f_jacobian` for array and tuple results, and with
//! `#[differentiable(hessian)]` `f_hessian`, the Hessian-vector product `f_hvp` and
//! `f_hessian_diagonal` (forward-over-reverse); for a scalar result,
//! `f_trace`, the evaluation trace of one call as a [`Trace`] (through branches and loops:
//! the arm taken, each iteration).
//!
//! ```
//! use autodiff::prelude::*;
//!
//! #[differentiable]
//! fn f(x1: f64, x2: f64) -> f64 {
//!     x1.ln() + x1 * x2 - x2.sin()
//! }
//!
//! let y = f(2.0, 5.0); // the original, unchanged
//! let (value, (d1, d2)) = f_grad(2.0, 5.0);
//! assert_eq!(value, y);
//! assert!((d1 - 5.5).abs() < 1e-12);
//! assert!((d2 - (2.0 - 5.0_f64.cos())).abs() < 1e-12);
//! ```
//!
//! `#[differentiable(wrt(a, b))]` differentiates only the named parameters; the others are
//! constants. Parameters may be floats, `ndarray` arrays of floats, or structs of them with
//! `#[derive(Parameters)]`, whose gradient is a struct of the same type; integers, slices and
//! the like are always constants.
//!
//! ```
//! use autodiff::ndarray::{array, Array1};
//! use autodiff::prelude::*;
//!
//! #[derive(Parameters, Clone)]
//! struct Line {
//!     w: Array1<f64>,
//!     b: f64,
//! }
//!
//! #[differentiable(wrt(p))]
//! fn cost(p: &Line, x: &autodiff::ndarray::Array2<f64>, y: &Array1<f64>) -> f64 {
//!     mse(&(x.dot(&p.w) + p.b), y)
//! }
//!
//! let (x, y) = (array![[1.0], [2.0], [3.0]], array![3.0, 5.0, 7.0]); // y = 2x + 1
//! let mut line = Line { w: array![0.0], b: 0.0 };
//! let mut sgd = Sgd::new(0.1).momentum(0.5);
//! for _ in 0..500 {
//!     let (_, grad) = cost_grad(&line, &x, &y);
//!     sgd.step(&mut line, &grad);
//! }
//! assert!((line.w[0] - 2.0).abs() < 1e-6 && (line.b - 1.0).abs() < 1e-6);
//! ```
//!
//! [`optim`] has the optimizers and [`train`] the lectures' training schedules.
//!
//! A [`Trace`] (what `f_trace` returns, or built by hand) is the evaluation trace of one call as
//! plain data: each node vᵢ numbered as
//! the lectures number them, its operation, value and adjoint ∂y/∂vᵢ, printed as the
//! lectures' two tables (`{}`), in Markdown, or drawn as the computational graph
//! ([`Trace::to_dot`], [`Trace::to_svg`]):
//!
//! ```
//! use autodiff::Trace;
//!
//! let mut t = Trace::new("g");
//! t.push_input("x", 3.0); // v₀
//! let v1 = t.push_node("v₀²", [(0, 6.0, "2v₀")], 9.0);
//! t.set_output(v1);
//! t.set_adjoint(v1, 1.0);
//! t.set_adjoint(0, 6.0);
//! assert_eq!(
//!     t.to_string(),
//!     "Evaluation trace of g\n    \
//!          v₀ = x        = 3\n    \
//!          v₁ = v₀² = 3² = 9\n    \
//!          y  = v₁       = 9\n\n\
//!      Adjoint trace, v̄ᵢ = ∂y/∂vᵢ, in reverse order\n    \
//!          v̄₁ = 1                = 1\n    \
//!          v̄₀ = v̄₁ · 2v₀ = 1 · 6 = 6\n"
//! );
//! ```
//!
//! Differentiable functions call each other by path, differentiated through each other's
//! generated functions; `#[differentiable(vjp = rule, jvp = rule)]` makes a function a
//! primitive with your own derivative rules. See the README for both, for the supported
//! syntax, and [`check`] for finite-difference checks.

pub use autodiff_macros::{differentiable, Parameters};
pub use autodiff_runtime::{
    bce, bce_with_logits, check, cross_entropy, log_softmax, logsumexp, mse, relu, sigmoid,
    softmax, softplus, ArrayLike, Elementwise, Float, Labels,
};
pub use autodiff_runtime::{optim, train, LeafPair, Parameters};

/// A value of the same shape as `p` (a float, an array, a struct of parameters or a tuple of
/// them) with every leaf one, hyperparameters kept: the direction along which `f_hvp` gives a
/// Hessian's diagonal in one sweep, where the Hessian is known to be diagonal.
pub use autodiff_runtime::leaves::one_like as ones_like;

/// The evaluation trace of a call, its tables and its computational graph: see [`Trace`].
pub use autodiff_runtime::trace;
pub use autodiff_runtime::trace::{Trace, TraceArg, TraceBinding, TraceNode, TraceValue};

/// The `ndarray` version the runtime is built on, for naming array types that match it.
pub use autodiff_runtime::ndarray;

/// Everything a user of `#[differentiable]` needs in scope.
pub mod prelude {
    pub use autodiff_macros::{differentiable, Parameters};
    pub use autodiff_runtime::optim::{Adam, Optimizer, Sgd};
    pub use autodiff_runtime::trace::Trace;
    pub use autodiff_runtime::Parameters;
    pub use autodiff_runtime::{
        amax, amax_axis, amin, amin_axis, argmax, argmin, bce, bce_with_logits, cross_entropy, det,
        digamma, erf, erfc, inv, ln_gamma, log_softmax, logsumexp, mse, norm, outer, relu, sigmoid,
        softmax, softplus, solve, trace,
    };
}

/// The README's examples compile and pass, so the front door stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;

/// Paths the generated code names; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use autodiff_runtime::closure;
    pub use autodiff_runtime::compose::{
        differentiated, dot, dual_pullback, hyperparameter, inner, like, one, scale, CalledTwice,
        CalledTwiceForScalars, Constant, Contribution, DualPullback, Nested, NoTangent, Pass,
        SecondOrder,
    };
    pub use autodiff_runtime::dual::{Dual, Lift, Seed, Unlift};
    pub use autodiff_runtime::flat::{matrix, Flat};
    pub use autodiff_runtime::leaves;
    pub use autodiff_runtime::tape::record;
    pub use autodiff_runtime::trace::{
        scalar_partial, traced_constant, Trace, TraceArg, TraceKey, TraceRecorder, TraceSource,
        Traced,
    };
    pub use autodiff_runtime::value::{Arg, Map, Shape, Shaped};
    pub use autodiff_runtime::{elements, on_pool, prim, scaled, Tangent};
}
