//! Issue 11, "No panic, ever": any token stream given to `#[differentiable]` or
//! `#[derive(Parameters)]` either expands or yields spanned compile errors.
//!
//! The corpus is every `#[differentiable]` function and every `#[derive(Parameters)]` item of
//! the project's tests (with the compile-fail cases of `tests/ui`), examples, benches and
//! README, read at test time. Proptest mutates them (tokens at any depth, statements, types,
//! patterns, identifiers, literals, expressions wrapped in unsupported constructs, the
//! attribute's arguments) and also builds random token streams from a small grammar. For every
//! input:
//!
//! - the entry point does not panic;
//! - where the item is Rust (it parses as items, as anything rustc hands an attribute does),
//!   the output parses as a Rust file; otherwise the output carries a `compile_error!`;
//! - where the item is a function, the output contains it unchanged, and the function's `_vjp`
//!   and `_jvp` (generated, or stubs beside the errors) unless it is a method.
//!
//! Random programs of supported operations check, besides, that valid input expands without
//! errors to every derivative function.
//!
//! By default: 1,000 mutated functions, 500 mutated structs, 500 random token streams and 150
//! random programs, about 8 s in debug. `PROPTEST_CASES` sets every count, to widen the search:
//! `PROPTEST_CASES=20000 cargo test -p autodiff-core --test no_panic --release` (about a minute).
//! The cargo-fuzz targets in `fuzz/` are the open-ended complement.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use proc_macro2::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{FileFailurePersistence, TestCaseError};
use quote::{quote, ToTokens};
use syn::ext::IdentExt;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;

// ---------------------------------------------------------------------------------------------
// The corpus
// ---------------------------------------------------------------------------------------------

/// One input of the macro: the attribute's arguments and the item, and where it comes from.
#[derive(Clone)]
struct Seed {
    origin: String,
    attr: TokenStream,
    item: TokenStream,
}

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} #[({})] {}", self.origin, self.attr, self.item)
    }
}

struct Corpus {
    /// Items with `#[differentiable(..)]`, the attribute removed and its arguments kept.
    functions: Vec<Seed>,
    /// Items with `#[derive(.., Parameters, ..)]`.
    structs: Vec<Seed>,
}

fn corpus() -> &'static Corpus {
    // Token streams are not `Send`: one corpus per test thread.
    thread_local! {
        static CORPUS: &'static Corpus = Box::leak(Box::new(load_corpus()));
    }
    CORPUS.with(|corpus| *corpus)
}

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
}

fn load_corpus() -> Corpus {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["tests", "examples", "benches"] {
        rust_files(&root.join(dir), &mut files);
    }
    let mut collector = Collector {
        origin: String::new(),
        functions: Vec::new(),
        structs: Vec::new(),
    };
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let file = syn::parse_file(&text)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
        collector.origin = path.strip_prefix(&root).unwrap().display().to_string();
        collector.visit_file(&file);
    }
    // The README's Rust blocks, as the body of a function (they mix items and statements).
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for (k, block) in readme.split("```").enumerate().filter(|(k, _)| k % 2 == 1) {
        let Some(code) = block.strip_prefix("rust\n") else {
            continue;
        };
        let origin = format!("README.md block {}", k / 2 + 1);
        let file = syn::parse_file(&format!("fn __readme() {{ {code} }}"))
            .unwrap_or_else(|e| panic!("{origin} does not parse: {e}\n{code}"));
        collector.origin = origin;
        collector.visit_file(&file);
    }
    Corpus {
        functions: collector.functions,
        structs: collector.structs,
    }
}

struct Collector {
    origin: String,
    functions: Vec<Seed>,
    structs: Vec<Seed>,
}

fn attrs_mut(item: &mut syn::Item) -> Option<&mut Vec<syn::Attribute>> {
    use syn::Item::*;
    Some(match item {
        Const(i) => &mut i.attrs,
        Enum(i) => &mut i.attrs,
        ExternCrate(i) => &mut i.attrs,
        Fn(i) => &mut i.attrs,
        ForeignMod(i) => &mut i.attrs,
        Impl(i) => &mut i.attrs,
        Macro(i) => &mut i.attrs,
        Mod(i) => &mut i.attrs,
        Static(i) => &mut i.attrs,
        Struct(i) => &mut i.attrs,
        Trait(i) => &mut i.attrs,
        TraitAlias(i) => &mut i.attrs,
        Type(i) => &mut i.attrs,
        Union(i) => &mut i.attrs,
        Use(i) => &mut i.attrs,
        _ => return None,
    })
}

fn is_differentiable(attr: &syn::Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "differentiable")
}

/// The arguments of `#[differentiable(..)]` as the attribute macro receives them.
fn attr_args(attr: &syn::Attribute) -> TokenStream {
    match &attr.meta {
        syn::Meta::Path(_) => TokenStream::new(),
        syn::Meta::List(list) => list.tokens.clone(),
        syn::Meta::NameValue(nv) => nv.value.to_token_stream(),
    }
}

fn derives_parameters(attr: &syn::Attribute) -> bool {
    attr.path().is_ident("derive")
        && attr
            .parse_args_with(
                syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
            )
            .is_ok_and(|paths| {
                paths
                    .iter()
                    .any(|p| p.segments.last().is_some_and(|s| s.ident == "Parameters"))
            })
}

/// What an item's attributes make it: `Some(Some(args))` under `#[differentiable(args)]`,
/// `Some(None)` under `#[derive(Parameters)]`; the attribute is removed, as the macro sees it.
fn strip(attrs: &mut Vec<syn::Attribute>) -> Option<Option<TokenStream>> {
    if let Some(k) = attrs.iter().position(is_differentiable) {
        return Some(Some(attr_args(&attrs.remove(k))));
    }
    if attrs.iter().any(derives_parameters) {
        attrs.retain(|a| !a.path().is_ident("derive"));
        return Some(None);
    }
    None
}

impl Collector {
    fn record(&mut self, kind: Option<TokenStream>, item: TokenStream) {
        let seed = Seed {
            origin: self.origin.clone(),
            attr: kind.clone().unwrap_or_default(),
            item,
        };
        match kind {
            Some(_) => self.functions.push(seed),
            None => self.structs.push(seed),
        }
    }
}

impl<'ast> Visit<'ast> for Collector {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let mut copy = item.clone();
        if let Some(kind) = attrs_mut(&mut copy).and_then(strip) {
            self.record(kind, copy.to_token_stream());
        }
        syn::visit::visit_item(self, item);
    }

    fn visit_impl_item_fn(&mut self, method: &'ast syn::ImplItemFn) {
        let mut copy = method.clone();
        if let Some(kind) = strip(&mut copy.attrs) {
            let syn::ImplItemFn {
                attrs,
                vis,
                sig,
                block,
                ..
            } = &copy;
            self.record(kind, quote!(#(#attrs)* #vis #sig #block));
        }
        syn::visit::visit_impl_item_fn(self, method);
    }
}

// ---------------------------------------------------------------------------------------------
// The properties
// ---------------------------------------------------------------------------------------------

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

fn has_compile_error(tokens: &TokenStream) -> bool {
    tokens.clone().into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => ident == "compile_error",
        TokenTree::Group(group) => has_compile_error(&group.stream()),
        _ => false,
    })
}

