//! The code shared by every emitter for branches and loops: names of the generated code's
//! locals, heads (`if`, `match`, `for`, `while`, `loop`), and the values regions hand out.
//!
//! Reverse mode records, per loop iteration (on the loop's tape) and per branch (the arm
//! taken), the values the region's adjoint code reads, as the [`Plan`] found by a first
//! adjoint pass says; a region whose values cannot be stored apart (a view of another)
//! records only the values it starts from, and its adjoint runs its forward code again.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::Ident;

use crate::emit::{local_ident, operand_tokens};
use crate::ir::{Branch, BranchHead, Loop, LoopHead, Op, Operand, Program, Stmt, Target, Var};

/// What reverse mode's forward sweep records of each region whose adjoint does not run it
/// again: by region id, for each arm (one for a loop's body), the bindings its adjoint
/// reads, in order. A region absent runs again in the adjoint sweep.
///
/// Loops in `rerun` record their carried values and item per iteration, and their adjoint
/// runs the body again; a loop in neither set has no adjoint and records nothing.
#[derive(Clone, Default)]
pub struct Plan {
    pub saved: HashMap<usize, Vec<Vec<Saved>>>,
    pub rerun: HashSet<usize>,
    /// Loops whose forward code runs their adjoint too: that code.
    pub fused: HashMap<usize, TokenStream>,
    /// Loops whose adjoint runs their forward code again from their initial values, which
    /// the forward sweep must therefore keep.
    pub replayed: HashSet<usize>,
    /// Nodes whose forward code is other than their primal's: calls that run their adjoint
    /// where they are made (`Sweep::calls_at_site`).
    pub at_site: HashMap<usize, TokenStream>,
    /// The operands the forward sweep moves into results ([`crate::reuse`]).
    pub moves: crate::reuse::Moves,
}

/// A binding a region's adjoint reads, as its forward code saves it.
#[derive(Clone)]
pub struct Saved {
    pub ident: Ident,
    /// The adjoint reads only its shape (`Shaped::autodiff_shape(&x)`, the pullbacks of add,
    /// sub and neg): that is saved, under the same name, which for a scalar is nothing.
    pub shape: bool,
}

