//! Custom rules: `#[differentiable(vjp = my_vjp, jvp = my_jvp)]` makes a function a
//! primitive. Its body is not read (it may be anything: a loop, a call into C, a stable
//! formula); its derivatives are the user's rules, which have the contract's signatures:
//!
//! - `vjp`: `fn(args…, cotangent: R) -> (R, gradient)`, as `f_vjp`;
//! - `jvp`: `fn(args…, tangents…) -> (R, R)`, as `f_jvp`.
//!
//! The generated `f_vjp`, `f_jvp` (and `f_grad` for a scalar result) call them, and the
//! companions make the function callable from other differentiable functions in every mode.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::attr::Args;
use crate::diag::Diagnostics;
use crate::emit::tangent_param;
use crate::emit::{cotangent_param, generated_allows, tuple_if_many};
use crate::forward::jvp_signature;
use crate::reverse::{reverse_signature, Seed};
use crate::signature::{gradient_type, Output, Signature};
use crate::text::pretty;

/// Reports a missing rule, naming the function to write and its signature.
pub fn check(sig: &Signature, args: &Args, diag: &mut Diagnostics) {
    let name = &sig.name;
    let params: Vec<String> = sig.param_list().map(|p| pretty(&p)).collect();
    let ret = pretty(&sig.ret);
    let given = args
        .vjp
        .as_ref()
        .or(args.jvp.as_ref())
        .expect("custom rules");
    for (rule, mode) in [(&args.vjp, "vjp"), (&args.jvp, "jvp")] {
        let Some(rule) = rule else { continue };
        if rule.is_ident(name) {
            diag.error(
                rule,
                format!("the {mode} rule of `{name}` cannot be `{name}` itself: write a function with the signature of `{name}_{mode}` and name it here"),
            );
        } else if rule
            .segments
            .last()
            .is_some_and(|last| last.ident == format!("{name}_{mode}"))
        {
            diag.error(
                rule,
                format!("the rule cannot be named `{name}_{mode}`: that is the function #[differentiable] generates from it; rename the rule, say to `{name}_{mode}_rule`"),
            );
        }
    }
    if args.vjp.is_none() {
        let gradient = tuple_if_many(sig.differentiated().map(|p| gradient_type(&p.ty)).collect());
        diag.error(
            given,
            format!(
                "custom rules for `{name}` need a reverse-mode rule too: write `fn {name}_vjp_rule({}, cotangent: {ret}) -> ({ret}, {})`, returning the value and the cotangent's product with the Jacobian, and name it in `vjp = {name}_vjp_rule`",
                params.join(", "),
                pretty(&gradient),
            ),
        );
    }
    if args.jvp.is_none() {
        let tangents = sig.differentiated().map(|p| {
            let ty = gradient_type(&p.ty);
            format!("{}: {}", tangent_param(&p.ident), pretty(&ty))
        });
        let all: Vec<String> = params.iter().cloned().chain(tangents).collect();
        diag.error(
            given,
            format!(
                "custom rules for `{name}` need a forward-mode rule too: write `fn {name}_jvp_rule({}) -> ({ret}, {ret})`, returning the value and the directional derivative along the tangents, and name it in `jvp = {name}_jvp_rule`",
                all.join(", "),
            ),
        );
    }
}

/// `f_grad` (for a scalar result), `f_vjp` and `f_jvp`, each calling the user's rule.
pub fn emit(sig: &Signature, args: &Args) -> TokenStream {
    let (Some(vjp), Some(jvp)) = (&args.vjp, &args.jvp) else {
        unreachable!("checked before");
    };
    let idents: Vec<_> = sig.params.iter().map(|p| &p.ident).collect();
    let name = &sig.name;
    let doc = |what: &str, rule: &syn::Path| {
        format!(
            "{what} of [`{name}`], by the custom rule `{}` (`#[differentiable]` with custom rules).",
            pretty(rule)
        )
    };
    let allows = generated_allows();
    let function = |doc: String, signature: TokenStream, body: TokenStream| {
        quote! {
            #[doc = #doc]
            #[must_use]
            #allows
            #signature #body
        }
    };
    let tangents: Vec<_> = sig
        .differentiated()
        .map(|p| tangent_param(&p.ident))
        .collect();
    let cotangent = cotangent_param();
    // Spanned at the rule: where a rule with the wrong signature is reported.
    let vjp_block = quote_spanned!(vjp.span()=> { #vjp(#(#idents,)* #cotangent) });
    let jvp_block = quote_spanned!(jvp.span()=> { #jvp(#(#idents,)* #(#tangents),*) });
    let grad = (sig.output == Output::Scalar).then(|| {
        let ret = &sig.ret;
        let one = quote!(::autodiff::__private::one::<#ret>());
        let call = quote_spanned!(vjp.span()=> { #vjp(#(#idents,)* #one) });
        function(
            doc("Value and gradient", vjp),
            reverse_signature(sig, Seed::One),
            call,
        )
    });
    let vjp_fn = function(
        doc("Value and vector-Jacobian product", vjp),
        reverse_signature(sig, Seed::Cotangent),
        vjp_block,
    );
    let jvp_fn = function(
        doc("Value and Jacobian-vector product", jvp),
        jvp_signature(sig),
        jvp_block,
    );
    quote!(#grad #vjp_fn #jvp_fn)
}