/// Runs `#[differentiable(attr)] item` and checks the properties; the expansion on success.
fn check_differentiable(attr: &TokenStream, item: &TokenStream) -> Result<TokenStream, String> {
    let context = || format!("\n  attr: {attr}\n  item: {item}");
    let output = catch_unwind(AssertUnwindSafe(|| {
        autodiff_core::differentiable(attr.clone(), item.clone())
    }))
    .map_err(|payload| format!("panicked: {}{}", panic_message(&*payload), context()))?;
    let file = syn::parse2::<syn::File>(output.clone());
    let item_is_rust = syn::parse2::<syn::File>(item.clone()).is_ok();
    match &file {
        Err(error) if item_is_rust => {
            return Err(format!(
                "the expansion is not Rust ({error}){}\n  output: {output}",
                context()
            ))
        }
        Err(_) if !has_compile_error(&output) => {
            return Err(format!(
                "the expansion of a non-item is not an error{}\n  output: {output}",
                context()
            ))
        }
        _ => {}
    }
    if let Ok(func) = syn::parse2::<syn::ItemFn>(item.clone()) {
        let file = file.map_err(|e| format!("the expansion is not Rust ({e}){}", context()))?;
        // The original comes back unchanged but for `#[allow(dead_code)]` (calling only its
        // derivatives uses it).
        let unchanged = |f: &syn::ItemFn| {
            let mut f = f.clone();
            f.attrs
                .retain(|a| a.to_token_stream().to_string() != "# [allow (dead_code)]");
            f.to_token_stream().to_string()
        };
        let original = unchanged(&func);
        let fns: Vec<&syn::ItemFn> = file
            .items
            .iter()
            .filter_map(|item| match item {
                syn::Item::Fn(f) => Some(f),
                _ => None,
            })
            .collect();
        if !fns.iter().any(|f| unchanged(f) == original) {
            return Err(format!(
                "the expansion lost the original function{}\n  output: {output}",
                context()
            ));
        }
        // Nothing syn reads only as verbatim tokens (an item it does not model), and no name
        // defined twice: rustc would reject either.
        if let Some(item) = file
            .items
            .iter()
            .find(|item| matches!(item, syn::Item::Verbatim(_)))
        {
            return Err(format!(
                "the expansion has an item syn does not know: {}{}",
                item.to_token_stream(),
                context()
            ));
        }
        let mut names: Vec<String> = fns.iter().map(|f| f.sig.ident.to_string()).collect();
        names.sort();
        if let Some(twice) = names.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(format!(
                "the expansion defines `{}` twice{}\n  output: {output}",
                twice[0],
                context()
            ));
        }
        if func.sig.receiver().is_none() {
            for suffix in ["vjp", "jvp"] {
                let name = format!("{}_{suffix}", func.sig.ident.unraw());
                if !fns.iter().any(|f| f.sig.ident == name) {
                    return Err(format!(
                        "the expansion has no `{name}`{}\n  output: {output}",
                        context()
                    ));
                }
            }
        }
    }
    Ok(output)
}

/// Runs `#[derive(Parameters)] item` and checks the properties.
fn check_derive(item: &TokenStream) -> Result<TokenStream, String> {
    let context = || format!("\n  item: {item}");
    let output = catch_unwind(AssertUnwindSafe(|| {
        autodiff_core::derive_parameters(item.clone())
    }))
    .map_err(|payload| format!("panicked: {}{}", panic_message(&*payload), context()))?;
    let file = syn::parse2::<syn::File>(output.clone()).map_err(|e| {
        format!(
            "the expansion is not Rust ({e}){}\n  output: {output}",
            context()
        )
    })?;
    if !has_compile_error(&output) && !file.items.iter().any(|i| matches!(i, syn::Item::Impl(_))) {
        return Err(format!(
            "the expansion is neither an impl nor an error{}\n  output: {output}",
            context()
        ));
    }
    Ok(output)
}

// ---------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------

/// Names that are unknown, reserved, or those of the generated code's own items and locals.
const IDENTS: &[&str] = &[
    "zz",
    "v0",
    "__adj0",
    "grad",
    "f_grad",
    "f_vjp",
    "f_jvp",
    "x",
    "y",
    "w",
    "b",
    "p",
    "n",
    "self",
    "Self",
    "f64",
    "f32",
    "i32",
    "usize",
    "super",
    "crate",
    "sin",
    "exp",
    "ln",
    "powi",
    "powf",
    "sqrt",
    "tanh",
    "relu",
    "sigmoid",
    "softmax",
    "cross_entropy",
    "dot",
    "t",
    "sum",
    "mean",
    "mean_axis",
    "sum_axis",
    "unwrap",
    "expect",
    "Array1",
    "Array2",
    "ArrayView1",
    "Axis",
    "autodiff",
    "Constant",
    "__differentiable_vjp_f",
    "__v1",
    "__b0",
    "__c0",
    "__t1",
    "__arg0",
    "__g0",
    "__p1",
    "__z0",
    "__o0",
    "vjp0",
    "jvp0",
    "x_tangent",
    "core",
    "std",
    "wrt",
    "hessian",
    "vjp",
    "jvp",
    "fn",
    "let",
    "mut",
    "return",
    "if",
    "else",
    "loop",
    "as",
    "ref",
    "move",
    "unsafe",
    "async",
    "await",
    "dyn",
    "impl",
    "where",
    "pub",
    "const",
    "static",
    "struct",
    "type",
    "for",
    "in",
    "match",
    "while",
    "break",
    "continue",
    "_",
    "r#type",
    "r#fn",
    "r#x",
    "clone",
    "max",
    "min",
    "abs",
    "PI",
    "Parameters",
    "derive",
];

const LITERALS: &[&str] = &[
    "0",
    "1",
    "2",
    "1.0",
    "0.0",
    "-1.0",
    "2.5f32",
    "1e308",
    "1e-308",
    "\"s\"",
    "'c'",
    "b'x'",
    "b\"x\"",
    "1u8",
    "2i32",
    "-3i32",
    "0x10",
    "1_000.0",
    "3usize",
    "r\"raw\"",
    "1.0e10f64",
    "0b1",
    "255u8",
    "-0.0",
    "1.",
    "340282366920938463463374607431768211456",
    "99999999999999999999999999999999.0",
    "1f64",
    "1e",
];

const PUNCTS: &[char] = &[
    '+', '-', '*', '/', '%', '^', '!', '&', '|', '=', '<', '>', '@', '.', ',', ';', ':', '#', '$',
    '?', '~', '\'',
];

/// Wrong (and a few right) types for a parameter or the result.
const TYPES: &[&str] = &[
    "i32",
    "String",
    "Vec<f64>",
    "&mut f64",
    "(f64, f64)",
    "[f64; 3]",
    "impl Fn()",
    "T",
    "f32",
    "f64",
    "&f64",
    "&&f64",
    "Array1<f64>",
    "&Array2<f32>",
    "ArrayView1<'_, f64>",
    "ArrayView2<'a, f64>",
    "()",
    "(f64,)",
    "(f64, Array1<f64>)",
    "(f64, f64, f64)",
    "(f64, i32)",
    "Self",
    "&[f64]",
    "Option<f64>",
    "dyn Fn()",
    "fn(f64) -> f64",
    "_",
    "!",
    "Array1<i32>",
    "Array<f64, Ix2>",
    "ArrayD<f64>",
    "Array1",
    "Array1<>",
    "Array1<'a>",
    "Array2<Array1<f64>>",
    "&mut Array1<f64>",
    "Box<f64>",
    "Mlp",
    "&Mlp",
    "&mut Mlp",
    "Vec<Mlp>",
    "<f64 as Tr>::Out",
    "f64::Assoc",
    "ndarray::Array1<f64>",
    "(f64)",
    "&'static f64",
    "*const f64",
];

