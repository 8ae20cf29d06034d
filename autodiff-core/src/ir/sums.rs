//! Values only summed into: a loop whose carried values are (its adjoint is the same in
//! every iteration), and whose final values are summed into the result (their adjoint is the
//! seed, known before the loop runs), runs its adjoint beside its forward code.

use std::collections::HashSet;

use super::{Loop, LoopHead, Op, Operand, Program, Stmt, Target, Var};
use crate::rules::Primitive;

impl Loop {
    /// Whether each carried variable of the trace is only summed into in the body
    /// (`s += t`, `s = s - t`, `if c { s += t }`, an inner loop summing into it), read by
    /// nothing else: its adjoint is the same in every iteration.
    pub fn accumulates(&self, program: &Program) -> bool {
        self.carried
            .iter()
            .enumerate()
            .all(|(slot, (target, _))| match target {
                Target::Local(k) => {
                    let mut chain = HashSet::from([Var::Local(*k)]);
                    let head_reads = match &self.head {
                        LoopHead::While { stmts, .. } => reads_any(program, stmts, &chain),
                        LoopHead::For { .. } | LoopHead::Loop => false,
                    };
                    !head_reads
                        && summed_through(program, &self.body.stmts, &mut chain, Var::Local(*k))
                            .is_some_and(|end| {
                                yields_only(&self.body.yields, &chain, end) == Some(slot)
                            })
                }
                Target::Const(_) => true,
            })
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
