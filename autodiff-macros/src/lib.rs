//! The `#[differentiable]` attribute: source → SSA → derivative programs.
//!
//! `parse → lower → emit`, one module per step; only this file touches `proc_macro`. On any
//! error the user's function is still emitted unchanged, with every error and a stub of each
//! derivative function, so callers see the real problem and nothing else.

mod attr;
mod diag;
mod ir;
mod lower;
mod reverse;
mod rules;
mod signature;
mod trace_doc;

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::Parser;
use syn::ItemFn;

/// Generates `f_grad(args…) -> (value, gradient)` beside the function `f`.
///
/// See the `autodiff` crate for the contract and the supported syntax.
#[proc_macro_attribute]
pub fn differentiable(
    attr: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    expand(attr.into(), item.into()).into()
}

fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(_) => {
            let error = syn::Error::new_spanned(
                &item,
                "#[differentiable] applies to a function: `fn f(x: f64, ...) -> f64 { ... }`",
            )
            .to_compile_error();
            return quote!(#item #error);
        }
    };

    let mut diag = diag::Diagnostics::default();
    let mut args = attr::Args::default();
    if let Err(error) = syn::meta::parser(|meta| args.parse_meta(meta)).parse2(attr) {
        diag.push(error);
    }
    let sig = signature::analyze(&func, &args, &mut diag);
    let program = lower::lower(&sig, &func.block, &mut diag);

    if diag.is_empty() {
        let grad = reverse::emit_grad(&sig, &program);
        quote!(#func #grad)
    } else {
        let errors = diag.to_compile_errors();
        let stub = reverse::grad_signature(&sig);
        quote! {
            #func
            #errors
            #[doc(hidden)]
            #[allow(unused_variables)]
            #stub {
                ::core::unimplemented!("#[differentiable] reported errors")
            }
        }
    }
}
