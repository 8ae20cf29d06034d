//! `f_trace(args…) -> Trace`: one call's evaluation trace as data, for a function with a
//! scalar result, through its branches and loops. The forward sweep ([`crate::primal`])
//! runs a copy of the program in which every node is followed by its record (its operation
//! and its arguments in the lectures' notation: the rules' `notation` and `partials`,
//! constants written in; for scalar edges, the local partial ∂vᵢ/∂vₖ, the node's pullback
//! of 1), every region is entered and left (the branch's arm taken, each iteration), and
//! every assignment of a variable by a region (a loop-carried variable, a branch's result)
//! is recorded; the runtime's `TraceRecorder` gives each execution of a node its own entry.
//! The adjoint sweep ([`crate::adjoint`]) records each node's adjoint when it reaches it,
//! final by then: iterations run last first, so the recorder sets it on the execution it
//! means (the latest before the last it set); and the inputs' adjoints at its end.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

use crate::adjoint::{pullback, traced_adjoint_sweep};
use crate::emit::{
    generated_block, generated_fn, hygienic, node_ident, result_value, rule_args, var_tokens,
};
use crate::ir::{InputKind, LoopHead, Node, Op, Operand, Program, Stmt, Target, Var};
use crate::primal::forward_sweep;
use crate::rules::Primitive;
use crate::signature::{Output, Signature};

/// Whether `f_trace` is emitted: for a scalar result whose differentiated parameters are
/// floats, arrays, or structs of parameters whose fields the body reads are values (a
/// primitive's arguments) or sub-structs it reads fields of (`let layer = &p.layer;`):
/// a field (or the struct itself) passed whole to a call may be a sub-struct, which the
/// trace cannot hold, so such a function has none.
pub fn traceable(sig: &Signature, program: &Program) -> bool {
    let field = |k: usize| matches!(program.inputs[k].kind, InputKind::Field { .. });
    let mut primitive_args = std::collections::HashSet::new();
    for node in &program.nodes {
        // A part of a `Vec` of layers is no value of the trace.
        if matches!(node.op, Op::Project(_)) {
            return false;
        }
        let primitive = matches!(node.op, Op::Prim(_) | Op::Copy | Op::Map(_));
        for arg in &node.args {
            match arg {
                Operand::Var(Var::Input(k))
                    if (field(*k) || matches!(program.inputs[*k].kind, InputKind::Struct))
                        && !traced_input(program, *k) =>
                {
                    return false
                }
                Operand::Var(Var::Input(k)) if primitive => {
                    primitive_args.insert(*k);
                }
                _ => {}
            }
        }
    }
    sig.output == Output::Scalar
        && program
            .inputs
            .iter()
            .enumerate()
            .all(|(k, input)| match input.kind {
                InputKind::Value | InputKind::Struct => true,
                InputKind::Field { .. } => !traced_input(program, k) || primitive_args.contains(&k),
            })
}

/// Whether input k is a value of the trace (v₍₁₋ₙ₎ … v₀): a float or array parameter, or a
/// field of a struct of parameters, but not the struct, nor a sub-struct whose fields the
/// body reads (`p.layer` of `p.layer.w`).
fn traced_input(program: &Program, k: usize) -> bool {
    let input = &program.inputs[k];
    match input.kind {
        InputKind::Value => true,
        InputKind::Struct => false,
        InputKind::Field { .. } => {
            let prefix = format!("{}.", input.display);
            !program.inputs.iter().any(|other| {
                matches!(other.kind, InputKind::Field { .. }) && other.display.starts_with(&prefix)
            })
        }
    }
}

