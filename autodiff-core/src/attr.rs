//! The attribute's arguments: `#[differentiable]`, `#[differentiable(wrt(a, b))]`,
//! `#[differentiable(hessian)]`, and custom rules `#[differentiable(vjp = rule, jvp = rule)]`.

use syn::meta::ParseNestedMeta;
use syn::Ident;

#[derive(Default)]
pub struct Args {
    /// The parameters to differentiate, when `wrt(...)` names them; otherwise every `f32` /
    /// `f64` parameter.
    pub wrt: Option<Vec<Ident>>,
    /// `vjp = path`: the user's reverse-mode rule, making the function a primitive whose body
    /// the macro does not read.
    pub vjp: Option<syn::Path>,
    /// `jvp = path`: the user's forward-mode rule.
    pub jvp: Option<syn::Path>,
    /// `hessian`, where it is written: also emit `f_hessian`, `f_hvp` and
    /// `f_hessian_diagonal`.
    pub hessian: Option<proc_macro2::Span>,
    /// Set by `#[differentiable]` on the `impl` block holding the function: the generated
    /// functions are associated functions, and name each other `Self::f_vjp`.
    pub in_impl: bool,
}

impl Args {
    /// Whether the function is a primitive with the user's own rules.
    pub fn custom(&self) -> bool {
        self.vjp.is_some() || self.jvp.is_some()
    }
}

impl Args {
    pub fn parse_meta(&mut self, meta: ParseNestedMeta) -> syn::Result<()> {
        if meta.path.is_ident("wrt") {
            if self.wrt.is_some() {
                return Err(
                    meta.error("`wrt` is given twice; name every parameter in one `wrt(...)`")
                );
            }
            let mut names = Vec::new();
            meta.parse_nested_meta(|inner| match inner.path.get_ident() {
                Some(ident) if !names.contains(ident) => {
                    names.push(ident.clone());
                    Ok(())
                }
                Some(ident) => Err(inner.error(format!("`{ident}` is named twice in `wrt`"))),
                None => Err(inner.error("expected a parameter name in `wrt(...)`")),
            })?;
            if names.is_empty() {
                return Err(
                    meta.error("`wrt()` names no parameter; name at least one, as in `wrt(x)`")
                );
            }
            self.wrt = Some(names);
            Ok(())
        } else if meta.path.is_ident("vjp") || meta.path.is_ident("jvp") {
            let rule = meta.value()?.parse::<syn::Path>()?;
            // `crate`, `self`, `super` alone name a module, not a function to call.
            let last = rule
                .segments
                .last()
                .map(|segment| segment.ident.to_string());
            if matches!(last.as_deref(), Some("crate" | "self" | "super" | "Self")) {
                return Err(syn::Error::new_spanned(
                    &rule,
                    "a custom rule must name a function (`vjp = my_rule`, `vjp = crate::rules::my_rule`), not a module",
                ));
            }
            let slot = match meta.path.is_ident("vjp") {
                true => &mut self.vjp,
                false => &mut self.jvp,
            };
            if slot.replace(rule).is_some() {
                return Err(meta.error("this rule is given twice"));
            }
            Ok(())
        } else if meta.path.is_ident("hessian") {
            let span = syn::spanned::Spanned::span(&meta.path);
            if self.hessian.replace(span).is_some() {
                return Err(meta.error("`hessian` is given twice"));
            }
            Ok(())
        } else if meta.path.is_ident("hvp") || meta.path.is_ident("hessian_diagonal") {
            Err(meta.error(
                "write `hessian`: it generates `f_hvp` and `f_hessian_diagonal` beside `f_hessian`",
            ))
        } else {
            Err(meta.error(
                "unknown argument of #[differentiable]; the supported ones are `wrt(param, ...)`, `hessian`, and `vjp = rule, jvp = rule` for custom rules",
            ))
        }
    }
}
