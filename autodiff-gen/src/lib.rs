//! Random-program differential testing for autodiff.
//!
//! A compile-time differentiator is trusted only if it is right on functions nobody wrote a
//! test for. This crate generates random `#[differentiable]` functions — DAGs over every
//! primitive, on f64 and f32 scalars, arrays and structs of parameters, with shared
//! subexpressions, shadowing, `let mut` and compound assignment, constants, calls of other
//! generated functions and of functions with custom rules, tuple and array results — writes
//! them as Rust, compiles them through the macro, and checks at random points inside each
//! primitive's domain that reverse mode, forward mode, `f_vjp`, `f_grad`, the Jacobian, the
//! Hessian and central finite differences all agree ([`check`]). A failure is shrunk to a
//! minimal reproducer ([`shrink`]).
//!
//! ```sh
//! cargo test -p autodiff-gen --test random_programs -- --nocapture   # 2 000 programs, as CI
//! AUTODIFF_GEN_SEED=7 cargo test -p autodiff-gen --test random_programs -- --nocapture
//! AUTODIFF_GEN_PROGRAMS=50000 cargo test -p autodiff-gen --test random_programs -- --nocapture
//! ```
//!
//! Compiling the programs costs more than checking them, so the long run stays in the debug
//! profile; `--release` also works (the generated crates follow the test's profile).

pub mod ast;
pub mod check;
pub mod generate;
pub mod harness;
pub mod render;
pub mod rng;
pub mod shrink;
pub mod support;

/// Functions with custom rules that generated programs call, by path.
pub use support::custom;
