//! The `#[differentiable]` attribute and `#[derive(Parameters)]`: a thin shell that hands the
//! tokens to `autodiff-core`, where parsing, lowering and emitting live as an ordinary library.

/// Implements `autodiff::Parameters` for a struct whose fields are all parameters: floats,
/// `ndarray` arrays of them, `Vec`s of parameters or other such structs.
#[proc_macro_derive(Parameters, attributes(parameters))]
pub fn derive_parameters(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    autodiff_core::derive_parameters(input.into()).into()
}

/// Generates, beside the function `f`, `f_grad(args…) -> (value, gradient)` (for a scalar
/// result) and `f_vjp(args…, cotangent) -> (value, gradient)` (reverse mode),
/// `f_jvp(args…, tangents…) -> (value, tangent)` (forward mode), `f_jacobian(args…) ->
/// (value, jacobian)` (for an array or tuple result), with `hessian`, `f_hessian(args…)
/// -> (value, gradient, hessian)` and, for a scalar result of straight-line code,
/// `f_trace(args…) -> Trace` (the evaluation trace of one call). With `vjp = rule, jvp = rule` the body is not read: the
/// rules are the derivatives.
///
/// For associated functions, mark the inherent `impl` block `#[differentiable]` too: the
/// generated functions are then associated functions that call each other as `Self::f_vjp`.
///
/// See the `autodiff` crate for the contract and the supported syntax.
#[proc_macro_attribute]
pub fn differentiable(
    attr: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    autodiff_core::differentiable(attr.into(), item.into()).into()
}
