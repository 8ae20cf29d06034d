//! What every emitter shares: the names of the generated bindings, how values and rule
//! arguments are written, the runtime's paths, and the shape of a generated function.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::Ident;

use crate::ir::{Input, InputKind, Op, Operand, Program, Step, Var};
use crate::signature::{gradient_type, Param, Signature};

/// The runtime function `function` (`forward`, `vjp0`, `jvp1`, …) of a primitive's rules,
/// `::autodiff::__private::prim::<module>::<function>`, every token at `span`, the span of
/// the user's expression the node came from.
///
/// The rules are `#[track_caller]`, and the location they report is that of the call
/// expression, `path(args)`: from the path's first token to the closing parenthesis. If any
/// of it carried the macro's call-site span, the location would be the `#[differentiable]`
/// attribute's line; spanned entirely at the user's expression (with the parentheses, by
/// `quote_spanned!` at the same span), it is that expression's line and column. The path is
/// absolute, so it resolves the same at any span; the arguments keep their own spans (and
/// the generated names their hygiene).
pub fn rule_fn(module: &str, function: &str, span: Span) -> TokenStream {
    let (module, function) = (Ident::new(module, span), Ident::new(function, span));
    quote_spanned!(span=> ::autodiff::__private::prim::#module::#function)
}

/// `::autodiff::__private::Tangent::accumulate(sum, contribution)`, called at `span` (a
/// node's, whose value or contribution is summed) as the rules are: `accumulate` is
/// `#[track_caller]` too.
pub fn accumulate(sum: &TokenStream, contribution: &TokenStream, span: Span) -> TokenStream {
    quote_spanned!(span=> ::autodiff::__private::Tangent::accumulate(#sum, #contribution))
}

pub fn node_ident(index: usize) -> Ident {
    format_ident!("__v{}", index + 1, span = Span::mixed_site())
}

pub fn var_tokens(program: &Program, var: Var) -> TokenStream {
    match var {
        Var::Input(k) => match &program.inputs[k] {
            Input {
                ident,
                kind: InputKind::Field { path, .. },
                ..
            } => quote!((#ident #path)),
            Input { ident, .. } => quote!(#ident),
        },
        Var::Node(i) => {
            let ident = node_ident(i);
            quote!(#ident)
        }
        Var::Local(k) => {
            let ident = local_ident(k);
            quote!(#ident)
        }
    }
}

/// An operand as it is written where the original computes with it: the result.
pub fn operand_tokens(program: &Program, operand: &Operand) -> TokenStream {
    match operand {
        Operand::Var(var) => var_tokens(program, *var),
        Operand::Const { tokens, .. } => tokens.clone(),
        Operand::Poison => quote!(::core::unreachable!()),
    }
}

/// Node i's arguments as its rules take them: scalars by value and arrays as views, through
/// the runtime's `Arg` (called as a method, so `x`, `&x` and `&&x` all work); literals as
/// written, so that their float type is inferred; constant arguments (`powi`'s exponent, an
/// `Axis`, labels) as written.
pub fn rule_args(program: &Program, node: usize) -> Vec<TokenStream> {
    let node = &program.nodes[node];
    let constant_args = match &node.op {
        Op::Prim(prim) => prim.rule().constant_args,
        Op::Call { .. } | Op::Copy | Op::Map(_) | Op::Project(_) => &[],
    };
    node.args
        .iter()
        .enumerate()
        .map(|(k, arg)| match arg {
            Operand::Const { tokens, .. } if constant_args.contains(&k) => tokens.clone(),
            Operand::Const {
                tokens,
                literal: true,
                ..
            } => tokens.clone(),
            _ => {
                let value = operand_tokens(program, arg);
                quote!((#value).autodiff_arg())
            }
        })
        .collect()
}

/// A name of the generated code's own, invisible to the user's code (`Span::mixed_site`).
pub fn hygienic(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// The name of `f_vjp`'s cotangent argument.
pub fn cotangent_param() -> Ident {
    hygienic("cotangent")
}

/// The function's result as the generated functions return it: the output operand, or a
/// tuple of them. A parameter returned as it is becomes owned, and so does a view computed
/// for an array result; a value returned twice is copied.
pub fn result_value(program: &Program) -> TokenStream {
    let values: Vec<TokenStream> = program
        .outputs
        .iter()
        .enumerate()
        .map(|(k, output)| {
            let value = operand_tokens(program, output);
            let repeated = program.outputs[k + 1..].iter().any(
                |later| matches!((output, later), (Operand::Var(a), Operand::Var(b)) if a == b),
            );
            let value = match output {
                Operand::Var(Var::Input(_)) => {
                    return quote!(::autodiff::__private::Map::map(
                        (#value).autodiff_arg(),
                        ::core::convert::identity
                    ))
                }
                _ if repeated => quote!(::core::clone::Clone::clone(&#value)),
                _ => value,
            };
            // A node may compute a view (`m.t()`, whose `.to_owned()` the trace drops): an
            // array result is made owned, which costs nothing for an owned array.
            match output {
                Operand::Var(Var::Node(_)) if program.array_outputs.get(k) == Some(&true) => {
                    quote!(::autodiff::ndarray::ArrayBase::into_owned(#value))
                }
                _ => value,
            }
        })
        .collect();
    tuple_if_many(values)
}

/// A generated derivative function: `signature` and `block`. It never names the original;
/// it names another generated function only through [`crate::signature::Signature::sibling_call`], which
/// knows whether they are free or associated functions.
pub fn generated_fn(doc: &str, signature: TokenStream, block: TokenStream) -> TokenStream {
    let allows = generated_allows();
    quote! {
        #[doc = #doc]
        #[must_use]
        #allows
        #signature #block
    }
}

/// The lints every generated function allows, each about a shape the user cannot change:
/// - `dead_code`: a user calls the derivatives they need (and the companions are for callers);
/// - `unused_variables`: a constant result leaves parameters, tangents or the cotangent unread;
/// - `clippy::too_many_arguments`: tangents and cotangents are arguments beyond the
///   original's, which may be at the limit already;
/// - `clippy::type_complexity`: a companion returns every argument's contribution;
/// - `clippy::used_underscore_binding`: a differentiated parameter the original ignores
///   (`_x: f64`) is read for its zero gradient.
pub fn generated_allows() -> TokenStream {
    quote! {
        #[allow(
            dead_code,
            unused_variables,
            clippy::too_many_arguments,
            clippy::type_complexity,
            clippy::used_underscore_binding
        )]
    }
}

/// A generated function's body as a block: `body`, then `result`.
pub fn generated_block(body: TokenStream, result: TokenStream) -> TokenStream {
    quote!({
        #[allow(unused_imports)]
        use ::autodiff::__private::{Arg as _, Pass as _};
        #body
        #result
    })
}

/// The body `block` of `f_vjp` or `f_jvp` (whose parameters beyond the original's are
/// `extra`, and whose declaration is `params` and `ret`), run on rayon's pool when the work
/// is large (`autodiff::__private::on_pool`), estimated as the array arguments' elements
/// times the program's primitive operations, and the signature lets it move there
/// ([`Signature::pool_arrays`]).
///
/// The body is a function of its own, never inlined, taking the parameters as arguments:
/// rustc tells LLVM that a reference argument aliases nothing the function writes, so the
/// arrays' shapes and strides stay in registers through the body's loops. Read through a
/// closure's captures, or once inlined into rayon's job, they are loaded again after every
/// write to an adjoint or a record (a quarter of a loop-written gradient's instructions). A
/// function of an `impl` (which may name `Self` or the impl's generic parameters) or naming
/// `self` cannot be a nested function: a closure takes the arguments then.
pub fn on_pool(
    sig: &Signature,
    program: &Program,
    (params, ret): (Vec<TokenStream>, TokenStream),
    extra: &[Ident],
    block: TokenStream,
) -> TokenStream {
    let Some(arrays) = sig.pool_arrays() else {
        return block;
    };
    let operations = program.nodes.len();
    let body = hygienic("__body");
    let args: Vec<&Ident> = sig.params.iter().map(|p| &p.ident).chain(extra).collect();
    // A nested function could not see an `impl`'s generic parameters, nor `self`.
    let names = crate::region::idents(&block);
    let in_impl = sig.in_impl || names.contains("self") || names.contains("Self");
    let declaration = match in_impl {
        false => {
            let (generics, _, where_clause) = sig.generics.split_for_impl();
            let allows = generated_allows();
            quote! {
                #allows
                #[inline(never)]
                fn #body #generics (#(#params),*) -> #ret #where_clause #block
            }
        }
        true => quote!(let #body = |#(#params),*| -> #ret #block;),
    };
    quote!({
        #declaration
        ::autodiff::__private::on_pool(
            &[#(::autodiff::__private::elements(&#arrays)),*],
            #operations,
            move || #body(#(#args),*),
        )
    })
}

/// A differentiated parameter's zero, of its gradient entry's type.
pub fn param_zeros(param: &Param) -> TokenStream {
    let ident = &param.ident;
    if !param.structured {
        return quote!(::autodiff::__private::Map::zeros(#ident.autodiff_arg()));
    }
    let ty = gradient_type(&param.ty);
    // Spanned at the parameter's type: that is where "not `Parameters`" points.
    quote_spanned!(param.ty.span()=> <#ty as ::autodiff::Parameters>::zeros_like(&#ident))
}

/// One entry as itself, several as a tuple: the gradient's shape in the user's contract.
pub fn tuple_if_many(entries: Vec<TokenStream>) -> TokenStream {
    match entries.as_slice() {
        [single] => single.clone(),
        _ => quote!((#(#entries),*)),
    }
}

/// The name of a differentiated parameter's tangent argument.
pub fn tangent_param(ident: &Ident) -> Ident {
    format_ident!("{}_tangent", ident, span = Span::mixed_site())
}

/// `__lK`: the value of local K.
pub fn local_ident(k: usize) -> Ident {
    format_ident!("__l{}", k + 1, span = Span::mixed_site())
}

/// `__ltK`: the tangent of local K.
pub fn local_tangent_ident(k: usize) -> Ident {
    format_ident!("__lt{}", k + 1, span = Span::mixed_site())
}

/// `(base).layers[i].w`: the part of `base` that the projection node i reads (`base` is its
/// argument 0, or that argument's adjoint or tangent).
pub fn projected(program: &Program, i: usize, base: &TokenStream) -> TokenStream {
    let node = &program.nodes[i];
    let Op::Project(steps) = &node.op else {
        return base.clone();
    };
    let steps = steps.iter().map(|step| match step {
        Step::Field(member) => quote!(.#member),
        Step::Index(k) => {
            let index = node.args.get(*k).map(|arg| operand_tokens(program, arg));
            quote!([#index])
        }
    });
    quote!((#base) #(#steps)*)
}

/// A field of a struct of parameters at `path` (`.layer.w`) within `base` (a gradient or a
/// tangent), through the derive's accessor of its last field: `Option<&T>` (`Option<&mut T>`
/// if `mutable`), `None` for a field marked `#[parameters(skip)]`, which has no gradient or
/// tangent of its own.
pub fn field_slot(base: &TokenStream, path: &TokenStream, mutable: bool) -> TokenStream {
    let trees: Vec<proc_macro2::TokenTree> = path.clone().into_iter().collect();
    let Some(member) = last_member(path) else {
        return quote!(::core::option::Option::Some(&#base #path));
    };
    let parent: TokenStream = trees[..trees.len().saturating_sub(2)]
        .iter()
        .cloned()
        .collect();
    let (read, write) = crate::derive::field_accessors(&member);
    match mutable {
        true => quote!((#base #parent).#write()),
        false => quote!((#base #parent).#read()),
    }
}

/// The last member of a field's path (`w` of `.layer.w`).
fn last_member(path: &TokenStream) -> Option<syn::Member> {
    match path.clone().into_iter().last()? {
        proc_macro2::TokenTree::Ident(ident) => Some(syn::Member::Named(ident)),
        proc_macro2::TokenTree::Literal(literal) => Some(syn::Member::Unnamed(syn::Index {
            index: literal.to_string().parse().ok()?,
            span: literal.span(),
        })),
        _ => None,
    }
}

/// For a struct without `#[derive(Parameters)]` (already an error: "not a set of
/// parameters"), the accessors [`field_slot`] calls, so that it is the only error: a trait
/// of them for every type, which the derive's inherent accessors take precedence over.
/// `read`: the accessors of tangents; `write`: those of gradients.
pub fn field_fallbacks(
    program: &Program,
    read_accessors: bool,
    write_accessors: bool,
) -> TokenStream {
    let mut names: Vec<(Ident, TokenStream)> = Vec::new();
    for input in &program.inputs {
        let InputKind::Field { path, .. } = &input.kind else {
            continue;
        };
        let Some(member) = last_member(path) else {
            continue;
        };
        let (read, write) = crate::derive::field_accessors(&member);
        // The receivers of the derive's: the accessor is found at the same autoref step.
        let accessors = [
            (read, quote!(&self), read_accessors),
            (write, quote!(&mut self), write_accessors),
        ];
        for (name, receiver, wanted) in accessors {
            if wanted && names.iter().all(|(known, _)| *known != name) {
                names.push((name, receiver));
            }
        }
    }
    if names.is_empty() {
        return TokenStream::new();
    }
    let fallback = hygienic("__AutodiffFieldFallback");
    let methods = names
        .iter()
        .map(|(name, receiver)| quote!(#name(#receiver)));
    let not_derived = quote!(::autodiff::__private::leaves::NotDerived);
    quote! {
        #[allow(dead_code, non_camel_case_types)]
        trait #fallback {
            #(fn #methods -> #not_derived { #not_derived })*
        }
        impl<__T: ?::core::marker::Sized> #fallback for __T {}
    }
}
