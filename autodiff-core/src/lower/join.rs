//! Joining differentiated arrays: `concatenate![Axis(k), a, b, …]`, `stack![Axis(k), a, b, …]`
//! and their function forms `concatenate(Axis(k), &[a.view(), b.view()]).unwrap()`. The
//! table's `concatenate` and `stack` join two arrays; more are joined two at a time (a third
//! array stacked onto two is concatenated with an axis inserted), so each adjoint is a split.

use proc_macro2::Span;
use syn::punctuated::Punctuated;
use syn::{Expr, Token};

use super::{strip_parens, Lowerer};
use crate::ir::{Op, Operand};
use crate::rules::Primitive;

/// The join a macro is, by its last path segment.
pub fn join_macro(mac: &syn::Macro) -> Option<Primitive> {
    let last = mac.path.segments.last()?.ident.to_string();
    join_named(&last)
}

/// The join a function or macro name names.
pub fn join_named(name: &str) -> Option<Primitive> {
    match name {
        "concatenate" => Some(Primitive::Concatenate),
        "stack" => Some(Primitive::Stack),
        _ => None,
    }
}

/// The axis and the arrays of `concatenate![Axis(k), a, b]`.
pub fn macro_args(mac: &syn::Macro) -> Option<Vec<Expr>> {
    let parsed = mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated);
    parsed.ok().map(|args| args.into_iter().collect())
}

/// The arrays of the function form's slice, `&[a.view(), b.view()]`.
pub fn slice_elems(expr: &Expr) -> Option<Vec<Expr>> {
    let mut expr = strip_parens(expr);
    if let Expr::Reference(reference) = expr {
        expr = strip_parens(&reference.expr);
    }
    match expr {
        Expr::Array(array) => Some(array.elems.iter().cloned().collect()),
        _ => None,
    }
}

impl Lowerer<'_> {
    /// `prim` (`concatenate` or `stack`) of `arrays` along `axis`, written as `whole`.
    pub(super) fn join(
        &mut self,
        prim: Primitive,
        axis: &Expr,
        arrays: &[Expr],
        whole: &Expr,
        span: Span,
    ) -> Operand {
        let name = prim.rule().module;
        if arrays.len() < 2 {
            self.diag.error(
                whole,
                format!("`{name}` of differentiated arrays needs at least two arrays; write the array itself"),
            );
            return Operand::Poison;
        }
        if self.mentions_var(axis) && !self.constant_valued(axis) {
            self.diag.error(
                axis,
                format!("the axis of `{name}` must not depend on a differentiated parameter"),
            );
            return Operand::Poison;
        }
        let axis = self.expr(axis);
        let operands: Vec<Operand> = arrays.iter().map(|array| self.expr(array)).collect();
        let mut rest = operands.into_iter();
        let (Some(first), Some(second)) = (rest.next(), rest.next()) else {
            return Operand::Poison;
        };
        let mut joined = self.apply(Op::Prim(prim), vec![axis.clone(), first, second], span);
        for next in rest {
            let next = match prim {
                Primitive::Stack => {
                    let insert = Op::Prim(Primitive::InsertAxis);
                    self.apply(insert, vec![next, axis.clone()], span)
                }
                _ => next,
            };
            let concatenate = Op::Prim(Primitive::Concatenate);
            joined = self.apply(concatenate, vec![axis.clone(), joined, next], span);
        }
        joined
    }
}
