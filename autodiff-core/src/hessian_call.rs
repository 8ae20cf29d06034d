//! Calls in the Hessian's sweep: `f_grad`'s program on dual numbers x + εẋ ([`crate::hessian`])
//! calling `g(a, b)`, where the arguments are duals and g's own functions take real numbers.
//!
//! - The value: g's jvp companion along the arguments' tangents gives g(x) and ∇g·ẋ, one
//!   dual.
//! - The pullback of a dual cotangent c = cᵣ + ε cₑ is c ∇g(x + εẋ) = cᵣ ∇g + ε (cₑ ∇g + cᵣ H ẋ):
//!   one sweep of `g_hvp` along the arguments' tangents, behind a hidden companion of g's,
//!   `__differentiable_dual_vjp_g::<C, _>(args…, t₀, t₁, …, cotangent) -> (value, (c₀, c₁,
//!   …))`, the arguments and tangents as g's jvp companion takes them, each cₖ on duals or
//!   `Constant`.
//!
//! `#[differentiable(hessian)]` makes that companion (a struct of parameters in it is passed
//! as a constant: the caller's macro rejects one on duals); every other function gets a
//! stub that asks the caller's marker for `CalledTwice` (`CalledTwiceForScalars` for an
//! array or tuple result), which nothing implements: the call is that trait's error, "add
//! `hessian`", at the call.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use crate::call::{call_arg, called_path, companion, tangent_defaults, tangent_params};
use crate::emit::{cotangent_param, hygienic, operand_tokens, tangent_param};
use crate::ir::{Op, Operand, Program, Var};
use crate::signature::{gradient_type, Output, Signature};

/// Whether node i, a call, is made on dual numbers: in the Hessian's program, its value not
/// one of those computed on real numbers.
pub fn on_duals(program: &Program, node: usize) -> bool {
    program.dual && !program.reals.contains(&Var::Node(node))
}

