//! The adjoint sweep: statements visited from last to first, each node handing its
//! arguments their contributions v̄ₖ += v̄ᵢ · ∂vᵢ/∂vₖ, summed where a value fans out (the
//! multivariate chain rule). Adjoints are fresh `let`s, so straight-line code stays SSA and
//! an adjoint that never receives a contribution costs nothing.
//!
//! A region's adjoint runs in the arm the forward sweep took, or once per recorded
//! iteration, last first, reading the values the forward sweep saved for it (or, where
//! they cannot be saved, running the region's forward code again first). The adjoints of
//! values from outside that the region contributes to become mutable accumulators for its
//! duration, and a loop's carried variables pass their adjoints from one iteration to the
//! one before.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use crate::call;
use crate::emit::{accumulate, node_ident, rule_args, rule_fn, var_tokens};
use crate::ir::{
    Branch, Increments, Loop, LoopHead, Op, Operand, Program, Stmt, Target, Uses, Var,
};
use crate::primal::forward_stmts;
use crate::region::{
    arm_dispatch, arm_ident, residual_ident, shape_only, shaped_zeros_of, start_ident,
    tape_declarations, tape_entry, tape_ident, target_tokens, Plan, Saved,
};
use crate::reuse::Moves;
use crate::rules::{Primitive, Returns};

/// The adjoint sweep seeded with `seed` (the result's cotangent, a tuple for a tuple): the
/// code, and the name holding each variable's adjoint at its end.
///
/// Also the [`Plan`] the forward sweep must record by: a first pass finds which values each
/// region's adjoint reads, the second emits the code reading them.
///
/// With `early`, the seed of a scalar result as code can read it before the result exists:
/// a loop summed into the result then runs its adjoint in the forward sweep.
///
/// With `reuse` (the sweep runs once, as in `f_vjp`), the forward sweep moves operands'
/// buffers into results where nothing reads them after ([`crate::reuse`]), the pullbacks
/// read the shapes it keeps, and a pullback may consume forward values only it reads.
///
/// With `self_calls` (a function calling itself), each such call in a loop fused from the
/// seed runs its adjoint where the call is ([`Sweep::calls_at_site`]); with its `given`
/// accumulators, the sweep adds the parameters' adjoints to them.
pub fn adjoint_sweep(
    program: &Program,
    seed: TokenStream,
    early: Option<EarlySeed>,
    reuse: bool,
    self_calls: Option<&SelfCalls>,
) -> (TokenStream, HashMap<Var, Ident>, Plan) {
    let start = |plan| Start {
        seed: seed.clone(),
        early: early.clone(),
        plan,
        trace: None,
        reuse,
        self_calls: self_calls.cloned(),
    };
    // Straight-line code records nothing: one pass.
    if !program.has_regions() {
        return sweep(program, start(Plan::default()));
    }
    let first = sweep(program, start(Plan::default())).2;
    sweep(program, start(first))
}

/// How a loop's adjoint is fused into its forward code ([`Sweep::fuses`]).
#[derive(Clone, Copy)]
enum Fusion {
    /// Its carried values are summed into the result: their adjoint is the seed.
    FromSeed,
    /// Its one carried value is a scalar sum read in any way after the loop: the fused
    /// adjoint runs from one, and what it contributes is multiplied by the final value's
    /// adjoint once the adjoint sweep reaches the loop (the contributions are linear in it).
    Scaled,
}

/// A scalar result's seed before the result exists.
#[derive(Clone)]
pub enum EarlySeed {
    /// One (of the type of the value summed into the result).
    One,
    /// The caller's cotangent.
    Given(TokenStream),
}

/// A function that calls itself (`det_of_minor` expanding a minor into smaller ones), and
/// has the hidden companion `__differentiable_vjp_into_f(args…, cotangent, into) -> (value,
/// into + cotangent · gradient)`: a call whose cotangent is known where it is made runs
/// that instead of the primal now and the vjp (the primal again, a fresh gradient) later.
#[derive(Clone)]
pub struct SelfCalls {
    pub name: Ident,
    /// Whether each parameter is differentiated.
    pub differentiated: Vec<bool>,
    /// In the companion itself: the accumulator each differentiated parameter's adjoint
    /// starts from, by input.
    pub given: Vec<(Var, Ident)>,
}

/// What a sweep starts from.
struct Start {
    seed: TokenStream,
    early: Option<EarlySeed>,
    /// What the forward sweep records, for the forward code of regions run again.
    plan: Plan,
    trace: Option<Ident>,
    /// Whether the forward sweep moves buffers ([`crate::reuse`]).
    reuse: bool,
    self_calls: Option<SelfCalls>,
}

/// [`adjoint_sweep`], also recording in `trace` (a `::autodiff::__private::TraceRecorder`)
/// each node's adjoint once it is final, when the sweep reaches the node:
/// `trace.set_adjoint(i, v̄ᵢ)`, i numbering the node from 1.
pub fn traced_adjoint_sweep(
    program: &Program,
    seed: TokenStream,
    trace: &Ident,
) -> (TokenStream, HashMap<Var, Ident>, Plan) {
    let start = |plan| Start {
        seed: seed.clone(),
        early: None,
        plan,
        trace: Some(trace.clone()),
        reuse: false,
        self_calls: None,
    };
    if !program.has_regions() {
        return sweep(program, start(Plan::default()));
    }
    let first = sweep(program, start(Plan::default())).2;
    sweep(program, start(first))
}

