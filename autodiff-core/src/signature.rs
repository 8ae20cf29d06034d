//! The function's signature: which parameters are differentiated (the inputs v₍₁₋ₙ₎ … v₀),
//! which are constants, and what the generated functions' parameters and result look like.
//! Computed even when something is wrong, so that the stubs emitted beside the errors have
//! the right types and callers see no second wave of errors.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, ToTokens};
use syn::{FnArg, Ident, ItemFn, Pat, ReturnType, Type, Visibility};

use crate::attr::Args;
use crate::diag::Diagnostics;
use crate::text::pretty;

pub struct Param {
    /// The name in the generated functions: the user's, without `mut`, or fresh for `_`.
    pub ident: Ident,
    pub ty: Type,
    pub differentiated: bool,
    /// A struct of parameters (`p: &Mlp`) rather than a float or an array.
    pub structured: bool,
    /// Declared `mut x`: the body may mutate it (a constant's mutation is kept as written).
    pub mutable: bool,
}

pub struct Signature {
    pub vis: Visibility,
    pub name: Ident,
    pub params: Vec<Param>,
    /// The declared result type (`()` when none is declared).
    pub ret: Type,
    pub output: Output,
    /// The original's `cfg` and `allow` attributes, which the generated functions share: they
    /// exist where it exists and take the lints it allows (say, its number of arguments).
    pub inherited: Vec<syn::Attribute>,
    /// The original's lifetime parameters and `where` clause, which the generated functions
    /// declare too.
    pub generics: syn::Generics,
    /// An associated function of an `impl` marked `#[differentiable]` (else a free function):
    /// how the generated functions name each other.
    pub in_impl: bool,
}

/// The kind of value a function returns.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// `f64` or `f32`: the function has a gradient.
    Scalar,
    /// An owned array of floats.
    Array,
    /// A tuple of that many floats and arrays.
    Tuple(usize),
}

impl Signature {
    pub fn differentiated(&self) -> impl Iterator<Item = &Param> {
        self.params.iter().filter(|p| p.differentiated)
    }

    /// The positions of the differentiated parameters among all of them.
    pub fn differentiated_positions(&self) -> Vec<usize> {
        (0..self.params.len())
            .filter(|&k| self.params[k].differentiated)
            .collect()
    }

