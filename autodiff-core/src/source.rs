//! `f_source()`: the Rust source of the derivative functions generated for `f`, formatted by
//! `prettyplease` when the macro expands, for review and for snapshot tests of what the
//! macro emits.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, ToTokens};
use syn::visit::Visit;

use crate::signature::Signature;

/// `f_source`, returning `derivatives` (the generated `f_grad`, `f_vjp`, … in the order they
/// are emitted) as formatted source. Like them, it names no sibling item, so it compiles as
/// a free function and as an associated function of an `impl` alike.
pub fn emit_source(sig: &Signature, derivatives: &TokenStream) -> TokenStream {
    // The generated items always parse; if they did not, their tokens as text, not a panic.
    let (names, source) = match syn::parse2::<syn::File>(derivatives.clone()) {
        Ok(file) => (function_names(&file), format(file)),
        Err(_) => (Vec::new(), derivatives.to_string()),
    };
    let doc = format!(
        "The source of the functions `#[differentiable]` generated from [`{name}`] \
         ({names}): the Rust the macro emitted, formatted by `prettyplease`, without the doc \
         comments (their documentation shows those). For review, or for a snapshot test of \
         what the macro emits:\n\n```text\nprintln!(\"{{}}\", {name}_source());\n```",
        name = sig.name,
        names = names.join(", "),
    );
    let signature = source_signature(sig);
    quote! {
        #[doc = #doc]
        #[must_use]
        #[allow(dead_code)]
        #signature { #source }
    }
}

/// `vis fn f_source() -> &'static str`, with the original's `cfg` and `allow` attributes
/// (and none of its lifetimes, which it does not use); also the stub's signature on errors.
pub fn source_signature(sig: &Signature) -> TokenStream {
    let (vis, inherited) = (&sig.vis, &sig.inherited);
    let name = format_ident!("{}_source", sig.name);
    quote!(#(#inherited)* #vis fn #name() -> &'static str)
}

/// Generated items as formatted source, without their doc comments, a blank line between
/// two of them; one that `prettyplease` cannot print, as its tokens.
fn format(file: syn::File) -> String {
    let items = file.items.into_iter().map(|mut item| {
        if let syn::Item::Fn(function) = &mut item {
            function.attrs.retain(|attr| !attr.path().is_ident("doc"));
        }
        match printable(&item) {
            true => prettyplease::unparse(&syn::File {
                shebang: None,
                attrs: Vec::new(),
                items: vec![item],
            }),
            false => item.to_token_stream().to_string(),
        }
    });
    items.collect::<Vec<_>>().join("\n")
}

/// Whether `prettyplease` prints `item` rather than panicking: it panics on syntax that syn
/// keeps as tokens (`Verbatim`: unstable syntax such as `builtin # offset_of(..)`) and on a
/// `macro_rules!` it cannot read, either of which a function item in the body may hold (the
/// generated functions declare it again).
fn printable(item: &syn::Item) -> bool {
    struct Printable(bool);
    macro_rules! no_verbatim {
        ($($visit:ident: $node:ident),*) => {$(
            fn $visit(&mut self, node: &'ast syn::$node) {
                self.0 &= !matches!(node, syn::$node::Verbatim(_));
                syn::visit::$visit(self, node);
            }
        )*};
    }
    impl<'ast> Visit<'ast> for Printable {
        no_verbatim!(
            visit_expr: Expr,
            visit_item: Item,
            visit_foreign_item: ForeignItem,
            visit_trait_item: TraitItem,
            visit_impl_item: ImplItem,
            visit_type_param_bound: TypeParamBound,
            visit_pat: Pat,
            visit_type: Type
        );
        fn visit_item_macro(&mut self, node: &'ast syn::ItemMacro) {
            self.0 &= !node.mac.path.is_ident("macro_rules");
        }
    }
    let mut check = Printable(true);
    check.visit_item(item);
    check.0
}

/// The names of the functions in `file`, each in backticks.
fn function_names(file: &syn::File) -> Vec<String> {
    file.items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Fn(function) => Some(format!("`{}`", function.sig.ident)),
            _ => None,
        })
        .collect()
}

