//! Nested derivatives: a `#[differentiable]` function calling another's generated gradient,
//! `let (v, d) = g_grad(x);` or `g_grad(x).1`, and differentiated itself.
//!
//! The caller lowers the value `v` as a call of `g` (through `g`'s companions, see
//! [`crate::call`]) and the gradient `d` as a call of a hidden function of `g`'s,
//! `__differentiable_gradient_g(args…) -> ∇g`, differentiated through its own companions.
//! For a scalar g the derivatives of ∇g are second-order: its tangent along ẋ is H ẋ and, H
//! being symmetric, its pullback of a cotangent ḡ is H ḡ. Both are one forward-over-reverse
//! sweep, `g_hvp`'s, which `#[differentiable(hessian)]` generates; so `hessian` on `g` emits
//! these functions around copies of the bodies of `g_grad` and `g_hvp`:
//!
//! - `__differentiable_gradient_g::<C>(args…) -> G`, g's gradient (G: its type in `g_grad`);
//! - `__differentiable_vjp___differentiable_gradient_g::<C>(args…, cotangent: G) -> (G,
//!   (c₀, c₁, …))`, cₖ = (H ḡ)ₖ or `Constant`, as every vjp companion;
//! - `__differentiable_jvp___differentiable_gradient_g::<C>(args…, t₀, t₁, …) -> (G, H ṫ)`,
//!   tangents as `Option`s, as every jvp companion;
//!
//! and, when g differentiates several parameters, the same three for each entry k of the
//! gradient, `__differentiable_gradient{k}_g` (the caller writes `let (v, (dx, dy)) =
//! g_grad(x, y);`), each entry's pullback H ḡ with ḡ zero in the other entries.
//!
//! Every other function gets stubs of them that ask `C` (the caller passes
//! `autodiff::__private::Nested`) for `SecondOrder`, which nothing implements: calling
//! `g_grad` without `hessian` on g is that trait's error, "add `hessian`", at the call.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use crate::emit::{cotangent_param, generated_allows, hygienic, param_zeros, tangent_param};
use crate::signature::{gradient_type, Signature};

/// The hidden gradient function's name for `g`: the whole gradient (`None`), or entry k.
pub fn gradient_name(name: &Ident, entry: Option<usize>, span: Span) -> Ident {
    match entry {
        None => format_ident!("__differentiable_gradient_{}", name, span = span),
        Some(k) => format_ident!("__differentiable_gradient{}_{}", k, name, span = span),
    }
}

/// The function whose gradient a hidden gradient function's name stands for, and the entry:
/// `__differentiable_gradient1_g` → (`g`, Some(1)).
pub fn gradient_of(ident: &Ident) -> Option<(String, Option<usize>)> {
    let name = ident.to_string();
    let rest = name.strip_prefix("__differentiable_gradient")?;
    if let Some(function) = rest.strip_prefix('_') {
        return Some((function.to_string(), None));
    }
    let digits = rest.find('_')?;
    let k = rest[..digits].parse().ok()?;
    Some((rest[digits + 1..].to_string(), Some(k)))
}

/// How documentation and errors write a called function, before and after its arguments:
/// `g`, `m::g`, and a hidden gradient function as the user called it, `g_grad(…).1`,
/// `g_grad(…).1.0` for an entry.
pub fn display(path: &syn::Path) -> (String, String) {
    let Some((function, entry)) = path
        .segments
        .last()
        .and_then(|last| gradient_of(&last.ident))
    else {
        return (crate::text::pretty(path), String::new());
    };
    let mut shown = path.clone();
    if let Some(last) = shown.segments.last_mut() {
        last.ident = format_ident!("{}_grad", function);
        last.arguments = syn::PathArguments::None;
    }
    let shown = crate::text::pretty(&shown);
    match entry {
        None => (shown, ".1".into()),
        Some(k) => (shown, format!(".1.{k}")),
    }
}

/// What the macro of `sig`'s function emits for callers of its gradient, with `hessian`
/// (`Some`): around the bodies of `g_grad` and `g_hvp` (`grad_block` reading the
/// parameters, `hvp_block` them and their tangents `x_tangent`), or stubs that only
/// type-check when the function has errors (reported already). Without `hessian` (`None`),
/// stubs that fail at the call. Copies of the bodies, not calls of `g_grad` and `g_hvp`, so
/// that they compile as free functions and as associated functions alike.
pub fn emit(sig: &Signature, hessian: Option<Option<(&TokenStream, &TokenStream)>>) -> TokenStream {
    let differentiated: Vec<usize> = (0..sig.params.len())
        .filter(|&k| sig.params[k].differentiated)
        .collect();
    if differentiated.is_empty() {
        return TokenStream::new();
    }
    let parts = std::iter::once(None).chain(
        (differentiated.len() > 1)
            .then(|| (0..differentiated.len()).map(Some))
            .into_iter()
            .flatten(),
    );
    parts
        .map(|entry| emit_part(sig, &differentiated, entry, hessian))
        .collect()
}

