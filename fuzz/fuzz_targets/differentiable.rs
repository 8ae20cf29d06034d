//! `#[differentiable(attr)] item` on arbitrary text: the first line is the attribute's
//! arguments, the rest the item. Text that is not tokens (unbalanced delimiters, unterminated
//! literals) is skipped: the compiler never hands such a stream to a macro.
//!
//! Properties, as in `autodiff-core/tests/no_panic.rs`: no panic; where the item is Rust, the
//! expansion is Rust, otherwise it carries a `compile_error!`; where the item is a function,
//! the expansion contains it unchanged.
#![no_main]

use std::str::FromStr;

use libfuzzer_sys::fuzz_target;
use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;

fn has_compile_error(tokens: &TokenStream) -> bool {
    tokens.clone().into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => ident == "compile_error",
        TokenTree::Group(group) => has_compile_error(&group.stream()),
        _ => false,
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (attr, item) = text.split_once('\n').unwrap_or(("", text));
    let (Ok(attr), Ok(item)) = (TokenStream::from_str(attr), TokenStream::from_str(item)) else {
        return;
    };
    let output = autodiff_core::differentiable(attr.clone(), item.clone());
    let file = syn::parse2::<syn::File>(output.clone());
    match &file {
        Err(error) if syn::parse2::<syn::File>(item.clone()).is_ok() => {
            panic!(
                "the expansion is not Rust ({error})\nattr: {attr}\nitem: {item}\noutput: {output}"
            )
        }
        Err(_) if !has_compile_error(&output) => {
            panic!("the expansion of a non-item is not an error\nattr: {attr}\nitem: {item}\noutput: {output}")
        }
        _ => {}
    }
    if let (Ok(func), Ok(file)) = (syn::parse2::<syn::ItemFn>(item.clone()), file) {
        let original = func.to_token_stream().to_string();
        assert!(
            file.items
                .iter()
                .any(|item| item.to_token_stream().to_string() == original),
            "the expansion lost the original function\nattr: {attr}\nitem: {item}\noutput: {output}"
        );
    }
});