fn sweep(program: &Program, start: Start) -> (TokenStream, HashMap<Var, Ident>, Plan) {
    let Start {
        seed,
        early,
        plan,
        trace,
        reuse,
        self_calls,
    } = start;
    let moves = match reuse {
        true => crate::reuse::moves(program),
        false => Moves::default(),
    };
    let mut sweep = Sweep {
        program,
        moves: moves.clone(),
        once: reuse,
        live: crate::ir::live(program),
        code: Vec::new(),
        adjoints: HashMap::new(),
        fresh: 0,
        plan,
        found: Plan::default(),
        loop_depth: 0,
        mutable: HashSet::new(),
        trace,
        early,
        fusing: Vec::new(),
        replayed: HashSet::new(),
        at_site: HashMap::new(),
        self_calls,
    };
    // The companion's accumulators, the parameters' adjoints before any contribution.
    for (var, given) in sweep.self_calls.iter().flat_map(|calls| &calls.given) {
        sweep.adjoints.insert(*var, given.clone());
    }
    let seeds: Vec<Ident> = program
        .outputs
        .iter()
        .map(|_| sweep.next_adjoint())
        .collect();
    let pattern = crate::emit::tuple_if_many(seeds.iter().map(|seed| quote!(#seed)).collect());
    sweep.code.push(quote!(let #pattern = #seed;));
    for (output, seed) in program.outputs.iter().zip(&seeds) {
        if let Operand::Var(var) = output {
            sweep.contribute(*var, quote!(#seed), Span::call_site());
        }
    }
    sweep.stmts(&program.stmts);
    let code = sweep.code;
    let found = Plan {
        moves,
        ..sweep.found
    };
    (quote!(#(#code)*), sweep.adjoints, found)
}

/// Node i's contribution v̄ᵢ · ∂vᵢ/∂vₖ to its argument k, the adjoint v̄ᵢ being `g`: the call
/// of its primitive's pullback (`None` for element reads and writes and for calls, which
/// the sweep handles in place).
pub fn pullback(
    program: &Program,
    moves: &Moves,
    i: usize,
    k: usize,
    g: TokenStream,
) -> Option<TokenStream> {
    let node = &program.nodes[i];
    let y = node_ident(i);
    let y_shape = moves.shape(program, Var::Node(i));
    match &node.op {
        Op::Prim(prim) if prim.scatters() => None,
        Op::Prim(Primitive::SetIndex)
        | Op::Copy
        | Op::Call { .. }
        | Op::Map(_)
        | Op::Project(_) => None,
        Op::Prim(prim @ (Primitive::Add | Primitive::Sub | Primitive::Neg)) => {
            // Linear: the pullbacks read the operand's and the result's shapes only.
            let vjp = rule_fn(prim.rule().module, &format!("vjp{k}_shaped"), node.span);
            Some(match prim {
                Primitive::Neg => quote_spanned!(node.span=> #vjp(#y_shape, #g)),
                _ => {
                    let Operand::Var(target) = node.args.get(k)? else {
                        return None;
                    };
                    let operand = moves.shape(program, *target);
                    quote_spanned!(node.span=> #vjp(#operand, #y_shape, #g))
                }
            })
        }
        Op::Prim(Primitive::Mul) => {
            // The partials are the other operand: the result's shape is all they read.
            let args = moved_args(program, moves, i);
            let vjp = rule_fn("mul_shaped", &format!("vjp{k}"), node.span);
            Some(quote_spanned!(node.span=> #vjp(#(#args,)* #y_shape, #g)))
        }
        Op::Prim(Primitive::Div) if moves.arg(i).is_some() => {
            // A quotient by a number: its pullback reads the number only.
            let args = moved_args(program, moves, i);
            let vjp = rule_fn("div", &format!("vjp{k}"), node.span);
            Some(quote_spanned!(node.span=> #vjp(#(#args,)* &#y, #g)))
        }
        Op::Prim(Primitive::Dot) if moves.moved(i) => {
            let args = rule_args(program, i);
            let vjp = rule_fn("dot", &format!("vjp{k}_shaped"), node.span);
            Some(quote_spanned!(node.span=> #vjp(#(#args,)* #y_shape, #g)))
        }
        Op::Prim(Primitive::IntoShape) if moves.arg(i).is_some() => {
            // The argument's array is the result's now: its pullback reads the kept shape.
            let Operand::Var(x) = node.args[0] else {
                return None;
            };
            let shape = rule_args(program, i).swap_remove(1);
            let vjp = rule_fn(Primitive::IntoShape.rule().module, "vjp0_shaped", node.span);
            let x_shape = moves.shape(program, x);
            Some(quote_spanned!(node.span=> #vjp(#x_shape, #shape, &#y, #g)))
        }
        Op::Prim(prim) if moves.arg(i).is_some() => {
            // The argument's buffer holds the result now: the rule reads the result only.
            let vjp = rule_fn(prim.rule().module, "vjp0_from_y", node.span);
            Some(quote_spanned!(node.span=> #vjp((#y).autodiff_arg(), &#y, #g)))
        }
        Op::Prim(prim) => {
            let args = rule_args(program, i);
            let vjp = rule_fn(prim.rule().module, &format!("vjp{k}"), node.span);
            Some(quote_spanned!(node.span=> #vjp(#(#args,)* &#y, #g)))
        }
    }
}

/// Node i's arguments for its pullbacks, the one whose array the forward sweep moved into
/// the result (a product with a number, a quotient by one) replaced by the result: of its
/// type and shape, and unread by the pullback, which reads the number only.
fn moved_args(program: &Program, moves: &Moves, i: usize) -> Vec<TokenStream> {
    let mut args = rule_args(program, i);
    if let Some(k) = moves.arg(i) {
        let y = node_ident(i);
        args[k] = quote!((#y).autodiff_arg());
    }
    args
}

/// Both arguments' contributions from node i's adjoint `g` in one call, as a pair, for the
/// rules whose pullbacks only read it (add and sub, dot): no copy of `g` for the first.
fn joint_pullback(program: &Program, moves: &Moves, i: usize, g: &Ident) -> Option<TokenStream> {
    let node = &program.nodes[i];
    let y = node_ident(i);
    let y_shape = moves.shape(program, Var::Node(i));
    let Op::Prim(prim) = &node.op else {
        return None;
    };
    match prim {
        Primitive::Add | Primitive::Sub => {
            let vjp = rule_fn(prim.rule().module, "vjp_both_shaped", node.span);
            let [a, b] = [0, 1].map(|k| match &node.args[k] {
                Operand::Var(var) => moves.shape(program, *var),
                _ => unreachable!("both arguments are variables"),
            });
            Some(quote_spanned!(node.span=> #vjp(#a, #b, #y_shape, #g)))
        }
        Primitive::Dot if moves.moved(i) => {
            let args = rule_args(program, i);
            let vjp = rule_fn(prim.rule().module, "vjp_both_shaped", node.span);
            Some(quote_spanned!(node.span=> #vjp(#(#args,)* #y_shape, #g)))
        }
        Primitive::Dot => {
            let args = rule_args(program, i);
            let vjp = rule_fn(prim.rule().module, "vjp_both", node.span);
            Some(quote_spanned!(node.span=> #vjp(#(#args,)* &#y, #g)))
        }
        _ => None,
    }
}

/// Both operands' contributions of the add or sub chained into node i (`Moves::chain_head`),
/// from node i's adjoint `g` in one call (`prim::tanh::vjp_after`), with the operands they
/// go to; none where an operand is a constant (the two nodes' pullbacks then run apart).
fn chained_pullback(
    program: &Program,
    moves: &Moves,
    i: usize,
    g: &Ident,
) -> Option<(TokenStream, Var, Var)> {
    let head = &program.nodes[moves.pulled_head(program, i)?];
    let [Operand::Var(a), Operand::Var(b)] = head.args[..] else {
        unreachable!("both operands are variables")
    };
    let node = &program.nodes[i];
    let Op::Prim(prim) = node.op else {
        return None;
    };
    let y = node_ident(i);
    let [a_shape, b_shape] = [a, b].map(|var| moves.shape(program, var));
    let subtract = matches!(head.op, Op::Prim(Primitive::Sub));
    let vjp = rule_fn(prim.rule().module, "vjp_after", node.span);
    let both = quote_spanned!(node.span=>
        #vjp((#y).autodiff_arg(), &#y, #a_shape, #b_shape, #subtract, #g)
    );
    Some((both, a, b))
}

/// The one contribution of a square written `a * a` to a's adjoint, 2a·ḡ in one pass (the
/// two pullbacks' a·ḡ + a·ḡ, bit for bit), instead of a copy of ḡ and three passes.
fn square_pullback(
    program: &Program,
    moves: &Moves,
    i: usize,
    g: &Ident,
) -> Option<(Var, TokenStream)> {
    let node = &program.nodes[i];
    let (Op::Prim(Primitive::Mul), [Operand::Var(a), Operand::Var(b)]) = (&node.op, &node.args[..])
    else {
        return None;
    };
    if a != b {
        return None;
    }
    let args = rule_args(program, i);
    let y_shape = moves.shape(program, Var::Node(i));
    let vjp = rule_fn("mul_shaped", "vjp_square", node.span);
    Some((
        *a,
        quote_spanned!(node.span=> #vjp(#(#args,)* #y_shape, #g)),
    ))
}

struct Sweep<'p> {
    program: &'p Program,
    /// The values the forward sweep moves, whose pullbacks read kept shapes.
    moves: Moves,
    /// Whether the sweep runs once over the forward values ([`adjoint_sweep`]'s `reuse`).
    once: bool,
    live: HashSet<Var>,
    code: Vec<TokenStream>,
    adjoints: HashMap<Var, Ident>,
    fresh: usize,
    /// What the forward sweep records, for the forward code of regions run again.
    plan: Plan,
    /// What this sweep's regions read of their forward code.
    found: Plan,
    /// How many loops enclose the statements being swept.
    loop_depth: usize,
    /// The adjoints bound `let mut`, which element reads add to in place.
    mutable: HashSet<Ident>,
    /// The trace `f_trace` fills with each node's final adjoint.
    trace: Option<Ident>,
    /// The seed as code before the result exists: loops summed into it fuse (`fuse`).
    early: Option<EarlySeed>,
    /// The fused loops whose bodies are being swept, innermost last.
    fusing: Vec<Fusing>,
    /// The head constants of the loops whose adjoint runs them again ([`Sweep::replay`]):
    /// read there, but not from a record.
    replayed: HashSet<String>,
    /// The calls whose adjoint their forward code runs ([`Sweep::calls_at_site`]), with the
    /// arguments (position, variable) whose contributions the adjoint sweep still passes on.
    at_site: HashMap<usize, Vec<(usize, Var)>>,
    self_calls: Option<SelfCalls>,
}

/// A fused loop whose body is being swept: the loops of its own statements that only add to
/// its sums fuse too ([`Sweep::fuses_within`]).
struct Fusing {
    fusion: Fusion,
    /// The ids of the loops among its body's statements.
    direct: HashSet<usize>,
    /// The values its carried sums pass through ([`Loop::sums`]).
    sums: HashSet<Var>,
    /// The accumulators its adjoint adds to, declared before it runs.
    accumulators: HashSet<Ident>,
}

impl Sweep<'_> {
    fn next_adjoint(&mut self) -> Ident {
        self.fresh += 1;
        format_ident!("__b{}", self.fresh, span = Span::mixed_site())
    }

    /// v̄ += contribution, as a fresh `let`.
    fn contribute(&mut self, target: Var, contribution: TokenStream, span: Span) {
        // A variable the result does not depend on has a zero adjoint: its contributions
        // are dropped, so none is moved into a region where nothing carries it out.
        if !self.live.contains(&target) {
            return;
        }
        let adjoint = self.next_adjoint();
        self.code.push(match self.adjoints.get(&target) {
            None => quote!(let #adjoint = #contribution;),
            Some(sum) => {
                let sum = accumulate(&quote!(#sum), &contribution, span);
                quote!(let #adjoint = #sum;)
            }
        });
        self.adjoints.insert(target, adjoint);
    }

    fn stmts(&mut self, stmts: &[Stmt]) {
        for stmt in stmts.iter().rev() {
            match stmt {
                Stmt::Node(i) => self.node(*i),
                Stmt::Branch(branch) => self.branch(branch),
                Stmt::Loop(lp) => self.lp(lp),
                Stmt::Const { .. } | Stmt::Verbatim(_) => {}
            }
        }
    }

    /// Node i's pullbacks, if its adjoint received any contribution.
    fn node(&mut self, i: usize) {
        let Some(g) = self.adjoints.remove(&Var::Node(i)) else {
            return;
        };
        // Its vjp ran where the call is, adding to the loop's accumulators; the contributions
        // to values of the loop's body are passed on here.
        if let Some(deferred) = self.at_site.get(&i).cloned() {
            let contributions = at_site_contributions(i);
            for (k, var) in deferred {
                let index = syn::Index::from(k);
                let contribution =
                    quote!(::autodiff::__private::differentiated(#contributions.#index));
                self.contribute(var, contribution, self.program.nodes[i].span);
            }
            return;
        }
        let program = self.program;
        if let Some(trace) = &self.trace {
            // `Traced` is in scope in `f_trace`'s body (see crate::trace).
            let index = i as isize + 1;
            self.code.push(quote!(
                #trace.set_adjoint(#index, #g.trace_value());
            ));
        }
        let node = &program.nodes[i];
        if let Some((target, contribution)) = square_pullback(program, &self.moves, i, &g) {
            self.contribute(target, contribution, node.span);
            return;
        }
        if let Some((both, first, second)) = chained_pullback(program, &self.moves, i, &g) {
            // The chained add or sub gets no adjoint of its own: its node is skipped.
            self.pair(both, first, second, node.span);
            return;
        }
        let targets: Vec<(usize, Var)> = program.var_args(i).collect();
        let joint = match targets.len() {
            2 => joint_pullback(program, &self.moves, i, &g),
            _ => None,
        };
        // The last reader consumes the adjoint; the others copy it.
        let mut left = match node.op {
            // One read for all the arguments' contributions.
            Op::Call { .. } | Op::Prim(Primitive::SetIndex) | Op::Map(_) | Op::Project(_) => 1,
            _ => targets.len(),
        };
        let mut take = || {
            left -= 1;
            match left {
                0 => quote!(#g),
                _ => quote!(::autodiff::__private::Tangent::duplicate(&#g)),
            }
        };
        match &node.op {
            Op::Prim(prim) if prim.scatters() => {
                // One element's (or line's) adjoint, added in place.
                let Some(&(_, target)) = targets.first() else {
                    return;
                };
                let add_at = rule_fn(prim.rule().module, "add_at", node.span);
                // The constant arguments: the index, the axis, the slice.
                let index = rule_args(program, i).split_off(1);
                let g = take();
                self.add_in_place(
                    target,
                    |adjoint| quote_spanned!(node.span=> #add_at(&mut #adjoint, #(#index,)* #g);),
                );
            }
            Op::Prim(Primitive::SetIndex) => {
                // The written element's adjoint goes to the value; the rest to the array.
                let take_at = rule_fn("set_index", "take_at", node.span);
                let index = rule_args(program, i).swap_remove(1);
                let (array, element) = (self.next_adjoint(), self.next_adjoint());
                let g = take();
                self.code.push(quote_spanned!(node.span=>
                    let mut #array = #g;
                    let #element = #take_at(&mut #array, #index);
                ));
                for (k, target) in targets {
                    let adjoint = if k == 0 { &array } else { &element };
                    self.contribute(target, quote!(#adjoint), node.span);
                }
            }
            // The adjoint of an array's extreme goes to one element: added in place to the
            // adjoint the array has already, with no array of zeros beside it.
            Op::Prim(prim @ (Primitive::Amax | Primitive::Amin))
                if targets
                    .first()
                    .is_some_and(|(_, target)| self.adjoints.contains_key(target)) =>
            {
                let add_at = rule_fn(prim.rule().module, "add_at", node.span);
                let x = rule_args(program, i).swap_remove(0);
                let y = node_ident(i);
                let g = take();
                self.add_in_place(
                    targets[0].1,
                    |adjoint| quote_spanned!(node.span=> #add_at(&mut #adjoint, #x, &#y, #g);),
                );
            }
            Op::Prim(_) if joint.is_some() => {
                let both = joint.expect("matched");
                self.pair(both, targets[0].1, targets[1].1, node.span);
            }
            Op::Prim(_) => {
                for (k, target) in targets {
                    let g = take();
                    if let Some(contribution) = pullback(program, &self.moves, i, k, g) {
                        self.contribute(target, contribution, node.span);
                    }
                }
            }
            Op::Map(_) => {
                let g = take();
                for (target, contribution) in crate::closure::pullbacks(program, i, &g, self.once) {
                    self.contribute(target, contribution, node.span);
                }
            }
            Op::Project(_) => {
                // Added in place to the same part of the parameter's adjoint.
                let Some(&(_, target)) = targets.first() else {
                    return;
                };
                let g = take();
                let add_to = quote_spanned!(node.span=> ::autodiff::__private::leaves::add_to);
                self.add_in_place(target, |adjoint| {
                    let part = crate::emit::projected(program, i, &quote!(#adjoint));
                    quote_spanned!(node.span=> #add_to(&mut #part, &#g);)
                });
            }
            Op::Copy => {
                if let Some(&(_, target)) = targets.first() {
                    let g = take();
                    self.contribute(target, g, node.span);
                }
            }
            Op::Call { arg_spans, .. } => {
                let contributions = format_ident!("__p{}", i + 1, span = Span::mixed_site());
                let call = call::vjp_call(program, i, take());
                self.code.push(quote_spanned!(node.span=>
                    let (_, #contributions) = #call;
                ));
                for (k, target) in targets {
                    let index = syn::Index::from(k);
                    // Named at the argument: where "does not differentiate this argument"
                    // points.
                    let span = Span::mixed_site().located_at(arg_spans[k]);
                    let contribution = format_ident!("{}_{}", contributions, k, span = span);
                    self.code
                        .push(quote!(let #contribution = #contributions.#index;));
                    self.contribute(
                        target,
                        quote!(::autodiff::__private::differentiated(#contribution)),
                        node.span,
                    );
                }
            }
        }
    }

    /// `add` (an `add_at` of `adjoint`) applied to `target`'s adjoint in place: a mutable one
    /// (an accumulator) as it is, anything else (zeros where it has none) moved into one
    /// first; nothing for a variable the result does not depend on (see [`Self::contribute`]).
    fn add_in_place(&mut self, target: Var, add: impl FnOnce(&Ident) -> TokenStream) {
        if !self.live.contains(&target) {
            return;
        }
        if let Some(current) = self
            .adjoints
            .get(&target)
            .filter(|adjoint| self.mutable.contains(*adjoint))
        {
            self.code.push(add(current));
            return;
        }
        let adjoint = self.next_adjoint();
        let start = self.current_or_zeros(target);
        let added = add(&adjoint);
        self.code.push(quote!(let mut #adjoint = #start; #added));
        self.mutable.insert(adjoint.clone());
        self.adjoints.insert(target, adjoint);
    }

    /// The two contributions `both` computes, a pair, to `first` and `second`.
    fn pair(&mut self, both: TokenStream, first: Var, second: Var, span: Span) {
        // A contribution that is its target's whole adjoint is named as such.
        let alone = [
            !self.adjoints.contains_key(&first),
            !self.adjoints.contains_key(&second) && first != second,
        ];
        let names = [self.next_adjoint(), self.next_adjoint()];
        let [a, b] = &names;
        self.code.push(quote_spanned!(span=> let (#a, #b) = #both;));
        for ((target, name), alone) in [first, second].into_iter().zip(names).zip(alone) {
            match alone {
                true => {
                    self.adjoints.insert(target, name);
                }
                false => self.contribute(target, quote!(#name), span),
            }
        }
    }

    /// Whether `adjoint` is one the sweep was given to add to ([`SelfCalls::given`]).
    fn given(&self, adjoint: &Ident) -> bool {
        self.self_calls
            .iter()
            .flat_map(|calls| &calls.given)
            .any(|(_, given)| given == adjoint)
    }

    /// The variable's adjoint now, or a zero of its value's kind.
    fn current_or_zeros(&mut self, var: Var) -> TokenStream {
        match self.adjoints.remove(&var) {
            Some(adjoint) => quote!(#adjoint),
            None => shaped_zeros_of(&var_tokens(self.program, var)),
        }
    }

    /// Makes the adjoint of each of `vars` a mutable accumulator (zero if it had none), for
    /// a region to add to; returns them.
    fn accumulators(&mut self, vars: &[Var]) -> Vec<(Var, Ident)> {
        vars.iter()
            .map(|&var| {
                let start = self.current_or_zeros(var);
                let accumulator = self.next_adjoint();
                self.code.push(quote! {
                    #[allow(unused_mut)]
                    let mut #accumulator = #start;
                });
                self.adjoints.insert(var, accumulator.clone());
                self.mutable.insert(accumulator.clone());
                (var, accumulator)
            })
            .collect()
    }

    /// A nested sweep over a region, starting from this one's adjoints; its code, and the
    /// accumulators' final values written back.
    fn nested(
        &mut self,
        accumulators: &[(Var, Ident)],
        body: impl FnOnce(&mut Self),
    ) -> TokenStream {
        let outer_code = std::mem::take(&mut self.code);
        let outer_adjoints = self.adjoints.clone();
        body(self);
        for (var, accumulator) in accumulators {
            if let Some(adjoint) = self.adjoints.get(var) {
                if adjoint != accumulator {
                    self.code.push(quote!(#accumulator = #adjoint;));
                }
            }
        }
        let code = std::mem::replace(&mut self.code, outer_code);
        self.adjoints = outer_adjoints;
        quote!(#(#code)*)
    }

    /// The variables read inside a region, defined outside it, whose adjoints matter.
    fn external(&self, uses: &Uses, own: &[Var]) -> Vec<Var> {
        uses.external()
            .into_iter()
            .filter(|var| self.live.contains(var) && !own.contains(var))
            .collect()
    }

    fn branch(&mut self, branch: &Branch) {
        let program = self.program;
        // The results' adjoints: with none, nothing inside matters.
        let seeds: Vec<Option<Ident>> = branch
            .results
            .iter()
            .map(|target| match target {
                Target::Local(k) => self.adjoints.remove(&Var::Local(*k)),
                Target::Const(_) => None,
            })
            .collect();
        if seeds.iter().all(Option::is_none) {
            return;
        }
        let mut uses = Uses::default();
        for arm in &branch.arms {
            uses.add_region(program, arm);
        }
        let external = self.external(&uses, &[]);
        let accumulators = self.accumulators(&external);
        let adjoints: Vec<TokenStream> = branch
            .arms
            .iter()
            .map(|arm| {
                self.nested(&accumulators, |sweep| {
                    for (seed, value) in seeds.iter().zip(&arm.yields) {
                        if let (Some(seed), Operand::Var(var)) = (seed, value) {
                            sweep.contribute(*var, quote!(#seed), branch.span);
                        }
                    }
                    sweep.stmts(&arm.stmts);
                })
            })
            .collect();
        // Each arm's adjoint reads what its forward code saved, or runs it again.
        let saved: Option<Vec<(Vec<Saved>, TokenStream)>> = branch
            .arms
            .iter()
            .zip(&adjoints)
            .map(|(arm, adjoint)| {
                let bindings = region_bindings(program, &arm.stmts, &branch_bindings(branch));
                self.saved(&arm.stmts, &bindings, adjoint)
            })
            .collect();
        let code = match saved {
            Some(saved) => {
                let residual = residual_ident(branch.id);
                let count = saved.len();
                let cases = saved.iter().zip(&adjoints).enumerate().map(
                    |(k, ((saved, prelude), adjoint))| {
                        let names = saved.iter().map(|saved| &saved.ident);
                        let slots = (0..count).map(|j| match j == k {
                            true => {
                                let names = names.clone();
                                quote!(::core::option::Option::Some((#(mut #names,)*)))
                            }
                            false => quote!(_),
                        });
                        quote!((#(#slots,)*) => { #prelude #adjoint })
                    },
                );
                let code = quote!(#[allow(unused_mut)] match #residual { #(#cases)* _ => {} });
                let saved = saved.into_iter().map(|(saved, _)| saved).collect();
                self.found.saved.insert(branch.id, saved);
                code
            }
            None => {
                let arms = branch
                    .arms
                    .iter()
                    .zip(adjoints)
                    .enumerate()
                    .map(|(k, (arm, adjoint))| {
                        let bindings = arm_pattern_bindings(branch, k);
                        let tapes = tape_declarations(&arm.stmts, &self.plan);
                        let forward = forward_stmts(program, &arm.stmts, Some(&self.plan));
                        quote!(#bindings #tapes #forward #adjoint)
                    })
                    .collect();
                arm_dispatch(branch.id, arms)
            }
        };
        self.code.push(code);
    }

    /// The bindings of a region's forward code that its adjoint code reads, in the order it
    /// reads them, and the code computing again, before the adjoint, the region's constants
    /// that cost less to compute than to save (an index `[c, col]` from the `col` it reads);
    /// `None` where one of them cannot be saved (a view of another value).
    fn saved(
        &self,
        stmts: &[Stmt],
        bindings: &Bindings,
        adjoint: &TokenStream,
    ) -> Option<(Vec<Saved>, TokenStream)> {
        let Bindings {
            names: bindings,
            rebound,
        } = bindings;
        let shapes = shape_only(adjoint);
        let mut needed = ordered_idents(adjoint);
        needed.retain(|name| !self.replayed.contains(name));
        // Each constant of the region made of its other bindings by arithmetic, read by the
        // adjoint, whose reads that nothing else needs saved are fewer than its elements.
        let mut recomputed = vec![false; stmts.len()];
        loop {
            let mut changed = false;
            for (k, stmt) in stmts.iter().enumerate() {
                let Stmt::Const {
                    ident,
                    expr,
                    reads,
                    borrows,
                    ..
                } = stmt
                else {
                    continue;
                };
                let name = ident.to_string();
                if recomputed[k]
                    || !reads.is_empty()
                    || !borrows.is_empty()
                    || !needed.contains(&name)
                    || !cheap(expr)
                {
                    continue;
                }
                let uses = ordered_idents(expr);
                // A name bound twice in the region may not hold, after it, what it held here.
                if uses.iter().any(|name| rebound.contains(name)) {
                    continue;
                }
                let new: Vec<String> = uses
                    .into_iter()
                    .filter(|name| !needed.contains(name))
                    .collect();
                let saved_anew = new
                    .iter()
                    .filter(|name| bindings.contains_key(*name))
                    .count();
                if saved_anew < elements(expr) {
                    recomputed[k] = true;
                    needed.extend(new);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let program = self.program;
        let prelude = stmts
            .iter()
            .zip(&recomputed)
            .filter(|(_, recomputed)| **recomputed)
            .map(|(stmt, _)| crate::primal::forward_stmt(program, stmt));
        let prelude = quote!(#(#prelude)*);
        let skipped: HashSet<String> = stmts
            .iter()
            .zip(&recomputed)
            .filter_map(|(stmt, recomputed)| match (stmt, recomputed) {
                (Stmt::Const { ident, .. }, true) => Some(ident.to_string()),
                _ => None,
            })
            .collect();
        let mut saved: Vec<Saved> = Vec::new();
        for name in needed.into_iter().filter(|name| !skipped.contains(name)) {
            match bindings.get(&name) {
                Some(Binding::View(_)) if !shapes.contains(&name) => return None,
                Some(Binding::Value(ident) | Binding::View(ident))
                    if !saved.iter().any(|saved| saved.ident == *ident) =>
                {
                    saved.push(Saved {
                        ident: ident.clone(),
                        shape: shapes.contains(&name),
                    })
                }
                _ => {}
            }
        }
        Some((saved, prelude))
    }

    fn lp(&mut self, lp: &Loop) {
        let program = self.program;
        // The carried locals the result depends on: each with its initial value and its next
        // value. (The others' adjoints are zero: none is kept, whose zeros would read a value
        // the loop's forward code may have moved.)
        let locals: Vec<(Var, &Operand, &Operand)> = lp
            .carried
            .iter()
            .zip(&lp.body.yields)
            .filter_map(|((target, init), next)| match target {
                Target::Local(k) => Some((Var::Local(*k), init, next)),
                Target::Const(_) => None,
            })
            .filter(|(var, ..)| self.live.contains(var))
            .collect();
        let own: Vec<Var> = locals.iter().map(|(var, ..)| *var).collect();
        // With no adjoint from the code after the loop, nothing inside matters.
        if own.iter().all(|var| !self.adjoints.contains_key(var)) {
            return;
        }
        let external = self.external(&Uses::of_region(program, &lp.body), &own);
        if let Some(fusion) = self.fuses(lp, &external) {
            self.fuse(lp, &locals, &external, fusion);
            return;
        }
        if self.replays(lp) {
            self.replay(lp, &locals, &external);
            return;
        }
        let accumulators = self.accumulators(&external);
        // v̄ of each carried local: of its final value first, then, after each backward
        // iteration, of that iteration's start value.
        let carried: Vec<Ident> = own
            .iter()
            .map(|&var| {
                let start = self.current_or_zeros(var);
                let adjoint = self.next_adjoint();
                self.code.push(quote!(let mut #adjoint = #start;));
                adjoint
            })
            .collect();

        let adjoint = self.body_adjoint(lp, &locals, &carried, &accumulators);

        let (tape, entry) = (
            tape_ident(lp.id),
            format_ident!("__entry{}", lp.id, span = Span::mixed_site()),
        );
        // Each recorded iteration, last first: the values its adjoint reads restored, then
        // the adjoint. An outermost loop around other loops is a checkpoint instead: it
        // records its start values and runs each iteration again, so that its inner loops'
        // records live for one of its iterations only (memory of one iteration's work, not
        // of the whole nest's). Unless it carries an array whose elements it writes: each
        // checkpoint would copy the array (a matrix filled element by element, K copies of
        // it for K rows), where the writes' adjoints record only their indices.
        let bindings = region_bindings(program, &lp.body.stmts, &loop_bindings(lp));
        let checkpoint = self.loop_depth == 0
            && contains_loop(&lp.body.stmts)
            && (carries_scalars_only(program, lp) || !writes_elements(program, &lp.body.stmts));
        let start = start_ident(lp.id);
        let saved = self.saved(&lp.body.stmts, &bindings, &adjoint);
        if let Some((saved, prelude)) = saved.filter(|_| !checkpoint) {
            let names = saved.iter().map(|saved| &saved.ident);
            self.code.push(quote! {
                for #entry in #tape.drain(#start..).rev() {
                    #[allow(unused_mut)]
                    let (#(mut #names,)*) = #entry;
                    #prelude
                    #adjoint
                }
            });
            self.found.saved.insert(lp.id, vec![saved]);
            self.initial_values(&locals, &carried, lp.span);
            return;
        }
        // Or: its carried values and item restored, its forward code run again, then its
        // adjoint.
        self.found.rerun.insert(lp.id);
        // The tapes of the loops inside, declared once for every iteration's run.
        let tapes = tape_declarations(&lp.body.stmts, &self.plan);
        let forward = forward_stmts(program, &lp.body.stmts, Some(&self.plan));
        let (_, item) = tape_entry(lp);
        let bindings = lp.carried.iter().map(|(target, _)| {
            let name = target_tokens(target);
            match target {
                Target::Local(_) => quote!(#name),
                Target::Const(_) => quote!(mut #name),
            }
        });
        let pattern = match (&lp.head, &item) {
            (LoopHead::For { pattern, .. }, Some(item)) => quote!(let #pattern = #item;),
            _ => TokenStream::new(),
        };
        self.code.push(quote! {
            #tapes
            for #entry in #tape.drain(#start..).rev() {
                #[allow(unused_mut)]
                let ((#(#bindings,)*), #item) = #entry;
                #pattern
                #forward
                #adjoint
            }
        });
        self.initial_values(&locals, &carried, lp.span);
    }

    /// The adjoint of one iteration of a loop's body, its carried values' adjoints in
    /// `carried` (of the next values on entry, of the start values on exit).
    fn body_adjoint(
        &mut self,
        lp: &Loop,
        locals: &[(Var, &Operand, &Operand)],
        carried: &[Ident],
        accumulators: &[(Var, Ident)],
    ) -> TokenStream {
        let program = self.program;
        self.loop_depth += 1;
        let adjoint = self.nested(accumulators, |sweep| {
            for ((_, _, next), adjoint) in locals.iter().zip(carried) {
                if let Operand::Var(var) = next {
                    sweep.contribute(*var, quote!(#adjoint), lp.span);
                }
            }
            sweep.stmts(&lp.body.stmts);
            for ((var, ..), adjoint) in locals.iter().zip(carried) {
                let value = match sweep.adjoints.remove(var) {
                    Some(start) => quote!(#start),
                    None => shaped_zeros_of(&var_tokens(program, *var)),
                };
                sweep.code.push(quote!(#adjoint = #value;));
            }
        });
        self.loop_depth -= 1;
        adjoint
    }

    /// Whether a loop's adjoint runs in the forward sweep: an outermost loop only summing
    /// into its carried values, which are then summed into the result (their adjoint, the
    /// seed, is known before the loop runs) or are one scalar sum (`total / n`,
    /// `total.ln()` after the loop: its adjoint is a scalar known only later, by which the
    /// fused adjoint, run from a seed of one, is scaled; see [`Fusion`]).
    fn fuses(&self, lp: &Loop, external: &[Var]) -> Option<Fusion> {
        if let Some(outer) = self.fusing.last() {
            return self.fuses_within(outer, lp);
        }
        // Only a loop of the function's own statements: not one inside a loop or an arm,
        // whose adjoint runs in a scope of its own.
        let top_level = self
            .program
            .stmts
            .iter()
            .any(|stmt| matches!(stmt, Stmt::Loop(other) if other.id == lp.id));
        if self.early.is_none()
            || self.trace.is_some()
            || !top_level
            || !lp.accumulates(self.program)
        {
            return None;
        }
        if lp.summed_into_result(self.program) {
            return Some(Fusion::FromSeed);
        }
        // Scaled contributions are scalars and arrays, not structs of parameters.
        let structured = external.iter().any(|var| match var {
            Var::Input(k) => !self.program.inputs[*k].is_value(),
            Var::Node(i) => matches!(self.program.nodes[*i].op, Op::Project(_)),
            Var::Local(_) => false,
        });
        let mut locals = lp
            .carried
            .iter()
            .filter(|(target, _)| matches!(target, Target::Local(_)));
        match (locals.next(), locals.next()) {
            _ if structured => None,
            // A sum started from a number (`let mut total = 0.0;`) is a scalar.
            (Some((_, Operand::Const { literal: true, .. })), None) => Some(Fusion::Scaled),
            _ => None,
        }
    }

    /// Whether a loop among the statements of a fused loop's body fuses too: each carried
    /// value the result depends on starts from one of that loop's sums and is only added
    /// to, so its adjoint is the fused loop's, known before it runs (`for i { for l { s +=
    /// t } }`: no record of the inner iterations either).
    fn fuses_within(&self, outer: &Fusing, lp: &Loop) -> Option<Fusion> {
        let program = self.program;
        let starts_from_sums = lp.carried.iter().all(|(target, init)| match target {
            Target::Local(k) if self.live.contains(&Var::Local(*k)) => {
                matches!(init, Operand::Var(var) if outer.sums.contains(var))
            }
            _ => true,
        });
        (outer.direct.contains(&lp.id) && starts_from_sums && lp.accumulates(program))
            .then_some(outer.fusion)
    }

    /// A loop summed into the result (`for i in 0..n { s += term(i) }`, `y = s + …`), its
    /// adjoint fused into its forward code: each iteration runs, then its adjoint, from the
    /// seed; what it adds to outside values' adjoints is kept in accumulators until the
    /// adjoint sweep reaches the loop. One run, no record of the iterations (the data-term
    /// loop of a likelihood, as a hand-written gradient computes it).
    fn fuse(
        &mut self,
        lp: &Loop,
        locals: &[(Var, &Operand, &Operand)],
        external: &[Var],
        fusion: Fusion,
    ) {
        let program = self.program;
        let mut before = Vec::new();
        // The adjoints of the carried values' final values, by which a scaled fusion's
        // contributions are multiplied.
        let mut finals = Vec::new();
        let carried: Vec<Ident> = locals
            .iter()
            .map(|(var, ..)| {
                finals.push(self.adjoints.remove(var));
                let adjoint = self.next_adjoint();
                let seed = match (&self.early, fusion) {
                    (Some(EarlySeed::Given(seed)), Fusion::FromSeed) => {
                        quote!(::autodiff::__private::Tangent::duplicate(&#seed))
                    }
                    _ => {
                        let value = var_tokens(program, *var);
                        quote!(::autodiff::__private::Tangent::one_like(&#value))
                    }
                };
                before.push(quote!(let mut #adjoint = #seed;));
                adjoint
            })
            .collect();
        // Inside a fused loop, an adjoint that is one of its accumulators takes the
        // contributions as they come; the others are kept in accumulators of this loop's own.
        let within = self.fusing.last().map(|outer| &outer.accumulators);
        let (shared, external): (Vec<Var>, Vec<Var>) = external.iter().partition(|var| {
            within.is_some_and(|accumulators| {
                self.adjoints
                    .get(var)
                    .is_some_and(|adjoint| accumulators.contains(adjoint))
            })
        });
        let nested = within.is_some();
        let mut earlier: Vec<Option<Ident>> = external
            .iter()
            .map(|var| self.adjoints.remove(var))
            .collect();
        let accumulators: Vec<(Var, Ident)> = external
            .iter()
            .zip(&mut earlier)
            .map(|(&var, earlier)| {
                let accumulator = self.next_adjoint();
                // A companion's accumulator that no contribution reached yet (this loop is
                // one of the function's own, run in the forward sweep before any adjoint
                // code): the loop adds to it in place, and it is the parameter's adjoint.
                let given = matches!(fusion, Fusion::FromSeed)
                    && !nested
                    && earlier.as_ref().is_some_and(|earlier| self.given(earlier));
                let start = match given {
                    true => earlier.take().map(|given| quote!(#given)),
                    false => None,
                };
                let start = start.unwrap_or_else(|| shaped_zeros_of(&var_tokens(program, var)));
                before.push(quote!(#[allow(unused_mut)] let mut #accumulator = #start;));
                self.adjoints.insert(var, accumulator.clone());
                self.mutable.insert(accumulator.clone());
                (var, accumulator)
            })
            .collect();
        let shared: Vec<(Var, Ident)> = shared
            .into_iter()
            .map(|var| (var, self.adjoints[&var].clone()))
            .collect();
        self.fusing.push(Fusing {
            fusion,
            direct: lp
                .body
                .stmts
                .iter()
                .filter_map(|stmt| match stmt {
                    Stmt::Loop(inner) => Some(inner.id),
                    _ => None,
                })
                .collect(),
            sums: lp.sums(program),
            accumulators: accumulators
                .iter()
                .chain(&shared)
                .map(|(_, accumulator)| accumulator.clone())
                .collect(),
        });
        let all: Vec<(Var, Ident)> = accumulators.iter().chain(&shared).cloned().collect();
        let at_site = match (fusion, carried.first()) {
            (Fusion::FromSeed, Some(seed)) => self.calls_at_site(&lp.body.stmts, lp, seed),
            _ => HashMap::new(),
        };
        self.at_site.extend(
            at_site
                .iter()
                .map(|(i, (_, deferred))| (*i, deferred.clone())),
        );
        let adjoint = self.body_adjoint(lp, locals, &carried, &all);
        self.fusing.pop();
        // The loops fused inside it as this sweep fused them.
        let mut plan = self.plan.clone();
        plan.fused.extend(self.found.fused.clone());
        plan.at_site
            .extend(at_site.into_iter().map(|(i, (code, _))| (i, code)));
        let code = crate::primal::loop_fused(program, lp, &plan, quote!(#(#before)*), adjoint);
        self.found.fused.insert(lp.id, code);
        // A scaled fusion's one carried sum: its final value's adjoint (none: it is unread,
        // and so is everything the loop contributes). A loop fused inside another adds to
        // what that one scales.
        let scale = match fusion {
            Fusion::Scaled if !nested => Some(finals.into_iter().flatten().next()),
            Fusion::Scaled | Fusion::FromSeed => None,
        };
        for ((var, accumulator), earlier) in accumulators.iter().zip(earlier) {
            self.adjoints.remove(var);
            if let Some(earlier) = earlier {
                self.adjoints.insert(*var, earlier);
            }
            match &scale {
                None => self.contribute(*var, quote!(#accumulator), lp.span),
                Some(Some(g)) => self.contribute(
                    *var,
                    quote!(::autodiff::__private::scaled(#accumulator, #g)),
                    lp.span,
                ),
                Some(None) => {}
            }
        }
        match scale {
            None => self.initial_values(locals, &carried, lp.span),
            // The initial value's adjoint is the final value's: the loop only adds to it.
            Some(g) => self.initial_values(locals, &g.into_iter().collect::<Vec<_>>(), lp.span),
        }
    }

    /// Whether a loop's adjoint runs its forward code again, first iteration first, rather
    /// than reading a record: a loop only summing into its carried values (`z += l[k] *
    /// x[j]`) or adding into carried arrays element by element (`q[r] += l[k] * x[j]`),
    /// whose adjoint is therefore the same in every iteration and known once the adjoint
    /// sweep reaches it ([`Loop::increments`]), and whose body is cheaper to run again than
    /// to record and read back (arithmetic on elements and scalars; no loop, call, other
    /// element write or new array inside; nothing run for its effects).
    fn replays(&self, lp: &Loop) -> bool {
        fn plain(program: &Program, stmts: &[Stmt], increments: &Increments) -> bool {
            stmts.iter().all(|stmt| match stmt {
                // Nothing that may run for its effects (`next(&rng)`) runs twice.
                Stmt::Const { expr, .. } => calls_nothing(expr),
                // Arithmetic on elements and scalars: no call, no new array.
                Stmt::Node(i) => match program.nodes[*i].op {
                    Op::Prim(Primitive::SetIndex) => {
                        increments.nodes.iter().any(|inc| inc.write == *i)
                    }
                    Op::Prim(prim) => {
                        matches!(prim.returns(), Returns::Scalar | Returns::Elementwise)
                    }
                    Op::Project(_) => true,
                    Op::Call { .. } | Op::Copy | Op::Map(_) => false,
                },
                Stmt::Verbatim(tokens) => binds_only(tokens) && calls_nothing(tokens),
                Stmt::Branch(branch) => branch
                    .arms
                    .iter()
                    .all(|arm| plain(program, &arm.stmts, increments)),
                Stmt::Loop(_) => false,
            })
        }
        let program = self.program;
        let Some(increments) = lp.increments(program) else {
            return false;
        };
        self.trace.is_none()
            && plain(program, lp.head.stmts(), &increments)
            && plain(program, &lp.body.stmts, &increments)
    }

    /// A loop only summing into its carried values ([`Sweep::replays`]): nothing recorded;
    /// its adjoint runs its forward code again, each iteration followed by that iteration's
    /// adjoint, from the final values' adjoints (every iteration's, as the loop only adds to
    /// them).
    fn replay(&mut self, lp: &Loop, locals: &[(Var, &Operand, &Operand)], external: &[Var]) {
        let program = self.program;
        let accumulators = self.accumulators(external);
        let carried: Vec<Ident> = locals
            .iter()
            .map(|&(var, ..)| {
                let last = self.current_or_zeros(var);
                let adjoint = self.next_adjoint();
                self.code.push(quote!(let mut #adjoint = #last;));
                adjoint
            })
            .collect();
        let adjoint = self.body_adjoint(lp, locals, &carried, &accumulators);
        let increments = lp.increments(program).unwrap_or_default();
        let code = crate::primal::loop_replayed(program, lp, &self.plan, &increments, adjoint);
        // In a block: the carried values it declares again do not shadow the forward sweep's.
        self.code.push(quote!({ #code }));
        self.replayed.extend(head_bindings(lp));
        self.found.replayed.insert(lp.id);
        self.initial_values(locals, &carried, lp.span);
    }

    /// The forward code, by node, of the calls among `stmts` (a fused loop's body, its
    /// branches' arms too) whose cotangent is known where they are: the loop's seed times
    /// the factors on the way from the call to the loop's sum (`det += sign · a[[row, col]]
    /// · det_of_minor(…)`: seed · sign · a[row, col]). Each runs its adjoint there and takes
    /// its value from it, instead of the primal now and the vjp (the primal again) in the
    /// adjoint: a call of the function itself whose arguments are the function's parameters
    /// through `__differentiable_vjp_into_f`, which adds into the loop's accumulators in
    /// place; another through its vjp, whose contributions are added to the accumulators of
    /// arguments from outside the loop, and kept for those made in its body.
    fn calls_at_site(
        &self,
        stmts: &[Stmt],
        lp: &Loop,
        seed: &Ident,
    ) -> HashMap<usize, (TokenStream, Vec<(usize, Var)>)> {
        let program = self.program;
        let Some(fusing) = self.fusing.last() else {
            return HashMap::new();
        };
        let mut found = HashMap::new();
        for stmt in stmts {
            let i = match stmt {
                Stmt::Node(i) => *i,
                // Not in a branch that may run again in the adjoint sweep (an arm of it, or
                // of a branch inside, binds a view, which no record can hold): its forward
                // code there is the primal's, without this plan.
                Stmt::Branch(branch) if !binds_views(program, branch) => {
                    for arm in &branch.arms {
                        found.extend(self.calls_at_site(&arm.stmts, lp, seed));
                    }
                    continue;
                }
                Stmt::Branch(_) => continue,
                Stmt::Loop(_) | Stmt::Const { .. } | Stmt::Verbatim(_) => continue,
            };
            let node = &program.nodes[i];
            let Op::Call { path, .. } = &node.op else {
                continue;
            };
            let Some(cotangent) = call_cotangent(program, lp, i, seed) else {
                continue;
            };
            // Each argument that is a variable: from outside the loop, its adjoint is one of
            // the loop's accumulators, added to here; made in the body, it has none yet, and
            // its contribution is passed on when the adjoint sweep reaches the call.
            let (mut accumulators, mut deferred) = (Vec::new(), Vec::new());
            let mut other = false;
            for (k, arg) in node.args.iter().enumerate() {
                let Operand::Var(var) = arg else { continue };
                match self.adjoints.get(var) {
                    Some(adjoint) if fusing.accumulators.contains(adjoint) => {
                        accumulators.push((k, adjoint.clone()))
                    }
                    None => deferred.push((k, *var)),
                    Some(_) => other = true,
                }
            }
            if other {
                continue;
            }
            let value = node_ident(i);
            // (Not on dual numbers, where the companion adding in place has no twin.)
            let given = match deferred.is_empty() && !program.dual {
                true => self.given_accumulators(path, &accumulators),
                false => None,
            };
            let code = match given {
                // The function itself: its companion adds into the accumulators in place.
                Some(into) => {
                    let companion = call::companion(path, "vjp_into");
                    let args = call::call_args(program, i);
                    let added: Vec<Ident> = (0..into.len())
                        .map(|k| format_ident!("__into{}_{}", i + 1, k, span = Span::mixed_site()))
                        .collect();
                    let pattern =
                        crate::emit::tuple_if_many(added.iter().map(|a| quote!(#a)).collect());
                    let given =
                        crate::emit::tuple_if_many(into.iter().map(|a| quote!(#a)).collect());
                    quote_spanned!(node.span=>
                        let (#value, #pattern) = #companion(#(#args,)* #cotangent, #given);
                        #(#into = #added;)*
                    )
                }
                // Another function: its vjp, its contributions added to the accumulators.
                None => {
                    let call = call::vjp_call(program, i, cotangent);
                    let contributions = at_site_contributions(i);
                    let adds = accumulators.iter().map(|(k, accumulator)| {
                        let index = syn::Index::from(*k);
                        let contribution =
                            quote!(::autodiff::__private::differentiated(#contributions.#index));
                        let sum = accumulate(&quote!(#accumulator), &contribution, node.span);
                        quote!(#accumulator = #sum;)
                    });
                    quote_spanned!(node.span=>
                        let (#value, #contributions) = #call;
                        #(#adds)*
                    )
                }
            };
            found.insert(i, (code, deferred));
        }
        found
    }

    /// For a call of the function itself that has its `vjp_into` companion ([`SelfCalls`]):
    /// the accumulators to hand it, one per differentiated parameter, when each such
    /// argument is a variable with an accumulator of its own (`f(x, x)` would hand one over
    /// twice).
    fn given_accumulators(
        &self,
        path: &syn::Path,
        accumulators: &[(usize, Ident)],
    ) -> Option<Vec<Ident>> {
        let calls = self
            .self_calls
            .as_ref()
            .filter(|calls| call::calls_itself(path, &calls.name))?;
        let into: Option<Vec<Ident>> = (calls.differentiated.iter().enumerate())
            .filter(|(_, differentiated)| **differentiated)
            .map(|(k, _)| {
                let found = accumulators.iter().find(|(position, _)| *position == k);
                found.map(|(_, accumulator)| accumulator.clone())
            })
            .collect();
        into.filter(|into| into.iter().collect::<HashSet<_>>().len() == into.len())
    }

    /// The initial values receive what the first iteration's start values did.
    fn initial_values(
        &mut self,
        locals: &[(Var, &Operand, &Operand)],
        carried: &[Ident],
        span: Span,
    ) {
        for ((_, init, _), adjoint) in locals.iter().zip(carried) {
            if let Operand::Var(init) = init {
                self.contribute(*init, quote!(#adjoint), span);
            }
        }
    }
}

/// The contributions of call node `i`'s vjp run where the call is ([`Sweep::calls_at_site`]).
pub fn at_site_contributions(i: usize) -> Ident {
    format_ident!("__q{}", i + 1, span = Span::mixed_site())
}

/// The cotangent of call node `call` in fused loop `lp`'s body as code before the call: the
/// seed (`seed`, the adjoint of the loop's sums) times the factors the call's value is
/// multiplied by on its way to a sum (`s += k * f(…)`, `s -= f(…) / k`, through sums and
/// negations), each a value computed before the call. `None` where the value is read in any
/// other way.
fn call_cotangent(program: &Program, lp: &Loop, call: usize, seed: &Ident) -> Option<TokenStream> {
    let sums = lp.sums(program);
    // The nodes that run once per iteration: not those of a loop inside.
    let once = crate::ir::outside_loops(&lp.body.stmts);
    // The constants the body binds after the call, which code at the call cannot read.
    let mut later = HashSet::new();
    bound_after(&lp.body.stmts, call, &mut false, &mut later);
    let mut factors = vec![quote!(#seed)];
    let mut negated = false;
    let mut current = Var::Node(call);
    loop {
        // Read by one node, and by no yield of a region.
        let mut readers = program
            .nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| program.var_args(*i).any(|(_, var)| var == current));
        let (Some((reader, node)), None) = (readers.next(), readers.next()) else {
            return None;
        };
        if yielded(&lp.body.stmts, &lp.body.yields, current) || !once.contains(&reader) {
            return None;
        }
        // Read once by it (`m + m` is 2m).
        let mut reads = program.var_args(reader).filter(|(_, var)| *var == current);
        let (Some((position, _)), None) = (reads.next(), reads.next()) else {
            return None;
        };
        let other = node.args.get(1 - position.min(1));
        // A factor computed before the call: a constant, a parameter, an earlier node.
        let before = |operand: &Operand| match operand {
            Operand::Const { tokens, .. } => crate::region::idents(tokens).is_disjoint(&later),
            Operand::Var(Var::Input(_)) => true,
            Operand::Var(Var::Node(j)) => *j < call,
            Operand::Var(Var::Local(_)) | Operand::Poison => false,
        };
        match (&node.op, position, other) {
            (Op::Prim(Primitive::Neg), 0, _) => negated = !negated,
            (Op::Prim(Primitive::Add), _, _) => {}
            (Op::Prim(Primitive::Sub), 0, _) => {}
            (Op::Prim(Primitive::Sub), 1, _) => negated = !negated,
            (Op::Prim(Primitive::Mul), _, Some(other)) if before(other) && !is(other, current) => {
                let factor = crate::emit::operand_tokens(program, other);
                factors.push(quote!(* (#factor)));
            }
            (Op::Prim(Primitive::Div), 0, Some(other)) if before(other) => {
                let factor = crate::emit::operand_tokens(program, other);
                factors.push(quote!(/ (#factor)));
            }
            _ => return None,
        }
        if sums.contains(&Var::Node(reader)) {
            let product = quote!(#(#factors)*);
            return Some(match negated {
                true => quote!(-(#product)),
                false => product,
            });
        }
        current = Var::Node(reader);
    }
}

/// The names `stmts` bind as constants after node `call` (`seen`: it was reached), in
/// branches' arms and loops too.
fn bound_after(stmts: &[Stmt], call: usize, seen: &mut bool, names: &mut HashSet<String>) {
    for stmt in stmts {
        match stmt {
            Stmt::Node(i) => *seen |= *i == call,
            Stmt::Const { ident, .. } if *seen => {
                names.insert(ident.to_string());
            }
            Stmt::Verbatim(tokens) if *seen => {
                names.extend(let_bindings(tokens).iter().map(Ident::to_string));
            }
            Stmt::Branch(branch) => {
                for arm in &branch.arms {
                    bound_after(&arm.stmts, call, seen, names);
                }
            }
            Stmt::Loop(inner) => bound_after(&inner.body.stmts, call, seen, names),
            Stmt::Const { .. } | Stmt::Verbatim(_) => {}
        }
    }
}

/// Whether an arm of `branch`, or of a branch in one of its arms, binds a view.
fn binds_views(program: &Program, branch: &Branch) -> bool {
    branch.arms.iter().any(|arm| {
        let bindings = region_bindings(program, &arm.stmts, &branch_bindings(branch));
        bindings
            .names
            .values()
            .any(|binding| matches!(binding, Binding::View(_)))
            || arm.stmts.iter().any(|stmt| match stmt {
                Stmt::Branch(inner) => binds_views(program, inner),
                _ => false,
            })
    })
}

/// Whether `operand` is `var`.
fn is(operand: &Operand, var: Var) -> bool {
    matches!(operand, Operand::Var(v) if *v == var)
}

/// Whether a region's statements or yields hand `var` out of an arm or a loop's body.
fn yielded(stmts: &[Stmt], yields: &[Operand], var: Var) -> bool {
    let holds = |operands: &[Operand]| operands.iter().any(|operand| is(operand, var));
    holds(yields)
        || stmts.iter().any(|stmt| match stmt {
            Stmt::Branch(branch) => branch
                .arms
                .iter()
                .any(|arm| yielded(&arm.stmts, &arm.yields, var)),
            Stmt::Loop(inner) => {
                inner.carried.iter().any(|(_, init)| is(init, var))
                    || yielded(&inner.body.stmts, &inner.body.yields, var)
            }
            Stmt::Node(_) | Stmt::Const { .. } | Stmt::Verbatim(_) => false,
        })
}

/// Whether every differentiated value `lp` carries is known to be a scalar: started from a
/// number (`let mut total = 0.0;`) or from a scalar value. Constants it carries (indices,
/// flags) do not count.
fn carries_scalars_only(program: &Program, lp: &Loop) -> bool {
    lp.carried
        .iter()
        .all(|(target, start)| match (target, start) {
            (Target::Const(_), _) | (_, Operand::Poison) => true,
            (_, Operand::Const { literal, .. }) => *literal,
            (_, Operand::Var(var)) => program.known_scalar(*var),
        })
}

/// Whether statements write array elements (`a[i] = v`, `a[i] += v`), in regions too.
fn writes_elements(program: &Program, stmts: &[Stmt]) -> bool {
    stmts.iter().any(|stmt| match stmt {
        Stmt::Node(i) => matches!(program.nodes[*i].op, Op::Prim(Primitive::SetIndex)),
        Stmt::Loop(lp) => writes_elements(program, &lp.body.stmts),
        Stmt::Branch(branch) => branch
            .arms
            .iter()
            .any(|arm| writes_elements(program, &arm.stmts)),
        Stmt::Const { .. } | Stmt::Verbatim(_) => false,
    })
}

/// Whether statements contain a loop, in branches too.
fn contains_loop(stmts: &[Stmt]) -> bool {
    stmts.iter().any(|stmt| match stmt {
        Stmt::Loop(_) => true,
        Stmt::Branch(branch) => branch.arms.iter().any(|arm| contains_loop(&arm.stmts)),
        Stmt::Node(_) | Stmt::Const { .. } | Stmt::Verbatim(_) => false,
    })
}

/// What a name bound by a region's forward code holds.
enum Binding {
    /// A value that can be saved as it is.
    Value(Ident),
    /// A view of another value (`m.t()`): saving both would move a borrowed value (its
    /// shape alone can be saved).
    View(Ident),
}

/// The names a region's statements bind, with those its head binds (`extra`).
/// The names a region's forward code binds ([`region_bindings`]).
struct Bindings {
    names: HashMap<String, Binding>,
    /// Those bound more than once (a result of a branch rebinding a carried constant).
    rebound: HashSet<String>,
}

fn region_bindings(program: &Program, stmts: &[Stmt], extra: &[Ident]) -> Bindings {
    let mut values: Vec<Ident> = extra.to_vec();
    let mut views = Vec::new();
    let mut borrowing = Vec::new();
    for stmt in stmts {
        match stmt {
            Stmt::Node(i) => match &program.nodes[*i].op {
                Op::Prim(prim) if prim.returns_view() => views.push(node_ident(*i)),
                // The partials beside the value, which the pullback reads.
                Op::Map(closure) => {
                    values.push(node_ident(*i));
                    values.extend(
                        (0..closure.program.inputs.len())
                            .map(|k| crate::ir::Closure::partial_ident(*i, k)),
                    );
                }
                // A call run where it is made keeps its contributions for the adjoint.
                Op::Call { .. } => values.extend([node_ident(*i), at_site_contributions(*i)]),
                _ => values.push(node_ident(*i)),
            },
            Stmt::Const { ident, borrows, .. } => {
                values.push(ident.clone());
                borrowing.push((ident.clone(), borrows));
            }
            Stmt::Verbatim(tokens) => values.extend(let_bindings(tokens)),
            Stmt::Branch(branch) => {
                values.extend([arm_ident(branch.id), residual_ident(branch.id)]);
                values.extend(branch.results.iter().map(target_ident));
            }
            Stmt::Loop(lp) => {
                values.push(start_ident(lp.id));
                values.extend(lp.carried.iter().map(|(target, _)| target_ident(target)));
                if let LoopHead::For { stmts, .. } = &lp.head {
                    values.extend(stmts.iter().filter_map(|stmt| match stmt {
                        Stmt::Const { ident, .. } => Some(ident.clone()),
                        _ => None,
                    }));
                }
            }
        }
    }
    let mut seen = HashSet::new();
    let rebound: HashSet<String> = values
        .iter()
        .chain(&views)
        .map(ToString::to_string)
        .filter(|name| !seen.insert(name.clone()))
        .collect();
    // A constant borrowing another of the region cannot be saved apart from it.
    let names: HashSet<String> = values.iter().map(ToString::to_string).collect();
    views.extend(
        borrowing
            .into_iter()
            .filter(|(_, borrows)| borrows.iter().any(|name| names.contains(name)))
            .map(|(ident, _)| ident),
    );
    let mut bindings: HashMap<String, Binding> = values
        .into_iter()
        .map(|ident| (ident.to_string(), Binding::Value(ident)))
        .collect();
    bindings.extend(
        views
            .into_iter()
            .map(|ident| (ident.to_string(), Binding::View(ident))),
    );
    Bindings {
        names: bindings,
        rebound,
    }
}

/// Whether a constant's expression is arithmetic on names and literals (`[c, col]`,
/// `d - col - 2`): no call, method, field, index or path, so that computing it again costs
/// less than a tape's store and load.
fn cheap(tokens: &TokenStream) -> bool {
    let trees: Vec<proc_macro2::TokenTree> = tokens.clone().into_iter().collect();
    trees.iter().enumerate().all(|(k, tree)| match tree {
        proc_macro2::TokenTree::Ident(_) | proc_macro2::TokenTree::Literal(_) => true,
        proc_macro2::TokenTree::Punct(punct) => matches!(punct.as_char(), '+' | '-' | '*' | ','),
        proc_macro2::TokenTree::Group(group) => {
            // After a name or a group it is a call or an index.
            let operand = k == 0
                || matches!(
                    trees[k - 1],
                    proc_macro2::TokenTree::Punct(_) | proc_macro2::TokenTree::Literal(_)
                );
            operand && group.delimiter() != proc_macro2::Delimiter::Brace && cheap(&group.stream())
        }
    })
}

/// How many values an expression makes: the elements of an array or tuple literal, else one.
fn elements(tokens: &TokenStream) -> usize {
    let trees: Vec<proc_macro2::TokenTree> = tokens.clone().into_iter().collect();
    match trees.as_slice() {
        [proc_macro2::TokenTree::Group(group)]
            if group.delimiter() != proc_macro2::Delimiter::Brace =>
        {
            let inner: Vec<proc_macro2::TokenTree> = group.stream().into_iter().collect();
            let commas = inner
                .iter()
                .filter(
                    |tree| matches!(tree, proc_macro2::TokenTree::Punct(p) if p.as_char() == ','),
                )
                .count();
            let trailing = matches!(inner.last(), Some(proc_macro2::TokenTree::Punct(p)) if p.as_char() == ',');
            commas + 1 - usize::from(trailing)
        }
        _ => 1,
    }
}

/// The names a loop's body sees bound by the loop: its carried variables, its pattern's
/// names and its condition's constants.
fn loop_bindings(lp: &Loop) -> Vec<Ident> {
    let mut names: Vec<Ident> = lp
        .carried
        .iter()
        .map(|(target, _)| target_ident(target))
        .collect();
    match &lp.head {
        LoopHead::For { pattern, .. } => names.extend(pattern_idents(pattern)),
        LoopHead::While { stmts, .. } => names.extend(stmts.iter().filter_map(|stmt| match stmt {
            Stmt::Const { ident, .. } => Some(ident.clone()),
            _ => None,
        })),
        LoopHead::Loop => {}
    }
    names
}

/// The constants a loop's head binds (`let __c16 = 0..r;`): code running the loop again
/// binds them anew.
fn head_bindings(lp: &Loop) -> impl Iterator<Item = String> + '_ {
    lp.head.stmts().iter().filter_map(|stmt| match stmt {
        Stmt::Const { ident, .. } => Some(ident.to_string()),
        _ => None,
    })
}

/// Where arm `k` of a `match` runs again in the adjoint, the names its pattern binds
/// (`n if n < 3 =>`), bound again from the scrutinee by the pattern and its guard (which
/// picks among the alternatives of `(p, q) | (q, p) if p < q`, as the `match` did).
fn arm_pattern_bindings(branch: &Branch, k: usize) -> TokenStream {
    let crate::ir::BranchHead::Match {
        scrutinee,
        patterns,
        guards,
    } = &branch.head
    else {
        return TokenStream::new();
    };
    let mut names: Vec<Ident> = Vec::new();
    for name in pattern_idents(&patterns[k]) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    if names.is_empty() {
        return TokenStream::new();
    }
    let (pattern, guard) = (&patterns[k], &guards[k]);
    quote! {
        let (#(#names,)*) = match ::core::clone::Clone::clone(&#scrutinee) {
            #pattern #guard => (#(#names,)*),
            _ => ::core::unreachable!(),
        };
    }
}

/// The names a `match` arm's patterns bind (none for `if`).
fn branch_bindings(branch: &Branch) -> Vec<Ident> {
    match &branch.head {
        crate::ir::BranchHead::Match { patterns, .. } => {
            patterns.iter().flat_map(pattern_idents).collect()
        }
        crate::ir::BranchHead::If(_) => Vec::new(),
    }
}

/// Every identifier of a pattern: its bindings among them (the rest, paths and
/// constants, are never read as saved values).
fn pattern_idents(pattern: &TokenStream) -> Vec<Ident> {
    let mut out = Vec::new();
    fn collect(tokens: TokenStream, out: &mut Vec<Ident>) {
        for tree in tokens {
            match tree {
                proc_macro2::TokenTree::Ident(ident) => out.push(ident),
                proc_macro2::TokenTree::Group(group) => collect(group.stream(), out),
                _ => {}
            }
        }
    }
    collect(pattern.clone(), &mut out);
    out.retain(|ident| {
        let name = ident.to_string();
        !name.starts_with(|c: char| c.is_uppercase())
            && !["mut", "ref", "if", "_", "true", "false"].contains(&name.as_str())
    });
    out
}

/// The names `let` statements of kept code bind: `let mut __c3 = …;`.
fn let_bindings(tokens: &TokenStream) -> Vec<Ident> {
    let trees: Vec<proc_macro2::TokenTree> = tokens.clone().into_iter().collect();
    let mut out = Vec::new();
    for (k, tree) in trees.iter().enumerate() {
        let proc_macro2::TokenTree::Ident(ident) = tree else {
            continue;
        };
        if ident != "let" {
            continue;
        }
        let next = match trees.get(k + 1) {
            Some(proc_macro2::TokenTree::Ident(m)) if m == "mut" => trees.get(k + 2),
            other => other,
        };
        if let Some(proc_macro2::TokenTree::Ident(name)) = next {
            out.push(name.clone());
        }
    }
    out
}

/// Functions and methods that only compute a value: shapes, bits, arithmetic, copies, views,
/// ranges' adaptors.
const PURE: &[&str] = &[
    "clone",
    "len",
    "nrows",
    "ncols",
    "dim",
    "shape",
    "ndim",
    "is_empty",
    "trailing_zeros",
    "leading_zeros",
    "count_ones",
    "abs",
    "min",
    "max",
    "pow",
    "powi",
    "powf",
    "sqrt",
    "exp",
    "ln",
    "sin",
    "cos",
    "floor",
    "ceil",
    "round",
    "signum",
    "to_owned",
    "view",
    "t",
    "row",
    "column",
    "rows",
    "columns",
    "slice",
    "iter",
    "into_iter",
    "rev",
    "step_by",
    "zip",
    "enumerate",
    "wrapping_add",
    "wrapping_sub",
    "saturating_sub",
    "from",
];

/// Whether code calls nothing but [`PURE`] functions and no macro but `s!` (`x[[i, col]]`,
/// `d - col - 2`, `n as f64`, `x.len()`), so that running it again changes nothing.
fn calls_nothing(tokens: &TokenStream) -> bool {
    use proc_macro2::TokenTree;
    let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
    trees.iter().enumerate().all(|(k, tree)| {
        let TokenTree::Group(group) = tree else {
            return true;
        };
        let before = |back: usize| k.checked_sub(back).map(|j| &trees[j]);
        let allowed = match (before(1), before(2)) {
            // A macro, `name!(…)`, `name![…]`.
            (Some(TokenTree::Punct(bang)), name) if bang.as_char() == '!' => {
                matches!(name, Some(TokenTree::Ident(name)) if name == "s")
            }
            _ if group.delimiter() != proc_macro2::Delimiter::Parenthesis => true,
            // A call of a name (not `if (…)`, `x as (…)`), of a call's result or of a
            // closure (`f(a)(b)`, `(g)(x)`).
            (Some(TokenTree::Ident(name)), _) => {
                let name = name.to_string();
                PURE.contains(&name.as_str())
                    || matches!(name.as_str(), "in" | "as" | "if" | "match" | "return")
            }
            (Some(TokenTree::Group(_)), _) => false,
            (Some(TokenTree::Punct(_) | TokenTree::Literal(_)) | None, _) => true,
        };
        allowed && calls_nothing(&group.stream())
    })
}

/// Whether kept code only binds names and changes them (`let mut __c21 = __c17; __c21 +=
/// d - col - 2;`): running it again changes nothing else.
fn binds_only(tokens: &TokenStream) -> bool {
    let bound: HashSet<String> = let_bindings(tokens).iter().map(Ident::to_string).collect();
    let trees: Vec<proc_macro2::TokenTree> = tokens.clone().into_iter().collect();
    trees
        .split(|tree| matches!(tree, proc_macro2::TokenTree::Punct(p) if p.as_char() == ';'))
        .filter(|stmt| !stmt.is_empty())
        .all(|stmt| {
            // An attribute (`#[allow(unused_mut)]`) before it.
            let stmt = match stmt {
                [proc_macro2::TokenTree::Punct(hash), proc_macro2::TokenTree::Group(_), rest @ ..]
                    if hash.as_char() == '#' =>
                {
                    rest
                }
                _ => stmt,
            };
            matches!(stmt.first(), Some(proc_macro2::TokenTree::Ident(first))
                if first == "let" || bound.contains(&first.to_string()))
        })
}

/// The binding of a region's result.
fn target_ident(target: &Target) -> Ident {
    match target {
        Target::Local(k) => crate::emit::local_ident(*k),
        Target::Const(ident) => ident.clone(),
    }
}

/// The identifiers of `tokens`, each once, in the order they first appear.
fn ordered_idents(tokens: &TokenStream) -> Vec<String> {
    fn collect(tokens: TokenStream, out: &mut Vec<String>) {
        for tree in tokens {
            match tree {
                proc_macro2::TokenTree::Ident(ident) => {
                    let name = ident.to_string();
                    if !out.contains(&name) {
                        out.push(name);
                    }
                }
                proc_macro2::TokenTree::Group(group) => collect(group.stream(), out),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    collect(tokens.clone(), &mut out);
    out
}
