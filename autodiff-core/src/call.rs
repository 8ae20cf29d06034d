//! Composition: a `#[differentiable]` function calling another one, `g(a, &b)`, differentiates
//! through `g`'s own generated functions rather than its body, which the macro never sees.
//! Every differentiable function (and every function with custom rules) therefore also gets
//! two hidden companions with a uniform interface, one entry per parameter, so that a caller
//! needs no knowledge of which of `g`'s parameters `g` differentiates:
//!
//! - `__differentiable_vjp_g(args…, cotangent) -> (value, (c₀, c₁, …))`, where cₖ is the
//!   contribution to argument k, or `Constant` for a parameter `g` does not differentiate;
//! - `__differentiable_jvp_g(args…, t₀, t₁, …) -> (value, tangent)`, where tₖ is an
//!   `Option` of argument k's tangent (`None`: a constant argument; always `None` for a
//!   parameter `g` does not differentiate).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::Ident;

use crate::emit::tangent_param;
use crate::emit::{
    cotangent_param, generated_allows, hygienic, operand_tokens, param_zeros, tuple_if_many,
};
use crate::ir::{Op, Operand, Program};
use crate::signature::{gradient_type, Signature};

/// The companion of the function at `path` for `mode` (`vjp` or `jvp`): `m::g` →
/// `m::__differentiable_vjp_g`, spanned at the user's call, where "cannot find" points when
/// `g` is not differentiable.
pub fn companion(path: &syn::Path, mode: &str) -> syn::Path {
    let mut path = path.clone();
    if let Some(last) = path.segments.last_mut() {
        last.ident = format_ident!(
            "__differentiable_{}_{}",
            mode,
            last.ident,
            span = last.ident.span()
        );
    }
    path
}

/// Whether a call by `path` calls the function `name` itself: the bare name, as its own
/// body calls it.
pub fn calls_itself(path: &syn::Path, name: &Ident) -> bool {
    path.leading_colon.is_none()
        && path.segments.len() == 1
        && path.segments[0].ident == *name
        && path.segments[0].arguments.is_empty()
}

/// Node i's arguments as the called function takes them: values of the trace through
/// `Pass`, which lends, copies or views them as the parameter's type asks; literals and
/// `Copy` constants as written (so that `&[1, 2]` coerces to `&[usize]` as in the
/// original); other constants copied, as the derivative sweeps make the call again.
pub fn call_args(program: &Program, node: usize) -> Vec<TokenStream> {
    let args = program.nodes[node].args.iter();
    args.map(|arg| call_arg(program, arg)).collect()
}