    /// `vis fn name<'a>`, and the `where` clause, as the generated function `name` declares
    /// them, with the original's `cfg` and `allow` attributes.
    pub fn declare(&self, name: &Ident) -> (TokenStream, TokenStream) {
        let (vis, inherited) = (&self.vis, &self.inherited);
        let (generics, _, where_clause) = self.generics.split_for_impl();
        (
            quote!(#(#inherited)* #vis fn #name #generics),
            quote!(#where_clause),
        )
    }

    /// A call of the generated function `{name}_{suffix}` (`f_vjp`) with the original's
    /// parameters and then `extra`: `f_vjp(…)` beside a free function, `Self::f_vjp(…)` in an
    /// `impl`, spanned at the original's name (where rustc's "cannot find `f_vjp`" points when
    /// an associated function's `impl` lacks `#[differentiable]`). The one copy of each sweep
    /// lives in `f_vjp` and `f_jvp`; the other generated functions call them.
    pub fn sibling_call(
        &self,
        suffix: &str,
        extra: impl IntoIterator<Item = TokenStream>,
    ) -> TokenStream {
        let path = self.sibling(suffix);
        let args = self.params.iter().map(|p| p.ident.to_token_stream());
        let args = args.chain(extra);
        quote!(#path(#(#args),*))
    }

    /// The path of the generated function `{name}_{suffix}`, as [`Signature::sibling_call`]
    /// calls it.
    pub fn sibling(&self, suffix: &str) -> TokenStream {
        let name = format_ident!("{}_{}", self.name, suffix, span = self.name.span());
        match self.in_impl {
            true => quote!(Self::#name),
            false => quote!(#name),
        }
    }

    /// The array parameters whose elements decide whether `f_vjp` and `f_jvp` run on rayon's
    /// pool (`autodiff::__private::on_pool`), when there are some and every parameter can be
    /// moved to another thread as it is: floats, arrays of floats and integers, none `mut`,
    /// no type parameters. (A struct of parameters or a user's type might not be `Send`.)
    pub fn pool_arrays(&self) -> Option<Vec<&Ident>> {
        if self.generics.type_params().next().is_some() {
            return None;
        }
        let mut arrays = Vec::new();
        for param in &self.params {
            if array_of_floats(&param.ty).is_some() && !param.mutable {
                arrays.push(&param.ident);
            } else if param.mutable || !(is_float(&param.ty) || is_plain_number(&param.ty)) {
                return None;
            }
        }
        (!arrays.is_empty()).then_some(arrays)
    }

    /// The original's parameters as the generated functions declare them, `x: f64`.
    pub fn param_list(&self) -> impl Iterator<Item = TokenStream> + '_ {
        self.params.iter().map(|p| {
            let (ident, ty) = (&p.ident, &p.ty);
            quote!(#ident: #ty)
        })
    }
}

/// Whether `ty` is written `f32` or `f64`, the scalar types that can be differentiated.
pub fn is_float(ty: &Type) -> bool {
    match ty {
        Type::Path(path) if path.qself.is_none() => {
            path.path.is_ident("f64") || path.path.is_ident("f32")
        }
        Type::Group(group) => is_float(&group.elem),
        Type::Paren(paren) => is_float(&paren.elem),
        _ => false,
    }
}

/// Whether `ty` is written as an integer type or `bool`.
fn is_plain_number(ty: &Type) -> bool {
    match ty {
        Type::Path(path) if path.qself.is_none() => path
            .path
            .get_ident()
            .is_some_and(|ident| PLAIN_NUMBERS.contains(&ident.to_string().as_str())),
        _ => false,
    }
}

/// The `ndarray` array types a parameter may have, recognized by name.
const OWNED_ARRAYS: &[&str] = &[
    "Array", "Array0", "Array1", "Array2", "Array3", "Array4", "Array5", "Array6", "ArrayD",
];
const VIEWS: &[&str] = &[
    "ArrayView",
    "ArrayView0",
    "ArrayView1",
    "ArrayView2",
    "ArrayView3",
    "ArrayView4",
    "ArrayView5",
    "ArrayView6",
    "ArrayViewD",
];

/// The last path segment of `ty` behind any `&`, with its element type if it is an array of
/// `f64` or `f32` (`&Array2<f64>`, `ArrayView1<'_, f32>`, `Array<f64, Ix2>`).
fn array_of_floats(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Reference(reference) if reference.mutability.is_none() => {
            array_of_floats(&reference.elem)
        }
        Type::Group(group) => array_of_floats(&group.elem),
        Type::Paren(paren) => array_of_floats(&paren.elem),
        Type::Path(path) if path.qself.is_none() => {
            let last = path.path.segments.last()?;
            let name = last.ident.to_string();
            if !OWNED_ARRAYS.contains(&name.as_str()) && !VIEWS.contains(&name.as_str()) {
                return None;
            }
            let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
                return None;
            };
            let elem = args.args.iter().find_map(|arg| match arg {
                syn::GenericArgument::Type(ty) => Some(ty),
                _ => None,
            })?;
            is_float(elem).then_some(last)
        }
        _ => None,
    }
}

/// Whether `ty` is an `ndarray` view of floats (`ArrayView2<f64>`), behind any `&`.
pub fn is_view(ty: &Type) -> bool {
    array_of_floats(ty).is_some_and(|segment| VIEWS.contains(&segment.ident.to_string().as_str()))
}

impl Param {
    /// Whether the parameter can be differentiated: a float, an array of floats, or a struct
    /// of parameters.
    fn is_differentiable(&self) -> bool {
        is_float(&self.ty) || array_of_floats(&self.ty).is_some() || self.structured
    }
}

/// The integer types and `bool`.
const PLAIN_NUMBERS: &[&str] = &[
    "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize", "bool",
];

/// Other types that hold no parameters, recognized by their last path segment.
const CONSTANT_TYPES: &[&str] = &["char", "str", "String", "Vec", "Option", "Axis", "Range"];

/// The struct a parameter of type `ty` names, behind any `&`, if it may be a struct of
/// parameters (`&Mlp`, `Model<f64>`): a path type that is not a float, an array or a type
/// known to hold no parameters. Whether it implements `Parameters` is the compiler's check.
fn parameter_struct(ty: &Type) -> Option<&Type> {
    match ty {
        Type::Reference(reference) if reference.mutability.is_none() => {
            parameter_struct(&reference.elem)
        }
        Type::Group(group) => parameter_struct(&group.elem),
        Type::Paren(paren) => parameter_struct(&paren.elem),
        Type::Path(path) if path.qself.is_none() => {
            let last = path.path.segments.last()?.ident.to_string();
            let known = PLAIN_NUMBERS.contains(&last.as_str())
                || CONSTANT_TYPES.contains(&last.as_str())
                || OWNED_ARRAYS.contains(&last.as_str())
                || VIEWS.contains(&last.as_str())
                || is_float(ty);
            (!known).then_some(ty)
        }
        _ => None,
    }
}

/// The names whose fields the body reads: `p` for `p.w`, `p.layer.b` or `(p).w`.
fn field_roots(block: &syn::Block) -> std::collections::HashSet<String> {
    struct Roots(std::collections::HashSet<String>);
    impl<'ast> syn::visit::Visit<'ast> for Roots {
        fn visit_expr_field(&mut self, field: &'ast syn::ExprField) {
            let mut base = &*field.base;
            loop {
                match base {
                    syn::Expr::Field(inner) => base = &inner.base,
                    syn::Expr::Paren(paren) => base = &paren.expr,
                    syn::Expr::Group(group) => base = &group.expr,
                    _ => break,
                }
            }
            if let syn::Expr::Path(path) = base {
                if let Some(ident) = path.path.get_ident() {
                    self.0.insert(ident.to_string());
                }
            }
            syn::visit::visit_expr_field(self, field);
        }
    }
    let mut roots = Roots(Default::default());
    syn::visit::Visit::visit_block(&mut roots, block);
    roots.0
}

/// The type of a differentiated parameter's gradient entry: the parameter's owned type
/// (`f64` for `f64`, `Array2<f64>` for `&Array2<f64>` or `ArrayView2<f64>`).
pub fn gradient_type(ty: &Type) -> TokenStream {
    let Some(segment) = array_of_floats(ty) else {
        // A struct's gradient is a struct of the same type.
        return parameter_struct(ty).unwrap_or(ty).to_token_stream();
    };
    let name = segment.ident.to_string();
    let owned = match VIEWS.iter().position(|view| *view == name) {
        // `ArrayViewN<'a, T>` owns as `ArrayN<T>`, named through the facade.
        Some(k) => Ident::new(OWNED_ARRAYS[k], segment.ident.span()),
        None => segment.ident.clone(),
    };
    let syn::PathArguments::AngleBracketed(args) = &segment.arguments else {
        unreachable!("array_of_floats checked the generic arguments");
    };
    let args = args
        .args
        .iter()
        .filter(|arg| !matches!(arg, syn::GenericArgument::Lifetime(_)));
    quote!(::autodiff::ndarray::#owned<#(#args),*>)
}

pub fn analyze(func: &ItemFn, args: &Args, diag: &mut Diagnostics) -> Signature {
    let sig = &func.sig;
    let name = &sig.ident;
    let not_supported = |what: &str| {
        format!(
            "{what} cannot be #[differentiable]; write a plain `fn` of `f64` or `f32` parameters"
        )
    };
    if let Some(token) = &sig.constness {
        diag.error(token, not_supported("a `const fn`"));
    }
    if let Some(token) = &sig.asyncness {
        diag.error(token, not_supported("an `async fn`"));
    }
    if let Some(token) = &sig.unsafety {
        diag.error(token, not_supported("an `unsafe fn`"));
    }
    if let Some(abi) = &sig.abi {
        diag.error(abi, not_supported("an `extern` function"));
    }
    // Lifetimes (`ArrayView1<'a, f64>`) and `where` clauses are kept; types and constants
    // would make every rule generic.
    let generic_types = sig
        .generics
        .params
        .iter()
        .any(|param| !matches!(param, syn::GenericParam::Lifetime(_)));
    if generic_types {
        diag.error(
            &sig.generics,
            "generic #[differentiable] functions are not supported yet; write the function for `f64` or `f32`",
        );
    }
    if let Some(variadic) = &sig.variadic {
        diag.error(variadic, not_supported("a variadic function"));
    }

    // A parameter of a generic type is not a struct of parameters (and is reported above).
    // A parameter of a type the macro does not know is a struct of parameters only where the
    // body reads its fields (`p.w`) or `wrt` names it; otherwise it stays a constant, as an
    // enum, a map or a type alias of the caller's would.
    let field_roots = field_roots(&func.block);
    let named_in_wrt = |ident: &Ident| args.wrt.as_ref().is_some_and(|names| names.contains(ident));
    let generic = |ty: &Type| {
        let Type::Path(path) = ty else { return false };
        sig.generics
            .type_params()
            .any(|param| path.path.is_ident(&param.ident))
    };
    let mut params = Vec::new();
    for (position, arg) in sig.inputs.iter().enumerate() {
        let typed = match arg {
            FnArg::Typed(typed) => typed,
            FnArg::Receiver(receiver) => {
                diag.error(
                    receiver,
                    "methods taking `self` cannot be #[differentiable] yet; write a free function that takes the fields it needs",
                );
                continue;
            }
        };
        let mutable = matches!(&*typed.pat, Pat::Ident(pat) if pat.mutability.is_some());
        let ident = match &*typed.pat {
            Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => pat.ident.clone(),
            Pat::Wild(_) => format_ident!("__arg{}", position, span = Span::mixed_site()),
            other => {
                diag.error(
                    other,
                    "only plain parameter names are supported (`x: f64`); destructure inside the body instead",
                );
                format_ident!("__arg{}", position, span = Span::mixed_site())
            }
        };
        if let Type::Reference(reference) = &*typed.ty {
            if reference.mutability.is_some() {
                diag.error(
                    &typed.ty,
                    format!(
                        "`&mut` parameter `{ident}`: a #[differentiable] function must be pure; take the value and return the result instead"
                    ),
                );
            }
        }
        let structured = parameter_struct(&typed.ty).is_some_and(|ty| !generic(ty))
            && (field_roots.contains(&ident.to_string()) || named_in_wrt(&ident));
        params.push(Param {
            ident,
            mutable,
            structured,
            ty: (*typed.ty).clone(),
            differentiated: false,
        });
    }

    match &args.wrt {
        Some(names) => {
            for wanted in names {
                match params.iter_mut().find(|p| p.ident == *wanted) {
                    None => diag.error(
                        wanted,
                        format!("`wrt` names `{wanted}`, which is not a parameter of `{name}`"),
                    ),
                    Some(param) if !param.is_differentiable() => diag.error(
                        wanted,
                        format!(
                            "cannot differentiate with respect to `{wanted}`: its type `{}` is not `f64`, `f32`, an ndarray array of them or a struct of parameters",
                            pretty(&param.ty)
                        ),
                    ),
                    Some(param) => param.differentiated = true,
                }
            }
        }
        None => {
            for param in &mut params {
                param.differentiated = param.is_differentiable();
            }
            if params.iter().all(|p| !p.differentiated) {
                // A struct the body never reads a field of: say how to make it count.
                let hint = params
                    .iter()
                    .find(|p| parameter_struct(&p.ty).is_some())
                    .map(|p| format!("; to differentiate the struct `{0}`, read its fields in the body (`{0}.w`) or name it in `wrt({0})`", p.ident))
                    .unwrap_or_default();
                diag.error(
                    name,
                    format!("`{name}` has no parameter to differentiate: #[differentiable] differentiates parameters of type `f64`, `f32`, ndarray arrays of them (`&Array2<f64>`) and structs with `#[derive(Parameters)]`{hint}"),
                );
            }
        }
    }

    let (ret, output) = match &sig.output {
        ReturnType::Type(_, ty) => {
            let output = output_kind(ty).unwrap_or_else(|| {
                diag.error(
                    ty,
                    format!(
                        "a #[differentiable] function must return `f64` or `f32`, an ndarray array of them (`Array1<f64>`) or a tuple of those, not `{}`",
                        pretty(ty)
                    ),
                );
                Output::Scalar
            });
            ((**ty).clone(), output)
        }
        ReturnType::Default => {
            diag.error(
                name,
                format!("`{name}` returns nothing: a #[differentiable] function must return its result, a `f64` or `f32`, an array of them or a tuple of those"),
            );
            (syn::parse_quote!(()), Output::Scalar)
        }
    };

    let inherited = func
        .attrs
        .iter()
        .filter(|attr| {
            ["cfg", "cfg_attr", "allow"]
                .iter()
                .any(|name| attr.path().is_ident(name))
        })
        // An inner `#![allow(..)]` of the body, written outside the generated functions.
        .map(|attr| syn::Attribute {
            style: syn::AttrStyle::Outer,
            ..attr.clone()
        })
        .collect();
    Signature {
        inherited,
        generics: sig.generics.clone(),
        vis: func.vis.clone(),
        name: name.clone(),
        params,
        ret,
        output,
        in_impl: args.in_impl,
    }
}

impl Signature {
    /// Whether each element of the result (one, or one per tuple element) is an array.
    pub fn array_outputs(&self) -> Vec<bool> {
        fn elements(ty: &Type) -> Vec<bool> {
            match ty {
                Type::Group(group) => elements(&group.elem),
                Type::Paren(paren) => elements(&paren.elem),
                Type::Tuple(tuple) => tuple.elems.iter().map(owned_array_of_floats).collect(),
                _ => vec![owned_array_of_floats(ty)],
            }
        }
        elements(&self.ret)
    }
}

/// What `ty` returns, if a #[differentiable] function may return it.
fn output_kind(ty: &Type) -> Option<Output> {
    let value = |ty: &Type| is_float(ty) || owned_array_of_floats(ty);
    match ty {
        Type::Group(group) => output_kind(&group.elem),
        Type::Paren(paren) => output_kind(&paren.elem),
        Type::Tuple(tuple) if tuple.elems.len() >= 2 && tuple.elems.iter().all(value) => {
            Some(Output::Tuple(tuple.elems.len()))
        }
        _ if is_float(ty) => Some(Output::Scalar),
        _ if owned_array_of_floats(ty) => Some(Output::Array),
        _ => None,
    }
}

/// An owned array of floats, such as `Array1<f64>`: what a function can return.
fn owned_array_of_floats(ty: &Type) -> bool {
    !matches!(ty, Type::Reference(_))
        && array_of_floats(ty).is_some_and(|s| OWNED_ARRAYS.contains(&s.ident.to_string().as_str()))
}
