//! Reverse mode: `f_grad(args…) -> (value, gradient)`. The forward sweep evaluates the trace;
//! the adjoint sweep then visits the nodes in reverse order and hands each argument its
//! contribution v̄ₖ += v̄ᵢ · ∂vᵢ/∂vₖ, summing where a value fans out (the multivariate chain
//! rule). Adjoints are fresh `let`s rather than mutable accumulators, so the emitted code is
//! SSA too and every adjoint that never receives a contribution costs nothing.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::Ident;

use crate::call;
use crate::ir::{Input, InputKind, Op, Operand, Program, Stmt, Var};
use crate::rules::Primitive;
use crate::signature::{gradient_type, Param, Signature};
use crate::trace_doc;

/// One term of the adjoint sweep: node `node` passes its adjoint to its argument `arg`,
/// the variable `target`.
pub struct Pullback {
    pub node: usize,
    pub arg: usize,
    pub target: Var,
}

/// The adjoint sweep in execution order: nodes from last to first, skipping those the output
/// does not depend on.
pub fn pullbacks(program: &Program) -> Vec<Pullback> {
    let mut live = vec![false; program.nodes.len()];
    for var in program.output_vars() {
        if let Var::Node(out) = var {
            live[out] = true;
        }
    }
    let mut sweep = Vec::new();
    for node in (0..program.nodes.len()).rev() {
        if !live[node] {
            continue;
        }
        for (arg, target) in program.var_args(node) {
            if let Var::Node(j) = target {
                live[j] = true;
            }
            sweep.push(Pullback { node, arg, target });
        }
    }
    sweep
}

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
            let ident = crate::region::local_ident(k);
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
        Op::Call { .. } | Op::Copy => &[],
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

/// The forward sweep of reverse mode: every statement of the program in source order, each
/// loop recording its iterations for the adjoint sweep.
pub fn forward_sweep(program: &Program) -> TokenStream {
    forward_stmts(program, &program.stmts, true)
}