/// Node i's arguments split for the companions that take each one's value and tangent: the
/// code binding the values of those on duals, the values as the called function takes them,
/// and the tangents as `Option`s (`None` for a constant).
fn split_args(program: &Program, node: usize) -> (TokenStream, Vec<TokenStream>, Vec<TokenStream>) {
    let Op::Call { arg_spans, .. } = &program.nodes[node].op else {
        unreachable!("a call node")
    };
    let (mut bindings, mut args, mut tangents) = (Vec::new(), Vec::new(), Vec::new());
    for (k, (arg, span)) in program.nodes[node].args.iter().zip(arg_spans).enumerate() {
        match arg {
            Operand::Var(_) => {
                let value = operand_tokens(program, arg);
                let re = format_ident!("__re{}_{}", node + 1, k, span = Span::mixed_site());
                bindings
                    .push(quote!(let #re = ::autodiff::__private::Unlift::autodiff_re(&#value);));
                args.push(quote!((#re).autodiff_pass()));
                // At the argument: where "does not differentiate" points.
                tangents.push(quote_spanned!(*span=> ::core::option::Option::Some(
                    ::autodiff::__private::Unlift::autodiff_eps(&#value)
                )));
            }
            _ => {
                args.push(call_arg(program, arg));
                tangents.push(quote!(::core::option::Option::None));
            }
        }
    }
    (quote!(#(#bindings)*), args, tangents)
}

/// Node i's value on duals: g's value and its tangent along the arguments' tangents.
pub fn value_call(program: &Program, node: usize) -> TokenStream {
    let (bindings, args, tangents) = split_args(program, node);
    let jvp = companion(called_path(program, node), "jvp");
    let (value, tangent) = (hygienic("__value"), hygienic("__tangent"));
    quote_spanned!(program.nodes[node].span=> {
        #bindings
        let (#value, #tangent) = #jvp(#(#args,)* #(#tangents),*);
        ::autodiff::__private::Seed::autodiff_seed(&#value, &#tangent)
    })
}

/// Node i's value and contributions on duals for the dual `cotangent`: g's `dual_vjp`
/// companion.
pub fn vjp_call(program: &Program, node: usize, cotangent: TokenStream) -> TokenStream {
    let (bindings, args, tangents) = split_args(program, node);
    let mut dual_vjp = companion(called_path(program, node), "dual_vjp");
    if let Some(last) = dual_vjp.segments.last_mut() {
        last.arguments = syn::PathArguments::AngleBracketed(
            syn::parse_quote_spanned!(last.ident.span()=> ::<::autodiff::__private::Nested, _>),
        );
    }
    quote_spanned!(program.nodes[node].span=> {
        #bindings
        #dual_vjp(#(#args,)* #(#tangents,)* #cotangent)
    })
}

/// The function's `dual_vjp` companion: around `f_hvp` with `hessian` (`Some(true)`: its
/// derivatives were emitted), a stub otherwise; nothing for a function differentiating no
/// parameter (its calls are on real numbers).
pub fn emit(sig: &Signature, hessian: Option<bool>) -> TokenStream {
    let differentiated = sig.differentiated_positions();
    if differentiated.is_empty() {
        return TokenStream::new();
    }
    let name = format_ident!("__differentiable_dual_vjp_{}", sig.name);
    let ret = &sig.ret;
    let constant = quote!(::autodiff::__private::Constant);
    // A struct of parameters is passed as a constant (the caller's macro reports one on
    // duals): its contribution is none.
    let contribution_types = sig
        .params
        .iter()
        .map(|p| match p.differentiated && !p.structured {
            true => {
                let ty = gradient_type(&p.ty);
                quote!(<#ty as ::autodiff::__private::DualPullback>::Lifted)
            }
            false => constant.clone(),
        });
    let contribution_types = quote!((#(#contribution_types,)*));
    let cotangent = cotangent_param();
    let params = sig.param_list();
    let tangent_params = tangent_params(sig);
    match hessian {
        Some(true) => {
            let (value, gradient, product) = (
                hygienic("__value"),
                hygienic("__gradient"),
                hygienic("__product"),
            );
            let tangents: Vec<_> = sig
                .differentiated()
                .map(|p| tangent_param(&p.ident))
                .collect();
            // g_hvp takes the tangents, which the value's slope reads after it.
            let hvp = sig.sibling_call(
                "hvp",
                tangents
                    .iter()
                    .map(|t| quote!(::core::clone::Clone::clone(&#t))),
            );
            let part = |whole: &syn::Ident, j: usize| match differentiated.len() {
                1 => quote!(#whole),
                _ => {
                    let index = syn::Index::from(j);
                    quote!(#whole.#index)
                }
            };
            let slope = sig
                .differentiated()
                .zip(&tangents)
                .enumerate()
                .map(|(j, (p, t))| {
                    let entry = part(&gradient, j);
                    match p.structured {
                        true => quote!(::autodiff::__private::inner(&#entry, &#t)),
                        false => quote!(::autodiff::__private::dot(&#entry, &#t)),
                    }
                });
            let mut j = 0;
            let contributions = sig.params.iter().map(|p| match p.differentiated {
                false => constant.clone(),
                true => {
                    let (entry, hv) = (part(&gradient, j), part(&product, j));
                    j += 1;
                    match p.structured {
                        true => constant.clone(),
                        false => {
                            quote!(::autodiff::__private::dual_pullback(#entry, #hv, #cotangent))
                        }
                    }
                }
            });
            let contributions: Vec<TokenStream> = contributions.collect();
            let defaults = tangent_defaults(sig);
            let slope_ident = hygienic("__slope");
            let dual = quote!(::autodiff::__private::Dual<#ret>);
            // (The cotangent's type a parameter, as the stub's: the caller names two.)
            let cotangent_type = format_ident!("__V", span = Span::mixed_site());
            let (head, where_clause) = crate::nested::hidden_head(
                sig,
                &name,
                None,
                &[quote!(#cotangent_type: ::core::convert::Into<#dual>)],
            );
            quote_spanned! {Span::call_site()=>
                #head(#(#params,)* #(#tangent_params,)* #cotangent: #cotangent_type)
                    -> (#dual, #contribution_types) #where_clause
                {
                    #[allow(unused_imports)]
                    use ::autodiff::__private::Arg as _;
                    let #cotangent: #dual = #cotangent.into();
                    #(#defaults)*
                    let (#value, #gradient, #product) = #hvp;
                    let #slope_ident: #ret = #(#slope)+*;
                    (
                        ::autodiff::__private::Dual::new(#value, #slope_ident),
                        (#(#contributions,)*),
                    )
                }
            }
        }
        // A stub, its value of whatever type the caller's sweep has there (so that a call
        // is one error): with `hessian` but errors reported, any call may reach it (the
        // errors say why); otherwise none may.
        _ => {
            let bound = match (hessian, sig.output) {
                (Some(_), _) => None,
                (None, Output::Scalar) => Some(quote!(::autodiff::__private::CalledTwice)),
                (None, _) => Some(quote!(::autodiff::__private::CalledTwiceForScalars)),
            };
            let value = format_ident!("__V", span = Span::mixed_site());
            let (head, where_clause) =
                crate::nested::hidden_head(sig, &name, bound, &[quote!(#value)]);
            quote_spanned! {Span::call_site()=>
                #head(#(#params,)* #(#tangent_params,)* #cotangent: #value)
                    -> (#value, #contribution_types) #where_clause
                {
                    ::core::unimplemented!("needs #[differentiable(hessian)]")
                }
            }
        }
    }
}
