//! The attribute's arguments: `#[differentiable]` or `#[differentiable(wrt(a, b))]`.

use syn::meta::ParseNestedMeta;
use syn::Ident;

#[derive(Default)]
pub struct Args {
    /// The parameters to differentiate, when `wrt(...)` names them; otherwise every `f32` /
    /// `f64` parameter.
    pub wrt: Option<Vec<Ident>>,
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
        } else {
            Err(meta.error(
                "unknown argument of #[differentiable]; the supported one is `wrt(param, ...)`",
            ))
        }
    }
}