/// Statements of the forward sweep; `taped`: loops record their iterations.
pub fn forward_stmts(program: &Program, stmts: &[Stmt], taped: bool) -> TokenStream {
    let stmts = stmts
        .iter()
        .map(|stmt| forward_stmt_in(program, stmt, taped));
    quote!(#(#stmts)*)
}

/// One statement of the forward sweep, with no loop recording.
pub fn forward_stmt(program: &Program, stmt: &Stmt) -> TokenStream {
    forward_stmt_in(program, stmt, false)
}

/// One statement of reverse mode's forward sweep: loops record their iterations.
pub fn forward_stmt_taped(program: &Program, stmt: &Stmt) -> TokenStream {
    forward_stmt_in(program, stmt, true)
}

fn forward_stmt_in(program: &Program, stmt: &Stmt, taped: bool) -> TokenStream {
    match stmt {
        Stmt::Const {
            ident,
            ty,
            expr,
            reads,
        } => {
            let ty = ty.as_ref().map(|ty| quote!(: #ty));
            if reads.is_empty() {
                return quote!(let #ident #ty = #expr;);
            }
            // Each value read through its primal part: a scalar, or a view of an array.
            let reads = reads.iter().map(|(placeholder, var)| {
                let value = var_tokens(program, *var);
                match program.dual {
                    true => quote!(let #placeholder = (#value).autodiff_re();),
                    false => quote!(let #placeholder = (#value).autodiff_arg();),
                }
            });
            quote!(let #ident #ty = { #(#reads)* #expr };)
        }
        Stmt::Branch(branch) => crate::region::branch_forward(program, branch, taped),
        Stmt::Loop(lp) => crate::region::loop_forward(program, lp, taped),
        Stmt::Verbatim(tokens) => tokens.clone(),
        Stmt::Node(i) => {
            let node = &program.nodes[*i];
            let ident = node_ident(*i);
            match &node.op {
                Op::Prim(Primitive::SetIndex) => {
                    let set_at = rule_fn("set_index", "set_at", node.span);
                    let array = written_array(program, *i);
                    let args = rule_args(program, *i);
                    let (index, value) = (&args[1], &args[2]);
                    quote_spanned!(node.span=> let #ident = #set_at(#array, #index, #value);)
                }
                Op::Prim(prim) => {
                    let forward = rule_fn(prim.rule().module, "forward", node.span);
                    let args = rule_args(program, *i);
                    quote_spanned!(node.span=> let #ident = #forward(#(#args),*);)
                }
                Op::Call { path, .. } => {
                    let args = call::call_args(program, *i);
                    quote_spanned!(node.span=> let #ident = #path(#(#args),*);)
                }
                Op::Copy => {
                    let value = operand_tokens(program, &node.args[0]);
                    quote_spanned!(node.span=> let #ident = ::autodiff::__private::Map::map(
                        (#value).autodiff_arg(),
                        ::core::convert::identity,
                    );)
                }
            }
        }
    }
}

/// The array an element write (node i) replaces an element of, owned: moved in when
/// nothing else reads its old value, copied otherwise.
pub fn written_array(program: &Program, i: usize) -> TokenStream {
    let array = &program.nodes[i].args[0];
    let value = operand_tokens(program, array);
    match array {
        Operand::Var(var) if crate::ir::movable(program, *var, i) => value,
        _ => crate::region::owned(&value),
    }
}

/// Where the adjoint sweep starts: ȳ = 1 (`f_grad`), or a cotangent the caller passes
/// (`f_vjp`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Seed {
    One,
    Cotangent,
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

pub use crate::adjoint::adjoint_sweep;

/// The gradient as `f_grad` returns it, from the adjoints at the end of the sweep: one entry
/// per differentiated parameter, a tuple of them when there are several.
pub fn gradient(sig: &Signature, program: &Program, adjoints: &HashMap<Var, Ident>) -> TokenStream {
    let parameters = program
        .inputs
        .iter()
        .enumerate()
        .filter(|(_, input)| input.is_parameter());
    let entries = parameters
        .zip(sig.differentiated())
        .map(|((k, _), param)| gradient_entry(program, adjoints, k, param));
    tuple_if_many(entries.collect())
}

/// `f_grad` and `f_vjp`: the value and the gradient with respect to every differentiated
/// parameter, the adjoint sweep seeded with 1 or with the caller's cotangent.
pub fn emit_reverse(sig: &Signature, program: &Program, seed_kind: Seed) -> TokenStream {
    let signature = reverse_signature(sig, seed_kind);
    let doc = match seed_kind {
        Seed::One => trace_doc::grad_doc(sig, program, &pullbacks(program)),
        Seed::Cotangent => format!(
            "Value and vector-Jacobian product of [`{name}`]: `({name}(args…), cotangent · J)`, \
             where J is the Jacobian of the result with respect to the differentiated \
             parameters, laid out as [`{name}_jacobian`]'s rows: one adjoint sweep seeded with \
             `cotangent` (of the result's type; a tuple for a tuple), reverse mode. For a \
             scalar result with `cotangent = 1` this is the gradient.",
            name = sig.name
        ),
    };
    generated_fn(&doc, signature, reverse_block(sig, program, seed_kind))
}

/// The body of `f_grad` or `f_vjp` as a block, `{ …; (value, gradient) }`, that reads the
/// parameters (and `cotangent`).
pub fn reverse_block(sig: &Signature, program: &Program, seed_kind: Seed) -> TokenStream {
    let forward = forward_sweep(program);
    let value = result_value(program);
    let seed = match seed_kind {
        Seed::One => quote!(::autodiff::__private::Tangent::one_like(&#value)),
        Seed::Cotangent => {
            let cotangent = cotangent_param();
            quote!(#cotangent)
        }
    };
    let (adjoint_code, adjoints) = adjoint_sweep(program, seed);
    let gradient = gradient(sig, program, &adjoints);
    generated_block(quote!(#forward #adjoint_code), quote!((#value, #gradient)))
}

/// A generated derivative function: `signature` and `block`. It names no sibling item (not
/// the original, not another generated function), so that it compiles the same as a free
/// function and as an associated function in an `impl` block.
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

/// The gradient entry of parameter `k`: its adjoint; zeros if it has none; for a struct of
/// parameters (of type `ty`), a struct of zeros with the adjoints of the fields the body
/// read put in.
fn gradient_entry(
    program: &Program,
    adjoints: &HashMap<Var, Ident>,
    k: usize,
    param: &Param,
) -> TokenStream {
    if let InputKind::Struct = program.inputs[k].kind {
        let gradient = hygienic("__gradient");
        let fields = program.inputs.iter().enumerate().filter_map(|(j, input)| {
            let InputKind::Field { root, path } = &input.kind else {
                return None;
            };
            let adjoint = adjoints.get(&Var::Input(j)).filter(|_| *root == k)?;
            Some(quote!(#gradient #path = #adjoint;))
        });
        let zeros = param_zeros(param);
        return quote!({
            let mut #gradient = #zeros;
            #(#fields)*
            #gradient
        });
    }
    match adjoints.get(&Var::Input(k)) {
        Some(adjoint) => quote!(#adjoint),
        None => param_zeros(param),
    }
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

/// `vis fn f_grad(params) -> (ret, gradient type)` or `vis fn f_vjp(params, cotangent: ret)
/// -> (ret, gradient type)`, also used by the stubs emitted on errors.
pub fn reverse_signature(sig: &Signature, seed: Seed) -> TokenStream {
    let ret = &sig.ret;
    let (name, cotangent) = match seed {
        Seed::One => (format_ident!("{}_grad", sig.name), None),
        Seed::Cotangent => {
            let cotangent = cotangent_param();
            (
                format_ident!("{}_vjp", sig.name),
                Some(quote!(#cotangent: #ret)),
            )
        }
    };
    let params = sig.param_list().chain(cotangent);
    let gradient = tuple_if_many(sig.differentiated().map(|p| gradient_type(&p.ty)).collect());
    let (head, where_clause) = sig.declare(&name);
    quote!(#head(#(#params),*) -> (#ret, #gradient) #where_clause)
}

/// One entry as itself, several as a tuple: the gradient's shape in the user's contract.
pub fn tuple_if_many(entries: Vec<TokenStream>) -> TokenStream {
    match entries.as_slice() {
        [single] => single.clone(),
        _ => quote!((#(#entries),*)),
    }
}
