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
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use crate::ir::{Operand, Program};
use crate::reverse::{hygienic, operand_tokens, param_zeros, tuple_if_many};
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

/// Node i's arguments as the called function takes them: values of the trace through
/// `Pass`, which lends, copies or views them as the parameter's type asks; literals as
/// written; other constants copied (a reference copies as itself).
pub fn call_args(program: &Program, node: usize) -> Vec<TokenStream> {
    program.nodes[node]
        .args
        .iter()
        .map(|arg| {
            let value = operand_tokens(program, arg);
            match arg {
                Operand::Var(_) => quote!((#value).autodiff_pass()),
                Operand::Const { literal: true, .. } => value,
                // Copied, as the call is made again by the derivative sweeps.
                _ => quote!(::core::clone::Clone::clone(&#value)),
            }
        })
        .collect()
}

/// The two companions of the function `sig` describes, built on its `f_vjp` and `f_jvp`
/// (generated, or the user's custom rules).
pub fn emit_companions(sig: &Signature) -> TokenStream {
    let (vis, name, ret) = (&sig.vis, &sig.name, &sig.ret);
    let inherited = &sig.inherited;
    let params: Vec<TokenStream> = sig.param_list().collect();
    let idents: Vec<&Ident> = sig.params.iter().map(|p| &p.ident).collect();
    let (vjp, jvp) = (format_ident!("{}_vjp", name), format_ident!("{}_jvp", name));
    let (vjp_companion, jvp_companion) = (
        format_ident!("__differentiable_vjp_{}", name),
        format_ident!("__differentiable_jvp_{}", name),
    );
    let constant = quote!(::autodiff::__private::Constant);

    // vjp: the gradient's entries spread over every parameter's position.
    let entry = |k: usize| format_ident!("__g{}", k, span = Span::mixed_site());
    let differentiated: Vec<usize> = (0..sig.params.len())
        .filter(|&k| sig.params[k].differentiated)
        .collect();
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
        hygienic("cotangent"),
    );

    // jvp: a missing tangent is zero.
    let tangent = |k: usize| format_ident!("__t{}", k, span = Span::mixed_site());
    let tangent_params = sig.params.iter().enumerate().map(|(k, p)| {
        let tangent = tangent(k);
        match p.differentiated {
            true => {
                let ty = gradient_type(&p.ty);
                quote!(#tangent: ::core::option::Option<#ty>)
            }
            false => quote!(#tangent: impl ::autodiff::__private::NoTangent),
        }
    });
    let defaults = differentiated.iter().map(|&k| {
        let (tangent, zeros) = (tangent(k), param_zeros(&sig.params[k]));
        quote!(let #tangent = match #tangent {
            ::core::option::Option::Some(tangent) => tangent,
            ::core::option::Option::None => #zeros,
        };)
    });
    let tangents = differentiated.iter().map(|&k| tangent(k));

    let attrs = quote! {
        #(#inherited)*
        #[doc(hidden)]
        #[allow(dead_code, unused_variables, clippy::too_many_arguments, clippy::type_complexity)]
    };
    quote_spanned! {Span::call_site()=>
        #attrs
        #vis fn #vjp_companion(#(#params,)* #cotangent: #ret) -> (#ret, (#(#entry_types,)*)) {
            let (#value, #gradient) = #vjp(#(#idents,)* #cotangent);
            let #pattern = #gradient;
            (#value, (#(#entries,)*))
        }
        #attrs
        #vis fn #jvp_companion(#(#params,)* #(#tangent_params),*) -> (#ret, #ret) {
            #[allow(unused_imports)]
            use ::autodiff::__private::Arg as _;
            #(#defaults)*
            #jvp(#(#idents,)* #(#tangents),*)
        }
    }
}
