//! `f_trace(args…) -> Trace`: one call's evaluation trace as data, for a straight-line
//! function with a scalar result. The forward sweep ([`crate::primal`]) computes the values;
//! every input and node is then recorded with its operation and its arguments in the
//! lectures' notation (the rules' `notation` and `partials`, constants written in) and, for
//! scalar edges, the local partial ∂vᵢ/∂vₖ (the node's pullback of 1); the adjoint sweep
//! ([`crate::adjoint`]) records each node's adjoint when it reaches it, final by then, and
//! the inputs' adjoints at its end.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::adjoint::{pullback, traced_adjoint_sweep};
use crate::emit::{
    generated_block, generated_fn, hygienic, node_ident, result_value, rule_args, var_tokens,
};
use crate::ir::{InputKind, Node, Op, Operand, Program, Var};
use crate::primal::forward_sweep;
use crate::region::Plan;
use crate::rules::Primitive;
use crate::signature::{Output, Signature};

/// Whether `f_trace` is emitted: for a scalar result of straight-line code (no branch, loop
/// or element write) whose differentiated parameters are floats and arrays (not structs of
/// parameters, whose fields the trace cannot tell from sub-structs).
pub fn traceable(sig: &Signature, program: &Program) -> bool {
    sig.output == Output::Scalar
        && !program.interleaved()
        && program
            .inputs
            .iter()
            .all(|input| matches!(input.kind, InputKind::Value))
}

/// The lectures' number of a variable: inputs v₍₁₋ₙ₎ … v₀ (the values among them), nodes
/// v₁, v₂, …
fn index(program: &Program, var: Var) -> Option<isize> {
    match var {
        Var::Input(k) => {
            let values = |inputs: &[crate::ir::Input]| {
                inputs.iter().filter(|input| input.is_value()).count() as isize
            };
            Some(values(&program.inputs[..=k]) - values(&program.inputs))
        }
        Var::Node(i) => Some(i as isize + 1),
        Var::Local(_) => None,
    }
}