/// The lectures' number of a variable: inputs v₍₁₋ₙ₎ … v₀ (the values among them), nodes
/// v₁, v₂, …
fn index(program: &Program, var: Var) -> Option<isize> {
    match var {
        Var::Input(k) => {
            let values = |end: usize| (0..end).filter(|&j| traced_input(program, j)).count();
            Some(values(k + 1) as isize - values(program.inputs.len()) as isize)
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
                | Slice
                | SliceAxis
                | IndexAxis
                | Select
                | Diag
                | RemoveAxis
                | IntoShape
                | Flatten
                | InsertAxis
                | ReversedAxes
                | PermutedAxes
                | BroadcastTo
                | Concatenate
                | Stack
                | Dot
                | T
                | Sum
                | Mean
                | SumAxis
                | MeanAxis
                | Variance
                | StdDev
                | VarianceAxis
                | StdDevAxis
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
        Op::Call { .. } | Op::Copy | Op::Map(_) | Op::Project(_) => false,
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
            pullback(
                program,
                &crate::reuse::Moves::default(),
                i,
                k,
                quote!(#y.one_like()),
            )
        }
        _ => None,
    }
}

/// How the recorder names a variable: `TraceKey::Input(-1)`, `TraceKey::Node(3)`,
/// `TraceKey::Local(0)`.
fn key(program: &Program, var: Var) -> TokenStream {
    match var {
        Var::Input(_) => {
            let index = index(program, var).unwrap_or_default();
            quote!(::autodiff::__private::TraceKey::Input(#index))
        }
        Var::Node(i) => quote!(::autodiff::__private::TraceKey::Node(#i)),
        Var::Local(k) => quote!(::autodiff::__private::TraceKey::Local(#k)),
    }
}

/// A value as the trace keeps it (`Traced` is imported as `_` in `f_trace`'s body).
fn traced(tokens: TokenStream) -> TokenStream {
    quote!((#tokens).trace_value())
}

/// The record of an execution of node i: its operation, its arguments with their local
/// partials, its value.
fn record_node(program: &Program, i: usize, trace: &Ident) -> TokenStream {
    let node = &program.nodes[i];
    let expr = template(&node.notation(), node);
    let y = node_ident(i);
    let args = program.var_args(i).map(|(k, var)| {
        let key = key(program, var);
        let notation = template(&node.partial(k), node);
        let partial = match scalar_partial(program, i, k) {
            Some(partial) => quote!(::autodiff::__private::scalar_partial(&#y, #partial)),
            None => quote!(::core::option::Option::<f64>::None),
        };
        quote!((#key, #partial, #notation))
    });
    let value = traced(quote!(#y));
    quote!(#trace.node(#i, #expr, [#(#args),*], #value);)
}

/// A constant's value as the trace keeps it (a literal of the function's float type).
fn constant_value(program: &Program, constant: &Operand) -> TokenStream {
    let Operand::Const {
        tokens, literal, ..
    } = constant
    else {
        return TokenStream::new();
    };
    let traced_constant = quote!(::autodiff::__private::traced_constant);
    match (literal, &program.float) {
        (true, Some(float)) => quote!(#traced_constant::<#float>(#tokens)),
        (true, None) => quote!(#traced_constant::<f64>(#tokens)),
        (false, _) => quote!(#traced_constant(&(#tokens))),
    }
}

/// The record of the variables a region assigns (`targets` ← `values`, all at once):
/// a variable of the trace that changes, from a value of the program or a constant.
fn record_assignments<'a>(
    program: &Program,
    assignments: impl Iterator<Item = (&'a Target, &'a Operand)>,
    trace: &Ident,
) -> TokenStream {
    let records: Vec<TokenStream> = assignments
        .filter_map(|(target, value)| {
            let Target::Local(k) = target else {
                return None;
            };
            // A branch's value (`let w = if …`) is no variable of the source: unnamed.
            let name = match program.locals[*k].display.as_str() {
                "if" => "",
                name => name,
            };
            let source = match value {
                Operand::Var(Var::Local(j)) if j == k => return None,
                Operand::Var(var) => {
                    let key = key(program, *var);
                    quote!(::autodiff::__private::TraceSource::Var(#key))
                }
                Operand::Const { display, .. } => {
                    let value = constant_value(program, value);
                    quote!(::autodiff::__private::TraceSource::Const(#display, #value))
                }
                Operand::Poison => return None,
            };
            Some(quote!((#k, #name, #source)))
        })
        .collect();
    match records.is_empty() {
        true => TokenStream::new(),
        false => quote!(#trace.assign([#(#records),*]);),
    }
}

/// The program's statements with their records: each node followed by its own, each arm
/// and each iteration entered and left, each assignment of a variable by a region recorded.
/// The records are code of their own (`Stmt::Verbatim`), which binds nothing: the sweeps
/// read the program as before. Where the adjoint sweep runs a region again, its records
/// run again too, and record nothing (the forward sweep is over).
fn recorded_stmts(program: &Program, stmts: &[Stmt], trace: &Ident) -> Vec<Stmt> {
    let mut out = Vec::with_capacity(2 * stmts.len());
    for stmt in stmts {
        match stmt {
            Stmt::Node(i) => {
                out.push(stmt.clone());
                out.push(Stmt::Verbatim(record_node(program, *i, trace)));
            }
            Stmt::Branch(branch) => {
                let mut branch = branch.clone();
                let head = branch.display.clone();
                for (k, arm) in branch.arms.iter_mut().enumerate() {
                    let name = match branch.arm_displays.get(k) {
                        Some(name) if !name.is_empty() => name.clone(),
                        _ => "then".to_string(),
                    };
                    let mut stmts = vec![Stmt::Verbatim(quote!(#trace.enter_arm(#head, #name);))];
                    stmts.extend(recorded_stmts(program, &arm.stmts, trace));
                    let results =
                        record_assignments(program, branch.results.iter().zip(&arm.yields), trace);
                    stmts.push(Stmt::Verbatim(quote!(#results #trace.exit();)));
                    arm.stmts = stmts;
                }
                out.push(Stmt::Branch(branch));
            }
            Stmt::Loop(lp) => {
                let mut lp = lp.clone();
                let initial = record_assignments(
                    program,
                    lp.carried.iter().map(|(target, init)| (target, init)),
                    trace,
                );
                let head = &lp.display;
                out.push(Stmt::Verbatim(quote!(#initial #trace.enter_loop(#head);)));
                if let LoopHead::For { stmts, .. } | LoopHead::While { stmts, .. } = &mut lp.head {
                    *stmts = recorded_stmts(program, stmts, trace);
                }
                let mut body = vec![Stmt::Verbatim(quote!(#trace.enter_iteration();))];
                body.extend(recorded_stmts(program, &lp.body.stmts, trace));
                let next = record_assignments(
                    program,
                    lp.carried
                        .iter()
                        .map(|(target, _)| target)
                        .zip(&lp.body.yields),
                    trace,
                );
                body.push(Stmt::Verbatim(quote!(#next #trace.exit();)));
                lp.body.stmts = body;
                out.push(Stmt::Loop(lp));
                out.push(Stmt::Verbatim(quote!(#trace.exit();)));
            }
            Stmt::Const { .. } | Stmt::Verbatim(_) => out.push(stmt.clone()),
        }
    }
    out
}

/// `f_trace`: the value of every input and of every execution of every node, the local
/// partials of scalar edges, the regions the executions ran in, and every adjoint, in a
/// `Trace`.
pub fn emit_trace(sig: &Signature, program: &Program) -> TokenStream {
    let name = format_ident!("{}_trace", sig.name);
    let (head, where_clause) = sig.declare(&name);
    let params = sig.param_list();
    let signature = quote!(#head(#(#params),*) -> ::autodiff::Trace #where_clause);

    let trace = hygienic("__trace");
    let recorded = Program {
        stmts: recorded_stmts(program, &program.stmts, &trace),
        ..program.clone()
    };
    let value = result_value(&recorded);
    let seed = quote!(::autodiff::__private::Tangent::one_like(&#value));
    let (adjoint_code, adjoints, plan) = traced_adjoint_sweep(&recorded, seed, &trace);
    let forward = forward_sweep(&recorded, &plan);

    let function = sig.name.to_string();
    let mut start = vec![quote! {
        #[allow(unused_imports)]
        use ::autodiff::__private::{Tangent as _, Traced as _};
        let mut #trace = ::autodiff::__private::TraceRecorder::new(#function);
    }];
    for (k, input) in program.inputs.iter().enumerate() {
        if traced_input(program, k) {
            let (label, value) = (&input.display, traced(var_tokens(program, Var::Input(k))));
            start.push(quote!(#trace.input(#label, #value);));
        }
    }
    let output = match program.outputs.first() {
        Some(Operand::Var(output)) => {
            let key = key(program, *output);
            quote!(#trace.output(#key);)
        }
        // A constant result: an entry of its own.
        Some(constant @ Operand::Const { display, .. }) => {
            let value = constant_value(program, constant);
            quote!(#trace.constant_output(#display, #value);)
        }
        _ => TokenStream::new(),
    };
    // The inputs' adjoints: final at the end of the sweep; zero where nothing reads them.
    let mut finish = Vec::new();
    for k in (0..program.inputs.len()).rev() {
        let Some(index) = index(program, Var::Input(k)).filter(|_| traced_input(program, k)) else {
            continue;
        };
        let adjoint = match adjoints.get(&Var::Input(k)) {
            Some(adjoint) => traced(quote!(#adjoint)),
            None => {
                let value = var_tokens(program, Var::Input(k));
                traced(quote!(::autodiff::__private::Map::zeros((#value).autodiff_arg())))
            }
        };
        finish.push(quote!(#trace.input_adjoint(#index, #adjoint);));
    }

    let doc = format!(
        "The evaluation trace of one call of [`{name}`]: every input and node of its Wengert \
         list in evaluation order, numbered as the lectures number them (inputs v₍₁₋ₙ₎ … v₀, \
         nodes v₁, v₂, …), with its operation and arguments in the lectures' notation, the \
         local partial derivative of each scalar edge, its value and its adjoint \
         v̄ᵢ = ∂y/∂vᵢ: the forward sweep and the adjoint sweep of [`{name}_grad`], recorded. \
         Through branches and loops, each execution of a node is an entry of its own, within \
         the arm taken and the iteration it ran in, and each assignment of a variable by a \
         branch or a loop is listed (`s ← v₇`). Print it for the lectures' two tables, or \
         draw it with `to_dot` / `to_svg`.\n\n\
         ```text\nprintln!(\"{{}}\", {name}_trace(args…));\n```\n\n\
         Generated by `#[differentiable]` for a function with a scalar result; a struct of \
         parameters is listed by the fields the body reads (`p.w`).",
        name = sig.name
    );
    let body = quote!(
        #(#start)*
        #forward
        #output
        #trace.end_forward();
        #adjoint_code
        #(#finish)*
    );
    generated_fn(
        &doc,
        signature,
        generated_block(body, quote!(#trace.finish())),
    )
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
