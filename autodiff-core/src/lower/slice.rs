//! ndarray's `s![..]` slice macro, the one macro a #[differentiable] body may use: the
//! argument of `x.slice(..)`, a constant. Its elements (`a..b;step`, `i`, `..`, `NewAxis`)
//! are ordinary expressions, which the lowering reads (a differentiated value in a bound is
//! an error), renames (a loop index) and writes back into an `s!` of ndarray's own path.

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Token};

/// One element of `s![..]`: a range or an index, and its step.
pub struct Elem {
    pub expr: Expr,
    pub step: Option<Expr>,
}

impl Parse for Elem {
    fn parse(input: ParseStream) -> syn::Result<Elem> {
        let expr = input.parse()?;
        let step = match input.parse::<Option<Token![;]>>()? {
            Some(_) => Some(input.parse()?),
            None => None,
        };
        Ok(Elem { expr, step })
    }
}

/// Whether a macro is ndarray's `s!` (`s![..]`, `ndarray::s![..]`).
pub fn is_slice_macro(mac: &syn::Macro) -> bool {
    mac.path
        .segments
        .last()
        .is_some_and(|last| last.ident == "s")
}

/// Whether an expression is an `s![..]`.
pub fn is_slice_expr(expr: &Expr) -> bool {
    matches!(expr, Expr::Macro(mac) if is_slice_macro(&mac.mac))
}

/// The elements of an `s![..]`, if it parses.
pub fn elems(mac: &syn::Macro) -> Option<Vec<Elem>> {
    let parsed = mac.parse_body_with(Punctuated::<Elem, Token![,]>::parse_terminated);
    parsed.ok().map(|elems| elems.into_iter().collect())
}

/// Every expression of the elements, in order: ranges, indices and steps.
pub fn exprs_mut(elems: &mut [Elem]) -> impl Iterator<Item = &mut Expr> {
    elems
        .iter_mut()
        .flat_map(|elem| std::iter::once(&mut elem.expr).chain(elem.step.as_mut()))
}

/// The `s![..]` of ndarray's own path (the user's crate need not name ndarray) with `elems`.
pub fn rebuild(elems: &[Elem]) -> TokenStream {
    let elems = elems.iter().map(|Elem { expr, step }| match step {
        Some(step) => quote!(#expr ; #step),
        None => quote!(#expr),
    });
    quote!(::autodiff::ndarray::s![#(#elems),*])
}
