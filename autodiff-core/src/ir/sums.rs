//! Values only summed into: a loop whose carried values are (its adjoint is the same in
//! every iteration), and whose final values are summed into the result (their adjoint is the
//! seed, known before the loop runs), runs its adjoint beside its forward code.

use std::collections::HashSet;

use proc_macro2::TokenStream;

use super::{Loop, LoopHead, Op, Operand, Program, Stmt, Target, Var};
use crate::rules::Primitive;

impl Loop {
    /// Whether each carried variable of the trace is only summed into in the body
    /// (`s += t`, `s = s - t`, `if c { s += t }`, an inner loop summing into it), read by
    /// nothing else: its adjoint is the same in every iteration.
    pub fn accumulates(&self, program: &Program) -> bool {
        self.increments(program)
            .is_some_and(|increments| increments.slots.is_empty())
    }

    /// The values of the body that the carried variables' sums pass through (the carried
    /// variables themselves, each `s + t`, and what branches and inner loops carry of them),
    /// for a loop that [`accumulates`](Loop::accumulates).
    pub fn sums(&self, program: &Program) -> HashSet<Var> {
        let mut sums = HashSet::new();
        for (target, _) in &self.carried {
            if let Target::Local(k) = target {
                let mut chain = HashSet::from([Var::Local(*k)]);
                summed_through(program, &self.body.stmts, &mut chain, Var::Local(*k));
                sums.extend(chain);
            }
        }
        sums
    }

    /// Whether the final value of each carried variable of the trace reaches the result (a
    /// single one) only by being summed into, read by nothing else: its adjoint is the seed.
    /// (For a loop of `program.stmts`.)
    pub fn summed_into_result(&self, program: &Program) -> bool {
        let Some(position) = program
            .stmts
            .iter()
            .position(|stmt| matches!(stmt, Stmt::Loop(lp) if lp.id == self.id))
        else {
            return false;
        };
        let after = &program.stmts[position + 1..];
        program.outputs.len() == 1
            && self.carried.iter().all(|(target, _)| match target {
                Target::Local(k) => {
                    let mut chain = HashSet::from([Var::Local(*k)]);
                    summed_through(program, after, &mut chain, Var::Local(*k))
                        .is_some_and(|end| yields_only(&program.outputs, &chain, end) == Some(0))
                }
                Target::Const(_) => true,
            })
    }
}

/// `a[I] += t` (or `-= t`) on a carried array `a`: the element read, the sum, the write.
#[derive(Clone, Copy)]
pub struct Increment {
    pub read: usize,
    pub sum: usize,
    pub write: usize,
}

/// The carried arrays of a loop that only adds into them element by element
/// ([`Loop::increments`]): their slots, and the increments.
#[derive(Default)]
pub struct Increments {
    pub slots: HashSet<usize>,
    pub nodes: Vec<Increment>,
}

impl Loop {
    /// Whether every carried variable of the trace is only summed into (as for
    /// [`accumulates`](Loop::accumulates)) or is an array the body only adds into element by
    /// element (`q[r] += t`, `t` reading none of it): the adjoint of each is then the same in
    /// every iteration, and reads no value of such an array (only the term's adjoint, `q̄[r]`,
    /// depends on it). Those arrays' slots and increments; `None` otherwise.
    pub fn increments(&self, program: &Program) -> Option<Increments> {
        let mut found = Increments::default();
        for (slot, (target, init)) in self.carried.iter().enumerate() {
            let Target::Local(k) = target else { continue };
            let mut chain = HashSet::from([Var::Local(*k)]);
            let head_reads = reads_any(program, self.head.stmts(), &chain);
            let summed = summed_through(program, &self.body.stmts, &mut chain, Var::Local(*k))
                .is_some_and(|end| yields_only(&self.body.yields, &chain, end) == Some(slot));
            if head_reads {
                return None;
            }
            if summed {
                continue;
            }
            // The head (`for r in 0..q.len()`) reads no incremented array's initial value:
            // code running the loop again declares none.
            if let Operand::Var(var) = init {
                if reads_any(program, self.head.stmts(), &HashSet::from([*var])) {
                    return None;
                }
            }
            let (chain, end, increments) = incremented_through(program, &self.body, *k)?;
            if yields_only(&self.body.yields, &chain, end) != Some(slot) {
                return None;
            }
            found.slots.insert(slot);
            found.nodes.extend(increments);
        }
        Some(found)
    }
}

