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
        // A negative number after an operator: `x < -1.0`.
        ("< - ", "< -"),
        ("> - ", "> -"),
        ("= - ", "= -"),
        ("(- ", "(-"),
        (", - ", ", -"),
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
        (" [", "["),
        ("[ ", "["),
        (" ]", "]"),
    ]
    .iter()
    .fold(text, |text, (from, to)| text.replace(from, to))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn indexing_and_negative_numbers_read_as_written() {
        assert_eq!(pretty(&quote!(c[i])), "c[i]");
        assert_eq!(pretty(&quote!(m[[i, j]])), "m[[i, j]]");
        assert_eq!(pretty_expr(&quote!(z < -1.0)), "z < -1.0");
        assert_eq!(pretty_expr(&quote!(f(-x, -2.0))), "f(-x, -2.0)");
        assert_eq!(pretty_expr(&quote!(a - b)), "a - b");
    }
}