fn emit_part(
    sig: &Signature,
    differentiated: &[usize],
    entry: Option<usize>,
    hessian: Option<Option<(&TokenStream, &TokenStream)>>,
) -> TokenStream {
    let name = gradient_name(&sig.name, entry, Span::call_site());
    let (vjp_name, jvp_name) = (
        format_ident!("__differentiable_vjp_{}", name),
        format_ident!("__differentiable_jvp_{}", name),
    );
    let entry_types: Vec<TokenStream> = differentiated
        .iter()
        .map(|&k| gradient_type(&sig.params[k].ty))
        .collect();
    // The part's type: the gradient as `g_grad` returns it, or one entry of it.
    let part_type = match (entry, entry_types.as_slice()) {
        (Some(k), _) => entry_types[k].clone(),
        (None, [one]) => one.clone(),
        (None, many) => quote!((#(#many,)*)),
    };
    let constant = quote!(::autodiff::__private::Constant);
    let contribution_types = sig.params.iter().map(|p| match p.differentiated {
        true => gradient_type(&p.ty),
        false => constant.clone(),
    });
    let params: Vec<TokenStream> = sig.param_list().collect();
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
    let cotangent = cotangent_param();

    let (gradient, product, given) = (
        hygienic("__gradient"),
        hygienic("__product"),
        hygienic("__given"),
    );
    let select = |value: &Ident| match entry {
        None => quote!(#value),
        Some(k) => {
            let index = syn::Index::from(k);
            quote!(#value.#index)
        }
    };
    let many = differentiated.len() > 1;
    let (primal_body, vjp_body, jvp_body) = match hessian {
        Some(Some((grad, hvp))) => {
            let part = select(&gradient);
            let primal = quote!({
                let (_, #gradient) = #grad;
                #part
            });
            // The pullback's direction: the cotangent in the part's place, zero elsewhere.
            let directions: Vec<TokenStream> = differentiated
                .iter()
                .enumerate()
                .map(|(j, &k)| {
                    let t = tangent_param(&sig.params[k].ident);
                    let value = match entry {
                        Some(e) if e == j => quote!(#cotangent),
                        Some(_) => param_zeros(&sig.params[k]),
                        None if many => {
                            let index = syn::Index::from(j);
                            quote!(#cotangent.#index)
                        }
                        None => quote!(#cotangent),
                    };
                    quote!(let #t = #value;)
                })
                .collect();
            let contributions =
                sig.params
                    .iter()
                    .enumerate()
                    .map(|(k, p)| match (p.differentiated, many) {
                        (false, _) => constant.clone(),
                        (true, false) => quote!(#product),
                        (true, true) => {
                            let j = differentiated.iter().position(|&d| d == k).unwrap_or(0);
                            let index = syn::Index::from(j);
                            quote!(#product.#index)
                        }
                    });
            let vjp = quote!({
                #[allow(unused_imports)]
                use ::autodiff::__private::Arg as _;
                #(#directions)*
                let (_, #gradient, #product) = #hvp;
                (#part, (#(#contributions,)*))
            });
            // A missing tangent is zero.
            let defaults = differentiated.iter().map(|&k| {
                let param = &sig.params[k];
                let (t, zeros, name) =
                    (tangent(k), param_zeros(param), tangent_param(&param.ident));
                quote!(let #name = match #t {
                    ::core::option::Option::Some(#given) => #given,
                    ::core::option::Option::None => #zeros,
                };)
            });
            let product_part = select(&product);
            let jvp = quote!({
                #[allow(unused_imports)]
                use ::autodiff::__private::Arg as _;
                #(#defaults)*
                let (_, #gradient, #product) = #hvp;
                (#part, #product_part)
            });
            (primal, vjp, jvp)
        }
        _ => {
            let stub = match hessian {
                Some(_) => quote!({ ::core::unimplemented!("#[differentiable] reported errors") }),
                None => quote!({ ::core::unimplemented!("needs #[differentiable(hessian)]") }),
            };
            (stub.clone(), stub.clone(), stub)
        }
    };
    // The marker the caller passes: bound where the call must fail.
    let marker = format_ident!("__C", span = Span::mixed_site());
    let bound = match hessian {
        None => quote!(: ::autodiff::__private::SecondOrder),
        Some(_) => TokenStream::new(),
    };
    let mut generics = sig.generics.clone();
    generics.params.push(syn::parse_quote!(#marker #bound));
    let (generics, _, where_clause) = generics.split_for_impl();
    let (vis, inherited) = (&sig.vis, &sig.inherited);
    let allows = generated_allows();
    let attrs = quote! {
        #[doc(hidden)]
        #allows
        #[allow(clippy::extra_unused_type_parameters)]
        #(#inherited)*
    };
    quote_spanned! {Span::call_site()=>
        #attrs
        #vis fn #name #generics(#(#params),*) -> #part_type #where_clause #primal_body
        #attrs
        #vis fn #vjp_name #generics(#(#params,)* #cotangent: #part_type)
            -> (#part_type, (#(#contribution_types,)*)) #where_clause #vjp_body
        #attrs
        #vis fn #jvp_name #generics(#(#params,)* #(#tangent_params),*)
            -> (#part_type, #part_type) #where_clause #jvp_body
    }
}