/// Snapshots of what the macro emits, as `f_source()` returns it: a change to the generated
/// code shows here as a diff to review (`cargo insta review`, or `INSTA_UPDATE=always`).
#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::quote;

    /// The string `f_source()` returns in the expansion of `#[differentiable(attr)] item`.
    fn source_of(attr: TokenStream, item: TokenStream) -> String {
        let file: syn::File = syn::parse2(crate::differentiable(attr, item)).expect("parses");
        let body = file.items.iter().find_map(|item| match item {
            syn::Item::Fn(f) if f.sig.ident.to_string().ends_with("_source") => Some(&f.block),
            _ => None,
        });
        match body.map(|block| block.stmts.as_slice()) {
            Some(
                [syn::Stmt::Expr(
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(source),
                        ..
                    }),
                    None,
                )],
            ) => source.value(),
            _ => panic!("no `f_source` returning a string literal"),
        }
    }

    /// The lectures' seed function, f(x₁, x₂) = ln x₁ + x₁x₂ − sin x₂, with its Hessian.
    #[test]
    fn lecture_seed() {
        insta::assert_snapshot!(source_of(
            quote!(hessian),
            quote! {
                fn f(x1: f64, x2: f64) -> f64 {
                    x1.ln() + x1 * x2 - x2.sin()
                }
            },
        ));
    }

    /// Arrays, a matrix product, `sigmoid` and a loss: the lectures' logistic regression.
    #[test]
    fn logistic_regression() {
        insta::assert_snapshot!(source_of(
            quote!(wrt(w, b)),
            quote! {
                fn logistic(w: &Array1<f64>, b: f64, x: &Array2<f64>, y: &Array1<f64>) -> f64 {
                    bce(&sigmoid(x.dot(w) + b), y)
                }
            },
        ));
    }

    /// The forward sweep writes `tanh(x·w + b)` into the product's buffer in one pass, the
    /// shapes kept for the pullbacks; a value read twice is not moved, nor chained.
    #[test]
    fn reused_buffers() {
        let moved = source_of(
            quote!(wrt(w, b)),
            quote! {
                fn layer(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>) -> f64 {
                    (x.dot(w) + b).tanh().sum()
                }
            },
        );
        for line in [
            "let __shape1 = ::autodiff::__private::Shaped::autodiff_shape(&__v1);",
            "let __v3 = ::autodiff::__private::prim::tanh::forward_after(__v1, (b).autodiff_arg(), \"add\", false, |__m, __o| __m + __o",
            "prim::tanh::vjp_after((__v3).autodiff_arg(), &__v3, ::autodiff::__private::Shaped::autodiff_shape(&__shape1),",
            "prim::dot::vjp1_shaped(",
        ] {
            assert!(
                squeeze(&moved).contains(&squeeze(line)),
                "missing `{line}` in\n{moved}"
            );
        }
        let read_twice = source_of(
            quote!(wrt(w, b)),
            quote! {
                fn layer(x: &Array2<f64>, w: &Array2<f64>, b: &Array1<f64>) -> f64 {
                    let z = x.dot(w) + b;
                    (z.tanh() + &z).sum()
                }
            },
        );
        assert!(!read_twice.contains("tanh::forward_into"), "{read_twice}");
        assert!(!read_twice.contains("forward_after"), "{read_twice}");
        // The sum's shape is read by no pullback: the tanh's computes both of its operands'.
        assert!(!moved.contains("__shape2"), "{moved}");
        assert!(squeeze(&read_twice).contains("prim::add::forward_into_left(__v1,"));
    }

    /// A matrix filled in nested loops: the outer loop carries it, so it is no checkpoint
    /// (which would record a copy of the matrix per iteration and run the iteration again),
    /// and the inner loop takes it by move at every outer iteration, not a copy.
    #[test]
    fn a_matrix_filled_in_nested_loops() {
        let source = source_of(
            quote!(wrt(q)),
            quote! {
                fn filled(q: &Array1<f64>, x: &Array2<f64>) -> f64 {
                    let d = q.len();
                    let mut w = Array2::<f64>::zeros((d, d));
                    for col in 0..d {
                        for row in col..d {
                            w[[row, col]] = q[row];
                        }
                    }
                    x.dot(&w).sum()
                }
            },
        );
        let vjp = generated(&source, "filled_vjp");
        let squeezed = squeeze(vjp);
        assert!(squeezed.contains("letmut__l2=__l1;"), "{vjp}");
        assert!(!squeezed.contains("Clone::clone(&__l1)"), "{vjp}");
        // Its forward code runs once: one element write per element written.
        assert_eq!(squeezed.matches("set_index::set_at(").count(), 1, "{vjp}");
    }

    /// A nearest-centroid search, whose distances are only compared: `f_hvp` computes them
    /// on real numbers, reading the parameter as it was passed (constants too: no dual copy
    /// of it for `c.nrows()`), and the one distance the result depends on on duals.
    #[test]
    fn a_search_on_real_numbers_in_the_hessians_sweep() {
        // The centroids by reference, as a view, owned: each is read as it was passed.
        for centroids in [
            quote!(&Array2<f64>),
            quote!(ArrayView2<f64>),
            quote!(Array2<f64>),
        ] {
            let source = source_of(
                quote!(hessian, wrt(c)),
                quote! {
                    fn nearest(p: &Array1<f64>, c: #centroids) -> f64 {
                        let mut best = 0;
                        let mut closest = f64::INFINITY;
                        for j in 0..c.nrows() {
                            let mut distance = 0.0;
                            for l in 0..p.len() {
                                distance += (c[[j, l]] - p[l]).powi(2);
                            }
                            if distance < closest {
                                closest = distance;
                                best = j;
                            }
                        }
                        let mut cost = 0.0;
                        for l in 0..p.len() {
                            cost += (c[[best, l]] - p[l]).powi(2);
                        }
                        cost
                    }
                },
            );
            let hvp = squeeze(generated(&source, "nearest_hvp"));
            assert!(hvp.contains("let__real0=&c;letc=c.autodiff_seed"), "{hvp}");
            assert_eq!(
                hvp.matches("index::forward(((*__real0))").count(),
                1,
                "{hvp}"
            );
            assert_eq!(hvp.matches("index::forward((c)").count(), 1, "{hvp}");
            assert!(!hvp.contains("(c).autodiff_re()"), "{hvp}");
        }
    }

    /// A double sum summed into the result: both loops run their adjoints beside their
    /// forward code, recording nothing, the inner one adding into the outer's accumulator.
    #[test]
    fn a_double_sum_records_nothing() {
        let source = source_of(
            quote!(wrt(x)),
            quote! {
                fn pairs(x: &Array1<f64>) -> f64 {
                    let mut s = 0.0;
                    for i in 0..x.len() {
                        for j in 0..i {
                            s += (x[i] - x[j]).powi(2);
                        }
                    }
                    s
                }
            },
        );
        let vjp = generated(&source, "pairs_vjp");
        assert!(!vjp.contains("record(") && !vjp.contains("__tape"), "{vjp}");
        // One accumulator of x's adjoint, declared once, before the loops.
        assert_eq!(squeeze(vjp).matches("autodiff_zeros(").count(), 1, "{vjp}");
    }

    /// A sum inside a loop that records (`z` squared after its loop, in a running maximum):
    /// the inner loop records nothing; its adjoint runs it again, the packed index it
    /// carries too.
    #[test]
    fn a_sum_inside_a_recording_loop_is_run_again() {
        let source = source_of(
            quote!(wrt(x)),
            quote! {
                fn packed(x: &Array1<f64>, d: usize) -> f64 {
                    let mut largest = 0.0;
                    for r in 0..d {
                        let mut z = x[r];
                        let mut index = d + r;
                        for col in 0..r {
                            z += x[index] * x[col];
                            index += d - col - 2;
                        }
                        largest = largest.max(z * z);
                    }
                    largest
                }
            },
        );
        let vjp = squeeze(generated(&source, "packed_vjp"));
        // One tape: the outer loop's (a checkpoint: its start values).
        assert_eq!(vjp.matches("record(").count(), 1, "{vjp}");
        assert_eq!(vjp.matches("drain(").count(), 1, "{vjp}");
        assert!(!vjp.contains("__tape1"), "{vjp}");
        // The inner loop runs in the forward sweep, in the checkpoint's run again, and in
        // its own adjoint.
        assert_eq!(vjp.matches("for__item1in__item1").count(), 3, "{vjp}");
    }

    /// An array written element by element in nested loops, in forward mode: the inner
    /// loop takes the array and its tangent by move and hands them back by move, so that
    /// each outer iteration copies nothing (it copied both twice: O(n²) for n rows).
    #[test]
    fn forward_mode_moves_a_written_array_through_nested_loops() {
        let source = source_of(
            quote!(wrt(c)),
            quote! {
                fn gather(c: &Array1<f64>, idx: &[usize], n: usize) -> Array1<f64> {
                    let mut out = Array1::<f64>::zeros(3 * n);
                    for i in 0..n {
                        for r in 0..3 {
                            out[3 * i + r] = 2.0 * c[idx[3 * i + r]];
                        }
                    }
                    out
                }
            },
        );
        let jvp = squeeze(generated(&source, "gather_jvp"));
        assert!(jvp.contains("letmut__l2=__l1;letmut__lt2=__lt1;"), "{jvp}");
        assert!(jvp.contains("(__lt1,__l1)=(__lt2,__l2);"), "{jvp}");
        // The result's tangent, once.
        assert_eq!(jvp.matches("duplicate(&__lt").count(), 1, "{jvp}");
    }

    /// An array two nested loops add into (`qx[r] += …`), inside a loop that records it
    /// after them (the loop writing `terms` carries an array, so it records; the squares'
    /// adjoint reads `qx`): the inner loop still takes it by move at every outer iteration,
    /// the record reading the binding the outer loop reassigned (it copied it: O(d²)), and
    /// its adjoint runs it again without `qx` instead of reading a record.
    #[test]
    fn reverse_mode_moves_an_array_into_an_inner_loop_of_a_recorded_nest() {
        let source = source_of(
            quote!(wrt(l)),
            quote! {
                fn terms(l: &Array2<f64>, x: &Array1<f64>) -> f64 {
                    let d = x.len();
                    let mut terms = Array1::<f64>::zeros(l.nrows());
                    for c in 0..l.nrows() {
                        let mut qx = Array1::<f64>::zeros(d);
                        let mut idx = 0;
                        for col in 0..d {
                            for r in col + 1..d {
                                qx[r] += l[[c, idx]] * x[col];
                                idx += 1;
                            }
                        }
                        let mut s = 0.0;
                        for j in 0..d {
                            s += qx[j] * qx[j];
                        }
                        terms[c] = s;
                    }
                    terms.sum()
                }
            },
        );
        let vjp = squeeze(generated(&source, "terms_vjp"));
        assert!(!vjp.contains("Map::map("), "{vjp}");
        // The innermost loop only adds into `qx`: its adjoint runs it again, `qx` left out,
        // rather than reading a record (the loops over `c` and `col` record).
        assert_eq!(vjp.matches(".drain(").count(), 2, "{vjp}");
    }

    /// An array added into twice per iteration (`y[i] += …; y[i + 1] += …`): the second
    /// write takes the first one's result by move, its element read before it (it copied
    /// the whole array at every iteration).
    #[test]
    fn a_second_element_write_takes_the_first_ones_array_by_move() {
        let source = source_of(
            quote!(wrt(x)),
            quote! {
                fn pairs(x: &Array1<f64>) -> f64 {
                    let n = x.len();
                    let mut y = Array1::<f64>::zeros(n + 1);
                    for i in 0..n {
                        y[i] += x[i];
                        y[i + 1] += 0.5 * x[i];
                    }
                    y.mapv(|v| v * v).sum()
                }
            },
        );
        for name in ["pairs_vjp", "pairs_jvp"] {
            let code = squeeze(generated(&source, name));
            assert!(!code.contains("Map::map("), "{code}");
        }
    }

    /// A function calling itself in its own loop summed into the result, each call's
    /// cotangent known where it is made: the call runs the hidden companion that adds into
    /// the loop's accumulator in place, and neither the primal nor the vjp is called.
    #[test]
    fn a_call_of_itself_runs_its_adjoint_where_it_is_made() {
        let source = source_of(
            quote!(wrt(a)),
            quote! {
                fn minor(a: &Array2<f64>, row: usize) -> f64 {
                    let mut det = 0.0;
                    for col in 0..a.ncols() {
                        if row + 1 == a.nrows() {
                            det += a[[row, col]];
                        } else {
                            det += a[[row, col]] * minor(a, row + 1);
                        }
                    }
                    det
                }
            },
        );
        for name in ["minor_vjp", "__differentiable_vjp_into_minor"] {
            let code = squeeze(generated(&source, name));
            assert!(code.contains("=__differentiable_vjp_into_minor("), "{code}");
            assert!(
                !code.contains("=minor(") && !code.contains("__differentiable_vjp_minor("),
                "{code}"
            );
            assert!(!code.contains("record("), "{code}");
        }
        // The companion adds to the accumulator it is given: no zeros of `a`'s shape.
        let into = squeeze(generated(&source, "__differentiable_vjp_into_minor"));
        assert!(!into.contains("autodiff_shape(&a)"), "{into}");
    }

    /// A call of another function in a loop summed into the result, its cotangent known
    /// where it is made: its vjp runs there (the value with it), and the primal does not.
    #[test]
    fn a_call_in_a_summed_loop_runs_its_vjp_where_it_is_made() {
        let source = source_of(
            quote!(),
            quote! {
                fn total(p: &Array1<f64>, x: &Array1<f64>) -> f64 {
                    let mut loss = 0.0;
                    for i in 0..x.len() {
                        loss += x[i] * sample(p, i);
                    }
                    loss
                }
            },
        );
        let vjp = squeeze(generated(&source, "total_vjp"));
        assert_eq!(
            vjp.matches("__differentiable_vjp_sample(").count(),
            1,
            "{vjp}"
        );
        assert!(!vjp.contains("=sample("), "{vjp}");
    }

    /// A sum read after its loop (`(s / n).ln()`): in `f_hvp`'s sweep on dual numbers too,
    /// the loop runs its adjoint beside its forward code from one and scales what it added
    /// (its start, a dual constant, still counts as a number), recording nothing.
    #[test]
    fn a_scaled_sum_records_nothing_in_the_hessians_sweep() {
        let source = source_of(
            quote!(hessian),
            quote! {
                fn mean_log(x: &Array1<f64>) -> f64 {
                    let mut s = 0.0;
                    for i in 0..x.len() {
                        s += x[i].sin() * x[i];
                    }
                    (s / x.len() as f64 + 2.0).ln()
                }
            },
        );
        let hvp = generated(&source, "mean_log_hvp");
        assert!(!hvp.contains("record(") && !hvp.contains("__tape"), "{hvp}");
        assert!(hvp.contains("scaled("), "{hvp}");
    }

    /// `f_jvp` through regions: a tangent read once, by a node in no loop (in an `if`'s arm
    /// or not), is moved into it; one that a loop reads too is copied.
    #[test]
    fn tangents_read_once_outside_loops_are_moved() {
        let source = source_of(
            quote!(wrt(x)),
            quote! {
                fn after(x: &Array1<f64>) -> f64 {
                    let mut s = 0.0;
                    for i in 0..x.len() {
                        s += x[i];
                    }
                    let y = x * s;
                    if s > 0.0 {
                        (&y * 2.0).sum()
                    } else {
                        0.0
                    }
                }
            },
        );
        let jvp = squeeze(generated(&source, "after_jvp"));
        // y's tangent and the product's, in the arm; x's, read by the loop too, copied.
        assert!(
            jvp.contains("&__v4,__t3,)") && jvp.contains("&__v5,__t4,)"),
            "{jvp}"
        );
        assert!(jvp.contains("duplicate(&x_tangent)"), "{jvp}");
    }

    /// The generated function `name` in `source`, from `fn name` to its closing brace.
    fn generated<'s>(source: &'s str, name: &str) -> &'s str {
        let start = source
            .find(&format!("fn {name}("))
            .expect("the function is generated");
        let code = &source[start..];
        &code[..code.find("\n}\n").expect("its closing brace") + 2]
    }

    /// The code without whitespace, to find a line however rustfmt wrapped it.
    fn squeeze(code: &str) -> String {
        code.split_whitespace().collect()
    }

    /// A loop over an array's elements with a branch in it.
    #[test]
    fn loop_and_branch() {
        insta::assert_snapshot!(source_of(
            quote!(),
            quote! {
                fn positive_sum(x: &Array1<f64>, s: f64) -> f64 {
                    let mut acc = 0.0;
                    for i in 0..x.len() {
                        if x[i] > 0.0 {
                            acc += x[i] * s;
                        }
                    }
                    acc
                }
            },
        ));
    }

    /// A loop only summed into the result: its adjoint runs beside its forward code.
    #[test]
    fn summed_loop() {
        insta::assert_snapshot!(source_of(
            quote!(),
            quote! {
                fn sum_of_squares(x: &Array1<f64>) -> f64 {
                    let mut acc = 0.0;
                    for i in 0..x.len() {
                        acc += x[i] * x[i];
                    }
                    acc
                }
            },
        ));
    }

    /// Overlapping slices at a loop index: each window's adjoint is added in place into the
    /// parameter's, with nothing recorded per iteration but the index.
    #[test]
    fn sliced_windows() {
        insta::assert_snapshot!(source_of(
            quote!(),
            quote! {
                fn windows(x: &Array1<f64>) -> f64 {
                    let mut s = 0.0;
                    for i in 0..x.len() - 1 {
                        s += x.slice(s![i..i + 2]).sum() * x[i];
                    }
                    s
                }
            },
        ));
    }

    /// A struct of parameters, whose gradient is a struct of the same type.
    #[test]
    fn struct_of_parameters() {
        insta::assert_snapshot!(source_of(
            quote!(wrt(p)),
            quote! {
                fn predict(p: &Linear, x: &Array1<f64>) -> f64 {
                    (p.w.dot(x) + p.b).tanh()
                }
            },
        ));
    }

    /// A whole model: a `Vec` of layers, each passed to a layer's differentiable function,
    /// and one read in place by index.
    #[test]
    fn vec_of_layers() {
        insta::assert_snapshot!(source_of(
            quote!(wrt(p)),
            quote! {
                fn deep(p: &Deep, x: &Array2<f64>) -> f64 {
                    let mut h = x.clone();
                    for l in &p.layers {
                        h = dense(l, &h);
                    }
                    h.sum() + p.layers[0].b.sum()
                }
            },
        ));
    }

    /// A vector function: `f_vjp`, `f_jvp` and `f_jacobian`, no `f_grad`.
    #[test]
    fn vector_function() {
        insta::assert_snapshot!(source_of(
            quote!(),
            quote! {
                fn polar(r: f64, theta: f64) -> (f64, f64) {
                    (r * theta.cos(), r * theta.sin())
                }
            },
        ));
    }

    /// Custom rules: the derivatives call the user's rules.
    #[test]
    fn custom_rules() {
        insta::assert_snapshot!(source_of(
            quote!(vjp = log1pexp_vjp_rule, jvp = log1pexp_jvp_rule),
            quote! {
                fn log1pexp(x: f64) -> f64 {
                    if x > 0.0 { x + (-x).exp().ln_1p() } else { x.exp().ln_1p() }
                }
            },
        ));
    }

    /// Syntax `prettyplease` cannot print (in a function item of the body, which every
    /// generated function declares again) is written as tokens, not a panic.
    #[test]
    fn unprintable_syntax_as_tokens() {
        for inner in [
            "fn g() { macro_rules! m { not a rule } }",
            "fn g() -> usize { builtin # offset_of(S, field) }",
            "fn g(y: dyn* Foo) {}",
        ] {
            let inner: TokenStream = inner.parse().expect("tokens");
            let source = source_of(quote!(), quote!(fn f(x: f64) -> f64 { #inner x * x }));
            assert!(source.contains("fn f_vjp (x : f64"), "{source}");
            assert!(source.contains("fn f_trace (x : f64)"), "{source}");
        }
    }

    /// On errors, a stub, as for the other generated functions.
    #[test]
    fn a_stub_on_errors() {
        let expansion = crate::differentiable(
            quote!(),
            quote!(
                fn f(x: f64) -> f64 {
                    x.foo()
                }
            ),
        );
        let file: syn::File = syn::parse2(expansion).expect("parses");
        let stub = file.items.iter().find_map(|item| match item {
            syn::Item::Fn(f) if f.sig.ident == "f_source" => Some(quote!(#f).to_string()),
            _ => None,
        });
        assert!(stub.is_some_and(|stub| stub.contains("unimplemented")));
    }
}
