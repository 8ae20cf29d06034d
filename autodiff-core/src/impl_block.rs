//! `#[differentiable]` on an inherent `impl` block: each function of the block marked
//! `#[differentiable(…)]` is expanded as an associated function, so that its generated
//! functions are associated functions of the block and call each other as `Self::f_vjp`.
//! A function's attribute alone cannot tell an `impl` from a module, where the generated
//! functions call each other as `f_vjp`; the block's attribute says which.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::{ImplItem, ItemImpl};

pub fn expand(attr: TokenStream, mut block: ItemImpl) -> TokenStream {
    let mut errors = TokenStream::new();
    if !attr.is_empty() {
        errors.extend(syn::Error::new_spanned(
            &attr,
            "#[differentiable] on an `impl` block takes no arguments; write them on each function, as in `#[differentiable(wrt(x))] fn f(…)`",
        )
        .to_compile_error());
    }
    // A trait's `impl` keeps its functions as written: the one error is this one.
    let in_trait_impl = block.trait_.is_some();
    if let Some((_, path, _)) = &block.trait_ {
        errors.extend(syn::Error::new_spanned(
            path,
            "#[differentiable] applies to an inherent `impl` (`impl Model { … }`): a trait's `impl` can hold only the trait's items, not the generated functions; write the differentiable function in an inherent `impl` or as a free function and call it from the trait's",
        )
        .to_compile_error());
    }
    let items = std::mem::take(&mut block.items);
    let items: Vec<TokenStream> = items
        .into_iter()
        .map(|item| match item {
            ImplItem::Fn(mut func) => match take_attribute(&mut func.attrs) {
                Some(args) if !in_trait_impl => crate::expand(args, func.into_token_stream(), true),
                _ => func.into_token_stream(),
            },
            other => other.into_token_stream(),
        })
        .collect();
    // The block as written around the expanded items.
    let mut header = block.into_token_stream().into_iter().collect::<Vec<_>>();
    header.pop();
    quote! {
        #(#header)* { #(#items)* }
        #errors
    }
}

/// Removes the function's `#[differentiable(…)]` (also written with a path,
/// `#[autodiff::differentiable]`) and returns its arguments.
fn take_attribute(attrs: &mut Vec<syn::Attribute>) -> Option<TokenStream> {
    let position = attrs.iter().position(|attr| {
        attr.path()
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "differentiable")
    })?;
    Some(match attrs.remove(position).meta {
        syn::Meta::List(list) => list.tokens,
        _ => TokenStream::new(),
    })
}
