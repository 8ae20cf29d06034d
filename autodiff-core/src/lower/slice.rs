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

/// The `s![..]` of ndarray's own path (the user's crate need not name ndarray) with `elems`,
/// its literal indices and bounds typed `isize`.
pub fn rebuild(elems: &[Elem]) -> TokenStream {
    let elems = elems.iter().map(|Elem { expr, step }| {
        let expr = typed(expr);
        match step {
            Some(step) => quote!(#expr ; #step),
            None => quote!(#expr),
        }
    });
    quote!(::autodiff::ndarray::s![#(#elems),*])
}

/// An index or range of integer literals only (`0`, `-1`, `1..3`, `..-1`) with its literals
/// typed `isize`. In the user's code their type is inferred (to `i32`) where the slice is
/// read; in the generated code the view's rank, which depends on it, is needed earlier, by
/// the generic rules the slice's result flows into. Other bounds keep their own types.
fn typed(expr: &Expr) -> Expr {
    let mut expr = expr.clone();
    match &mut expr {
        Expr::Range(range) => {
            let bounds = [&mut range.start, &mut range.end];
            if bounds
                .iter()
                .all(|bound| bound.as_deref().map_or(true, is_int_literal))
            {
                for bound in bounds.into_iter().flatten() {
                    **bound = with_isize(bound);
                }
            }
        }
        literal if is_int_literal(literal) => *literal = with_isize(literal),
        _ => {}
    }
    expr
}

/// Whether an expression is an unsuffixed integer literal, or its negation.
fn is_int_literal(expr: &Expr) -> bool {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(int),
            ..
        }) => int.suffix().is_empty(),
        Expr::Unary(unary) => matches!(unary.op, syn::UnOp::Neg(_)) && is_int_literal(&unary.expr),
        Expr::Paren(paren) => is_int_literal(&paren.expr),
        _ => false,
    }
}

/// The literal of an [`is_int_literal`] expression suffixed `isize` (`-1` as `-1_isize`).
fn with_isize(expr: &Expr) -> Expr {
    let mut expr = expr.clone();
    let mut inner = &mut expr;
    loop {
        match inner {
            Expr::Unary(unary) => inner = &mut unary.expr,
            Expr::Paren(paren) => inner = &mut paren.expr,
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(int),
                ..
            }) => {
                let suffixed = format!("{}_isize", int.base10_digits());
                *int = syn::LitInt::new(&suffixed, int.span());
                return expr;
            }
            _ => return expr,
        }
    }
}