/// Patterns for a parameter.
const PATTERNS: &[&str] = &[
    "mut x",
    "_",
    "(a, b)",
    "ref x",
    "x @ _",
    "&x",
    "self",
    "x_tangent",
    "__v1",
    "r#type",
    "1",
    "Mlp { w, b }",
    "[a, b]",
    "..",
];

/// Unsupported (and a few supported) constructs to wrap an expression `E` in.
const WRAPPERS: &[&str] = &[
    "if E > 0.0 { E } else { -E }",
    "loop { break E; }",
    "(|| E)()",
    "{ E }",
    "unsafe { E }",
    "match E { _ => E }",
    "Some(E).unwrap()",
    "E as f32",
    "E as i32",
    "&mut E",
    "&E",
    "*E",
    "E?",
    "E.await",
    "[E][0]",
    "(E,)",
    "(E, E)",
    "(E, E, E)",
    "async { E }",
    "E..E",
    "!E",
    "format!(\"{}\", E)",
    "vec![E]",
    "E.into()",
    "E.clone()",
    "{ let _ = E; E }",
    "{ let y = E; y }",
    "{ let mut y = E; y += E; y }",
    "{ let y; y = E; y }",
    "E.sin().powi(2)",
    "E.max(E)",
    "E.powf(E)",
    "E.powi(E)",
    "E.powi(2)",
    "E.unknown()",
    "E.0",
    "E.w.b",
    "E[0]",
    "E.t()",
    "E.dot(&E)",
    "E.sum_axis(Axis(0))",
    "E.mean()",
    "E.mean().unwrap()",
    "E.mean_axis(Axis(0)).expect(\"e\")",
    "f64::sin(E)",
    "<f64>::exp(E)",
    "relu(E)",
    "softmax(&E, Axis(1))",
    "cross_entropy(&E, &E)",
    "E += E",
    "E = E",
    "E *= 2.0",
    "return E",
    "return",
    "break",
    "continue",
    "|x| x + E",
    "move || E",
    "E.mapv(|v| v * 2.0)",
    "std::f64::consts::PI * E",
    "(E)",
    "E * E * E",
    "-(-E)",
    "E == E",
    "E && E",
    "E << 2",
    "E % E",
    "E ^ E",
    "E / 0.0",
    "self.E",
    "Self::f(E)",
    "f(E)",
    "f_grad(E)",
    "g::<f64>(E)",
    "crate::m::g(E, E)",
    "E.iter().sum::<f64>()",
    "E.method::<T>()",
    "x.0.0",
    "(E).0.1",
    "const { E }",
    "E.field",
    "'a: loop { break 'a E; }",
    "while E > 0.0 { }",
    "for i in 0..3 { E; }",
    "{ E; }",
    "{ E }.sin()",
    "#[allow(unused)] E",
    "E as usize as f64",
    "[E; 3]",
    "(E as f64).exp()",
    "x.powi(E as i32)",
    "let _ = E",
    "E.sin(E)",
    "E.sin::<f64>()",
    "E.ln().ln().ln()",
    "todo!()",
    "panic!()",
];

/// Constructs the macro supports, to reach its emitters with unusual but valid bodies.
const VALID_WRAPPERS: &[&str] = &[
    "(E)",
    "E.sin()",
    "E * E",
    "-(-E)",
    "{ let y = E; y }",
    "{ let mut y = E; y *= 2.0; y }",
    "E.powi(2)",
    "E.powi(-1)",
    "&E",
    "E.exp().ln()",
    "E + 1.0",
    "2.0 / E",
    "E.tanh()",
    "E.sqrt()",
    "E.abs()",
    "E.max(1.0)",
    "{ let _ = E; E }",
    "{ use std::f64::consts::PI; E * PI }",
    "{ const K: f64 = 2.0; E * K }",
    "E.clone()",
    "(E, E)",
    "E.sum()",
    "E.t()",
    "E.mapv(f64::exp)",
];

/// Attributes of the function, outer or (in the body) inner.
const ATTRIBUTES: &[&str] = &[
    "#[inline]",
    "#[cfg(test)]",
    "#[cfg_attr(test, allow(unused))]",
    "#[allow(unused)]",
    "#![allow(unused)]",
    "#![cfg(test)]",
    "#![cfg_attr(test, allow(unused))]",
    "#![inline]",
    "#[doc = \"d\"]",
    "#![doc = \"d\"]",
    "#[must_use]",
    "#[differentiable]",
    "#[differentiable(wrt(x))]",
    "#[deprecated]",
    "#[test]",
    "#[no_mangle]",
    "#[allow]",
    "#[cfg]",
    "#[cfg_attr]",
    "#[allow = \"x\"]",
    "#[path::to::attr(1 + 2)]",
];

/// Arguments of the attribute.
const ATTRS: &[&str] = &[
    "",
    "wrt(x)",
    "wrt(x, y)",
    "wrt(w, b)",
    "wrt(p)",
    "wrt(zz)",
    "wrt()",
    "wrt",
    "wrt = x",
    "wrt(x) wrt(x)",
    "wrt(x), wrt(x)",
    "wrt(x, x)",
    "wrt(x.y)",
    "wrt(1)",
    "wrt(self)",
    "wrt(r#type)",
    "wrt(__arg0)",
    "hessian",
    "hessian, hessian",
    "hessian = 1",
    "hessian(x)",
    "vjp = r, jvp = s",
    "vjp = r",
    "jvp = s",
    "vjp",
    "vjp = 1",
    "vjp = ::a::b::<T>",
    "vjp = f_vjp, jvp = f_jvp",
    "vjp = f, jvp = f",
    "vjp = r, vjp = r",
    "wrt(x), hessian",
    "hessian, wrt(x)",
    "wrt(x), vjp = r, jvp = s",
    "hessian, vjp = r, jvp = s",
    ",",
    ",,",
    "wrt(x),",
    "= =",
    "#",
    "differentiable",
    "wrt(x); hessian",
    "wrt[x]",
    "wrt{x}",
    "r#wrt(x)",
    "crate::wrt(x)",
    "1 + 2",
    "\"hessian\"",
];

/// A random token tree from a small grammar of punctuation, identifiers, literals and groups.
#[derive(Clone, Debug)]
enum RandTok {
    Ident(&'static str),
    Punct(char, bool),
    Literal(&'static str),
    Group(u8, Vec<RandTok>),
}

fn rand_tok() -> impl Strategy<Value = RandTok> {
    let leaf = prop_oneof![
        4 => select(IDENTS).prop_map(RandTok::Ident),
        4 => (select(PUNCTS), any::<bool>()).prop_map(|(c, joint)| RandTok::Punct(c, joint)),
        1 => select(LITERALS).prop_map(RandTok::Literal),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        (0u8..4, prop::collection::vec(inner, 0..6)).prop_map(|(d, v)| RandTok::Group(d, v))
    })
}

fn ident(name: &str) -> Ident {
    match name.strip_prefix("r#") {
        Some(raw) => Ident::new_raw(raw, Span::call_site()),
        None => Ident::new(name, Span::call_site()),
    }
}

fn literal(text: &str) -> TokenTree {
    match Literal::from_str(text) {
        Ok(lit) => lit.into(),
        // `1e` and friends: as close as a token stream can say it.
        Err(_) => TokenStream::from_str(text)
            .ok()
            .and_then(|s| s.into_iter().next())
            .unwrap_or_else(|| Literal::u8_suffixed(0).into()),
    }
}

fn rand_tokens(toks: &[RandTok]) -> TokenStream {
    toks.iter()
        .map(|tok| -> TokenTree {
            match tok {
                RandTok::Ident(name) => ident(name).into(),
                RandTok::Punct(c, joint) => {
                    let spacing = match joint {
                        true => Spacing::Joint,
                        false => Spacing::Alone,
                    };
                    Punct::new(*c, spacing).into()
                }
                RandTok::Literal(text) => literal(text),
                RandTok::Group(d, inner) => {
                    let delimiter = [
                        Delimiter::Parenthesis,
                        Delimiter::Brace,
                        Delimiter::Bracket,
                        Delimiter::None,
                    ][*d as usize % 4];
                    Group::new(delimiter, rand_tokens(inner)).into()
                }
            }
        })
        .collect()
}

/// A position in a sequence of any length: `Pick(k).index(n)` is `k · n / 2⁶⁴`, shrinking to
/// the first.
#[derive(Clone, Copy, Debug)]
struct Pick(u64);

impl Pick {
    const FIRST: Pick = Pick(0);
    const LAST: Pick = Pick(u64::MAX);