/// Follows the carried array local `k` through `body`'s statements, each of which reads none
/// of its versions so far but an increment of the latest ([`increment_of`]): the versions,
/// the last, and the increments.
fn incremented_through(
    program: &Program,
    body: &super::Region,
    k: usize,
) -> Option<(HashSet<Var>, Var, Vec<Increment>)> {
    let mut current = Var::Local(k);
    let mut chain = HashSet::from([current]);
    let mut increments: Vec<Increment> = Vec::new();
    for stmt in &body.stmts {
        let taken = |i: &usize| {
            increments
                .iter()
                .any(|inc| inc.sum == *i || inc.write == *i)
        };
        if matches!(stmt, Stmt::Node(i) if taken(i))
            || !reads_any(program, std::slice::from_ref(stmt), &chain)
        {
            continue;
        }
        let Stmt::Node(read) = stmt else {
            return None;
        };
        let increment = increment_of(program, body, *read, current)?;
        current = Var::Node(increment.write);
        chain.insert(current);
        increments.push(increment);
    }
    Some((chain, current, increments))
}

/// The increment `a[I] += t` whose element read is node `read` of `array`: the read's only
/// reader adds it to (or subtracts from it) a term reading neither, and that sum's only
/// reader writes it back to `array` at the same index `I`.
fn increment_of(
    program: &Program,
    body: &super::Region,
    read: usize,
    array: Var,
) -> Option<Increment> {
    let nodes = &program.nodes;
    let same_index = |a: &Operand, b: &Operand| match (a, b) {
        (Operand::Const { tokens: a, .. }, Operand::Const { tokens: b, .. }) => {
            a.to_string() == b.to_string() || same_constant(&body.stmts, a, b)
        }
        _ => false,
    };
    let is = |operand: &Operand, var: Var| matches!(operand, Operand::Var(v) if *v == var);
    let index = match (&nodes[read].op, nodes[read].args.as_slice()) {
        (Op::Prim(Primitive::Index), [a, index]) if is(a, array) => index,
        _ => return None,
    };
    let sum = only_reader(program, body, Var::Node(read))?;
    let element = Var::Node(read);
    let term = match (&nodes[sum].op, nodes[sum].args.as_slice()) {
        (Op::Prim(Primitive::Add), [a, t]) | (Op::Prim(Primitive::Add), [t, a])
            if is(a, element) && !is(t, element) =>
        {
            t
        }
        (Op::Prim(Primitive::Sub), [a, t]) if is(a, element) && !is(t, element) => t,
        _ => return None,
    };
    if is(term, array) {
        return None;
    }
    let write = only_reader(program, body, Var::Node(sum))?;
    match (&nodes[write].op, nodes[write].args.as_slice()) {
        (Op::Prim(Primitive::SetIndex), [a, at, value])
            if is(a, array) && same_index(at, index) && is(value, Var::Node(sum)) =>
        {
            Some(Increment { read, sum, write })
        }
        _ => None,
    }
}

/// Whether `a` and `b` name constants of `stmts` bound to the same expression of constants
/// (`q[(r + 1) % d] += t` binds its index twice), with only nodes and constants between
/// them (nothing that changes a binding).
fn same_constant(stmts: &[Stmt], a: &TokenStream, b: &TokenStream) -> bool {
    let (a, b) = (a.to_string(), b.to_string());
    let bound = |name: &str| {
        stmts.iter().position(|stmt| {
            matches!(stmt, Stmt::Const { ident, reads, .. } if *ident == name && reads.is_empty())
        })
    };
    let (Some(first), Some(second)) = (bound(&a), bound(&b)) else {
        return false;
    };
    let (first, second) = (first.min(second), first.max(second));
    let expr = |k: usize| match &stmts[k] {
        Stmt::Const { expr, .. } => expr.to_string(),
        _ => unreachable!("a constant's statement"),
    };
    expr(first) == expr(second)
        && stmts[first..second]
            .iter()
            .all(|stmt| matches!(stmt, Stmt::Node(_) | Stmt::Const { .. }))
}

/// The one node among `body`'s statements reading `var`, if nothing else (no region, no
/// constant, no yield) does.
fn only_reader(program: &Program, body: &super::Region, var: Var) -> Option<usize> {
    let vars = HashSet::from([var]);
    if any_of(&body.yields, &vars) {
        return None;
    }
    let mut readers = body
        .stmts
        .iter()
        .filter(|stmt| reads_any(program, std::slice::from_ref(*stmt), &vars));
    match (readers.next(), readers.next()) {
        (Some(Stmt::Node(i)), None) => Some(*i),
        _ => None,
    }
}

