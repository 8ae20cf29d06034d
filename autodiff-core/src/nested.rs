//! Nested derivatives: a `#[differentiable]` function calling another's generated gradient,
//! `let (v, d) = g_grad(x);` or `g_grad(x).1`, and differentiated itself.
//!
//! The caller lowers the value `v` as a call of `g` (through `g`'s companions, see
//! [`crate::call`]) and the gradient `d` as a call of a hidden function of `g`'s,
//! `__differentiable_gradient_g(args…) -> ∇g`, differentiated through its own companions.
//! For a scalar g the derivatives of ∇g are second-order: its tangent along ẋ is H ẋ and, H
//! being symmetric, its pullback of a cotangent ḡ is H ḡ. Both are one forward-over-reverse
//! sweep, `g_hvp`'s, which `#[differentiable(hessian)]` generates; so `hessian` on `g` emits
//! these functions around calls of `g_grad` and `g_hvp`:
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
use quote::{format_ident, quote, quote_spanned, ToTokens};
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

/// The hidden functions of `g_jvp`'s two results, (g(x), ∇g·t), by part (0 or 1).
pub fn jvp_part_name(name: &Ident, part: usize, span: Span) -> Ident {
    match part {
        0 => format_ident!("__differentiable_jvpvalue_{}", name, span = span),
        _ => format_ident!("__differentiable_jvptangent_{}", name, span = span),
    }
}

/// The function a hidden function's name stands for and the part of which of its
/// generated functions: `__differentiable_gradient1_g` → (`g_grad`, `.1.1`),
/// `__differentiable_jvptangent_g` → (`g_jvp`, `.1`).
fn hidden_of(ident: &Ident) -> Option<(String, String)> {
    let name = ident.to_string();
    if let Some(function) = name.strip_prefix("__differentiable_jvpvalue_") {
        return Some((format!("{function}_jvp"), ".0".into()));
    }
    if let Some(function) = name.strip_prefix("__differentiable_jvptangent_") {
        return Some((format!("{function}_jvp"), ".1".into()));
    }
    let rest = name.strip_prefix("__differentiable_gradient")?;
    if let Some(function) = rest.strip_prefix('_') {
        return Some((format!("{function}_grad"), ".1".into()));
    }
    let digits = rest.find('_')?;
    let k: usize = rest[..digits].parse().ok()?;
    Some((format!("{}_grad", &rest[digits + 1..]), format!(".1.{k}")))
}

/// How documentation and errors write a called function, before and after its arguments:
/// `g`, `m::g`, and a hidden function as the user called it, `g_grad(…).1`,
/// `g_grad(…).1.0` for an entry, `g_jvp(…).1`.
pub fn display(path: &syn::Path) -> (String, String) {
    let Some((function, part)) = path.segments.last().and_then(|last| hidden_of(&last.ident))
    else {
        return (crate::text::pretty(path), String::new());
    };
    let mut shown = path.clone();
    if let Some(last) = shown.segments.last_mut() {
        last.ident = format_ident!("{}", function);
        last.arguments = syn::PathArguments::None;
    }
    (crate::text::pretty(&shown), part)
}