    fn index(self, len: usize) -> usize {
        assert!(len > 0);
        ((u128::from(self.0) * len as u128) >> 64) as usize
    }
}

fn pick() -> impl Strategy<Value = Pick> {
    any::<u64>().prop_map(Pick)
}

#[derive(Clone, Debug)]
enum Mutation {
    // Tokens, at any depth of the token tree, of the item (or of the attribute with `true`).
    DeleteToken(bool, Pick),
    DuplicateToken(bool, Pick),
    SwapTokens(bool, Pick),
    InsertTokens(bool, Pick, Vec<RandTok>),
    ReplaceIdent(bool, Pick, &'static str),
    ReplaceLiteral(bool, Pick, &'static str),
    /// Ungroups a group: its tokens in place of it.
    Flatten(bool, Pick),
    /// Changes a group's delimiter.
    Redelimit(bool, Pick, u8),
    // Statements of any block of the body.
    DeleteStmt(Pick, Pick),
    DuplicateStmt(Pick, Pick),
    SwapStmts(Pick, Pick, Pick),
    /// Drops (or adds) the semicolon of a statement.
    ToggleSemi(Pick, Pick),
    // The signature.
    ReplaceType(Pick, &'static str),
    ReplacePattern(Pick, &'static str),
    DeleteParam(Pick),
    DuplicateParam(Pick),
    AddGeneric,
    AddReceiver,
    AddAttribute(&'static str),
    // Expressions of the body.
    WrapExpr(Pick, &'static str, bool),
    // The attribute.
    ReplaceAttr(&'static str),
    WrtOf(Vec<Pick>),
}

/// A mutation of the tokens, at any depth.
fn token_mutation() -> impl Strategy<Value = Mutation> {
    let on_attr = prop::bool::weighted(0.15);
    prop_oneof![
        3 => (on_attr, pick()).prop_map(|(a, i)| Mutation::DeleteToken(a, i)),
        2 => (on_attr, pick()).prop_map(|(a, i)| Mutation::DuplicateToken(a, i)),
        2 => (on_attr, pick()).prop_map(|(a, i)| Mutation::SwapTokens(a, i)),
        2 => (on_attr, pick(), prop::collection::vec(rand_tok(), 1..4))
            .prop_map(|(a, i, t)| Mutation::InsertTokens(a, i, t)),
        3 => (on_attr, pick(), select(IDENTS))
            .prop_map(|(a, i, n)| Mutation::ReplaceIdent(a, i, n)),
        1 => (on_attr, pick(), select(LITERALS))
            .prop_map(|(a, i, l)| Mutation::ReplaceLiteral(a, i, l)),
        1 => (on_attr, pick()).prop_map(|(a, i)| Mutation::Flatten(a, i)),
        1 => (on_attr, pick(), 0u8..4).prop_map(|(a, i, d)| Mutation::Redelimit(a, i, d)),
    ]
}

/// A mutation of the function's syntax tree or of the attribute, which keeps it a function.
fn syntax_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        2 => (pick(), pick()).prop_map(|(b, s)| Mutation::DeleteStmt(b, s)),
        2 => (pick(), pick()).prop_map(|(b, s)| Mutation::DuplicateStmt(b, s)),
        2 => (pick(), pick(), pick()).prop_map(|(b, s, t)| Mutation::SwapStmts(b, s, t)),
        1 => (pick(), pick()).prop_map(|(b, s)| Mutation::ToggleSemi(b, s)),
        3 => (pick(), select(TYPES)).prop_map(|(i, t)| Mutation::ReplaceType(i, t)),
        1 => (pick(), select(PATTERNS)).prop_map(|(i, p)| Mutation::ReplacePattern(i, p)),
        1 => pick().prop_map(Mutation::DeleteParam),
        1 => pick().prop_map(Mutation::DuplicateParam),
        1 => Just(Mutation::AddGeneric),
        1 => Just(Mutation::AddReceiver),
        2 => select(ATTRIBUTES).prop_map(Mutation::AddAttribute),
        4 => (pick(), select(WRAPPERS), any::<bool>())
            .prop_map(|(i, w, g)| Mutation::WrapExpr(i, w, g)),
        4 => (pick(), select(VALID_WRAPPERS), any::<bool>())
            .prop_map(|(i, w, g)| Mutation::WrapExpr(i, w, g)),
        2 => select(ATTRS).prop_map(Mutation::ReplaceAttr),
        2 => prop::collection::vec(pick(), 0..4).prop_map(Mutation::WrtOf),
    ]
}

/// Several mutations: of the syntax tree, then, in half the cases, of the tokens.
fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    let tokens = prop_oneof![
        Just(Vec::new()),
        prop::collection::vec(token_mutation(), 1..4),
    ];
    (prop::collection::vec(syntax_mutation(), 1..5), tokens).prop_map(|(mut syntax, tokens)| {
        syntax.extend(tokens);
        syntax
    })
}

/// The number of token trees in `stream` (at any depth) that `pred` accepts.
fn count(stream: &TokenStream, pred: &dyn Fn(&TokenTree) -> bool) -> usize {
    stream
        .clone()
        .into_iter()
        .map(|tree| {
            let inner = match &tree {
                TokenTree::Group(group) => count(&group.stream(), pred),
                _ => 0,
            };
            usize::from(pred(&tree)) + inner
        })
        .sum()
}

/// Calls `edit(trees, i)` on the sequence holding the `n`th tree `pred` accepts (in preorder),
/// and rebuilds the stream around it.
fn edit_at(
    stream: TokenStream,
    pred: &dyn Fn(&TokenTree) -> bool,
    n: &mut Option<usize>,
    edit: &mut dyn FnMut(&mut Vec<TokenTree>, usize),
) -> TokenStream {
    let mut trees: Vec<TokenTree> = stream.into_iter().collect();
    let mut i = 0;
    while i < trees.len() {
        let Some(left) = *n else { break };
        if pred(&trees[i]) {
            if left == 0 {
                *n = None;
                edit(&mut trees, i);
                break;
            }
            *n = Some(left - 1);
        }
        if let TokenTree::Group(group) = &trees[i] {
            let inner = edit_at(group.stream(), pred, n, edit);
            let mut new = Group::new(group.delimiter(), inner);
            new.set_span(group.span());
            trees[i] = new.into();
        }
        i += 1;
    }
    trees.into_iter().collect()
}

fn edit_tokens(
    stream: TokenStream,
    pred: &dyn Fn(&TokenTree) -> bool,
    index: &Pick,
    mut edit: impl FnMut(&mut Vec<TokenTree>, usize),
) -> TokenStream {
    let total = count(&stream, pred);
    if total == 0 {
        return stream;
    }
    edit_at(stream, pred, &mut Some(index.index(total)), &mut edit)
}

fn any_tree(_: &TokenTree) -> bool {
    true
}

fn with_block(func: &mut syn::ItemFn, which: &Pick, edit: impl FnOnce(&mut Vec<syn::Stmt>)) {
    struct Count(usize);
    impl VisitMut for Count {
        fn visit_block_mut(&mut self, block: &mut syn::Block) {
            self.0 += 1;
            syn::visit_mut::visit_block_mut(self, block);
        }
    }
    struct Find<F> {
        left: usize,
        edit: Option<F>,
    }
    impl<F: FnOnce(&mut Vec<syn::Stmt>)> VisitMut for Find<F> {
        fn visit_block_mut(&mut self, block: &mut syn::Block) {
            if self.left == 0 {
                if let Some(edit) = self.edit.take() {
                    edit(&mut block.stmts);
                }
                self.left = usize::MAX;
                return;
            }
            self.left -= 1;
            syn::visit_mut::visit_block_mut(self, block);
        }
    }
    let mut counter = Count(0);
    counter.visit_item_fn_mut(func);
    let mut find = Find {
        left: which.index(counter.0.max(1)),
        edit: Some(edit),
    };
    find.visit_item_fn_mut(func);
}

fn with_expr(func: &mut syn::ItemFn, which: &Pick, edit: impl FnOnce(&mut syn::Expr)) {
    struct Count(usize);
    impl VisitMut for Count {
        fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
            self.0 += 1;
            syn::visit_mut::visit_expr_mut(self, expr);
        }
    }
    struct Find<F> {
        left: usize,
        edit: Option<F>,
    }
    impl<F: FnOnce(&mut syn::Expr)> VisitMut for Find<F> {
        fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
            if self.left == 0 {
                if let Some(edit) = self.edit.take() {
                    edit(expr);
                }
                self.left = usize::MAX;
                return;
            }
            self.left -= 1;
            syn::visit_mut::visit_expr_mut(self, expr);
        }
    }
    let mut counter = Count(0);
    counter.visit_block_mut(&mut func.block);
    if counter.0 == 0 {
        return;
    }
    let mut find = Find {
        left: which.index(counter.0),
        edit: Some(edit),
    };
    find.visit_block_mut(&mut func.block);
}

/// `template` with every `E` replaced by `expr`, parenthesized or in an invisible group (as
/// `macro_rules!` passes an `$e:expr`).
fn substitute(template: TokenStream, expr: &TokenStream, invisible: bool) -> TokenStream {
    template
        .into_iter()
        .map(|tree| match tree {
            TokenTree::Ident(ident) if ident == "E" => {
                let delimiter = match invisible {
                    true => Delimiter::None,
                    false => Delimiter::Parenthesis,
                };
                Group::new(delimiter, expr.clone()).into()
            }
            TokenTree::Group(group) => Group::new(
                group.delimiter(),
                substitute(group.stream(), expr, invisible),
            )
            .into(),
            other => other,
        })
        .collect()
}

/// Applies a mutation to the syntax tree of a function, if the item still is one.
fn mutate_fn(item: &mut TokenStream, edit: impl FnOnce(&mut syn::ItemFn)) {
    if let Ok(mut func) = syn::parse2::<syn::ItemFn>(item.clone()) {
        edit(&mut func);
        *item = func.to_token_stream();
    }
}

fn apply(attr: &mut TokenStream, item: &mut TokenStream, mutation: &Mutation) {
    use Mutation::*;
    let target = |on_attr: bool, attr: &mut TokenStream, item: &mut TokenStream| {
        let target: &mut TokenStream = if on_attr { attr } else { item };
        std::mem::take(target)
    };
    let put = |on_attr: bool, attr: &mut TokenStream, item: &mut TokenStream, s| match on_attr {
        true => *attr = s,
        false => *item = s,
    };
    match mutation {
        DeleteToken(a, i) => {
            let s = edit_tokens(target(*a, attr, item), &any_tree, i, |t, k| {
                t.remove(k);
            });
            put(*a, attr, item, s);
        }
        DuplicateToken(a, i) => {
            let s = edit_tokens(target(*a, attr, item), &any_tree, i, |t, k| {
                t.insert(k, t[k].clone())
            });
            put(*a, attr, item, s);
        }
        SwapTokens(a, i) => {
            let s = edit_tokens(target(*a, attr, item), &any_tree, i, |t, k| {
                if k + 1 < t.len() {
                    t.swap(k, k + 1)
                } else if k > 0 {
                    t.swap(k - 1, k)
                }
            });
            put(*a, attr, item, s);
        }
        InsertTokens(a, i, toks) => {
            let new: Vec<TokenTree> = rand_tokens(toks).into_iter().collect();
            let s = target(*a, attr, item);
            let s = if s.is_empty() {
                new.into_iter().collect()
            } else {
                edit_tokens(s, &any_tree, i, |t, k| {
                    t.splice(k..k, new.clone());
                })
            };
            put(*a, attr, item, s);
        }
        ReplaceIdent(a, i, name) => {
            let is_ident = |t: &TokenTree| matches!(t, TokenTree::Ident(_));
            let s = edit_tokens(target(*a, attr, item), &is_ident, i, |t, k| {
                t[k] = ident(name).into();
            });
            put(*a, attr, item, s);
        }
        ReplaceLiteral(a, i, text) => {
            let is_literal = |t: &TokenTree| matches!(t, TokenTree::Literal(_));
            let s = edit_tokens(target(*a, attr, item), &is_literal, i, |t, k| {
                t[k] = literal(text);
            });
            put(*a, attr, item, s);
        }
        Flatten(a, i) => {
            let is_group = |t: &TokenTree| matches!(t, TokenTree::Group(_));
            let s = edit_tokens(target(*a, attr, item), &is_group, i, |t, k| {
                if let TokenTree::Group(group) = t[k].clone() {
                    t.splice(k..=k, group.stream());
                }
            });
            put(*a, attr, item, s);
        }
        Redelimit(a, i, d) => {
            let is_group = |t: &TokenTree| matches!(t, TokenTree::Group(_));
            let s = edit_tokens(target(*a, attr, item), &is_group, i, |t, k| {
                if let TokenTree::Group(group) = &t[k] {
                    let delimiter = [
                        Delimiter::Parenthesis,
                        Delimiter::Brace,
                        Delimiter::Bracket,
                        Delimiter::None,
                    ][*d as usize % 4];
                    t[k] = Group::new(delimiter, group.stream()).into();
                }
            });
            put(*a, attr, item, s);
        }
        DeleteStmt(b, s) => mutate_fn(item, |f| {
            with_block(f, b, |stmts| {
                if !stmts.is_empty() {
                    stmts.remove(s.index(stmts.len()));
                }
            })
        }),
        DuplicateStmt(b, s) => mutate_fn(item, |f| {
            with_block(f, b, |stmts| {
                if !stmts.is_empty() {
                    let k = s.index(stmts.len());
                    stmts.insert(k, stmts[k].clone());
                }
            })
        }),
        SwapStmts(b, s, t) => mutate_fn(item, |f| {
            with_block(f, b, |stmts| {
                if !stmts.is_empty() {
                    let (j, k) = (s.index(stmts.len()), t.index(stmts.len()));
                    stmts.swap(j, k);
                }
            })
        }),
        ToggleSemi(b, s) => mutate_fn(item, |f| {
            with_block(f, b, |stmts| {
                if !stmts.is_empty() {
                    let k = s.index(stmts.len());
                    if let syn::Stmt::Expr(_, semi) = &mut stmts[k] {
                        *semi = match semi {
                            Some(_) => None,
                            None => Some(Default::default()),
                        };
                    }
                }
            })
        }),
        ReplaceType(i, ty) if syn::parse2::<syn::ItemFn>(item.clone()).is_err() => {
            // A field's type, in a struct.
            if let Ok(mut input) = syn::parse2::<syn::DeriveInput>(item.clone()) {
                if let syn::Data::Struct(data) = &mut input.data {
                    let n = data.fields.len();
                    if let Some(field) = (n > 0).then(|| data.fields.iter_mut().nth(i.index(n))) {
                        field.unwrap().ty = syn::parse_str(ty).unwrap();
                    }
                }
                *item = input.to_token_stream();
            }
        }
        ReplaceType(i, ty) => mutate_fn(item, |f| {
            let ty: syn::Type = syn::parse_str(ty).unwrap();
            let slots = f.sig.inputs.len() + 1;
            let k = i.index(slots);
            match f.sig.inputs.iter_mut().nth(k) {
                Some(syn::FnArg::Typed(typed)) => *typed.ty = ty,
                Some(syn::FnArg::Receiver(_)) => {}
                None => f.sig.output = syn::ReturnType::Type(Default::default(), Box::new(ty)),
            }
        }),
        ReplacePattern(i, pat) => mutate_fn(item, |f| {
            let pat = syn::parse::Parser::parse_str(syn::Pat::parse_single, pat).unwrap();
            let n = f.sig.inputs.len();
            if n > 0 {
                if let Some(syn::FnArg::Typed(typed)) = f.sig.inputs.iter_mut().nth(i.index(n)) {
                    *typed.pat = pat;
                }
            }
        }),
        DeleteParam(i) => mutate_fn(item, |f| {
            let n = f.sig.inputs.len();
            if n > 0 {
                let k = i.index(n);
                f.sig.inputs = std::mem::take(&mut f.sig.inputs)
                    .into_iter()
                    .enumerate()
                    .filter(|(j, _)| *j != k)
                    .map(|(_, arg)| arg)
                    .collect();
            }
        }),
        DuplicateParam(i) => mutate_fn(item, |f| {
            let n = f.sig.inputs.len();
            if n > 0 {
                let arg = f.sig.inputs[i.index(n)].clone();
                f.sig.inputs.push(arg);
            }
        }),
        AddGeneric => mutate_fn(item, |f| {
            f.sig.generics.params.push(syn::parse_quote!(T: Float));
        }),
        AddReceiver => mutate_fn(item, |f| {
            f.sig.inputs.insert(0, syn::parse_quote!(&self));
        }),
        AddAttribute(text) => mutate_fn(item, |f| {
            let parser = match text.starts_with("#!") {
                true => syn::Attribute::parse_inner,
                false => syn::Attribute::parse_outer,
            };
            f.attrs
                .extend(syn::parse::Parser::parse_str(parser, text).unwrap());
        }),
        WrapExpr(i, template, invisible) => mutate_fn(item, |f| {
            with_expr(f, i, |expr| {
                let template = TokenStream::from_str(template).unwrap();
                let tokens = substitute(template, &expr.to_token_stream(), *invisible);
                *expr = syn::Expr::Verbatim(tokens);
            })
        }),
        ReplaceAttr(text) => *attr = TokenStream::from_str(text).unwrap(),
        WrtOf(which) => {
            let names: Vec<Ident> = syn::parse2::<syn::ItemFn>(item.clone())
                .map(|f| {
                    f.sig
                        .inputs
                        .iter()
                        .filter_map(|arg| match arg {
                            syn::FnArg::Typed(typed) => match &*typed.pat {
                                syn::Pat::Ident(p) => Some(p.ident.clone()),
                                _ => None,
                            },
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            if !names.is_empty() {
                let chosen = which.iter().map(|k| &names[k.index(names.len())]);
                *attr = quote!(wrt(#(#chosen),*));
            }
        }
    }
}

/// Mutations of a struct: field types, then tokens.
fn struct_mutations() -> impl Strategy<Value = Vec<Mutation>> {
    let types = prop::collection::vec(
        (pick(), select(TYPES)).prop_map(|(i, t)| Mutation::ReplaceType(i, t)),
        0..3,
    );
    (types, prop::collection::vec(token_mutation(), 0..4)).prop_map(|(mut types, tokens)| {
        types.extend(tokens);
        types
    })
}

/// A random scalar expression of the operations the macro supports.
#[derive(Clone, Debug)]
enum Arith {
    Param(Pick),
    Local(Pick),
    Literal(&'static str),
    /// `(n as f64)`, a constant computed from an integer parameter.
    Count,
    Binary(char, Box<Arith>, Box<Arith>),
    Neg(Box<Arith>),
    Method(&'static str, Box<Arith>),
    MethodOf(&'static str, Box<Arith>, Box<Arith>),
    Powi(i32, Box<Arith>),
    Function(&'static str, Box<Arith>),
    /// `f64::name(a)`.
    PathMethod(&'static str, Box<Arith>),
    MulAdd(Box<Arith>, Box<Arith>, Box<Arith>),
}

fn arith() -> impl Strategy<Value = Arith> {
    let leaf = prop_oneof![
        4 => pick().prop_map(Arith::Param),
        3 => pick().prop_map(Arith::Local),
        2 => select(&["1.0", "2.0", "0.5", "3.0", "1e-3"][..]).prop_map(Arith::Literal),
        1 => Just(Arith::Count),
    ];
    const UNARY: &[&str] = &[
        "ln", "log2", "log10", "exp", "exp2", "ln_1p", "exp_m1", "sin", "cos", "tan", "asin",
        "acos", "atan", "sinh", "cosh", "tanh", "sqrt", "cbrt", "recip", "abs", "clone",
    ];
    leaf.prop_recursive(5, 40, 3, |inner| {
        let boxed = inner.prop_map(Box::new);
        prop_oneof![
            4 => (select(&['+', '-', '*', '/'][..]), boxed.clone(), boxed.clone())
                .prop_map(|(op, a, b)| Arith::Binary(op, a, b)),
            1 => boxed.clone().prop_map(Arith::Neg),
            3 => (select(UNARY), boxed.clone()).prop_map(|(m, a)| Arith::Method(m, a)),
            1 => (select(&["powf", "atan2", "hypot", "max", "min"][..]), boxed.clone(), boxed.clone())
                .prop_map(|(m, a, b)| Arith::MethodOf(m, a, b)),
            1 => (-3i32..4, boxed.clone()).prop_map(|(k, a)| Arith::Powi(k, a)),
            1 => (select(&["sigmoid", "relu", "softplus"][..]), boxed.clone())
                .prop_map(|(f, a)| Arith::Function(f, a)),
            1 => (select(UNARY), boxed.clone()).prop_map(|(m, a)| Arith::PathMethod(m, a)),
            1 => (boxed.clone(), boxed.clone(), boxed).prop_map(|(a, b, c)| Arith::MulAdd(a, b, c)),
        ]
    })
}

/// `arith` as Rust, over `params` parameters `x0, …` and `locals` locals `y0, …`.
fn render(arith: &Arith, params: usize, locals: usize) -> TokenStream {
    let r = |a: &Arith| render(a, params, locals);
    match arith {
        Arith::Param(k) => ident(&format!("x{}", k.index(params))).into_token_stream(),
        Arith::Local(k) if locals > 0 => {
            ident(&format!("y{}", k.index(locals))).into_token_stream()
        }
        Arith::Local(k) => ident(&format!("x{}", k.index(params))).into_token_stream(),
        Arith::Literal(text) => literal(text).into_token_stream(),
        Arith::Count => quote!((n as f64)),
        Arith::Binary(op, a, b) => {
            let (a, b) = (r(a), r(b));
            let op = Punct::new(*op, Spacing::Alone);
            quote!((#a #op #b))
        }
        Arith::Neg(a) => {
            let a = r(a);
            quote!((-#a))
        }
        Arith::Method(m, a) => {
            let (a, m) = (r(a), ident(m));
            quote!(#a.#m())
        }
        Arith::MethodOf(m, a, b) => {
            let (a, b, m) = (r(a), r(b), ident(m));
            quote!(#a.#m(#b))
        }
        Arith::Powi(k, a) => {
            let a = r(a);
            quote!(#a.powi(#k))
        }
        Arith::Function(f, a) => {
            let (a, f) = (r(a), ident(f));
            quote!(#f(#a))
        }
        Arith::PathMethod(m, a) if *m != "clone" => {
            let (a, m) = (r(a), ident(m));
            quote!(f64::#m(#a))
        }
        Arith::PathMethod(_, a) => r(a),
        Arith::MulAdd(a, b, c) => {
            let (a, b, c) = (r(a), r(b), r(c));
            quote!(#a.mul_add(#b, #c))
        }
    }
}

/// A statement of a random program: `let mut yK = e;`, or `yJ op= e;` on an earlier local.
#[derive(Clone, Debug)]
enum ArithStmt {
    Let(Arith),
    Compound(Pick, char, Arith),
}

fn arith_stmt() -> impl Strategy<Value = ArithStmt> {
    prop_oneof![
        3 => arith().prop_map(ArithStmt::Let),
        1 => (pick(), select(&['+', '-', '*', '/'][..]), arith())
            .prop_map(|(k, op, e)| ArithStmt::Compound(k, op, e)),
    ]
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        // Panics are caught and reported by the checks themselves, with the input.
        max_shrink_iters: 4096,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/no_panic.proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

/// The corpus is what the test claims: functions and structs of every source, including the
/// compile-fail cases, the README and items nested in modules and function bodies.
#[test]
fn corpus_covers_the_project() {
    let corpus = corpus();
    let origins = |seeds: &[Seed], prefix: &str| {
        seeds
            .iter()
            .filter(|s| s.origin.starts_with(prefix))
            .count()
    };
    assert!(corpus.functions.len() >= 100, "{}", corpus.functions.len());
    for prefix in ["tests/ui/", "tests/", "examples/", "README.md"] {
        assert!(
            origins(&corpus.functions, prefix) > 0,
            "no function from {prefix}"
        );
    }
    assert!(origins(&corpus.structs, "tests/") > 0);
    assert!(origins(&corpus.structs, "tests/ui/") > 0);
    let has = |origin: &str, needle: &str| {
        corpus
            .functions
            .iter()
            .any(|s| s.origin == origin && s.item.to_string().contains(needle))
    };
    // A struct under `#[differentiable]`, a method, and the README's first function.
    assert!(has("tests/ui/not-a-function.rs", "struct Weights"));
    assert!(has("tests/ui/method-with-self.rs", "fn predict"));
    assert!(has("README.md block 1", "fn f"));
    assert!(corpus
        .functions
        .iter()
        .any(|s| s.attr.to_string().contains("vjp")));
    // The attribute is removed; an `impl` block under it keeps its functions' own.
    let (blocks, functions): (Vec<&Seed>, Vec<&Seed>) = corpus
        .functions
        .iter()
        .partition(|s| syn::parse2::<syn::ItemImpl>(s.item.clone()).is_ok());
    assert!(!blocks.is_empty());
    assert!(functions
        .iter()
        .all(|s| !s.item.to_string().contains("differentiable (")));
}

/// Every corpus item expands as it is; those outside `tests/ui` without any error, as they
/// compile.
#[test]
fn corpus_expands() {
    let corpus = corpus();
    let mut failures = Vec::new();
    for seed in &corpus.functions {
        match check_differentiable(&seed.attr, &seed.item) {
            Err(e) => failures.push(format!("{}: {e}", seed.origin)),
            Ok(out) if !seed.origin.starts_with("tests/ui/") && has_compile_error(&out) => {
                failures.push(format!("{}: unexpected error in\n{out}", seed.origin))
            }
            Ok(_) => {}
        }
    }
    for seed in &corpus.structs {
        match check_derive(&seed.item) {
            Err(e) => failures.push(format!("{}: {e}", seed.origin)),
            Ok(out) if !seed.origin.starts_with("tests/ui/") && has_compile_error(&out) => {
                failures.push(format!("{}: unexpected error in\n{out}", seed.origin))
            }
            Ok(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The checks themselves catch what they are meant to catch.
#[test]
fn checks_can_fail() {
    // Not Rust: a lone `compile_error` is accepted only for an input that is not Rust either.
    assert!(check_derive(&quote!(
        struct S {
            x: f64,
        }
    ))
    .is_ok());
    assert!(check_differentiable(
        &quote!(),
        &quote!(
            fn f(x: f64) -> f64 {
                x
            }
        )
    )
    .is_ok());
    let original = quote!(
        fn f(x: f64) -> f64 {
            x
        }
    );
    let output = autodiff_core::differentiable(quote!(), original.clone());
    let file: syn::File = syn::parse2(output).unwrap();
    let allowed = quote!(#[allow(dead_code)] #original).to_string();
    assert!(file
        .items
        .iter()
        .any(|i| i.to_token_stream().to_string() == allowed));
    // A mutation changes the input.
    let (mut attr, mut item) = (quote!(), original.clone());
    apply(
        &mut attr,
        &mut item,
        &Mutation::WrapExpr(Pick::FIRST, "E as i32", false),
    );
    assert_eq!(
        item.to_string(),
        quote!(
            fn f(x: f64) -> f64 {
                (x) as i32
            }
        )
        .to_string()
    );
    let mut item = original.clone();
    apply(
        &mut attr,
        &mut item,
        &Mutation::DeleteToken(false, Pick::LAST),
    );
    assert_eq!(
        item.to_string(),
        quote!(
            fn f(x: f64) -> f64 {}
        )
        .to_string()
    );
}

proptest! {
    #![proptest_config(cases(1000))]

    /// Corpus functions, mutated.
    #[test]
    fn mutated_functions_expand_or_error(
        seed in pick(),
        mutations in mutations(),
    ) {
        let functions = &corpus().functions;
        let seed = &functions[seed.index(functions.len())];
        let (mut attr, mut item) = (seed.attr.clone(), seed.item.clone());
        for mutation in &mutations {
            apply(&mut attr, &mut item, mutation);
        }
        check_differentiable(&attr, &item)
            .map_err(|e| TestCaseError::fail(format!("{} mutated: {e}", seed.origin)))?;
    }
}

proptest! {
    #![proptest_config(cases(500))]

    /// Corpus structs, mutated, under `#[derive(Parameters)]`.
    #[test]
    fn mutated_structs_derive_or_error(
        seed in pick(),
        mutations in struct_mutations(),
    ) {
        let structs = &corpus().structs;
        let seed = &structs[seed.index(structs.len())];
        let (mut attr, mut item) = (TokenStream::new(), seed.item.clone());
        for mutation in &mutations {
            apply(&mut attr, &mut item, mutation);
        }
        check_derive(&item)
            .map_err(|e| TestCaseError::fail(format!("{} mutated: {e}", seed.origin)))?;
    }

    /// Random token streams, alone or in the shape of a function.
    #[test]
    fn random_tokens_expand_or_error(
        attr in prop::collection::vec(rand_tok(), 0..4),
        params in prop::collection::vec(rand_tok(), 0..6),
        ret in prop::collection::vec(rand_tok(), 0..3),
        body in prop::collection::vec(rand_tok(), 0..10),
        fn_shaped in any::<bool>(),
    ) {
        let attr = rand_tokens(&attr);
        let (params, ret, body) = (rand_tokens(&params), rand_tokens(&ret), rand_tokens(&body));
        let item = match fn_shaped {
            true => quote!(fn f(#params) -> #ret { #body }),
            false => quote!(#params #ret #body),
        };
        check_differentiable(&attr, &item).map_err(TestCaseError::fail)?;
        // The shape of the struct, with generics or not, from the same coin and the body's size.
        let generics = match body.is_empty() {
            true => quote!(),
            false => quote!(<T>),
        };
        let item = match fn_shaped {
            true => quote!(struct S #generics { #params }),
            false => quote!(struct S #generics (#params);),
        };
        check_derive(&item).map_err(TestCaseError::fail)?;
    }
}

/// The mutated functions are neither all broken nor all intact: a good share still parses as a
/// function (and reaches lowering), and some expand without errors (and reach the emitters).
#[test]
fn mutations_reach_every_stage() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let functions = &corpus().functions;
    let strategy = (pick(), mutations());
    let (mut functions_left, mut clean, mut total) = (0, 0, 0);
    for _ in 0..400 {
        let (seed, mutations) = strategy.new_tree(&mut runner).unwrap().current();
        let seed = &functions[seed.index(functions.len())];
        let (mut attr, mut item) = (seed.attr.clone(), seed.item.clone());
        for mutation in &mutations {
            apply(&mut attr, &mut item, mutation);
        }
        total += 1;
        functions_left += usize::from(syn::parse2::<syn::ItemFn>(item.clone()).is_ok());
        let output = autodiff_core::differentiable(attr, item);
        clean += usize::from(!has_compile_error(&output));
    }
    assert!(functions_left * 4 > total, "{functions_left} of {total}");
    assert!(clean * 40 > total, "{clean} of {total}");
    assert!(clean * 2 < total, "{clean} of {total}");
}

/// Writes the corpus as the fuzzers' seeds, `fuzz/corpus/{differentiable,derive}/seed-*`: the
/// attribute's arguments on the first line, the item after it (see `fuzz/README.md`).
#[test]
#[ignore = "writes fuzz/corpus; run it by name to refresh the seeds"]
fn write_fuzz_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let corpus = corpus();
    for (target, seeds) in [
        ("differentiable", &corpus.functions),
        ("derive", &corpus.structs),
    ] {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        for old in std::fs::read_dir(&dir).unwrap() {
            let path = old.unwrap().path();
            if path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("seed-")
            {
                std::fs::remove_file(path).unwrap();
            }
        }
        for (k, seed) in seeds.iter().enumerate() {
            let origin: String = seed
                .origin
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            let text = match target {
                "derive" => format!("{}\n", seed.item),
                _ => format!("{}\n{}\n", seed.attr, seed.item),
            };
            std::fs::write(dir.join(format!("seed-{k:03}-{origin}")), text).unwrap();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What the search found, one test per input
// ---------------------------------------------------------------------------------------------

/// A field named `_` (syn parses it, for unnamed fields): `self._` would not be Rust.
#[test]
fn derive_of_a_field_named_underscore_is_an_error() {
    let output = check_derive(&quote!(
        pub struct Mlp3 {
            pub _: Array2<f64>,
            pub b1: Array1<f64>,
        }
    ))
    .unwrap();
    assert!(has_compile_error(&output), "{output}");
}

/// An inner attribute of the body, `#![allow(..)]`, was copied as an inner attribute in front
/// of each generated function: not Rust. The generated functions now share it as an outer one.
#[test]
fn inner_attribute_of_the_body_is_inherited_as_an_outer_one() {
    let output = check_differentiable(
        &quote!(),
        &quote!(
            fn f(x: f64) -> f64 {
                #![allow(unused)]
                x
            }
        ),
    )
    .unwrap();
    assert!(!has_compile_error(&output), "{output}");
    let file: syn::File = syn::parse2(output).unwrap();
    let grad = file.items.iter().find_map(|item| match item {
        syn::Item::Fn(f) if f.sig.ident == "f_grad" => Some(f),
        _ => None,
    });
    let allows = grad
        .unwrap()
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("allow"));
    assert!(allows
        .clone()
        .all(|a| matches!(a.style, syn::AttrStyle::Outer)));
    assert!(allows
        .map(|a| a.to_token_stream().to_string())
        .any(|a| a.contains("unused")));
}

/// A field whose type is a list of bounds ending in `+` (`zz +`, a bare trait object): the
/// where-clause of a generic struct was built by `parse_quote!`, which panicked, and the first
/// field's type made `<zz + as Parameters>::Elem`, not Rust. Bounds are now parenthesized.
#[test]
fn derive_of_a_field_of_bounds() {
    for item in [
        quote!(
            struct S<T>(zz);
        ),
        quote!(
            struct S(zz);
        ),
        quote!(
            struct S<T>(impl A, T);
        ),
        quote!(
            struct S<T>(dyn A + B, T);
        ),
    ] {
        check_derive(&item).unwrap();
    }
}

proptest! {
    #![proptest_config(cases(150))]

    /// Random programs of supported operations on `f64`s: they expand without any error, to
    /// every derivative function (the emitters run on every kind of node and statement).
    #[test]
    fn random_programs_expand(
        params in 1usize..4,
        stmts in prop::collection::vec(arith_stmt(), 0..5),
        results in prop::collection::vec(arith(), 1..3),
        attr in select(&["", "hessian", "wrt(x0)", "wrt(x0), hessian"][..]),
    ) {
        let mut body = Vec::new();
        let mut locals = 0;
        for stmt in &stmts {
            body.push(match stmt {
                ArithStmt::Compound(k, op, e) if locals > 0 => {
                    let (e, y) = (render(e, params, locals), ident(&format!("y{}", k.index(locals))));
                    let op = [Punct::new(*op, Spacing::Joint), Punct::new('=', Spacing::Alone)];
                    quote!(#y #(#op)* #e;)
                }
                ArithStmt::Let(e) | ArithStmt::Compound(_, _, e) => {
                    let e = render(e, params, locals);
                    let y = ident(&format!("y{locals}"));
                    locals += 1;
                    quote!(let mut #y = #e;)
                }
            });
        }
        let results: Vec<_> = results.iter().map(|e| render(e, params, locals)).collect();
        let xs = (0..params).map(|k| ident(&format!("x{k}")));
        let (ret, result) = match results.len() {
            1 => (quote!(f64), results[0].clone()),
            _ => (quote!((f64, f64)), quote!((#(#results),*))),
        };
        let item = quote!(fn f(#(#xs: f64,)* n: usize) -> #ret { #(#body)* #result });
        let attr = TokenStream::from_str(attr).unwrap();
        let output = check_differentiable(&attr, &item).map_err(TestCaseError::fail)?;
        let hessian_of_a_tuple = attr.to_string().contains("hessian") && results.len() > 1;
        prop_assert_eq!(has_compile_error(&output), hessian_of_a_tuple, "{}\n{}", item, output);
        let text = output.to_string();
        for name in ["fn f_vjp", "fn f_jvp"] {
            prop_assert!(text.contains(name), "no {} in {}", name, output);
        }
    }
}
