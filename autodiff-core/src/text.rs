//! Rust source fragments as text, tidied for messages and documentation.

use quote::ToTokens;

/// Source text of an expression, tidied for documentation: like [`pretty`], but keeping
/// the spaces around comparisons.
pub fn pretty_expr(tokens: &dyn ToTokens) -> String {
    let text = tokens.to_token_stream().to_string();
    [
        (" :: ", "::"),
        (" . ", "."),
        (" (", "("),
        ("( ", "("),
        (" )", ")"),
        (" ,", ","),
        (" [", "["),
        ("[ ", "["),
        (" ]", "]"),
        (" .. ", ".."),
        (" ..= ", "..="),
        ("& ", "&"),
        ("! ", "!"),
    ]
    .iter()
    .fold(text, |text, (from, to)| text.replace(from, to))
}

/// Source text of a fragment, tidied for messages and documentation.
pub fn pretty(tokens: &dyn ToTokens) -> String {
    let text = tokens.to_token_stream().to_string();
    [
        (" :: ", "::"),
        (":: ", "::"),
        (" . ", "."),
        (" (", "("),
        ("( ", "("),
        (" )", ")"),
        (" ,", ","),
        (" : ", ": "),
        (" < ", "<"),
        (" >", ">"),
        ("& ", "&"),
    ]
    .iter()
    .fold(text, |text, (from, to)| text.replace(from, to))
}
