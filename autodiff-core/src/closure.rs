//! Elementwise closures, fused: the code of an [`Op::Map`] node, `x.mapv(|v| body)`. The
//! forward sweep runs one pass over the elements computing each one's value and its partial
//! derivatives in the element and in each captured differentiated scalar (the closure body's
//! own forward-mode code, or for several inputs its reverse-mode code, inlined per element);
//! the derivative sweeps read only those partials: the pullback is ḡ ⊙ ∂y/∂v, the tangent
//! ẋ ⊙ ∂y/∂v, each one more pass.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use crate::emit::{accumulate, hygienic, node_ident, operand_tokens, rule_args, tangent_param};
use crate::ir::{Closure, Op, Program, Var};
use crate::signature::{Output, Param, Signature};

fn closure_of(program: &Program, i: usize) -> &Closure {
    match &program.nodes[i].op {
        Op::Map(closure) => closure,
        _ => unreachable!("node {i} is not an elementwise closure"),
    }
}

/// `let (__vI, [__dI_0, …]) = closure::forward(x, |v| …);`: node i's value and partials.
pub fn forward_code(program: &Program, i: usize) -> TokenStream {
    let node = &program.nodes[i];
    let closure = closure_of(program, i);
    let y = node_ident(i);
    let partials: Vec<_> = (0..closure.program.inputs.len())
        .map(|k| Closure::partial_ident(i, k))
        .collect();
    let m = closure.elements;
    let arrays = &rule_args(program, i)[..m];
    // The captured values, bound to the names the closure's program reads them by; each
    // must be a scalar, which `captured` checks where the closure reads it.
    let captures = node.args[m..]
        .iter()
        .zip(&closure.program.inputs[m..])
        .zip(&closure.capture_spans)
        .map(|((arg, input), span)| {
            let (ident, value) = (&input.ident, located(operand_tokens(program, arg), *span));
            let captured = quote_spanned!(*span=> ::autodiff::__private::closure::captured);
            quote!(let #ident = #captured(#value);)
        });
    let element = hygienic("__element");
    let elements: Vec<syn::Ident> = (0..m).map(|k| hygienic(&format!("__element{k}"))).collect();
    let parameters = closure.program.inputs[..m]
        .iter()
        .zip(&elements)
        .zip(&closure.by_reference)
        .map(|((input, element), by_reference)| {
            let v = &input.ident;
            match by_reference {
                true => quote!(let #v = &#element;),
                false => quote!(let #v = #element;),
            }
        });
    let code = element_code(closure, &elements[0]);
    let float = &closure.program.float;
    let count = proc_macro2::Literal::usize_unsuffixed(closure.program.inputs.len());
    let m = proc_macro2::Literal::usize_unsuffixed(m);
    // The constants of the function the closure reads, whose types say whether it may run on
    // every core (it may unless one cannot be shared between threads).
    let read = read_names(&code);
    let constants = closure
        .constants
        .iter()
        .filter(|name| read.contains(&name.to_string()));
    let (env, cores, run) = (hygienic("__env"), hygienic("__cores"), hygienic("__run"));
    let run_fn = match closure.summed {
        true => quote_spanned!(node.span=> ::autodiff::__private::closure::Run::run_sum),
        false => quote_spanned!(node.span=> ::autodiff::__private::closure::Run::run),
    };
    // A summed map keeps the partials in its elements as arrays and those in its captured
    // values as sums (`_` for the elements' own sums, which nothing reads).
    let binding = match closure.summed {
        false => quote!((#y, [#(#partials),*])),
        true => {
            let sums = (0..closure.program.inputs.len()).map(|k| match k < closure.elements {
                true => quote!(_),
                false => {
                    let partial = Closure::partial_ident(i, k);
                    quote!(#partial)
                }
            });
            let arrays = (0..closure.elements).map(|k| Closure::partial_ident(i, k));
            quote!((#y, [#(#arrays),*], [#(#sums),*]))
        }
    };
    quote! {
        let #binding = {
            #[allow(unused_imports)]
            use ::autodiff::__private::closure::{Shared as _, Unshared as _};
            #(#captures)*
            let #env = (#(&#constants,)*);
            let #cores = (&::autodiff::__private::closure::Env(&#env)).autodiff_cores();
            let #run = |#element: [#float; #m]| -> (#float, [#float; #count]) {
                let [#(#elements),*] = #element;
                #(#parameters)*
                #code
            };
            #run_fn(#cores, [#(#arrays),*], #run)
        };
    }
}

/// The names `tokens` reads (identifiers not after a `.`: not fields or methods).
fn read_names(tokens: &TokenStream) -> std::collections::HashSet<String> {
    fn collect(tokens: TokenStream, out: &mut std::collections::HashSet<String>) {
        let mut after_dot = false;
        for tree in tokens {
            match &tree {
                proc_macro2::TokenTree::Ident(ident) if !after_dot => {
                    out.insert(ident.to_string());
                }
                proc_macro2::TokenTree::Group(group) => collect(group.stream(), out),
                _ => {}
            }
            after_dot = matches!(&tree, proc_macro2::TokenTree::Punct(p) if p.as_char() == '.');
        }
    }
    let mut out = std::collections::HashSet::new();
    collect(tokens.clone(), &mut out);
    out
}

/// The code computing, for one element (`element`, bound to the closure's parameter),
/// `(y, [∂y/∂v, ∂y/∂w₁, …])`.
fn element_code(closure: &Closure, element: &syn::Ident) -> TokenStream {
    let sub = &closure.program;
    let (value, partial) = (hygienic("__y"), hygienic("__dy"));
    if sub.inputs.len() == 1 {
        // One input: its forward mode, with tangent one.
        let tangent = tangent_param(&sub.inputs[0].ident);
        let block = crate::forward::jvp_block(sub);
        return quote!({
            let #tangent = ::autodiff::__private::Tangent::one_like(&#element);
            let (#value, #partial) = #block;
            (#value, [#partial])
        });
    }
    // Several: reverse mode, every partial in one sweep.
    let sig = Signature {
        vis: syn::Visibility::Inherited,
        name: hygienic("__closure"),
        params: sub
            .inputs
            .iter()
            .map(|input| Param {
                ident: input.ident.clone(),
                ty: syn::parse_quote!(f64),
                differentiated: true,
                structured: false,
                mutable: false,
            })
            .collect(),
        ret: syn::parse_quote!(f64),
        output: Output::Scalar,
        inherited: Vec::new(),
        generics: syn::Generics::default(),
        in_impl: false,
    };
    let block = crate::reverse::reverse_block(&sig, sub, crate::reverse::Seed::One);
    let partials: Vec<syn::Ident> = (0..sub.inputs.len())
        .map(|k| hygienic(&format!("__dy{k}")))
        .collect();
    quote!({
        let (#value, (#(#partials),*)) = #block;
        (#value, [#(#partials),*])
    })
}

/// Node i's adjoint `g` passed to its arguments: each captured scalar's contribution
/// Σ g ⊙ ∂y/∂w (reading g), then the element's, g ⊙ ∂y/∂v (in g's buffer); in argument
/// order as `(argument, contribution)`.
/// With `once` (the sweep runs once, as in `f_vjp`), a summed map's element partials, read
/// by this pullback alone, are scaled in their own buffer.
pub fn pullbacks(
    program: &Program,
    i: usize,
    g: &TokenStream,
    once: bool,
) -> Vec<(Var, TokenStream)> {
    let span = program.nodes[i].span;
    let closure = closure_of(program, i);
    let mut out = Vec::new();
    let mut arrays = Vec::new();
    for (k, var) in program.var_args(i) {
        let partial = Closure::partial_ident(i, k);
        // A sum's adjoint is a scalar, read by every contribution.
        let rule = match (k < closure.elements, closure.summed) {
            (true, false) => {
                arrays.push((var, partial));
                continue;
            }
            (true, true) if once => quote!(vjp_summed_in_place(#partial, #g)),
            (true, true) => quote!(vjp_summed(&#partial, #g)),
            (false, false) => quote!(vjp_captured(&#partial, &#g)),
            (false, true) => quote!(vjp_captured_summed(&#partial, #g)),
        };
        out.push((
            var,
            quote_spanned!(span=> ::autodiff::__private::closure::#rule),
        ));
    }
    // The last array's contribution is written in g's buffer, the others in copies.
    let last = arrays.len().saturating_sub(1);
    for (n, (var, partial)) in arrays.into_iter().enumerate() {
        let vjp = quote_spanned!(span=> ::autodiff::__private::closure::vjp);
        let g = match n == last {
            true => g.clone(),
            false => quote!(::autodiff::__private::Tangent::duplicate(&#g)),
        };
        out.push((var, quote_spanned!(span=> #vjp(&#partial, #g))));
    }
    out
}

/// Node i's tangent, Σ over its differentiated arguments of their tangent times the
/// partials; `tangent` gives an argument's tangent (called once per argument, in order).
pub fn tangent(
    program: &Program,
    i: usize,
    mut tangent: impl FnMut(Var) -> TokenStream,
) -> TokenStream {
    let span = program.nodes[i].span;
    let closure = closure_of(program, i);
    let mut sum: Option<TokenStream> = None;
    for (k, var) in program.var_args(i) {
        let t = tangent(var);
        let partial = Closure::partial_ident(i, k);
        let rule = match (k < closure.elements, closure.summed) {
            (true, false) => quote!(jvp),
            (true, true) => quote!(jvp_summed),
            (false, false) => quote!(jvp_captured),
            (false, true) => quote!(jvp_captured_summed),
        };
        let term = quote_spanned!(span=> ::autodiff::__private::closure::#rule(&#partial, #t));
        sum = Some(match sum {
            None => term,
            Some(sum) => accumulate(&sum, &term, span),
        });
    }
    // A closure reading nothing differentiated, on a constant array (its parameter shadowing
    // a differentiated name): zero.
    sum.unwrap_or_else(|| {
        let y = node_ident(i);
        quote!(::autodiff::__private::Map::zeros((#y).autodiff_arg()))
    })
}

/// `tokens` located at `span` (their hygiene kept): where a type error about them points.
fn located(tokens: TokenStream, span: proc_macro2::Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(group) = &tree {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), located(group.stream(), span));
                inner.set_span(group.span().located_at(span));
                return proc_macro2::TokenTree::Group(inner);
            }
            tree.set_span(tree.span().located_at(span));
            tree
        })
        .collect()
}