/// One argument as [`call_args`] passes it.
pub fn call_arg(program: &Program, arg: &Operand) -> TokenStream {
    let value = operand_tokens(program, arg);
    match arg {
        Operand::Var(_) => quote!((#value).autodiff_pass()),
        Operand::Const { literal: true, .. } => value,
        Operand::Const { tokens, .. } if program.copy_constants.contains(&tokens.to_string()) => {
            value
        }
        // Copied, as the call is made again by the derivative sweeps.
        _ => quote!(::core::clone::Clone::clone(&#value)),
    }
}

/// The path node i, a call, calls.
pub fn called_path(program: &Program, node: usize) -> &syn::Path {
    match &program.nodes[node].op {
        Op::Call { path, .. } => path,
        _ => unreachable!("a call node"),
    }
}

/// The call making node i's value: `g(args…)`; in the Hessian's sweep on dual numbers,
/// through g's jvp companion ([`crate::hessian_call`]).
pub fn value_call(program: &Program, node: usize) -> TokenStream {
    if crate::hessian_call::on_duals(program, node) {
        return crate::hessian_call::value_call(program, node);
    }
    let path = called_path(program, node);
    let args = call_args(program, node);
    quote_spanned!(program.nodes[node].span=> #path(#(#args),*))
}

/// The call of node i's vjp companion with `cotangent`: an expression of `(value, (c₀, c₁,
/// …))`; in the Hessian's sweep, of its companion on dual numbers.
pub fn vjp_call(program: &Program, node: usize, cotangent: TokenStream) -> TokenStream {
    if crate::hessian_call::on_duals(program, node) {
        return crate::hessian_call::vjp_call(program, node, cotangent);
    }
    let companion = companion(called_path(program, node), "vjp");
    let args = call_args(program, node);
    quote_spanned!(program.nodes[node].span=> #companion(#(#args,)* #cotangent))
}

/// A jvp companion's tangent of argument k, `__tK`: an `Option` of the tangent.
pub fn companion_tangent(k: usize) -> Ident {
    format_ident!("__t{}", k, span = Span::mixed_site())
}

/// A jvp companion's tangent parameters, one per argument: an `Option` of the tangent for a
/// differentiated parameter, a `NoTangent` for the others.
pub fn tangent_params(sig: &Signature) -> Vec<TokenStream> {
    let params = sig.params.iter().enumerate().map(|(k, p)| {
        let tangent = companion_tangent(k);
        match p.differentiated {
            true => {
                let ty = gradient_type(&p.ty);
                quote!(#tangent: ::core::option::Option<#ty>)
            }
            false => quote!(#tangent: impl ::autodiff::__private::NoTangent),
        }
    });
    params.collect()
}

/// `let x_tangent = …;` for each differentiated parameter, from its companion tangent: the
/// tangent given, or zero (a missing tangent is zero).
pub fn tangent_defaults(sig: &Signature) -> Vec<TokenStream> {
    let given = hygienic("__given");
    let defaults = sig
        .params
        .iter()
        .enumerate()
        .filter(|(_, p)| p.differentiated);
    defaults
        .map(|(k, param)| {
            let (tangent, zeros) = (companion_tangent(k), param_zeros(param));
            let name = tangent_param(&param.ident);
            quote!(let #name = match #tangent {
                ::core::option::Option::Some(#given) => #given,
                ::core::option::Option::None => #zeros,
            };)
        })
        .collect()
}

/// The two companions of the function `sig` describes, around calls of its `f_vjp` and
/// `f_jvp` ([`Signature::sibling_call`]); stubs when the function has errors (`!valid`).
pub fn emit_companions(sig: &Signature, valid: bool) -> TokenStream {
    let (name, ret) = (&sig.name, &sig.ret);
    let params: Vec<TokenStream> = sig.param_list().collect();
    let (vjp_companion, jvp_companion) = (
        format_ident!("__differentiable_vjp_{}", name),
        format_ident!("__differentiable_jvp_{}", name),
    );
    let constant = quote!(::autodiff::__private::Constant);

    // vjp: the gradient's entries spread over every parameter's position.
    let entry = |k: usize| format_ident!("__g{}", k, span = Span::mixed_site());
    let differentiated = sig.differentiated_positions();
    let pattern = tuple_if_many(
        differentiated
            .iter()
            .map(|&k| {
                let entry = entry(k);
                quote!(#entry)
            })
            .collect(),
    );
    let (entries, entry_types): (Vec<TokenStream>, Vec<TokenStream>) = sig
        .params
        .iter()
        .enumerate()
        .map(|(k, p)| match p.differentiated {
            true => {
                let entry = entry(k);
                (quote!(#entry), gradient_type(&p.ty))
            }
            false => (constant.clone(), constant.clone()),
        })
        .unzip();
    let (value, gradient, cotangent) = (
        hygienic("__value"),
        hygienic("__gradient"),
        cotangent_param(),
    );

    let tangent_params = tangent_params(sig);
    let defaults = tangent_defaults(sig);

    let vjp_call = sig.sibling_call("vjp", [cotangent.to_token_stream()]);
    let jvp_call = sig.sibling_call(
        "jvp",
        differentiated
            .iter()
            .map(|&k| tangent_param(&sig.params[k].ident).into_token_stream()),
    );
    let (vjp_body, jvp_body) = match valid {
        true => (
            quote!({
                let (#value, #gradient) = #vjp_call;
                let #pattern = #gradient;
                (#value, (#(#entries,)*))
            }),
            quote!({
                #[allow(unused_imports)]
                use ::autodiff::__private::Arg as _;
                #(#defaults)*
                #jvp_call
            }),
        ),
        false => {
            let stub = quote!({ ::core::unimplemented!("#[differentiable] reported errors") });
            (stub.clone(), stub)
        }
    };
    let (vjp_head, where_clause) = sig.declare(&vjp_companion);
    let (jvp_head, _) = sig.declare(&jvp_companion);
    let allows = generated_allows();
    let attrs = quote! {
        #[doc(hidden)]
        #allows
    };
    quote_spanned! {Span::call_site()=>
        #attrs
        #vjp_head(#(#params,)* #cotangent: #ret) -> (#ret, (#(#entry_types,)*)) #where_clause #vjp_body
        #attrs
        #jvp_head(#(#params,)* #(#tangent_params),*) -> (#ret, #ret) #where_clause #jvp_body
    }
}
