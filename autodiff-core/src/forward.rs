//! Forward (tangent) mode: `f_jvp(args…, tangents…) -> (value, tangent)`. Each node's tangent
//! is computed right after its value, as the sum over its arguments of the rule's `jvpK`
//! applied to that argument's tangent: the directional derivative along the given tangents,
//! in one sweep, without storing anything for later.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use crate::call;
use crate::ir::{InputKind, Op, Operand, Program, Stmt, Var};
use crate::reverse::{
    accumulate, forward_stmt, generated_block, generated_fn, hygienic, node_ident, operand_tokens,
    pullbacks, result_value, rule_args, rule_fn, tuple_if_many,
};
use crate::signature::{gradient_type, Signature};

/// The name of a differentiated parameter's tangent argument.
pub fn tangent_param(ident: &Ident) -> Ident {
    format_ident!("{}_tangent", ident, span = Span::mixed_site())
}

fn tangent_ident(node: usize) -> Ident {
    format_ident!("__t{}", node + 1, span = Span::mixed_site())
}

/// The tangent sweep: for each statement of the program, the code computing its node's
/// tangent (empty where there is none), and the result's tangent. It reads the tangent
/// arguments `{x}_tangent` and the forward values, so it may run beside the forward sweep or
/// after it.
pub fn tangent_sweep(program: &Program) -> (Vec<TokenStream>, TokenStream) {
    // Only the nodes the output depends on need tangents.
    let mut live: HashSet<usize> = pullbacks(program).iter().map(|pb| pb.node).collect();
    for var in program.output_vars() {
        if let Var::Node(out) = var {
            live.insert(out);
        }
    }
    // How many jvp calls (and result elements) read each variable's tangent: the last may
    // take it by value.
    let mut readers: HashMap<Var, usize> = HashMap::new();
    let node_reads = live
        .iter()
        .flat_map(|&node| program.var_args(node).map(|(_, var)| var));
    for var in node_reads.chain(program.output_vars()) {
        *readers.entry(var).or_default() += 1;
    }

    let mut code = Vec::new();
    for stmt in &program.stmts {
        let i = match *stmt {
            Stmt::Node(i) if live.contains(&i) => i,
            _ => {
                code.push(TokenStream::new());
                continue;
            }
        };
        let node = &program.nodes[i];
        let ident = tangent_ident(i);
        let mut tangent_arg = |var: Var| {
            let left = readers.get_mut(&var).expect("counted above");
            *left -= 1;
            tangent_of(program, var, *left > 0)
        };
        let prim = match &node.op {
            Op::Prim(prim) => prim,
            Op::Copy => {
                let tangent = tangent_arg(program.var_args(i).next().expect("one argument").1);
                code.push(quote!(let #ident = #tangent;));
                continue;
            }
            // A call: its companion takes every argument's tangent, `None` for constants.
            Op::Call { path, arg_spans } => {
                let tangents: Vec<TokenStream> = node
                    .args
                    .iter()
                    .zip(arg_spans)
                    .map(|(arg, span)| match arg {
                        Operand::Var(var) => {
                            let tangent = tangent_arg(*var);
                            // At the argument: where "does not differentiate" points.
                            quote_spanned!(*span=> ::core::option::Option::Some(#tangent))
                        }
                        _ => quote!(::core::option::Option::None),
                    })
                    .collect();
                let companion = call::companion(path, "jvp");
                let args = call::call_args(program, i);
                code.push(quote_spanned!(node.span=>
                    let (_, #ident) = #companion(#(#args,)* #(#tangents),*);
                ));
                continue;
            }
        };
        let args = rule_args(program, i);
        let y = node_ident(i);
        let mut sum: Option<TokenStream> = None;
        for (k, var) in program.var_args(i) {
            let tangent = tangent_arg(var);
            let jvp = rule_fn(prim.rule().module, &format!("jvp{k}"), node.span);
            let term = quote_spanned!(node.span=> #jvp(#(#args,)* &#y, #tangent));
            sum = Some(match sum {
                None => term,
                Some(sum) => accumulate(&sum, &term, node.span),
            });
        }
        code.push(quote!(let #ident = #sum;));
    }

    let tangents = program.outputs.iter().map(|output| match output {
        Operand::Var(var) => {
            let left = readers.get_mut(var).expect("counted above");
            *left -= 1;
            tangent_of(program, *var, *left > 0)
        }
        // A result that depends on no parameter has derivative zero.
        _ => {
            let value = operand_tokens(program, output);
            quote!(::autodiff::__private::Map::zeros((#value).autodiff_arg()))
        }
    });
    (code, tuple_if_many(tangents.collect()))
}

/// `f_jvp`: the value and the derivative along the tangents of the differentiated parameters.
pub fn emit_jvp(sig: &Signature, program: &Program) -> TokenStream {
    let doc = format!(
        "Value and directional derivative of [`{name}`] by forward-mode automatic \
         differentiation.\n\nReturns `({name}(args…), ∇{name} · tangents)`: one tangent per \
         differentiated parameter, of the parameter's owned type, after the original \
         arguments. Generated at compile time by `#[differentiable]`; each value's tangent is \
         computed beside it in one forward sweep.",
        name = sig.name
    );
    generated_fn(&doc, jvp_signature(sig), jvp_block(program))
}

/// The body of `f_jvp` as a block, `{ …; (value, tangent) }`, that reads the parameters and
/// their tangents `{x}_tangent`.
pub fn jvp_block(program: &Program) -> TokenStream {
    let (tangent_code, tangent) = tangent_sweep(program);
    let body = program
        .stmts
        .iter()
        .zip(tangent_code)
        .map(|(stmt, tangent)| {
            let value = forward_stmt(program, stmt);
            quote!(#value #tangent)
        });
    let value = result_value(program);
    // The tangent first: a constant result's zero tangent borrows the value.
    let result_tangent = hygienic("__tangent");
    let body = quote!(#(#body)* let #result_tangent = #tangent;);
    generated_block(body, quote!((#value, #result_tangent)))
}

/// The tangent of `var` as a jvp argument: moved, or copied when later calls read it too.
/// A field's tangent lives in its struct's tangent, so it is always copied.
fn tangent_of(program: &Program, var: Var, copy: bool) -> TokenStream {
    let (tangent, copy) = match var {
        Var::Node(i) => {
            let ident = tangent_ident(i);
            (quote!(#ident), copy)
        }
        Var::Input(k) => match &program.inputs[k].kind {
            InputKind::Field { root, path } => {
                let root = tangent_param(&program.inputs[*root].ident);
                (quote!(#root #path), true)
            }
            _ => {
                let ident = tangent_param(&program.inputs[k].ident);
                (quote!(#ident), copy)
            }
        },
    };
    match copy {
        true => quote!(::autodiff::__private::Tangent::duplicate(&#tangent)),
        false => tangent,
    }
}

/// `vis fn f_jvp(params, tangents) -> (ret, ret)`, also used by the stub emitted on errors.
pub fn jvp_signature(sig: &Signature) -> TokenStream {
    let name = format_ident!("{}_jvp", sig.name);
    let params = sig.param_list();
    let tangents = sig.differentiated().map(|p| {
        let (ident, ty) = (tangent_param(&p.ident), gradient_type(&p.ty));
        quote!(#ident: #ty)
    });
    let ret = &sig.ret;
    let (head, where_clause) = sig.declare(&name);
    quote!(#head(#(#params,)* #(#tangents),*) -> (#ret, #ret) #where_clause)
}
