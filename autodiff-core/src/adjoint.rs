//! The adjoint sweep: statements visited from last to first, each node handing its
//! arguments their contributions v̄ₖ += v̄ᵢ · ∂vᵢ/∂vₖ, summed where a value fans out (the
//! multivariate chain rule). Adjoints are fresh `let`s, so straight-line code stays SSA and
//! an adjoint that never receives a contribution costs nothing.
//!
//! A region's adjoint runs its forward code again and then its own sweep: a branch in the
//! arm the forward sweep took, a loop once per recorded iteration, last first. The adjoints
//! of values from outside that the region contributes to become mutable accumulators for
//! its duration, and a loop's carried variables pass their adjoints from one iteration to
//! the one before.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use crate::call;
use crate::emit::{accumulate, node_ident, rule_args, rule_fn, var_tokens};
use crate::ir::{Branch, Loop, LoopHead, Op, Operand, Program, Stmt, Target, Uses, Var};
use crate::primal::forward_stmts;
use crate::region::{arm_dispatch, tape_entry, tape_ident, target_tokens, zeros_of};
use crate::rules::Primitive;

/// The adjoint sweep seeded with `seed` (the result's cotangent, a tuple for a tuple): the
/// code, and the name holding each variable's adjoint at its end.
pub fn adjoint_sweep(program: &Program, seed: TokenStream) -> (TokenStream, HashMap<Var, Ident>) {
    let mut sweep = Sweep {
        program,
        live: crate::ir::live(program),
        code: Vec::new(),
        adjoints: HashMap::new(),
        fresh: 0,
    };
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
    (quote!(#(#code)*), sweep.adjoints)
}

struct Sweep<'p> {
    program: &'p Program,
    live: HashSet<Var>,
    code: Vec<TokenStream>,
    adjoints: HashMap<Var, Ident>,
    fresh: usize,
}

impl Sweep<'_> {
    fn next_adjoint(&mut self) -> Ident {
        self.fresh += 1;
        format_ident!("__b{}", self.fresh, span = Span::mixed_site())
    }

    /// v̄ += contribution, as a fresh `let`.
    fn contribute(&mut self, target: Var, contribution: TokenStream, span: Span) {
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
        let program = self.program;
        let node = &program.nodes[i];
        let targets: Vec<(usize, Var)> = program.var_args(i).collect();
        // The last reader consumes the adjoint; the others copy it.
        let mut left = match node.op {
            Op::Call { .. } => 1,
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
            Op::Prim(Primitive::Index) => {
                // One element's adjoint, added in place.
                let Some(&(_, target)) = targets.first() else {
                    return;
                };
                let add_at = rule_fn("index", "add_at", node.span);
                let index = rule_args(program, i).pop().unwrap_or_default();
                let adjoint = self.next_adjoint();
                let start = self.current_or_zeros(target);
                let g = take();
                self.code.push(quote_spanned!(node.span=>
                    let mut #adjoint = #start;
                    #add_at(&mut #adjoint, #index, #g);
                ));
                self.adjoints.insert(target, adjoint);
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
            Op::Prim(prim) => {
                let args = rule_args(program, i);
                let y = node_ident(i);
                for (k, target) in targets {
                    let vjp = rule_fn(prim.rule().module, &format!("vjp{k}"), node.span);
                    let g = take();
                    let contribution = quote_spanned!(node.span=> #vjp(#(#args,)* &#y, #g));
                    self.contribute(target, contribution, node.span);
                }
            }
            Op::Copy => {
                if let Some(&(_, target)) = targets.first() {
                    let g = take();
                    self.contribute(target, g, node.span);
                }
            }
            Op::Call { path, arg_spans } => {
                let contributions = format_ident!("__p{}", i + 1, span = Span::mixed_site());
                let companion = call::companion(path, "vjp");
                let args = call::call_args(program, i);
                let g = take();
                self.code.push(quote_spanned!(node.span=>
                    let (_, #contributions) = #companion(#(#args,)* #g);
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

    /// The variable's adjoint now, or a zero of its value's kind.
    fn current_or_zeros(&mut self, var: Var) -> TokenStream {
        match self.adjoints.remove(&var) {
            Some(adjoint) => quote!(#adjoint),
            None => zeros_of(&var_tokens(self.program, var)),
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
        let arms = branch
            .arms
            .iter()
            .map(|arm| {
                let forward = forward_stmts(program, &arm.stmts, true);
                let adjoint = self.nested(&accumulators, |sweep| {
                    for (seed, value) in seeds.iter().zip(&arm.yields) {
                        if let (Some(seed), Operand::Var(var)) = (seed, value) {
                            sweep.contribute(*var, quote!(#seed), branch.span);
                        }
                    }
                    sweep.stmts(&arm.stmts);
                });
                quote!(#forward #adjoint)
            })
            .collect();
        self.code.push(arm_dispatch(branch.id, arms));
    }

    fn lp(&mut self, lp: &Loop) {
        let program = self.program;
        // The carried locals: each with its initial value and its next value.
        let locals: Vec<(Var, &Operand, &Operand)> = lp
            .carried
            .iter()
            .zip(&lp.body.yields)
            .filter_map(|((target, init), next)| match target {
                Target::Local(k) => Some((Var::Local(*k), init, next)),
                Target::Const(_) => None,
            })
            .collect();
        let own: Vec<Var> = locals.iter().map(|(var, ..)| *var).collect();
        // With no adjoint from the code after the loop, nothing inside matters.
        if own.iter().all(|var| !self.adjoints.contains_key(var)) {
            return;
        }
        let external = self.external(&Uses::of_region(program, &lp.body), &own);
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

        let forward = forward_stmts(program, &lp.body.stmts, true);
        let adjoint = self.nested(&accumulators, |sweep| {
            for ((_, _, next), adjoint) in locals.iter().zip(&carried) {
                if let Operand::Var(var) = next {
                    sweep.contribute(*var, quote!(#adjoint), lp.span);
                }
            }
            sweep.stmts(&lp.body.stmts);
            for (var, adjoint) in own.iter().zip(&carried) {
                let value = match sweep.adjoints.remove(var) {
                    Some(start) => quote!(#start),
                    None => zeros_of(&var_tokens(program, *var)),
                };
                sweep.code.push(quote!(#adjoint = #value;));
            }
        });

        // Each recorded iteration, last first: its carried values and item restored, its
        // forward code run again, then its adjoint.
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
        let (tape, entry) = (
            tape_ident(lp.id),
            format_ident!("__entry{}", lp.id, span = Span::mixed_site()),
        );
        self.code.push(quote! {
            while let ::core::option::Option::Some(#entry) = #tape.pop() {
                #[allow(unused_mut)]
                let ((#(#bindings,)*), #item) = #entry;
                #pattern
                #forward
                #adjoint
            }
        });
        // The initial values receive what the first iteration's start values did.
        for ((_, init, _), adjoint) in locals.iter().zip(&carried) {
            if let Operand::Var(init) = init {
                self.contribute(*init, quote!(#adjoint), lp.span);
            }
        }
    }
}
