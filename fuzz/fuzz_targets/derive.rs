//! `#[derive(Parameters)]` on arbitrary text. Text that is not tokens is skipped.
//!
//! Properties: no panic; the expansion is Rust (an impl, or a `compile_error!`).
#![no_main]

use std::str::FromStr;

use libfuzzer_sys::fuzz_target;
use proc_macro2::TokenStream;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(item) = TokenStream::from_str(text) else {
        return;
    };
    let output = autodiff_core::derive_parameters(item.clone());
    if let Err(error) = syn::parse2::<syn::File>(output.clone()) {
        panic!("the expansion is not Rust ({error})\nitem: {item}\noutput: {output}");
    }
});
