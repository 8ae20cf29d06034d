//! Forward (tangent) mode: `f_jvp(args…, tangents…) -> (value, tangent)`. Each node's tangent
//! is computed right after its value, as the sum over its arguments of the rule's `jvpK`
//! applied to that argument's tangent: the directional derivative along the given tangents,
//! in one sweep, without storing anything for later.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use crate::call;
use crate::emit::{
    accumulate, generated_block, generated_fn, hygienic, node_ident, operand_tokens, result_value,
    rule_args, rule_fn, tangent_param, tuple_if_many,
};
use crate::ir::pullbacks;
use crate::ir::{InputKind, Op, Operand, Program, Stmt, Target, Var};
use crate::primal::forward_stmt;
use crate::region::last_first;
use crate::signature::{gradient_type, Signature};

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
            Op::Map(_) => {
                let sum = crate::closure::tangent(program, i, &mut tangent_arg);
                code.push(quote!(let #ident = #sum;));
                continue;
            }
            Op::Project(_) => {
                // Read in place: nothing is moved.
                let var = program.var_args(i).next().expect("one argument").1;
                let _ = tangent_arg(var);
                let tangent = project_tangent(program, i, var);
                code.push(quote!(let #ident = #tangent;));
                continue;
            }
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
    let tangents: Vec<Ident> = sig
        .differentiated()
        .map(|p| tangent_param(&p.ident))
        .collect();
    let block = crate::emit::on_pool(sig, program, jvp_params(sig), &tangents, jvp_block(program));
    generated_fn(&doc, jvp_signature(sig), block)
}

/// The body of `f_jvp` as a block, `{ …; (value, tangent) }`, that reads the parameters and
/// their tangents `{x}_tangent`.
pub fn jvp_block(program: &Program) -> TokenStream {
    if program.interleaved() {
        return region_jvp_block(program);
    }
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
    let fallbacks = crate::emit::field_fallbacks(program, true, false);
    let body = quote!(#fallbacks #(#body)* let #result_tangent = #tangent;);
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
        Var::Local(k) => {
            let ident = crate::emit::local_tangent_ident(k);
            (quote!(#ident), copy)
        }
        Var::Input(k) => match &program.inputs[k].kind {
            InputKind::Field { root, path } => {
                // A skipped field (a hyperparameter) has tangent zero.
                let input = &program.inputs[*root].ident;
                let root = tangent_param(input);
                let slot = crate::emit::field_slot(&quote!(#root), path, false);
                return quote!(::autodiff::__private::leaves::tangent(#slot, &(#input #path)));
            }
            kind => {
                let ident = tangent_param(&program.inputs[k].ident);
                // A struct's tangent is read by its fields' too.
                let fields = matches!(kind, InputKind::Struct)
                    && program.inputs.iter().any(
                        |input| matches!(input.kind, InputKind::Field { root, .. } if root == k),
                    );
                (quote!(#ident), copy || fields)
            }
        },
    };
    match copy {
        true => quote!(::autodiff::__private::Tangent::duplicate(&#tangent)),
        false => tangent,
    }
}

/// The tangent of projection node i (`p.layers[i].w`): a copy of that part of the tangent of
/// its argument `var`, read where it is.
fn project_tangent(program: &Program, i: usize, var: Var) -> TokenStream {
    let whole = match var {
        Var::Input(k) => match &program.inputs[k].kind {
            InputKind::Field { root, path } => {
                let root = tangent_param(&program.inputs[*root].ident);
                quote!(#root #path)
            }
            _ => {
                let ident = tangent_param(&program.inputs[k].ident);
                quote!(#ident)
            }
        },
        Var::Node(j) => {
            let ident = tangent_ident(j);
            quote!(#ident)
        }
        Var::Local(k) => {
            let ident = crate::emit::local_tangent_ident(k);
            quote!(#ident)
        }
    };
    let part = crate::emit::projected(program, i, &whole);
    quote!(::autodiff::__private::Tangent::duplicate(&#part))
}

/// `vis fn f_jvp(params, tangents) -> (ret, ret)`, also used by the stub emitted on errors.
pub fn jvp_signature(sig: &Signature) -> TokenStream {
    let name = format_ident!("{}_jvp", sig.name);
    let (params, ret) = jvp_params(sig);
    let (head, where_clause) = sig.declare(&name);
    quote!(#head(#(#params),*) -> #ret #where_clause)
}

/// The parameters and the result type of `f_jvp`: the original's parameters, then a tangent
/// of each differentiated one.
fn jvp_params(sig: &Signature) -> (Vec<TokenStream>, TokenStream) {
    let tangents = sig.differentiated().map(|p| {
        let (ident, ty) = (tangent_param(&p.ident), gradient_type(&p.ty));
        quote!(#ident: #ty)
    });
    let ret = &sig.ret;
    (
        sig.param_list().chain(tangents).collect(),
        quote!((#ret, #ret)),
    )
}

/// [`jvp_block`] for a body with branches or loops: each value's tangent beside it, and a
/// region's tangents handed out beside its values.
fn region_jvp_block(program: &Program) -> TokenStream {
    // How many times each tangent is read: by nodes, regions' yields and initial values,
    // and the result.
    let mut reads: HashMap<Var, usize> = HashMap::new();
    let uses = crate::ir::Uses::of(program, &program.stmts);
    for var in uses.read.iter().copied().chain(program.output_vars()) {
        *reads.entry(var).or_default() += 1;
    }
    let tangents = Tangents {
        program,
        live: crate::ir::live(program),
        once: crate::ir::outside_loops(&program.stmts),
        reads,
    };
    let body = tangents.stmts(&program.stmts);
    // The result reads its tangents last: moved where read nowhere else.
    let outputs = program.outputs.iter().map(|output| match output {
        Operand::Var(var) => tangent_of(program, *var, tangents.reads.get(var) != Some(&1)),
        _ => {
            let value = operand_tokens(program, output);
            quote!(::autodiff::__private::Map::zeros((#value).autodiff_arg()))
        }
    });
    let tangent = tuple_if_many(outputs.collect());
    let value = result_value(program);
    let result_tangent = hygienic("__tangent");
    let fallbacks = crate::emit::field_fallbacks(program, true, false);
    let body = quote!(#fallbacks #body let #result_tangent = #tangent;);
    generated_block(body, quote!((#value, #result_tangent)))
}

/// The tangent sweep through regions. Tangents read by nodes are copied (a loop reads them
/// again), but by a node in no loop that is their only reader; a region's own values'
/// tangents leave it by move.
struct Tangents<'p> {
    program: &'p Program,
    live: HashSet<Var>,
    /// The nodes in no loop ([`crate::ir::outside_loops`]).
    once: HashSet<usize>,
    /// How many times each tangent is read ([`region_jvp_block`]).
    reads: HashMap<Var, usize>,
}

impl Tangents<'_> {
    fn stmts(&self, stmts: &[Stmt]) -> TokenStream {
        stmts.iter().map(|stmt| self.stmt(stmt)).collect()
    }

    fn stmt(&self, stmt: &Stmt) -> TokenStream {
        match stmt {
            Stmt::Node(i) => {
                let value = forward_stmt(self.program, stmt);
                let tangent = self
                    .live
                    .contains(&Var::Node(*i))
                    .then(|| self.node_tangent(*i));
                quote!(#value #tangent)
            }
            Stmt::Branch(branch) => self.branch(branch),
            Stmt::Loop(lp) => self.lp(lp),
            Stmt::Const { .. } | Stmt::Verbatim(_) => forward_stmt(self.program, stmt),
        }
    }

    fn node_tangent(&self, i: usize) -> TokenStream {
        let program = self.program;
        let node = &program.nodes[i];
        let ident = tangent_ident(i);
        let once = self.once.contains(&i);
        let tangent =
            |var: Var| tangent_of(program, var, !(once && self.reads.get(&var) == Some(&1)));
        match &node.op {
            Op::Prim(prim) if prim.scatters() => {
                // The tangent's element (or line), read in place.
                let var = program.var_args(i).next().map(|(_, var)| var);
                let Some(var) = var else {
                    return TokenStream::new();
                };
                let whole = tangent_of(program, var, false);
                let forward = rule_fn(prim.rule().module, "forward", node.span);
                let index = rule_args(program, i).split_off(1);
                quote_spanned!(node.span=> let #ident = #forward((&#whole).autodiff_arg(), #(#index),*);)
            }
            Op::Prim(crate::rules::Primitive::SetIndex) => {
                // The array's tangent (moved where its value is), with the element's.
                let args = rule_args(program, i);
                let index = &args[1];
                let array = match &node.args[0] {
                    Operand::Var(var) if self.has_tangent(*var) => {
                        tangent_of(program, *var, !crate::ir::movable(program, *var, i))
                    }
                    other => crate::region::zeros_of(&operand_tokens(program, other)),
                };
                let tangent = match &node.args[2] {
                    Operand::Var(var) if self.has_tangent(*var) => {
                        let set_at = rule_fn("set_index", "set_at", node.span);
                        let t = tangent(*var);
                        quote_spanned!(node.span=> #set_at(#array, #index, #t))
                    }
                    _ => {
                        let zero_at = rule_fn("set_index", "zero_at", node.span);
                        quote_spanned!(node.span=> #zero_at(#array, #index))
                    }
                };
                quote!(let #ident = #tangent;)
            }
            Op::Prim(prim) => {
                let args = rule_args(program, i);
                let y = node_ident(i);
                let mut sum: Option<TokenStream> = None;
                for (k, var) in program.var_args(i) {
                    let jvp = rule_fn(prim.rule().module, &format!("jvp{k}"), node.span);
                    let t = tangent(var);
                    let term = quote_spanned!(node.span=> #jvp(#(#args,)* &#y, #t));
                    sum = Some(match sum {
                        None => term,
                        Some(sum) => accumulate(&sum, &term, node.span),
                    });
                }
                quote!(let #ident = #sum;)
            }
            Op::Map(_) => {
                let sum = crate::closure::tangent(program, i, tangent);
                quote!(let #ident = #sum;)
            }
            Op::Project(_) => {
                let Some((_, var)) = program.var_args(i).next() else {
                    return TokenStream::new();
                };
                let t = project_tangent(program, i, var);
                quote!(let #ident = #t;)
            }
            Op::Copy => {
                let t = program
                    .var_args(i)
                    .next()
                    .map(|(_, var)| tangent(var))
                    .unwrap_or_default();
                quote!(let #ident = #t;)
            }
            Op::Call { path, arg_spans } => {
                let tangents = node
                    .args
                    .iter()
                    .zip(arg_spans)
                    .map(|(arg, span)| match arg {
                        Operand::Var(var) => {
                            let t = tangent(*var);
                            quote_spanned!(*span=> ::core::option::Option::Some(#t))
                        }
                        _ => quote!(::core::option::Option::None),
                    });
                let companion = call::companion(path, "jvp");
                let args = call::call_args(program, i);
                quote_spanned!(node.span=> let (_, #ident) = #companion(#(#args,)* #(#tangents),*);)
            }
        }
    }

    /// Whether a variable has a tangent (an input, or a value the result depends on).
    fn has_tangent(&self, var: Var) -> bool {
        matches!(var, Var::Input(_)) || self.live.contains(&var)
    }

    /// The tangent a region hands out for `value`: `None` for a constant.
    fn yielded_tangent(
        &self,
        value: &Operand,
        inside: &HashSet<Var>,
        moved: &mut HashSet<Var>,
    ) -> Option<TokenStream> {
        match value {
            // A value the region computed (or a local of a region inside it), read nowhere
            // else, as `yield_value` moves the value.
            Operand::Var(var) if self.has_tangent(*var) => {
                let first = inside.contains(var) && moved.insert(*var);
                Some(tangent_of(self.program, *var, !first))
            }
            _ => None,
        }
    }

    fn branch(&self, branch: &crate::ir::Branch) -> TokenStream {
        let program = self.program;
        let arm = crate::region::arm_ident(branch.id);
        let targets: Vec<TokenStream> = branch
            .results
            .iter()
            .map(crate::region::target_tokens)
            .collect();
        // The live locals among the results, with an optional tangent from each arm.
        let live: Vec<usize> = branch
            .results
            .iter()
            .enumerate()
            .filter(|(_, target)| {
                matches!(target, Target::Local(k) if self.live.contains(&Var::Local(*k)))
            })
            .map(|(j, _)| j)
            .collect();
        let options: Vec<Ident> = live
            .iter()
            .map(|j| format_ident!("__o{}_{}", branch.id, j, span = Span::mixed_site()))
            .collect();
        let arms = branch
            .arms
            .iter()
            .enumerate()
            .map(|(k, region)| {
                let stmts = self.stmts(&region.stmts);
                let inside = crate::ir::Uses::of(program, &region.stmts).defined;
                let mut moved = HashSet::new();
                let mut tangent_moved = HashSet::new();
                // Tangents before values: a value's move would end the borrow its zero needs.
                let tangents = last_first(live.iter(), |&j| {
                    match self.yielded_tangent(&region.yields[j], &inside, &mut tangent_moved) {
                        Some(t) => quote!(::core::option::Option::Some(#t)),
                        None => quote!(::core::option::Option::None),
                    }
                });
                let values = last_first(region.yields.iter(), |value| {
                    crate::region::yield_value(program, value, &inside, &mut moved)
                });
                let tangent_bindings: Vec<Ident> = (0..tangents.len())
                    .map(|j| format_ident!("__ot{}", j, span = Span::mixed_site()))
                    .collect();
                quote! {
                    #stmts
                    #(let #tangent_bindings = #tangents;)*
                    (#k, #(#values,)* #(#tangent_bindings,)*)
                }
            })
            .collect();
        let head = crate::region::branch_head(branch, arms);
        let unwrap = live.iter().zip(&options).map(|(&j, option)| {
            let Target::Local(k) = branch.results[j] else {
                return TokenStream::new();
            };
            let (value, tangent) = (
                crate::emit::local_ident(k),
                crate::emit::local_tangent_ident(k),
            );
            let zeros = crate::region::zeros_of(&quote!(#value));
            quote!(let #tangent = match #option {
                ::core::option::Option::Some(__t) => __t,
                ::core::option::Option::None => #zeros,
            };)
        });
        quote! {
            let (#arm, #(#targets,)* #(#options,)*) = #head;
            #(#unwrap)*
        }
    }

    fn lp(&self, lp: &crate::ir::Loop) -> TokenStream {
        let program = self.program;
        // An initial value nothing else reads is moved in, its tangent too (an array written
        // element by element in nested loops is not copied at each outer iteration).
        let moves = |var: Var| crate::ir::initial_value_moves(program, var, lp.id);
        let declarations = crate::region::carried_declarations(program, lp, moves);
        // The live carried locals' tangents, mutable beside their values.
        let live: Vec<(usize, usize)> = lp
            .carried
            .iter()
            .enumerate()
            .filter_map(|(j, (target, _))| match target {
                Target::Local(k) if self.live.contains(&Var::Local(*k)) => Some((j, *k)),
                _ => None,
            })
            .collect();
        let tangent_declarations = live.iter().map(|&(j, k)| {
            let tangent = crate::emit::local_tangent_ident(k);
            let start = match &lp.carried[j].1 {
                Operand::Var(var) if self.has_tangent(*var) => {
                    tangent_of(program, *var, !moves(*var))
                }
                _ => {
                    let value = crate::emit::local_ident(k);
                    crate::region::zeros_of(&quote!(#value))
                }
            };
            quote!(let mut #tangent = #start;)
        });
        let body = self.stmts(&lp.body.stmts);
        let inside = crate::ir::Uses::of(program, &lp.body.stmts).defined;
        let mut moved = HashSet::new();
        let tangent_next: Vec<Option<(TokenStream, TokenStream)>> = {
            let mut next = vec![None; lp.carried.len()];
            // Last first, as `last_first`: a tangent yielded twice is moved by its last use.
            for &(j, k) in live.iter().rev() {
                let tangent = crate::emit::local_tangent_ident(k);
                let value = match self.yielded_tangent(&lp.body.yields[j], &inside, &mut moved) {
                    Some(t) => t,
                    None => {
                        let value = crate::emit::local_ident(k);
                        crate::region::zeros_of(&quote!(#value))
                    }
                };
                let unchanged = matches!(lp.body.yields[j], Operand::Var(Var::Local(i)) if i == k);
                if !unchanged {
                    next[j] = Some((quote!(#tangent), value));
                }
            }
            next
        };
        let values = crate::region::next_values(program, lp);
        // Tangents first, in the same tuple assignment as the values.
        let updates =
            crate::region::carried_updates(lp, |j| match (&tangent_next[j], &values[j]) {
                (Some((t, tv)), Some((v, vv))) => Some((quote!(#t, #v), quote!(#tv, #vv))),
                (Some(pair), None) | (None, Some(pair)) => Some(pair.clone()),
                (None, None) => None,
            });
        crate::region::loop_head(
            lp,
            crate::primal::head_stmts(program, lp),
            quote!(#declarations #(#tangent_declarations)*),
            TokenStream::new(),
            quote!(#body #updates),
            false,
        )
    }
}
