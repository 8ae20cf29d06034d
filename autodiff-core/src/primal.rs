//! The primal (forward) sweep: every statement's value in source order, branches and loops
//! included. In reverse mode it records what the adjoint sweep reads of each region (the
//! [`Plan`]): per loop iteration, per branch the arm taken, the values its adjoint needs
//! (or, where the adjoint runs the region again, only the values it starts from).

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use crate::call;
use crate::emit::{node_ident, operand_tokens, rule_args, rule_fn, var_tokens};
use std::collections::HashSet;

use crate::ir::{
    Branch, Increments, InputKind, Loop, LoopHead, Op, Operand, Program, Stmt, Uses, Var,
};
use crate::region::{
    arm_ident, branch_head, carried_declarations, carried_updates, idents, last_first, loop_head,
    next_values, owned, residual_ident, shape_of, tape_declarations, tape_entry, tape_ident,
    target_tokens, yield_value, Plan, Saved,
};
use crate::rules::Primitive;

/// The forward sweep of reverse mode: every statement of the program in source order, each
/// region recording what the adjoint sweep reads of it.
pub fn forward_sweep(program: &Program, plan: &Plan) -> TokenStream {
    let tapes = tape_declarations(&program.stmts, plan);
    let stmts = forward_stmts(program, &program.stmts, Some(plan));
    quote!(#tapes #stmts)
}

/// Statements of the forward sweep; `taped`: regions record for the adjoint sweep.
pub fn forward_stmts(program: &Program, stmts: &[Stmt], taped: Option<&Plan>) -> TokenStream {
    let stmts = stmts
        .iter()
        .map(|stmt| forward_stmt_in(program, stmt, taped));
    quote!(#(#stmts)*)
}

/// One statement of the forward sweep, with no recording.
pub fn forward_stmt(program: &Program, stmt: &Stmt) -> TokenStream {
    forward_stmt_in(program, stmt, None)
}

/// One statement of reverse mode's forward sweep, recording as `plan` says.
pub fn forward_stmt_taped(program: &Program, stmt: &Stmt, plan: &Plan) -> TokenStream {
    forward_stmt_in(program, stmt, Some(plan))
}

fn forward_stmt_in(program: &Program, stmt: &Stmt, taped: Option<&Plan>) -> TokenStream {
    match stmt {
        Stmt::Const {
            ident,
            ty,
            expr,
            reads,
            ..
        } => {
            let ty = ty.as_ref().map(|ty| quote!(: #ty));
            if reads.is_empty() {
                return quote!(let #ident #ty = #expr;);
            }
            // Each value read through a reference (`(*p)` in `expr`): to the value itself, so
            // that the user's code reads it with its own type; in the Hessian's program, to
            // its real part (a reference parameter's through one more reference).
            let reads = reads.iter().map(|(placeholder, var)| {
                let value = var_tokens(program, *var);
                match (*var, program.dual) {
                    (_, false) => quote!(let #placeholder = &#value;),
                    // A reference to the parameter as passed, as `&x` is.
                    (Var::Input(k), true) if program.reals.contains(var) => {
                        let real = crate::ir::real_input_ident(k);
                        quote!(let #placeholder = #real;)
                    }
                    (_, true) if program.reals.contains(var) => quote!(let #placeholder = &#value;),
                    // A field the Hessian's sweeps do not seed (read by constants only).
                    (Var::Input(k), true)
                        if matches!(&program.inputs[k].kind, InputKind::Field { path, .. } if !path.is_empty()) =>
                    {
                        quote!(let #placeholder = &#value;)
                    }
                    (Var::Input(k), true) if program.inputs[k].reference => {
                        quote!(let #placeholder = &&(#value).autodiff_re();)
                    }
                    (_, true) => quote!(let #placeholder = &(#value).autodiff_re();),
                }
            });
            quote!(let #ident #ty = { #(#reads)* #expr };)
        }
        Stmt::Branch(branch) => branch_forward(program, branch, taped),
        Stmt::Loop(lp) => loop_forward(program, lp, taped),
        Stmt::Verbatim(tokens) => tokens.clone(),
        Stmt::Node(i) => {
            if let Some(code) = taped.and_then(|plan| plan.at_site.get(i)) {
                return code.clone();
            }
            let node = &program.nodes[*i];
            let ident = node_ident(*i);
            match &node.op {
                Op::Prim(Primitive::SetIndex) => {
                    let set_at = rule_fn("set_index", "set_at", node.span);
                    let array = written_array(program, *i, taped);
                    let args = rule_args(program, *i);
                    let (index, value) = (&args[1], &args[2]);
                    quote_spanned!(node.span=> let #ident = #set_at(#array, #index, #value);)
                }
                Op::Prim(prim) => {
                    let mut args = rule_args(program, *i);
                    let Some(k) = taped.and_then(|plan| plan.moves.arg(*i)) else {
                        let forward = rule_fn(prim.rule().module, "forward", node.span);
                        return quote_spanned!(node.span=> let #ident = #forward(#(#args),*););
                    };
                    // The operand's buffer becomes the result's; its shape is kept for the
                    // pullbacks that read it.
                    let Operand::Var(Var::Node(j)) = node.args[k] else {
                        unreachable!("only node results are moved")
                    };
                    let (moved, shape) = (node_ident(j), crate::reuse::shape_ident(j));
                    let kept = shape_of(&quote!(#moved));
                    let moves = &taped.expect("moves are planned").moves;
                    if moves.chained(*i) {
                        // Computed by the node that takes the result, in the same pass.
                        return quote_spanned!(node.span=> let #shape = #kept;);
                    }
                    if let Some(head) = moves.chain_head(*i) {
                        let forward = chained_forward(program, *prim, head, moves, node.span);
                        if moves.pulled_head(program, *i).is_some() {
                            return quote_spanned!(node.span=> let #ident = #forward;);
                        }
                        // The head's own pullback reads its result's shape, this node's.
                        let result = shape_of(&quote!(#ident));
                        return quote_spanned!(node.span=>
                            let #ident = #forward;
                            let #shape = #result;
                        );
                    }
                    args[k] = quote!(#moved);
                    let function = match (prim, args.len(), k) {
                        (Primitive::IntoShape, ..) | (_, 1, _) => "forward_into",
                        (_, _, 0) => "forward_into_left",
                        _ => "forward_into_right",
                    };
                    let forward = rule_fn(prim.rule().module, function, node.span);
                    quote_spanned!(node.span=>
                        let #shape = #kept;
                        let #ident = #forward(#(#args),*);
                    )
                }
                Op::Call { .. } => {
                    let call = call::value_call(program, *i);
                    quote_spanned!(node.span=> let #ident = #call;)
                }
                Op::Map(_) => crate::closure::forward_code(program, *i),
                Op::Project(_) => {
                    // Borrowed from the parameter, which outlives every sweep.
                    let root = operand_tokens(program, &node.args[0]);
                    let part = crate::emit::projected(program, *i, &root);
                    quote_spanned!(node.span=> let #ident = &#part;)
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

/// `prim` (tanh, exp, …) of the add or sub `head` in one pass over the operand whose buffer
/// the head takes: `prim::tanh::forward_after(moved, other, op, swapped, arithmetic)`.
fn chained_forward(
    program: &Program,
    prim: Primitive,
    head: usize,
    moves: &crate::reuse::Moves,
    span: proc_macro2::Span,
) -> TokenStream {
    let node = &program.nodes[head];
    let k = moves
        .arg(head)
        .expect("a chain's head takes an operand's buffer");
    let mut args = rule_args(program, head);
    let Operand::Var(Var::Node(j)) = node.args[k] else {
        unreachable!("only node results are moved")
    };
    let moved = node_ident(j);
    let other = args.swap_remove(1 - k);
    // Named where the user's constants are not (a `const o` would make `o` a pattern).
    let [m, o] = ["__m", "__o"].map(|name| syn::Ident::new(name, proc_macro2::Span::mixed_site()));
    let (op, arithmetic) = match (&node.op, k) {
        (Op::Prim(Primitive::Add), 0) => ("add", quote!(|#m, #o| #m + #o)),
        (Op::Prim(Primitive::Add), _) => ("add", quote!(|#m, #o| #o + #m)),
        (_, 0) => ("sub", quote!(|#m, #o| #m - #o)),
        _ => ("sub", quote!(|#m, #o| #o - #m)),
    };
    let swapped = k == 1;
    let forward = rule_fn(prim.rule().module, "forward_after", span);
    quote_spanned!(span=> #forward(#moved, #other, #op, #swapped, #arithmetic))
}

/// The array an element write (node i) replaces an element of, owned: moved in when
/// nothing else reads its old value, copied otherwise (also where a region's record, `taped`,
/// saves it for the adjoint).
pub fn written_array(program: &Program, i: usize, taped: Option<&Plan>) -> TokenStream {
    let array = &program.nodes[i].args[0];
    let value = operand_tokens(program, array);
    let recorded = |var: Var| {
        let scope = crate::ir::write_scope(program, var, i);
        taped.is_some_and(|plan| plan.saves(&value.to_string(), scope.as_deref()))
    };
    match array {
        Operand::Var(var) if crate::ir::movable(program, *var, i) && !recorded(*var) => value,
        _ => owned(&value),
    }
}

/// The forward code of a branch: the chosen arm's statements, then its yields assigned to
/// the results, with the arm's index recorded in `__armN`; where the plan records the arm,
/// its saved values too, in `__resN` (an `Option` per arm).
pub fn branch_forward(program: &Program, branch: &Branch, taped: Option<&Plan>) -> TokenStream {
    let arm = arm_ident(branch.id);
    let targets: Vec<TokenStream> = branch.results.iter().map(target_tokens).collect();
    let saved = taped.and_then(|plan| plan.saved.get(&branch.id));
    // An arm the adjoint runs again records nothing now: its run there records.
    let inner = saved.and(taped);
    let arms = branch
        .arms
        .iter()
        .enumerate()
        .map(|(k, region)| {
            let stmts = forward_stmts(program, &region.stmts, inner);
            let inside = Uses::of(program, &region.stmts).defined;
            let mut moved = HashSet::new();
            let yields = last_first(region.yields.iter(), |value| {
                yield_value(program, value, &inside, &mut moved)
            });
            let residual = saved.map(|saved| {
                let options = saved.iter().enumerate().map(|(j, names)| match j == k {
                    true => {
                        let values = save(names, &quote!(#(#yields)*));
                        quote!(::core::option::Option::Some((#(#values,)*)))
                    }
                    false => quote!(::core::option::Option::None),
                });
                quote!((#(#options,)*))
            });
            // Recorded before the yields, which may move what the record copies.
            let record = residual.map(|residual| {
                let ident = residual_ident(branch.id);
                (quote!(let #ident = #residual;), ident)
            });
            let (record, ident) = record.unzip();
            quote!(#stmts #record (#k, #(#yields,)* #ident))
        })
        .collect();
    let head = branch_head(branch, arms);
    let residual = saved.map(|_| residual_ident(branch.id));
    quote!(let (#arm, #(#targets,)* #residual) = #head;)
}

/// The saved values: moved, or copied where `later` (code after the saving) still reads
/// them.
fn save(names: &[Saved], later: &TokenStream) -> Vec<TokenStream> {
    let read_later = idents(later);
    names
        .iter()
        .map(|Saved { ident, shape }| {
            if *shape {
                return shape_of(&quote!(#ident));
            }
            match read_later.contains(&ident.to_string()) {
                true => quote!(::core::clone::Clone::clone(&#ident)),
                false => quote!(#ident),
            }
        })
        .collect()
}

/// The forward code of a loop; `taped`: recording one entry per iteration for the adjoint
/// sweep: the values its adjoint reads, saved at the iteration's end, or (where the
/// adjoint runs the body again) the carried values and the item at its start.
pub fn loop_forward(program: &Program, lp: &Loop, taped: Option<&Plan>) -> TokenStream {
    if let Some(fused) = taped.and_then(|plan| plan.fused.get(&lp.id)) {
        return fused.clone();
    }
    let declarations =
        carried_declarations(program, lp, |var| initial_moves(program, lp, var, taped));
    // A body the adjoint runs again records nothing now: its run there records.
    let stored = taped.is_some_and(|plan| plan.saved.contains_key(&lp.id));
    let body = forward_stmts(program, &lp.body.stmts, taped.filter(|_| stored));
    let updates = carried_updates(lp, {
        let next = next_values(program, lp);
        move |k| next[k].clone()
    });
    // A loop with no adjoint records nothing.
    let taped = taped.filter(|plan| plan.tapes(lp.id));
    let (record, saved) = match taped.map(|plan| plan.saved.get(&lp.id)) {
        None => (TokenStream::new(), TokenStream::new()),
        Some(Some(saved)) => {
            // Carried values are reassigned by the updates after the saving: copied.
            let mut later = updates.clone();
            later.extend(lp.carried.iter().map(|(target, _)| target_tokens(target)));
            let values = save(&saved[0], &later);
            (TokenStream::new(), push(lp, &quote!((#(#values,)*))))
        }
        Some(None) => {
            let (values, item) = tape_entry(lp);
            let item = item.map(|item| quote!(::core::clone::Clone::clone(&#item)));
            let record = push(
                lp,
                &quote!(((#(::core::clone::Clone::clone(&#values),)*), #item)),
            );
            (record, TokenStream::new())
        }
    };
    loop_head(
        lp,
        head_stmts(program, lp),
        declarations,
        record,
        quote!(#body #saved #updates),
        taped.is_some(),
    )
}

/// Whether a loop takes its initial value `var` by move: an element write's result or a
/// local that nothing else reads (`let mut z = …; z[0] = v; for … { z[r] += … }`), nor
/// a record of `taped` saves while the name holds the moved value (a record after the loop
/// that carries the local around `lp` reads the value that loop handed back).
fn initial_moves(program: &Program, lp: &Loop, var: Var, taped: Option<&Plan>) -> bool {
    let name = var_tokens(program, var).to_string();
    let scope = crate::ir::initial_value_scope(program, var, lp.id);
    // A loop its adjoint runs again needs its initial values then, but for the arrays it
    // only adds into ([`loop_replayed`]).
    let replayed = |plan: &Plan| {
        plan.replayed.contains(&lp.id)
            && !lp.increments(program).is_some_and(|increments| {
                increments
                    .slots
                    .iter()
                    .any(|&slot| matches!(&lp.carried[slot].1, Operand::Var(init) if *init == var))
            })
    };
    !taped.is_some_and(|plan| plan.saves(&name, scope.as_deref()) || replayed(plan))
        && crate::ir::initial_value_moves(program, var, lp.id)
}

/// `entry` appended to loop `lp`'s tape. A loop over a range reserved room for all its
/// iterations: its entries are written with no reallocation in the loop (see
/// `autodiff_runtime::tape::record`).
fn push(lp: &Loop, entry: &TokenStream) -> TokenStream {
    let tape = tape_ident(lp.id);
    match over_a_range(lp) {
        true => quote!(::autodiff::__private::record(&mut #tape, #entry);),
        false => quote!(#tape.push(#entry);),
    }
}

/// Whether `lp` is a `for` over a range written as one (`a..b`, `a..=b`, `(a..b).rev()`,
/// `(a..b).step_by(k)`), whose `size_hint` is exact.
fn over_a_range(lp: &Loop) -> bool {
    fn range(expr: &syn::Expr) -> bool {
        match expr {
            syn::Expr::Range(range) => range.start.is_some() && range.end.is_some(),
            syn::Expr::Paren(inner) => range(&inner.expr),
            syn::Expr::Group(inner) => range(&inner.expr),
            // A bound reading a parameter: `{ let __p0 = &x; 0..(*__p0).len() }`.
            syn::Expr::Block(block) => match block.block.stmts.last() {
                Some(syn::Stmt::Expr(last, None)) => range(last),
                _ => false,
            },
            syn::Expr::MethodCall(call) => {
                matches!(call.method.to_string().as_str(), "rev" | "step_by")
                    && range(&call.receiver)
            }
            _ => false,
        }
    }
    let LoopHead::For { stmts, iter, .. } = &lp.head else {
        return false;
    };
    // The last constant of that name: the one the loop iterates.
    let iter = iter.to_string();
    stmts
        .iter()
        .rev()
        .find_map(|stmt| match stmt {
            Stmt::Const { ident, expr, .. } if *ident == iter => Some(expr),
            _ => None,
        })
        .is_some_and(|expr| syn::parse2::<syn::Expr>(expr.clone()).is_ok_and(|e| range(&e)))
}

/// A loop summed into the result, each iteration running its adjoint (`adjoint`) after its
/// forward code; `before` declares the adjoints it starts from.
pub fn loop_fused(
    program: &Program,
    lp: &Loop,
    plan: &Plan,
    before: TokenStream,
    adjoint: TokenStream,
) -> TokenStream {
    let declarations = carried_declarations(program, lp, |var| {
        initial_moves(program, lp, var, Some(plan))
    });
    let tapes = tape_declarations(&lp.body.stmts, plan);
    let body = forward_stmts(program, &lp.body.stmts, Some(plan));
    let updates = carried_updates(lp, {
        let next = next_values(program, lp);
        move |k| next[k].clone()
    });
    loop_head(
        lp,
        head_stmts(program, lp),
        quote!(#declarations #before #tapes),
        TokenStream::new(),
        quote!(#body #adjoint #updates),
        false,
    )
}

/// A loop its adjoint runs again, each iteration followed by `adjoint`
/// (`crate::adjoint`'s replay), leaving out the arrays it only adds into element by element
/// (`increments`, `q[r] += t`): the adjoint reads none of their values, only the shapes of
/// each element read and of its sum, which are those of the term added (a scalar's).
pub fn loop_replayed(
    program: &Program,
    lp: &Loop,
    plan: &Plan,
    increments: &Increments,
    adjoint: TokenStream,
) -> TokenStream {
    // The carried variables and their next values but the arrays left out.
    fn kept<T: Clone>(all: &[T], left_out: &HashSet<usize>) -> Vec<T> {
        let kept = all
            .iter()
            .enumerate()
            .filter(|(slot, _)| !left_out.contains(slot));
        kept.map(|(_, item)| item.clone()).collect()
    }
    let mut kept_loop = lp.clone();
    kept_loop.carried = kept(&lp.carried, &increments.slots);
    kept_loop.body.yields = kept(&lp.body.yields, &increments.slots);
    kept_loop.body.stmts = lp
        .body
        .stmts
        .iter()
        .filter_map(|stmt| {
            let Stmt::Node(i) = stmt else {
                return Some(stmt.clone());
            };
            let Some(increment) = increments
                .nodes
                .iter()
                .find(|inc| [inc.read, inc.sum, inc.write].contains(i))
            else {
                return Some(stmt.clone());
            };
            (increment.sum == *i).then(|| {
                let (read, sum) = (Var::Node(increment.read), Var::Node(increment.sum));
                let term = program.nodes[*i]
                    .args
                    .iter()
                    .find(|arg| !matches!(arg, Operand::Var(v) if *v == read))
                    .map(|arg| operand_tokens(program, arg));
                let (read, sum) = (var_tokens(program, read), var_tokens(program, sum));
                Stmt::Verbatim(quote! {
                    let #read = ::core::clone::Clone::clone(&#term);
                    let #sum = ::core::clone::Clone::clone(&#term);
                })
            })
        })
        .collect();
    loop_fused(program, &kept_loop, plan, TokenStream::new(), adjoint)
}

/// The statements of a loop's head: those computing the iterated value or the condition.
pub fn head_stmts(program: &Program, lp: &Loop) -> TokenStream {
    forward_stmts(program, lp.head.stmts(), None)
}