/// Follows the sum `current` through `stmts` while each statement reads none of `chain` (the
/// sums so far), or adds to the latest (`s + t`, `t + s`, `s - t`), or is a branch each of
/// whose arms sums it into the same result, or a loop carrying it that only sums into it.
/// The sum after `stmts`, or `None` where anything else reads one of `chain`.
fn summed_through(
    program: &Program,
    stmts: &[Stmt],
    chain: &mut HashSet<Var>,
    mut current: Var,
) -> Option<Var> {
    for stmt in stmts {
        if !reads_any(program, std::slice::from_ref(stmt), chain) {
            continue;
        }
        current = match stmt {
            Stmt::Node(i) => {
                let mut reads = program.var_args(*i).filter(|(_, var)| chain.contains(var));
                match (reads.next(), reads.next(), &program.nodes[*i].op) {
                    (Some((_, var)), None, Op::Prim(Primitive::Add)) if var == current => {
                        Var::Node(*i)
                    }
                    (Some((0, var)), None, Op::Prim(Primitive::Sub)) if var == current => {
                        Var::Node(*i)
                    }
                    _ => return None,
                }
            }
            Stmt::Branch(branch) => {
                let mut slots = HashSet::new();
                for arm in &branch.arms {
                    let end = summed_through(program, &arm.stmts, chain, current)?;
                    slots.insert(yields_only(&arm.yields, chain, end)?);
                }
                match (
                    slots.len(),
                    slots.iter().next().map(|&slot| &branch.results[slot]),
                ) {
                    (1, Some(Target::Local(k))) => Var::Local(*k),
                    _ => return None,
                }
            }
            Stmt::Loop(lp) => {
                // It carries the sum (one of its initial values), reading no other of `chain`.
                let mut inits = lp.carried.iter().enumerate().filter(
                    |(_, (_, init))| matches!(init, Operand::Var(var) if chain.contains(var)),
                );
                let (slot, k) = match (inits.next(), inits.next()) {
                    (Some((slot, (Target::Local(k), Operand::Var(var)))), None)
                        if *var == current =>
                    {
                        (slot, *k)
                    }
                    _ => return None,
                };
                let carried = Var::Local(k);
                chain.insert(carried);
                let head_reads = match &lp.head {
                    LoopHead::While { stmts, .. } | LoopHead::For { stmts, .. } => {
                        reads_any(program, stmts, chain)
                    }
                    LoopHead::Loop => false,
                };
                let end = summed_through(program, &lp.body.stmts, chain, carried)?;
                if head_reads || yields_only(&lp.body.yields, chain, end) != Some(slot) {
                    return None;
                }
                carried
            }
            Stmt::Const { .. } | Stmt::Verbatim(_) => return None,
        };
        chain.insert(current);
    }
    Some(current)
}

/// The one slot of `yields` that holds `end`, if no other holds any of `chain`.
fn yields_only(yields: &[Operand], chain: &HashSet<Var>, end: Var) -> Option<usize> {
    let mut slots = yields
        .iter()
        .enumerate()
        .filter(|(_, value)| matches!(value, Operand::Var(var) if chain.contains(var)));
    match (slots.next(), slots.next()) {
        (Some((slot, Operand::Var(var))), None) if *var == end => Some(slot),
        _ => None,
    }
}

/// Whether `stmts` (their regions and constants too) read any of `vars`.
fn reads_any(program: &Program, stmts: &[Stmt], vars: &HashSet<Var>) -> bool {
    stmts.iter().any(|stmt| match stmt {
        Stmt::Node(i) => program.var_args(*i).any(|(_, var)| vars.contains(&var)),
        Stmt::Const { reads, .. } => reads.iter().any(|(_, var)| vars.contains(var)),
        Stmt::Verbatim(_) => false,
        Stmt::Branch(branch) => branch
            .arms
            .iter()
            .any(|arm| reads_any(program, &arm.stmts, vars) || any_of(&arm.yields, vars)),
        Stmt::Loop(lp) => {
            let head = match &lp.head {
                LoopHead::While { stmts, .. } | LoopHead::For { stmts, .. } => {
                    reads_any(program, stmts, vars)
                }
                LoopHead::Loop => false,
            };
            head || lp
                .carried
                .iter()
                .any(|(_, init)| any_of(std::slice::from_ref(init), vars))
                || reads_any(program, &lp.body.stmts, vars)
                || any_of(&lp.body.yields, vars)
        }
    })
}

/// Whether `operands` hold any of `vars`.
fn any_of(operands: &[Operand], vars: &HashSet<Var>) -> bool {
    operands
        .iter()
        .any(|operand| matches!(operand, Operand::Var(var) if vars.contains(var)))
}