/// `Shaped::autodiff_shape(&value)`: what a pullback reading only a value's shape takes, and
/// how [`shape_only`] recognizes such a read.
pub fn shape_of(value: &TokenStream) -> TokenStream {
    quote!(::autodiff::__private::Shaped::autodiff_shape(&#value))
}

/// The identifiers `tokens` reads only through [`shape_of`]; and every other identifier it
/// reads.
pub fn shape_only(tokens: &TokenStream) -> HashSet<String> {
    fn collect(tokens: TokenStream, shapes: &mut HashSet<String>, values: &mut HashSet<String>) {
        let trees: Vec<proc_macro2::TokenTree> = tokens.into_iter().collect();
        let mut k = 0;
        while k < trees.len() {
            match &trees[k] {
                proc_macro2::TokenTree::Ident(ident) if ident == "autodiff_shape" => {
                    if let Some(proc_macro2::TokenTree::Group(group)) = trees.get(k + 1) {
                        let inner: Vec<proc_macro2::TokenTree> =
                            group.stream().into_iter().collect();
                        if let [proc_macro2::TokenTree::Punct(amp), proc_macro2::TokenTree::Ident(name)] =
                            inner.as_slice()
                        {
                            if amp.as_char() == '&' {
                                shapes.insert(name.to_string());
                                k += 2;
                                continue;
                            }
                        }
                    }
                    values.insert(ident.to_string());
                }
                proc_macro2::TokenTree::Ident(ident) => {
                    values.insert(ident.to_string());
                }
                proc_macro2::TokenTree::Group(group) => collect(group.stream(), shapes, values),
                _ => {}
            }
            k += 1;
        }
    }
    let (mut shapes, mut values) = (HashSet::new(), HashSet::new());
    collect(tokens.clone(), &mut shapes, &mut values);
    shapes.retain(|name| !values.contains(name));
    shapes
}

impl Plan {
    /// Whether a record of the regions in `scope` (of any region: `None`) saves the binding
    /// `name`, which the forward code must then not move away.
    pub fn saves(&self, name: &str, scope: Option<&[usize]>) -> bool {
        self.saved
            .iter()
            .filter(|(id, _)| scope.map_or(true, |scope| scope.contains(id)))
            .flat_map(|(_, saved)| saved.iter().flatten())
            .any(|saved| saved.ident == name)
    }

    /// Whether loop `id` records an entry per iteration.
    pub fn tapes(&self, id: usize) -> bool {
        self.saved.contains_key(&id) || self.rerun.contains(&id)
    }
}

/// The values branch `id`'s arm saved for its adjoint.
pub fn residual_ident(id: usize) -> Ident {
    format_ident!("__res{}", id, span = Span::mixed_site())
}

/// Every identifier in `tokens`, as text.
pub fn idents(tokens: &TokenStream) -> HashSet<String> {
    fn collect(tokens: TokenStream, out: &mut HashSet<String>) {
        for tree in tokens {
            match tree {
                proc_macro2::TokenTree::Ident(ident) => {
                    out.insert(ident.to_string());
                }
                proc_macro2::TokenTree::Group(group) => collect(group.stream(), out),
                _ => {}
            }
        }
    }
    let mut out = HashSet::new();
    collect(tokens.clone(), &mut out);
    out
}

/// Which arm of branch `id` ran.
pub fn arm_ident(id: usize) -> Ident {
    format_ident!("__arm{}", id, span = Span::mixed_site())
}

/// The tape of loop `id`: one entry per iteration.
pub fn tape_ident(id: usize) -> Ident {
    format_ident!("__tape{}", id, span = Span::mixed_site())
}

/// The length of loop `id`'s tape before an execution of the loop: its entries are those
/// after it. One tape serves every execution of a loop (its capacity kept), the adjoint
/// taking each execution's entries off its end.
pub fn start_ident(id: usize) -> Ident {
    format_ident!("__start{}", id, span = Span::mixed_site())
}

/// The declarations of the tapes of the loops that `stmts`, run with `plan`'s recording,
/// record on: each empty, declared once where its entries' executions all happen after.
pub fn tape_declarations(stmts: &[Stmt], plan: &Plan) -> TokenStream {
    fn collect(stmts: &[Stmt], plan: &Plan, out: &mut Vec<usize>) {
        for stmt in stmts {
            match stmt {
                Stmt::Loop(lp) => {
                    if plan.tapes(lp.id) {
                        out.push(lp.id);
                    }
                    // A stored body records as it runs; one run again records in the adjoint.
                    if plan.saved.contains_key(&lp.id) {
                        collect(&lp.body.stmts, plan, out);
                    }
                }
                Stmt::Branch(branch) => {
                    if plan.saved.contains_key(&branch.id) {
                        for arm in &branch.arms {
                            collect(&arm.stmts, plan, out);
                        }
                    }
                }
                Stmt::Node(_) | Stmt::Const { .. } | Stmt::Verbatim(_) => {}
            }
        }
    }
    let mut ids = Vec::new();
    collect(stmts, plan, &mut ids);
    let tapes = ids.into_iter().map(tape_ident);
    quote!(#(let mut #tapes = ::std::vec::Vec::new();)*)
}

/// The item of loop `id`'s current iteration.
pub fn item_ident(id: usize) -> Ident {
    format_ident!("__item{}", id, span = Span::mixed_site())
}

/// The binding a region's yield is assigned to.
pub fn target_tokens(target: &Target) -> TokenStream {
    match target {
        Target::Local(k) => {
            let ident = local_ident(*k);
            quote!(#ident)
        }
        Target::Const(ident) => quote!(#ident),
    }
}

/// A zero of the value's kind and shape.
pub fn zeros_of(value: &TokenStream) -> TokenStream {
    quote!(::autodiff::__private::Map::zeros((#value).autodiff_arg()))
}

/// A zero of the value's kind and shape, from its shape only ([`shape_of`]): what a region's
/// adjoint starts an adjoint from, without a tape keeping the value for it.
pub fn shaped_zeros_of(value: &TokenStream) -> TokenStream {
    let shape = shape_of(value);
    quote!(::autodiff::__private::Shape::autodiff_zeros(&#shape))
}

/// An owned copy of a value (a parameter's array, a view).
pub fn owned(value: &TokenStream) -> TokenStream {
    quote!(::autodiff::__private::Map::map((#value).autodiff_arg(), ::core::convert::identity))
}

/// `f` over `items` last first, the results in the items' order: of a value handed out
/// twice (`moved` by [`yield_value`]), the last use moves it and the earlier ones copy it.
pub fn last_first<I: DoubleEndedIterator, T>(items: I, f: impl FnMut(I::Item) -> T) -> Vec<T> {
    let mut out: Vec<T> = items.rev().map(f).collect();
    out.reverse();
    out
}

/// A value a region hands out, as the owned value its target holds: moved when the region
/// computed it and nothing reads it again, copied otherwise (call it through [`last_first`]).
pub fn yield_value(
    program: &Program,
    operand: &Operand,
    inside: &HashSet<Var>,
    moved: &mut HashSet<Var>,
) -> TokenStream {
    let value = operand_tokens(program, operand);
    match operand {
        Operand::Var(Var::Input(_)) => owned(&value),
        Operand::Var(var @ Var::Node(i)) => {
            let view = matches!(program.nodes[*i].op, Op::Prim(prim) if prim.returns_view());
            if view {
                owned(&value)
            } else if inside.contains(var) && moved.insert(*var) {
                value
            } else {
                quote!(::core::clone::Clone::clone(&#value))
            }
        }
        // A local the region defines (a loop's or a branch's inside it) is its own.
        Operand::Var(var @ Var::Local(_)) if inside.contains(var) && moved.insert(*var) => value,
        Operand::Var(Var::Local(_)) => quote!(::core::clone::Clone::clone(&#value)),
        Operand::Const { .. } | Operand::Poison => value,
    }
}

/// `if cond { arms[0] } else { arms[1] }` or `match scrutinee { pattern => arm, … }`.
pub fn branch_head(branch: &Branch, arms: Vec<TokenStream>) -> TokenStream {
    match &branch.head {
        BranchHead::If(cond) => {
            let (then, otherwise) = (&arms[0], arms.get(1).cloned().unwrap_or_default());
            quote!(if #cond { #then } else { #otherwise })
        }
        BranchHead::Match {
            scrutinee,
            patterns,
            guards,
        } => quote!(match #scrutinee { #(#patterns #guards => { #arms })* }),
    }
}

/// `match __armN { 0 => arms[0], 1 => …, _ => last }`: the arm the forward sweep took.
pub fn arm_dispatch(id: usize, arms: Vec<TokenStream>) -> TokenStream {
    let arm = arm_ident(id);
    let count = arms.len();
    let cases = arms
        .into_iter()
        .enumerate()
        .map(|(k, body)| match k + 1 == count {
            true => quote!(_ => { #body }),
            false => quote!(#k => { #body }),
        });
    quote!(match #arm { #(#cases)* })
}

/// The declarations before a loop: each carried variable, mutable, holding its initial
/// value (an owned copy for a value of the trace, but for one `moves` lets it take).
pub fn carried_declarations(
    program: &Program,
    lp: &Loop,
    moves: impl Fn(Var) -> bool,
) -> TokenStream {
    let decls = lp.carried.iter().map(|(target, init)| {
        let name = target_tokens(target);
        match target {
            Target::Local(_) => {
                let value = match init {
                    Operand::Var(var) if moves(*var) => operand_tokens(program, init),
                    Operand::Var(_) => owned(&operand_tokens(program, init)),
                    _ => operand_tokens(program, init),
                };
                let ty = match (init, &program.float) {
                    (Operand::Const { literal: true, .. }, Some(float)) => quote!(: #float),
                    _ => TokenStream::new(),
                };
                quote!(let mut #name #ty = #value;)
            }
            Target::Const(_) => {
                let value = operand_tokens(program, init);
                quote!(#[allow(unused_mut)] let mut #name = #value;)
            }
        }
    });
    quote!(#(#decls)*)
}

/// `(a, b) = (next_a, next_b);` at the end of an iteration (skipping a variable that keeps
/// its value), then `if flag { break; }` for a loop that breaks.
pub fn carried_updates(
    lp: &Loop,
    mut next: impl FnMut(usize) -> Option<(TokenStream, TokenStream)>,
) -> TokenStream {
    let (targets, values): (Vec<TokenStream>, Vec<TokenStream>) =
        (0..lp.carried.len()).filter_map(&mut next).unzip();
    let update = match targets.len() {
        0 => TokenStream::new(),
        _ => quote!((#(#targets,)*) = (#(#values,)*);),
    };
    let exit = lp.exit.as_ref().map(|flag| quote!(if #flag { break; }));
    quote!(#update #exit)
}

/// The primal's next values of the carried variables, for [`carried_updates`].
pub fn next_values(program: &Program, lp: &Loop) -> Vec<Option<(TokenStream, TokenStream)>> {
    let inside = crate::ir::Uses::of(program, &lp.body.stmts).defined;
    let mut moved = HashSet::new();
    last_first(
        lp.carried.iter().zip(&lp.body.yields),
        |((target, _), next)| {
            let unchanged = match (target, next) {
                (Target::Local(k), Operand::Var(Var::Local(j))) => k == j,
                (Target::Const(ident), Operand::Const { tokens, .. }) => {
                    *ident == tokens.to_string()
                }
                _ => false,
            };
            (!unchanged).then(|| {
                (
                    target_tokens(target),
                    yield_value(program, next, &inside, &mut moved),
                )
            })
        },
    )
}

/// A loop around `body`: `for pattern in iter`, `while cond`, or `loop`, `head` computing
/// the iterated value (before the loop) or the condition (each iteration), `before` (the
/// carried variables' declarations) just before the loop, and `record` run at the start of
/// every iteration (before the pattern binds the item, which it may read as `__itemN`).
pub fn loop_head(
    lp: &Loop,
    head: TokenStream,
    before: TokenStream,
    record: TokenStream,
    body: TokenStream,
    taped: bool,
) -> TokenStream {
    let item = item_ident(lp.id);
    let (tape, start) = (tape_ident(lp.id), start_ident(lp.id));
    let tape_decl = taped.then(|| quote!(let #start = #tape.len();));
    match &lp.head {
        LoopHead::For { pattern, iter, .. } => {
            // Room for the iterations the iterator announces: one allocation at most, none
            // once the tape has grown to the largest execution.
            let reserve =
                taped.then(|| quote!(#tape.reserve(::core::iter::Iterator::size_hint(&#item).0);));
            // The iterated value first: it reads the values from before the loop, which the
            // carried variables' declarations (`before`) may move (`for i in 0..a.len()`).
            quote! {
                #head
                #before
                let #item = ::core::iter::IntoIterator::into_iter(#iter);
                #tape_decl
                #reserve
                for #item in #item {
                    #record
                    let #pattern = #item;
                    #body
                }
            }
        }
        LoopHead::While { cond, .. } => {
            quote! {
                #before
                #tape_decl
                loop {
                    #head
                    if !(#cond) { break; }
                    #record
                    #body
                }
            }
        }
        LoopHead::Loop => {
            quote! {
                #before
                #tape_decl
                loop {
                    #record
                    #body
                }
            }
        }
    }
}

/// The tape entry of an iteration: every carried variable's value at its start, and the
/// item.
pub fn tape_entry(lp: &Loop) -> (Vec<TokenStream>, Option<Ident>) {
    let values = lp
        .carried
        .iter()
        .map(|(target, _)| target_tokens(target))
        .collect();
    let item = matches!(lp.head, LoopHead::For { .. }).then(|| item_ident(lp.id));
    (values, item)
}