/// A rule's template with the node's constant arguments written in and its variable
/// arguments renumbered as the trace lists them (variables only): `{0}^{1}` of `powi(x, 2)`
/// becomes `{0}^2`. `{y}` and `{g}` stay.
fn template(text: &str, node: &Node) -> String {
    let mut position = 0;
    let renumbered: Vec<String> = node
        .args
        .iter()
        .map(|arg| match arg {
            Operand::Var(_) => {
                position += 1;
                format!("{{{}}}", position - 1)
            }
            Operand::Const { display, .. } => {
                let display = display.replace('{', "{{").replace('}', "}}");
                let grouped = display.starts_with('(') && display.ends_with(')');
                match display.contains(' ') && !grouped {
                    true => format!("({display})"),
                    false => display,
                }
            }
            Operand::Poison => "?".into(),
        })
        .collect();
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after.find('}').unwrap_or(after.len());
        match after[..end]
            .parse::<usize>()
            .ok()
            .and_then(|k| renumbered.get(k))
        {
            Some(replacement) => out.push_str(replacement),
            None => {
                out.push('{');
                out.push_str(&after[..end]);
                if end < after.len() {
                    out.push('}');
                }
            }
        }
        rest = after.get(end + 1..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// Whether a node may have a scalar value and scalar arguments, whose partial the trace
/// shows: not the reductions and linear algebra, which take arrays (their partials are
/// Jacobians), nor calls.
fn scalar_edges(node: &Node) -> bool {
    use Primitive::*;
    match node.op {
        Op::Prim(prim) => !matches!(
            prim,
            Index
                | SetIndex
                | Row
                | Column
                | Dot
                | T
                | Sum
                | Mean
                | SumAxis
                | MeanAxis
                | Logsumexp
                | Softmax
                | LogSoftmax
                | CrossEntropy
                | Amax
                | Amin
                | AmaxAxis
                | AminAxis
                | Norm
                | Outer
                | Trace
                | Det
                | Inv
                | Solve
        ),
        Op::Call { .. } | Op::Copy => false,
    }
}

/// The local partial ∂vᵢ/∂vₖ of node i in its argument k, where it may be a number: ±1 for
/// the linear operations, the other operand for a product, else the node's pullback of 1.
fn scalar_partial(program: &Program, i: usize, k: usize) -> Option<TokenStream> {
    let node = &program.nodes[i];
    match node.op {
        Op::Prim(Primitive::Add) => Some(quote!(1.0)),
        Op::Prim(Primitive::Sub) if k == 0 => Some(quote!(1.0)),
        Op::Prim(Primitive::Sub | Primitive::Neg) => Some(quote!(-1.0)),
        Op::Prim(Primitive::Mul) => rule_args(program, i).into_iter().nth(1 - k),
        _ if scalar_edges(node) => {
            let y = node_ident(i);
            pullback(program, i, k, quote!(#y.one_like()))
        }
        _ => None,
    }
}

/// `f_trace`: the value of every input and node, the local partials of scalar edges, and
/// every adjoint, in a `Trace`.
pub fn emit_trace(sig: &Signature, program: &Program) -> TokenStream {
    let name = format_ident!("{}_trace", sig.name);
    let (head, where_clause) = sig.declare(&name);
    let params = sig.param_list();
    let signature = quote!(#head(#(#params),*) -> ::autodiff::Trace #where_clause);

    let trace = hygienic("__trace");
    let value = result_value(program);
    let seed = quote!(::autodiff::__private::Tangent::one_like(&#value));
    let (adjoint_code, adjoints) = traced_adjoint_sweep(program, seed, &trace);
    let forward = forward_sweep(program, &Plan::default());
    // Method calls: `Traced` and `Tangent` are imported (as `_`) below.
    let traced = |tokens: TokenStream| quote!((#tokens).trace_value());

    let function = sig.name.to_string();
    let mut record = vec![quote! {
        #[allow(unused_imports)]
        use ::autodiff::__private::{Tangent as _, Traced as _};
        let mut #trace = ::autodiff::__private::Trace::new(#function);
    }];
    for (k, input) in program.inputs.iter().enumerate() {
        if input.is_value() {
            let (label, value) = (&input.display, traced(var_tokens(program, Var::Input(k))));
            record.push(quote!(#trace.push_input(#label, #value);));
        }
    }
    for (i, node) in program.nodes.iter().enumerate() {
        let expr = template(&node.notation(), node);
        let y = node_ident(i);
        let args = program.var_args(i).map(|(k, var)| {
            let index = index(program, var).unwrap_or_default();
            let notation = template(&node.partial(k), node);
            let partial = match scalar_partial(program, i, k) {
                Some(partial) => quote!(::autodiff::__private::scalar_partial(&#y, #partial)),
                None => quote!(::core::option::Option::<f64>::None),
            };
            quote!((#index, #partial, #notation))
        });
        let value = traced(quote!(#y));
        record.push(quote!(#trace.push_node(#expr, [#(#args),*], #value);));
    }
    if let Some(Operand::Var(output)) = program.outputs.first() {
        if let Some(index) = index(program, *output) {
            record.push(quote!(#trace.set_output(#index);));
        }
    }
    // The inputs' adjoints: final at the end of the sweep; zero where nothing reads them.
    let mut finish = Vec::new();
    for (k, input) in program.inputs.iter().enumerate().rev() {
        let Some(index) = index(program, Var::Input(k)).filter(|_| input.is_value()) else {
            continue;
        };
        let adjoint = match adjoints.get(&Var::Input(k)) {
            Some(adjoint) => traced(quote!(#adjoint)),
            None => {
                let value = var_tokens(program, Var::Input(k));
                traced(quote!(::autodiff::__private::Map::zeros((#value).autodiff_arg())))
            }
        };
        finish.push(quote!(#trace.set_adjoint(#index, #adjoint);));
    }

    let doc = format!(
        "The evaluation trace of one call of [`{name}`]: every input and node of its Wengert \
         list in evaluation order, numbered as the lectures number them (inputs v₍₁₋ₙ₎ … v₀, \
         nodes v₁, v₂, …), with its operation and arguments in the lectures' notation, the \
         local partial derivative of each scalar edge, its value and its adjoint \
         v̄ᵢ = ∂y/∂vᵢ: the forward sweep and the adjoint sweep of [`{name}_grad`], recorded. \
         Print it for the lectures' two tables, or draw it with `to_dot` / `to_svg`.\n\n\
         ```text\nprintln!(\"{{}}\", {name}_trace(args…));\n```\n\n\
         Generated by `#[differentiable]` for a function with a scalar result, no branch, \
         loop or element write, and float or array parameters (no structs of parameters).",
        name = sig.name
    );
    let body = quote!(#forward #(#record)* #adjoint_code #(#finish)*);
    generated_fn(&doc, signature, generated_block(body, quote!(#trace)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_write_constants_in_and_renumber_variables() {
        let node = |args: Vec<Operand>| Node {
            op: crate::ir::Op::Prim(crate::rules::Primitive::Powi),
            args,
            span: proc_macro2::Span::call_site(),
        };
        let constant = |display: &str| Operand::Const {
            tokens: TokenStream::new(),
            display: display.into(),
            literal: false,
        };
        let powi = node(vec![Operand::Var(Var::Input(0)), constant("2")]);
        assert_eq!(template("{0}^{1}", &powi), "{0}^2");
        assert_eq!(template("{1}·{0}^({1} − 1)", &powi), "2·{0}^(2 − 1)");
        let mul = node(vec![constant("a b"), Operand::Var(Var::Node(0))]);
        assert_eq!(
            template("{0} · {1} = {y}, {g}", &mul),
            "(a b) · {0} = {y}, {g}"
        );
        assert_eq!(template("{", &mul), "{");
        let grouped = node(vec![constant("(1 - y)"), Operand::Var(Var::Node(0))]);
        assert_eq!(template("{0} · {1}", &grouped), "(1 - y) · {0}");
    }
}
