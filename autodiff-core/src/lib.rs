//! The core of the `#[differentiable]` attribute, as an ordinary library:
//! `parse → lower → emit` on `proc_macro2::TokenStream`, one module per step.
//!
//! The proc-macro crate `autodiff-macros` is a thin shell around [`differentiable`] and
//! [`derive_parameters`]; tests, property tests and fuzzers call them here directly, with no
//! compiler in the loop. On any error the user's function is still emitted unchanged, with
//! every error and a stub of each derivative function, so callers see the real problem and
//! nothing else. No input makes either entry point panic.
mod adjoint;
mod attr;
mod call;
mod closure;
mod custom;
mod derive;
mod diag;
mod emit;
mod forward;
mod hessian;
mod hessian_call;
mod hvp;
mod impl_block;
mod ir;
mod jacobian;
mod lower;
mod nested;
mod primal;
mod region;
mod reuse;
mod reverse;
pub mod rules;
mod signature;
mod source;
mod text;
mod trace;
mod trace_doc;

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::Parser;
use syn::ItemFn;

/// Implements `autodiff::Parameters` for a struct whose fields are all parameters: floats,
/// `ndarray` arrays of them, `Vec`s of parameters or other such structs. Input that is not a
/// struct (or not Rust) gives a compile error.
pub fn derive_parameters(input: TokenStream) -> TokenStream {
    match syn::parse2::<syn::DeriveInput>(input) {
        Ok(input) => derive::derive_parameters(&input),
        Err(error) => error.to_compile_error(),
    }
}

/// Expands `#[differentiable(attr)] item`: the function unchanged, then, beside `f`,
/// `f_grad(args…) -> (value, gradient)` (for a scalar result) and `f_vjp(args…, cotangent)`
/// (reverse mode), `f_jvp(args…, tangents…)` (forward mode), `f_jacobian(args…)` (for an
/// array or tuple result), with `hessian`, `f_hessian(args…)`, `f_hvp(args…, tangents…)` and
/// `f_hessian_diagonal(args…)` and, for a scalar result,
/// `f_trace(args…)` (the evaluation trace as data); last, `f_source()`, the source of those
/// functions as text. With `vjp = rule, jvp = rule` the body is not read: the rules are the
/// derivatives.
///
/// Anything that cannot be differentiated becomes spanned `compile_error!`s in the output,
/// all of them in one expansion.
///
/// On an `impl` block, it expands each function of the block marked `#[differentiable]`, whose
/// generated functions are then associated functions of the block ([`impl_block`]).
pub fn differentiable(attr: TokenStream, item: TokenStream) -> TokenStream {
    match syn::parse2::<syn::ItemImpl>(item.clone()) {
        Ok(block) => impl_block::expand(attr, block),
        Err(_) => expand(attr, item, false),
    }
}

