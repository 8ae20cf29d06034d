//! A call of another function's generated gradient on differentiated values, `let (v, d) =
//! g_grad(x);`, `let (_, (dx, dy)) = g_grad(x, y);`, `g_grad(x).1`: the value is lowered as
//! a call of `g`, the gradient (or each entry of it) as a call of g's hidden gradient
//! function, differentiated through its companions (see [`crate::nested`]).

use quote::format_ident;
use syn::{Expr, Pat};

use super::{expr_span, strip_parens, Lowerer};
use crate::ir::{Op, Operand};

/// A part of `g_grad`'s or `g_jvp`'s result.
#[derive(Clone, Copy)]
enum Part {
    Value,
    /// The whole gradient (`None`), or entry k of a gradient of several parameters.
    Gradient(Option<usize>),
    /// `g_jvp`'s value (0) or tangent (1).
    Jvp(usize),
}

impl Lowerer<'_> {
    /// `g_grad(args…)` or `g_jvp(args…)` (by any path ending so) on differentiated values,
    /// and whether it is `g_jvp`.
    fn nested_call<'e>(&self, expr: &'e Expr) -> Option<(&'e syn::ExprCall, bool)> {
        let Expr::Call(call) = strip_parens(expr) else {
            return None;
        };
        let Expr::Path(path) = strip_parens(&call.func) else {
            return None;
        };
        let last = path.path.segments.last()?;
        let name = last.ident.to_string();
        let jvp = name.len() > "_jvp".len() && name.ends_with("_jvp");
        let grad = name.len() > "_grad".len() && name.ends_with("_grad");
        let ok = path.qself.is_none()
            && last.arguments.is_none()
            && (jvp || grad)
            && self.mentions_var(expr);
        ok.then_some((call, jvp))
    }

    /// `let (v, d) = g_grad(x);` (either name may be `_`; `d` may be a tuple of names, one
    /// per entry of a gradient of several parameters): false when `local` is not of that
    /// form.
    pub(super) fn nested_local(&mut self, local: &syn::Local) -> bool {
        let (Pat::Tuple(pattern), Some(init)) = (&local.pat, &local.init) else {
            return false;
        };
        let Some((call, jvp)) = self.nested_call(&init.expr) else {
            return false;
        };
        let binding = |pat: &Pat| match pat {
            Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => {
                Some(Some(pat.ident.clone()))
            }
            Pat::Wild(_) => Some(None),
            _ => None,
        };
        let mut parts = Vec::new();
        let shape_ok = pattern.elems.len() == 2 && init.diverge.is_none() && {
            let (value, gradient) = (&pattern.elems[0], &pattern.elems[1]);
            match (binding(value), gradient) {
                (Some(value), gradient) if jvp => match binding(gradient) {
                    Some(tangent) => {
                        parts.extend(value.map(|name| (name, Part::Jvp(0))));
                        parts.extend(tangent.map(|name| (name, Part::Jvp(1))));
                        true
                    }
                    None => false,
                },
                (Some(value), Pat::Tuple(entries)) => {
                    parts.extend(value.map(|name| (name, Part::Value)));
                    let mut ok = true;
                    for (k, entry) in entries.elems.iter().enumerate() {
                        match binding(entry) {
                            Some(name) => {
                                parts.extend(name.map(|name| (name, Part::Gradient(Some(k)))))
                            }
                            None => ok = false,
                        }
                    }
                    ok
                }
                (Some(value), gradient) => match binding(gradient) {
                    Some(gradient) => {
                        parts.extend(value.map(|name| (name, Part::Value)));
                        parts.extend(gradient.map(|name| (name, Part::Gradient(None))));
                        true
                    }
                    None => false,
                },
                _ => false,
            }
        };
        if !shape_ok {
            self.diag.error(
                &local.pat,
                "bind the value and the gradient of a generated gradient to names: `let (v, d) = g_grad(x);`, or one name per entry for several parameters, `let (v, (dx, dy)) = g_grad(x, y);`; `let (v, t) = g_jvp(x, dx);` for a tangent",
            );
            return true;
        }
        let kinds: Vec<Part> = parts.iter().map(|(_, part)| *part).collect();
        let operands = self.nested_parts(call, &init.expr, &kinds);
        for ((name, _), operand) in parts.into_iter().zip(operands) {
            self.mutable.remove(&name.to_string());
            self.env.declare(name.to_string(), Some(operand));
        }
        true
    }

    /// `g_grad(x).0`, `g_grad(x).1`, `g_grad(x, y).1.0`: `None` when `field` is not of that
    /// form.
    pub(super) fn nested_field(&mut self, field: &syn::ExprField) -> Option<Operand> {
        let index = |member: &syn::Member| match member {
            syn::Member::Unnamed(index) => Some(index.index as usize),
            syn::Member::Named(_) => None,
        };
        let (call, whole, part) = match self.nested_call(&field.base) {
            Some((call, jvp)) => {
                let part = match (index(&field.member)?, jvp) {
                    (k @ (0 | 1), true) => Part::Jvp(k),
                    (0, false) => Part::Value,
                    (1, false) => Part::Gradient(None),
                    _ => return None,
                };
                (call, &*field.base, part)
            }
            None => {
                let Expr::Field(inner) = strip_parens(&field.base) else {
                    return None;
                };
                let (call, false) = self.nested_call(&inner.base)? else {
                    return None;
                };
                if index(&inner.member)? != 1 {
                    return None;
                }
                (
                    call,
                    &*inner.base,
                    Part::Gradient(Some(index(&field.member)?)),
                )
            }
        };
        self.nested_parts(call, whole, &[part]).pop()
    }

    /// The parts of `g_grad(args…)`'s result, each a node; the arguments lowered once.
    fn nested_parts(&mut self, call: &syn::ExprCall, whole: &Expr, parts: &[Part]) -> Vec<Operand> {
        let Expr::Path(func) = strip_parens(&call.func) else {
            return vec![Operand::Poison; parts.len()];
        };
        let args = call
            .args
            .iter()
            .map(|arg| match self.mentions_var(arg) {
                true => self.whole_struct(arg).unwrap_or_else(|| self.expr(arg)),
                false => self.constant(arg),
            })
            .collect::<Vec<_>>();
        let arg_spans: Vec<_> = call.args.iter().map(expr_span).collect();
        let span = expr_span(whole);
        parts
            .iter()
            .map(|part| {
                let mut path = func.path.clone();
                if let Some(last) = path.segments.last_mut() {
                    let name = last.ident.to_string();
                    let suffix = match part {
                        Part::Jvp(_) => "_jvp".len(),
                        _ => "_grad".len(),
                    };
                    let function = format_ident!(
                        "{}",
                        &name[..name.len() - suffix],
                        span = last.ident.span()
                    );
                    let nested = syn::PathArguments::AngleBracketed(
                        syn::parse_quote_spanned!(last.ident.span()=> ::<::autodiff::__private::Nested>),
                    );
                    match part {
                        Part::Value => last.ident = function,
                        Part::Gradient(entry) => {
                            let at = last.ident.span();
                            last.ident = crate::nested::gradient_name(&function, *entry, at);
                            last.arguments = nested;
                        }
                        Part::Jvp(k) => {
                            let at = last.ident.span();
                            last.ident = crate::nested::jvp_part_name(&function, *k, at);
                            last.arguments = nested;
                        }
                    }
                }
                let op = Op::Call {
                    path,
                    arg_spans: arg_spans.clone(),
                };
                self.apply(op, args.clone(), span)
            })
            .collect()
    }
}
