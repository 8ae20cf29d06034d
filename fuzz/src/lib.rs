//! The properties the fuzz targets check, shared by them (and the same as
//! `autodiff-core/tests/no_panic.rs`): a panic is a crash by itself; beyond it, an expansion
//! that is not Rust is one too.

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;

pub fn has_compile_error(tokens: &TokenStream) -> bool {
    tokens.clone().into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => ident == "compile_error",
        TokenTree::Group(group) => has_compile_error(&group.stream()),
        _ => false,
    })
}

/// `#[differentiable(attr)] item`: where the item is Rust, the expansion is Rust, otherwise it
/// carries a `compile_error!`; where the item is a function, the expansion contains it
/// unchanged.
pub fn check_differentiable(attr: TokenStream, item: TokenStream) {
    let output = autodiff_core::differentiable(attr.clone(), item.clone());
    let file = syn::parse2::<syn::File>(output.clone());
    match &file {
        Err(error) if syn::parse2::<syn::File>(item.clone()).is_ok() => panic!(
            "the expansion is not Rust ({error})\nattr: {attr}\nitem: {item}\noutput: {output}"
        ),
        Err(_) if !has_compile_error(&output) => panic!(
            "the expansion of a non-item is not an error\nattr: {attr}\nitem: {item}\noutput: {output}"
        ),
        _ => {}
    }
    if let (Ok(func), Ok(file)) = (syn::parse2::<syn::ItemFn>(item.clone()), file) {
        // Unchanged but for `#[allow(dead_code)]` (calling only its derivatives uses it).
        let original = quote::quote!(#[allow(dead_code)] #func).to_string();
        assert!(
            file.items
                .iter()
                .any(|item| item.to_token_stream().to_string() == original),
            "the expansion lost the original function\nattr: {attr}\nitem: {item}\noutput: {output}"
        );
        assert!(
            !file
                .items
                .iter()
                .any(|item| matches!(item, syn::Item::Verbatim(_))),
            "the expansion has an item syn does not know\nattr: {attr}\nitem: {item}\noutput: {output}"
        );
    }
}

/// `#[derive(Parameters)] item`: the expansion is Rust (an impl, or a `compile_error!`).
pub fn check_derive(item: TokenStream) {
    let output = autodiff_core::derive_parameters(item.clone());
    if let Err(error) = syn::parse2::<syn::File>(output.clone()) {
        panic!("the expansion is not Rust ({error})\nitem: {item}\noutput: {output}");
    }
}
