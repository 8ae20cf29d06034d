//! `#[differentiable(attr)] item` on arbitrary text: the first line is the attribute's
//! arguments, the rest the item. Text that is not tokens (unbalanced delimiters, unterminated
//! literals) is skipped: the compiler never hands such a stream to a macro.
#![no_main]

use std::str::FromStr;

use libfuzzer_sys::fuzz_target;
use proc_macro2::TokenStream;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (attr, item) = text.split_once('\n').unwrap_or(("", text));
    let (Ok(attr), Ok(item)) = (TokenStream::from_str(attr), TokenStream::from_str(item)) else {
        return;
    };
    autodiff_fuzz::check_differentiable(attr, item);
});
