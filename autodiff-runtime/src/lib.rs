//! Runtime support for the [`autodiff`](https://docs.rs/autodiff) crate.
//!
//! The `#[differentiable]` macro lowers a function body to a list of primitive operations and
//! emits straight-line code that calls into this crate: each primitive in [`prim`] keeps its
//! forward function and its derivative rules side by side, generic over the value kind, so
//! that after inlining the generated gradient is the arithmetic a careful person would write
//! by hand.
//!
//! Users mostly meet the activations ([`sigmoid`], [`relu`], [`softplus`]) through
//! `autodiff::prelude`, and [`check`] for comparing a gradient with finite differences.

mod activations;
pub mod check;
pub mod prim;
mod tangent;

pub use activations::{relu, sigmoid, softplus};
pub use tangent::Tangent;

/// The floating-point scalar types a differentiable function may take: `f32` and `f64`.
pub use num_traits::Float;
