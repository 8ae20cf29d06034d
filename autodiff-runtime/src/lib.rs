//! Runtime support for the [`autodiff`](https://docs.rs/autodiff) crate.
//!
//! The `#[differentiable]` macro lowers a function body to a list of primitive operations and
//! emits straight-line code that calls into this crate: each primitive in [`prim`] keeps its
//! forward function and its derivative rules side by side, written once for scalars and
//! `ndarray` arrays, so that after inlining the generated gradient is the arithmetic a careful
//! person would write by hand.
//!
//! Users meet the activations ([`sigmoid`], [`relu`], [`softplus`]) and the losses ([`mse`],
//! [`bce`], [`bce_with_logits`], [`cross_entropy`], [`softmax`], [`log_softmax`],
//! [`logsumexp`]), the special functions ([`erf`], [`erfc`], [`ln_gamma`], [`digamma`], in
//! [`special`] for scalars of any float type), the array functions ndarray lacks ([`amax`],
//! [`amin`], [`amax_axis`], [`amin_axis`], [`argmax`], [`argmin`], [`norm`], [`outer`],
//! [`trace`]), small dense matrices' [`det`], [`inv`] and [`solve`] through
//! `autodiff::prelude`, and [`check`] for comparing a gradient with finite
//! differences.

// Every `unsafe` block says why it is sound (see `fast::dispatch`, `fast::apply`,
// `linalg::mat_mat`), and clippy holds new ones to it.
#![deny(clippy::undocumented_unsafe_blocks)]

mod activations;
pub mod check;
pub mod closure;
pub mod compose;
pub mod dual;
pub mod fast;
pub mod flat;
mod functions;
pub mod linalg;
mod losses;
mod matrix;
mod moments;
pub mod optim;
mod parallel;
mod parameters;
pub mod prim;
mod reshape;
pub mod special;
mod tangent;
pub mod tape;
pub mod trace;
pub mod train;
pub mod value;
mod views;

pub use activations::{relu, sigmoid, softplus, Elementwise};
pub use dual::Dual;
pub use functions::{
    amax, amax_axis, amin, amin_axis, argmax, argmin, digamma, erf, erfc, ln_gamma, norm, outer,
    trace,
};
pub use losses::{
    bce, bce_with_logits, cross_entropy, log_softmax, logsumexp, mse, softmax, Labels,
};
pub use matrix::{det, inv, solve};
#[doc(hidden)] // for the generated code, through `autodiff::__private`
pub use parallel::{elements, on_pool};
pub use parameters::{leaves, LeafPair, Parameters};
pub use tangent::{scaled, Scaled, Tangent};
pub use value::{Arg, ArrayLike};

/// The floating-point scalar types a differentiable function may take: `f32` and `f64`.
pub use num_traits::Float;

pub use ndarray;
