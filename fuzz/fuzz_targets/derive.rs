//! `#[derive(Parameters)]` on arbitrary text. Text that is not tokens is skipped.
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
    autodiff_fuzz::check_derive(item);
});
