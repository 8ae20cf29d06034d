//! Forward (tangent) mode: `f_jvp(args…, tangents…) -> (value, tangent)`. Each node's tangent
//! is computed right after its value, as the sum over its arguments of the rule's `jvpK`
//! applied to that argument's tangent: the directional derivative along the given tangents,
//! in one sweep, without storing anything for later.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use crate::ir::{InputKind, Operand, Program, Stmt, Var};
use crate::reverse::{
    forward_stmt, generated_fn, node_ident, operand_tokens, pullbacks, rule_args, rule_path,
};
use crate::signature::{gradient_type, Signature};

/// The name of a differentiated parameter's tangent argument.
fn tangent_param(ident: &Ident) -> Ident {
    format_ident!("{}_tangent", ident, span = Span::mixed_site())
}

fn tangent_ident(node: usize) -> Ident {
    format_ident!("__t{}", node + 1, span = Span::mixed_site())
}

/// `f_jvp`: the value and the derivative along the tangents of the differentiated parameters.
pub fn emit_jvp(sig: &Signature, program: &Program) -> TokenStream {
    // Only the nodes the output depends on need tangents.
    let mut live: HashSet<usize> = pullbacks(program).iter().map(|pb| pb.node).collect();
    if let Operand::Var(Var::Node(out)) = program.output {
        live.insert(out);
    }
    // How many jvp calls read each variable's tangent: the last may take it by value.
    let mut readers: HashMap<Var, usize> = HashMap::new();
    for &node in &live {
        for (_, var) in program.var_args(node) {
            *readers.entry(var).or_default() += 1;
        }
    }

    let mut body = Vec::new();
    for stmt in &program.stmts {
        body.push(forward_stmt(program, stmt));
        let Stmt::Node(i) = *stmt else { continue };
        if !live.contains(&i) {
            continue;
        }
        let node = &program.nodes[i];
        let path = rule_path(node.prim.rule().module);
        let args = rule_args(program, i);
        let y = node_ident(i);
        let mut sum: Option<TokenStream> = None;
        for (k, var) in program.var_args(i) {
            let left = readers.get_mut(&var).expect("counted above");
            *left -= 1;
            let tangent = tangent_of(program, var, *left > 0);
            let jvp = format_ident!("jvp{}", k);
            let term = quote_spanned!(node.span=> #path::#jvp(#(#args,)* &#y, #tangent));
            sum = Some(match sum {
                None => term,
                Some(sum) => quote!(::autodiff::__private::Tangent::accumulate(#sum, #term)),
            });
        }
        let ident = tangent_ident(i);
        body.push(quote!(let #ident = #sum;));
    }

    let value = operand_tokens(program, &program.output);
    let tangent = match program.output {
        Operand::Var(var) => tangent_of(program, var, false),
        // A result that depends on no parameter has derivative zero.
        _ => quote!(::autodiff::__private::Map::zeros((#value).autodiff_arg())),
    };
    let signature = jvp_signature(sig);
    let doc = format!(
        "Value and directional derivative of [`{name}`] by forward-mode automatic \
         differentiation.\n\nReturns `({name}(args…), ∇{name} · tangents)`: one tangent per \
         differentiated parameter, of the parameter's owned type, after the original \
         arguments. Generated at compile time by `#[differentiable]`; each value's tangent is \
         computed beside it in one forward sweep.",
        name = sig.name
    );
    let body = quote!(#(#body)*);
    generated_fn(sig, &doc, signature, body, quote!((#value, #tangent)))
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
    let vis = &sig.vis;
    let name = format_ident!("{}_jvp", sig.name);
    let params = sig.param_list();
    let tangents = sig.differentiated().map(|p| {
        let (ident, ty) = (tangent_param(&p.ident), gradient_type(&p.ty));
        quote!(#ident: #ty)
    });
    let ret = &sig.ret;
    let inherited = &sig.inherited;
    quote!(#(#inherited)* #vis fn #name(#(#params,)* #(#tangents),*) -> (#ret, #ret))
}