/// `#[differentiable(attr)]` on a function, free or (`in_impl`) in an `impl` block.
fn expand(attr: TokenStream, item: TokenStream, in_impl: bool) -> TokenStream {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(_) => {
            let error = syn::Error::new_spanned(
                &item,
                "#[differentiable] applies to a function, `fn f(x: f64, ...) -> f64 { ... }`, or to an `impl` block holding such functions",
            )
            .to_compile_error();
            return quote!(#item #error);
        }
    };

    let mut diag = diag::Diagnostics::default();
    let mut args = attr::Args {
        in_impl,
        ..attr::Args::default()
    };
    if let Err(error) = syn::meta::parser(|meta| args.parse_meta(meta)).parse2(attr) {
        diag.push(error);
    }
    let sig = signature::analyze(&func, &args, &mut diag);
    // A function with custom rules is a primitive: its body is not read.
    let program = match args.custom() {
        true => {
            custom::check(&sig, &args, &mut diag);
            None
        }
        false => Some(lower::lower(&sig, &func.block, &mut diag)),
    };

    if let Some(span) = args.hessian {
        hessian::check(&sig, program.as_ref(), span, &mut diag);
    }

    // Only a scalar function has a gradient; a vector one has a Jacobian instead.
    let has_gradient = sig.output == signature::Output::Scalar;
    let has_jacobian = !has_gradient && program.is_some();
    // Callers reach this function through its companions, emitted even on errors so that
    // they see only the real problem (but not for a method, reported as unsupported).
    let is_function = func.sig.receiver().is_none();
    // The original counts as used when only its derivatives are: they cannot name it, as
    // they compile both as free functions and as associated functions of an `impl`.
    let func = quote!(#[allow(dead_code)] #func);
    if diag.is_empty() {
        let derivatives = match &program {
            None => custom::emit(&sig, &args),
            Some(program) => {
                let grad =
                    has_gradient.then(|| reverse::emit_reverse(&sig, program, reverse::Seed::One));
                let vjp = reverse::emit_reverse(&sig, program, reverse::Seed::Cotangent);
                let vjp_into = is_function
                    .then(|| reverse::emit_vjp_into(&sig, program))
                    .flatten();
                let jvp = forward::emit_jvp(&sig, program);
                let jacobian = has_jacobian.then(|| jacobian::emit_jacobian(&sig, program));
                let hessian = args.hessian.map(|_| {
                    let (hessian, hvp, diagonal) = (
                        hessian::emit_hessian(&sig),
                        hvp::emit_hvp(&sig, program),
                        hvp::emit_hessian_diagonal(&sig),
                    );
                    quote!(#hessian #hvp #diagonal)
                });
                let trace =
                    trace::traceable(&sig, program).then(|| trace::emit_trace(&sig, program));
                quote!(#grad #vjp #vjp_into #jvp #jacobian #hessian #trace)
            }
        };
        let source = source::emit_source(&sig, &derivatives);
        // (`hessian` with custom rules is an error: here it has a body.)
        let companions = is_function.then(|| {
            let nested = nested::emit(&sig, args.hessian.map(|_| true));
            let dual_vjp = hessian_call::emit(&sig, args.hessian.map(|_| true));
            let companions = call::emit_companions(&sig, true);
            quote!(#companions #nested #dual_vjp)
        });
        quote!(#func #derivatives #source #companions)
    } else {
        let errors = diag.to_compile_errors();
        let unimplemented = quote!({ ::core::unimplemented!("#[differentiable] reported errors") });
        let companions = is_function.then(|| {
            let nested = nested::emit(&sig, args.hessian.map(|_| false));
            let dual_vjp = hessian_call::emit(&sig, args.hessian.map(|_| false));
            let companions = call::emit_companions(&sig, false);
            quote!(#companions #nested #dual_vjp)
        });
        let grad = has_gradient.then(|| reverse::reverse_signature(&sig, reverse::Seed::One));
        let jacobian = has_jacobian.then(|| jacobian::jacobian_signature(&sig));
        let hessian = args.hessian.into_iter().flat_map(|_| {
            [
                hessian::hessian_signature(&sig),
                hvp::hvp_signature(&sig),
                hvp::hessian_diagonal_signature(&sig),
            ]
        });
        let stubs = grad.into_iter().chain(jacobian).chain(hessian).chain([
            reverse::reverse_signature(&sig, reverse::Seed::Cotangent),
            forward::jvp_signature(&sig),
            source::source_signature(&sig),
        ]);
        quote! {
            #func
            #errors
            #companions
            #(
                #[doc(hidden)]
                #[allow(unused_variables)]
                #stubs #unimplemented
            )*
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc_of(func: ItemFn) -> String {
        let mut diag = diag::Diagnostics::default();
        let sig = signature::analyze(&func, &attr::Args::default(), &mut diag);
        let program = lower::lower(&sig, &func.block, &mut diag);
        assert!(diag.is_empty());
        trace_doc::grad_doc(&sig, &program, &ir::pullbacks(&program))
    }

    /// The generated documentation is the lecture's evaluation trace and adjoint table (with
    /// nodes numbered in Rust's evaluation order, left operand first).
    #[test]
    fn documents_the_lecture_trace() {
        let doc = doc_of(syn::parse_quote! {
            fn f(x1: f64, x2: f64) -> f64 {
                x1.ln() + x1 * x2 - x2.sin()
            }
        });
        for line in [
            "v₋₁ = x1",
            "v₀  = x2",
            "v₁  = ln v₋₁",
            "v₂  = v₋₁ · v₀",
            "v₃  = v₁ + v₂",
            "v₄  = sin v₀",
            "v₅  = v₃ − v₄",
            "y   = v₅",
            "v̄₅  = 1",
            "v̄₄  = −v̄₅",
            "v̄₃  = v̄₅",
            "v̄₀  = v̄₄ · (cos v₀) + v̄₂ · v₋₁",
            "v̄₋₁ = v̄₂ · v₀ + v̄₁ · 1/v₋₁",
        ] {
            assert!(doc.contains(line), "missing `{line}` in\n{doc}");
        }
    }

    /// Branches and loops appear as regions, with what each assigns at its end, and the
    /// adjoint program runs them in reverse.
    #[test]
    fn documents_regions() {
        let doc = doc_of(syn::parse_quote! {
            fn f(x: &Array1<f64>, s: f64) -> f64 {
                let mut acc = 0.0;
                for i in 0..x.len() {
                    if x[i] > 0.0 {
                        acc += x[i] * s;
                    }
                }
                acc
            }
        });
        for line in [
            "for i in 0..x.len() {",
            "v₁ = v₋₁[i]",
            "if x[i] > 0.0 {",
            "v₃ = acc + v₂",
            "acc ← v₃",
            "= acc\n",
            "for i in 0..x.len(), iterations last first {",
            "in the arm `if x[i] > 0.0` took {",
            "v̄₃  += acc̄",
            "acc̄ += v̄₃",
            "v̄₋₁ += v̄₁ · e_i",
        ] {
            assert!(doc.contains(line), "missing `{line}` in\n{doc}");
        }
    }

    #[test]
    fn documents_constants_by_their_source() {
        let doc = doc_of(syn::parse_quote! {
            fn g(x: f64, n: usize) -> f64 {
                let k = n as f64;
                (x * k).powi(2) / 2.0
            }
        });
        assert!(doc.contains("v₁ = v₀ · k"), "{doc}");
        assert!(doc.contains("v₂ = v₁^2"), "{doc}");
        assert!(doc.contains("v₃ = v₂ / 2.0"), "{doc}");
    }

    /// Generated code has no `unsafe`, never names the original, and declares each generated
    /// function once.
    #[test]
    fn generated_code_is_safe_and_self_contained() {
        let cases = [
            (
                quote!(hessian),
                quote!(
                    fn f(x: f64, y: f64) -> f64 {
                        x.sin() * y
                    }
                ),
            ),
            (
                quote!(wrt(w)),
                quote!(
                    fn f(w: &Array1<f64>, x: &Array2<f64>) -> (Array1<f64>, f64) {
                        let z = g(x.dot(w));
                        (z.t().to_owned(), z.sum())
                    }
                ),
            ),
            (
                quote!(vjp = rule_vjp, jvp = rule_jvp),
                quote!(
                    fn f(x: f64) -> f64 {
                        x
                    }
                ),
            ),
        ];
        for (attr, item) in cases {
            let mut idents = Vec::new();
            fn collect(tokens: TokenStream, out: &mut Vec<String>) {
                for tree in tokens {
                    match tree {
                        proc_macro2::TokenTree::Ident(ident) => out.push(ident.to_string()),
                        proc_macro2::TokenTree::Group(group) => collect(group.stream(), out),
                        _ => {}
                    }
                }
            }
            collect(differentiable(attr, item), &mut idents);
            assert!(!idents.iter().any(|ident| ident == "unsafe"));
            // `f` itself is declared once and never named again.
            assert_eq!(idents.iter().filter(|ident| *ident == "f").count(), 1);
            let declared = |name: &str| idents.windows(2).filter(|w| w == &["fn", name]).count();
            for generated in [
                "f_grad",
                "f_vjp",
                "f_jvp",
                "f_jacobian",
                "f_hessian",
                "f_hvp",
                "f_hessian_diagonal",
                "f_trace",
            ] {
                assert!(declared(generated) <= 1, "{generated} declared twice");
            }
        }
    }

    /// Each sweep is compiled once, in `f_vjp` and `f_jvp` (and `f_grad`, `f_hvp` with
    /// `hessian`); the other generated functions call them, by name beside a free function
    /// and through `Self::` in an `impl` marked `#[differentiable]`.
    #[test]
    fn generated_functions_call_the_sweeps_by_the_right_name() {
        let f = quote!(
            #[differentiable(hessian)]
            fn f(x: f64, y: f64) -> f64 {
                (x * y).sin()
            }
        );
        let calls = |code: &str, name: &str| code.matches(&format!("{name} (")).count();
        let free = differentiable(
            quote!(hessian),
            quote!(
                fn f(x: f64, y: f64) -> f64 {
                    (x * y).sin()
                }
            ),
        )
        .to_string();
        let block = differentiable(quote!(), quote!(impl M { #f })).to_string();
        for name in ["f_vjp", "f_jvp", "f_grad", "f_hvp"] {
            // Declared once, called by the others.
            assert_eq!(calls(&free, &format!("fn {name}")), 1, "{name} in {free}");
            assert!(calls(&free, name) > 1, "{name} is not called in {free}");
            let associated = calls(&block, &format!("Self :: {name}"));
            assert!(associated > 0, "{name} in {block}");
            assert_eq!(calls(&block, name), associated + 1, "{name} in {block}");
        }
        assert_eq!(
            block.matches("sin ()").count(),
            free.matches("sin ()").count()
        );
    }

    /// A constant is copied only where code moves it while a derivative sweep still reads
    /// it; otherwise the generated code moves or reads it as the original does.
    #[test]
    fn constants_are_copied_only_where_a_sweep_still_reads_them() {
        let expand = |body: TokenStream| {
            differentiable(
                quote!(wrt(s)),
                quote!(fn f(v: &Array1<f64>, s: f64) -> f64 { #body }),
            )
            .to_string()
        };
        let copy = "consume (:: core :: clone :: Clone :: clone (& __c1))";
        // Read by a node, then moved: copied.
        let pinned = expand(quote! {
            let c = v * 2.0;
            let t = (&c * s).sum();
            let n = c.len() as f64;
            t * consume(c) * n
        });
        assert!(pinned.contains(copy), "{pinned}");
        // Read in place (`c.len()`): not copied.
        assert!(
            !pinned.contains("Clone :: clone (& __c1) . len"),
            "{pinned}"
        );
        // Moved before any node reads it: moved.
        let free = expand(quote! {
            let c = v * 2.0;
            let d = consume(c);
            s * d
        });
        assert!(!free.contains("Clone :: clone"), "{free}");
        // `let a = c;` names the same value: no statement at all.
        let alias = expand(quote! {
            let c = v * 2.0;
            let t = (&c * s).sum();
            let a = c;
            t * a.sum()
        });
        assert!(!alias.contains("Clone :: clone"), "{alias}");
        assert!(!alias.contains("= __c1 ;"), "{alias}");
    }

    /// A loop only summed into a scalar result runs its adjoint in the forward sweep: `f_grad`
    /// and `f_vjp` record none of its iterations; so does one scalar sum read in any way after
    /// the loop (its contributions scaled by that sum's adjoint); two sums read otherwise run
    /// the loop again in the adjoint sweep.
    #[test]
    fn loops_summed_into_the_result_record_nothing() {
        let reverse = |body: TokenStream| {
            let code = differentiable(
                quote!(),
                quote!(fn f(x: &Array1<f64>, y: &Array1<f64>) -> f64 { #body }),
            )
            .to_string();
            let start = code.find("fn f_grad").expect("f_grad");
            let end = code.find("fn f_jvp").expect("f_jvp");
            code[start..end].to_string()
        };
        let summed = reverse(quote! {
            let mut s = 0.0;
            for i in 0..x.len() {
                let mut inner = 0.0;
                for j in 0..y.len() {
                    inner = inner * x[i] + y[j];
                }
                s += inner.tanh();
            }
            1.0 + s - x.sum()
        });
        assert!(!summed.contains("__tape2"), "{summed}");
        assert!(summed.contains("__tape1"), "{summed}");
        let read_twice = reverse(quote! {
            let mut s = 0.0;
            for i in 0..x.len() {
                s += x[i] * y[i];
            }
            s * s
        });
        assert!(!read_twice.contains("__tape1"), "{read_twice}");
        assert!(read_twice.contains("scaled"), "{read_twice}");
        let two_sums = reverse(quote! {
            let mut s = 0.0;
            let mut t = 0.0;
            for i in 0..x.len() {
                s += x[i];
                t += y[i];
            }
            s * t
        });
        // Run again in the adjoint sweep, from the two sums' adjoints, rather than recorded.
        assert!(!two_sums.contains("__tape1"), "{two_sums}");
        assert_eq!(
            two_sums.matches("for __item1 in __item1").count(),
            2,
            "{two_sums}"
        );
    }

    /// Malformed or unsupported input of every kind gives errors, never a panic.
    #[test]
    fn never_panics() {
        let bodies = [
            quote!(
                fn f(x: f64) -> f64 {}
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    x.powi(x)
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    x.sin(1.0)
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    let y;
                    y = x;
                    y
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    x.unknown::<f64>() + y.z
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    *x + !x + &x
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    X = x;
                    x[0] + x.0
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    let y = x;
                    y += (x += 1.0);
                    return;
                }
            ),
            quote!(
                fn f((a, b): (f64, f64)) {
                    a
                }
            ),
            quote!(
                fn f(self, x: f64) -> f64 {
                    x
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    <f64>::sin(x) + f64::sin()
                }
            ),
            quote!(
                fn f(x: f64) -> f64 {
                    async { x }.await
                }
            ),
            quote!(
                fn f(r#type: f64) -> f64 {
                    r#type * 2.0
                }
            ),
            quote!(
                fn f(x: &Array1<f64>, w: f64) -> f64 {
                    let a = x.mapv();
                    let b = x.mapv(|p, q| p);
                    let c = x.map(|(p, q)| p * w);
                    let d = x.mapv(|v| {
                        v * w;
                    });
                    let e = x.mapv(|v| 1.0);
                    let f = x.mapv(|v| {
                        w = v;
                        v
                    });
                    let g = x.mapv(async |v| v);
                    let h = x.mapv(make(w));
                    let i = x.mapv(|v| x[0] * v);
                    let j = x.mapv(|v| return);
                    a + b + c + d + e + f + g + h + i + j
                }
            ),
        ];
        for body in bodies {
            let _ = differentiable(TokenStream::new(), body);
        }
        let _ = differentiable(
            quote!(wrt),
            quote!(
                fn f(x: f64) -> f64 {
                    x
                }
            ),
        );
        let _ = differentiable(
            quote!(wrt()),
            quote!(
                fn f(x: f64) -> f64 {
                    x
                }
            ),
        );
        let _ = differentiable(
            quote!(wrt(x, x)),
            quote!(
                fn f(x: f64) -> f64 {
                    x
                }
            ),
        );
        let _ = differentiable(
            quote!(wrt(x) wrt(x)),
            quote!(
                fn f(x: f64) -> f64 {
                    x
                }
            ),
        );
    }
}