/// What the macro of `sig`'s function emits for callers of its gradient, with `hessian`
/// (`Some`): around calls of `g_grad` and `g_hvp` ([`calls`]), or, when the function has
/// errors (reported already, `Some(false)`), stubs that only type-check. Without `hessian`
/// (`None`), stubs that fail at the call.
pub fn emit(sig: &Signature, hessian: Option<bool>) -> TokenStream {
    let differentiated = sig.differentiated_positions();
    if differentiated.is_empty() {
        return TokenStream::new();
    }
    let parts = std::iter::once(None).chain(
        (differentiated.len() > 1)
            .then(|| (0..differentiated.len()).map(Some))
            .into_iter()
            .flatten(),
    );
    let gradients: TokenStream = parts
        .map(|entry| emit_part(sig, &differentiated, entry, hessian))
        .collect();
    let jvps = (0..2).map(|part| emit_jvp_part(sig, &differentiated, part, hessian));
    quote!(#gradients #(#jvps)*)
}

/// The calls the hidden functions' bodies make: `g_grad` of the parameters, and `g_hvp` of
/// them and their tangents `x_tangent`, which the bodies bind.
fn calls(sig: &Signature) -> (TokenStream, TokenStream) {
    let tangents = sig
        .differentiated()
        .map(|p| tangent_param(&p.ident).into_token_stream());
    (
        sig.sibling_call("grad", []),
        sig.sibling_call("hvp", tangents),
    )
}

/// The hidden functions of `g_jvp`'s result `part`: 0, its value g(x), or 1, its tangent
/// ∇g(x)·t, as functions of g's arguments and the tangents `t` after them. Their
/// derivatives: of g(x), ∇g; of ∇g(x)·t, H t in x and ∇g in t (pullbacks, each scaled by
/// the cotangent) or (H ẋ)·t + ∇g·ṫ (the tangent along ẋ, ṫ). Float and array parameters
/// (a struct's contribution cannot be scaled).
fn emit_jvp_part(
    sig: &Signature,
    differentiated: &[usize],
    part: usize,
    hessian: Option<bool>,
) -> TokenStream {
    let name = jvp_part_name(&sig.name, part, Span::call_site());
    let (vjp_name, jvp_name) = (
        format_ident!("__differentiable_vjp_{}", name),
        format_ident!("__differentiable_jvp_{}", name),
    );
    let ret = &sig.ret;
    let constant = quote!(::autodiff::__private::Constant);
    let many = differentiated.len() > 1;
    let entry = |value: &Ident, j: usize| match many {
        true => {
            let index = syn::Index::from(j);
            quote!(#value.#index)
        }
        false => quote!(#value),
    };
    // g_jvp's arguments: g's, then one tangent `__uJ` per differentiated parameter.
    let given = |j: usize| format_ident!("__u{}", j, span = Span::mixed_site());
    let params: Vec<TokenStream> = sig
        .param_list()
        .chain(differentiated.iter().enumerate().map(|(j, &k)| {
            let (u, ty) = (given(j), gradient_type(&sig.params[k].ty));
            quote!(#u: #ty)
        }))
        .collect();
    let contribution_types = sig
        .params
        .iter()
        .map(|p| match p.differentiated {
            true => gradient_type(&p.ty),
            false => constant.clone(),
        })
        .chain(
            differentiated
                .iter()
                .map(|&k| gradient_type(&sig.params[k].ty)),
        );
    let tangent = crate::call::companion_tangent;
    let tangent_count = sig.params.len() + differentiated.len();
    let tangent_params = (0..tangent_count).map(|k| {
        let t = tangent(k);
        match sig.params.get(k) {
            Some(p) if !p.differentiated => {
                quote!(#t: impl ::autodiff::__private::NoTangent)
            }
            Some(p) => {
                let ty = gradient_type(&p.ty);
                quote!(#t: ::core::option::Option<#ty>)
            }
            None => {
                let ty = gradient_type(&sig.params[differentiated[k - sig.params.len()]].ty);
                quote!(#t: ::core::option::Option<#ty>)
            }
        }
    });
    let cotangent = cotangent_param();
    let (value, gradient, product, given_tangent, sum) = (
        hygienic("__value"),
        hygienic("__gradient"),
        hygienic("__product"),
        hygienic("__given"),
        hygienic("__sum"),
    );
    // Floats and arrays by `dot` and `scaled`; structs of parameters leaf by leaf.
    let structured = |j: usize| sig.params[differentiated[j]].structured;
    let inner_of = |j: usize| match structured(j) {
        true => quote!(::autodiff::__private::inner),
        false => quote!(::autodiff::__private::dot),
    };
    let scaled_of = |j: usize| match structured(j) {
        true => quote!(::autodiff::__private::scale),
        false => quote!(::autodiff::__private::scaled),
    };
    let imports = quote! {
        #[allow(unused_imports)]
        use ::autodiff::__private::Arg as _;
    };
    // Σ ⟨a_j, t_j⟩ over the differentiated parameters, `t_j` the `Option` tangent `t(k)`
    // of argument k (None: no term).
    // (`of_parameters`: the parameters' tangents; otherwise those of the tangent arguments).
    let contract = |a: &Ident, of_parameters: bool| -> TokenStream {
        let terms = differentiated.iter().enumerate().map(|(j, &k)| {
            let position = match of_parameters {
                true => k,
                false => sig.params.len() + j,
            };
            let (t, a_j, inner) = (tangent(position), entry(a, j), inner_of(j));
            quote! {
                if let ::core::option::Option::Some(#given_tangent) = &#t {
                    #sum += #inner(&#a_j, #given_tangent);
                }
            }
        });
        quote!(#(#terms)*)
    };
    let bodies = match hessian {
        Some(true) => {
            let (grad, hvp) = calls(sig);
            // ∇g·t for the primal of part 1.
            let along_given = differentiated.iter().enumerate().map(|(j, _)| {
                let (u, g_j, inner) = (given(j), entry(&gradient, j), inner_of(j));
                quote!(#sum += #inner(&#g_j, &#u);)
            });
            let along_given: Vec<TokenStream> = along_given.collect();
            let primal = match part {
                0 => quote!({
                    let (#value, _) = #grad;
                    #value
                }),
                _ => quote!({
                    let (_, #gradient) = #grad;
                    let mut #sum: #ret = ::core::default::Default::default();
                    #(#along_given)*
                    #sum
                }),
            };
            let scale = |a: TokenStream, j: usize| {
                let scaled = scaled_of(j);
                quote!(#scaled(#a, #cotangent))
            };
            let vjp = match part {
                0 => {
                    let contributions = sig
                        .params
                        .iter()
                        .enumerate()
                        .map(|(k, p)| match p.differentiated {
                            false => constant.clone(),
                            true => {
                                let j = differentiated.iter().position(|&d| d == k).unwrap_or(0);
                                scale(entry(&gradient, j), j)
                            }
                        })
                        .chain((0..differentiated.len()).map(|j| {
                            let zero = format_ident!("__z{}", j, span = Span::mixed_site());
                            quote!(#zero)
                        }));
                    // The tangents' (zero) contributions before the body may move a parameter.
                    let zeros = differentiated.iter().enumerate().map(|(j, &k)| {
                        let zero = format_ident!("__z{}", j, span = Span::mixed_site());
                        let zeros = param_zeros(&sig.params[k]);
                        quote!(let #zero = #zeros;)
                    });
                    quote!({
                        #imports
                        #(#zeros)*
                        let (#value, #gradient) = #grad;
                        (#value, (#(#contributions,)*))
                    })
                }
                _ => {
                    let directions = differentiated.iter().enumerate().map(|(j, &k)| {
                        let (name, u) = (tangent_param(&sig.params[k].ident), given(j));
                        quote!(let #name = ::core::clone::Clone::clone(&#u);)
                    });
                    let contributions = sig
                        .params
                        .iter()
                        .enumerate()
                        .map(|(k, p)| match p.differentiated {
                            false => constant.clone(),
                            true => {
                                let j = differentiated.iter().position(|&d| d == k).unwrap_or(0);
                                scale(entry(&product, j), j)
                            }
                        })
                        .chain((0..differentiated.len()).map(|j| scale(entry(&gradient, j), j)));
                    quote!({
                        #imports
                        #(#directions)*
                        let (_, #gradient, #product) = #hvp;
                        let mut #sum: #ret = ::core::default::Default::default();
                        #(#along_given)*
                        (#sum, (#(#contributions,)*))
                    })
                }
            };
            let jvp = match part {
                0 => {
                    let terms = contract(&gradient, true);
                    quote!({
                        #imports
                        let (#value, #gradient) = #grad;
                        let mut #sum: #ret = ::core::default::Default::default();
                        #terms
                        (#value, #sum)
                    })
                }
                _ => {
                    // H ẋ along the parameters' tangents (zero where `None`).
                    let defaults = crate::call::tangent_defaults(sig);
                    let product_sum = hygienic("__product_sum");
                    let hx_t = differentiated.iter().enumerate().map(|(j, _)| {
                        let (u, p_j, inner) = (given(j), entry(&product, j), inner_of(j));
                        quote!(#product_sum += #inner(&#p_j, &#u);)
                    });
                    let terms = contract(&gradient, false);
                    quote!({
                        #imports
                        #(#defaults)*
                        let (_, #gradient, #product) = #hvp;
                        let mut #sum: #ret = ::core::default::Default::default();
                        #(#along_given)*
                        let mut #product_sum: #ret = ::core::default::Default::default();
                        #(#hx_t)*
                        let #value = #sum;
                        let mut #sum = #product_sum;
                        #terms
                        (#value, #sum)
                    })
                }
            };
            Some((primal, vjp, jvp))
        }
        _ => None,
    };
    hidden_functions(
        sig,
        hessian.is_some(),
        [&name, &vjp_name, &jvp_name],
        &params,
        &quote!(#ret),
        contribution_types,
        tangent_params.into_iter(),
        bodies,
    )
}

fn emit_part(
    sig: &Signature,
    differentiated: &[usize],
    entry: Option<usize>,
    hessian: Option<bool>,
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
    let tangent_params = crate::call::tangent_params(sig);
    let cotangent = cotangent_param();

    let (gradient, product) = (hygienic("__gradient"), hygienic("__product"));
    let select = |value: &Ident| match entry {
        None => quote!(#value),
        Some(k) => {
            let index = syn::Index::from(k);
            quote!(#value.#index)
        }
    };
    let many = differentiated.len() > 1;
    let bodies = match hessian {
        Some(true) => {
            let (grad, hvp) = calls(sig);
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
            let defaults = crate::call::tangent_defaults(sig);
            let product_part = select(&product);
            let jvp = quote!({
                #[allow(unused_imports)]
                use ::autodiff::__private::Arg as _;
                #(#defaults)*
                let (_, #gradient, #product) = #hvp;
                (#part, #product_part)
            });
            Some((primal, vjp, jvp))
        }
        _ => None,
    };
    hidden_functions(
        sig,
        hessian.is_some(),
        [&name, &vjp_name, &jvp_name],
        &params,
        &part_type,
        contribution_types,
        tangent_params.into_iter(),
        bodies,
    )
}

/// One hidden function and its two companions (`__differentiable_vjp_…`,
/// `__differentiable_jvp_…`), named `names`, over `params` (then the cotangent or the
/// tangents), their value of type `ty`. Without `bodies` (no `hessian`, or errors reported)
/// each is a stub; without `hessian` a call fails to compile at the caller, through the
/// marker type parameter's `SecondOrder` bound, which nothing implements.
#[allow(clippy::too_many_arguments)]
fn hidden_functions(
    sig: &Signature,
    hessian: bool,
    [name, vjp_name, jvp_name]: [&Ident; 3],
    params: &[TokenStream],
    ty: &TokenStream,
    contribution_types: impl Iterator<Item = TokenStream>,
    tangent_params: impl Iterator<Item = TokenStream>,
    bodies: Option<(TokenStream, TokenStream, TokenStream)>,
) -> TokenStream {
    let (primal_body, vjp_body, jvp_body) = bodies.unwrap_or_else(|| {
        let stub = match hessian {
            true => quote!({ ::core::unimplemented!("#[differentiable] reported errors") }),
            false => quote!({ ::core::unimplemented!("needs #[differentiable(hessian)]") }),
        };
        (stub.clone(), stub.clone(), stub)
    });
    let bound = (!hessian).then(|| quote!(::autodiff::__private::SecondOrder));
    let (head, where_clause) = hidden_head(sig, name, bound.clone(), &[]);
    let (vjp_head, _) = hidden_head(sig, vjp_name, bound.clone(), &[]);
    let (jvp_head, _) = hidden_head(sig, jvp_name, bound, &[]);
    let cotangent = cotangent_param();
    quote_spanned! {Span::call_site()=>
        #head(#(#params),*) -> #ty #where_clause #primal_body
        #vjp_head(#(#params,)* #cotangent: #ty)
            -> (#ty, (#(#contribution_types,)*)) #where_clause #vjp_body
        #jvp_head(#(#params,)* #(#tangent_params),*)
            -> (#ty, #ty) #where_clause #jvp_body
    }
}

/// The head of a hidden function of `sig`'s named `name`, up to its parameters: attributes,
/// visibility, name and generics with the marker type parameter `__C`, bounded by `bound`
/// (a trait nothing implements) where the function is a stub that no call may reach, then
/// the type parameters `more`; and its `where` clause.
pub fn hidden_head(
    sig: &Signature,
    name: &Ident,
    bound: Option<TokenStream>,
    more: &[TokenStream],
) -> (TokenStream, TokenStream) {
    let marker = format_ident!("__C", span = Span::mixed_site());
    let bound = bound.map(|bound| quote!(: #bound));
    let mut generics = sig.generics.clone();
    generics.params.push(syn::parse_quote!(#marker #bound));
    for param in more {
        generics.params.push(syn::parse_quote!(#param));
    }
    let (generics, _, where_clause) = generics.split_for_impl();
    let (vis, inherited) = (&sig.vis, &sig.inherited);
    let allows = generated_allows();
    let head = quote_spanned! {Span::call_site()=>
        #[doc(hidden)]
        #allows
        #[allow(clippy::extra_unused_type_parameters)]
        #(#inherited)*
        #vis fn #name #generics
    };
    (head, where_clause.to_token_stream())
}
