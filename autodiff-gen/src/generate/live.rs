//! Liveness, to keep dead code out of loops: the result reads every variable a branch or a
//! loop of the body assigns, and statements inside loop bodies whose values nothing reads
//! are removed (with loops and branches left without effect). The macro's generated code
//! does not compile for a loop whose values are dead after it (see
//! [`Features::dead_loop_code`]).

use std::collections::HashSet;

use super::*;

/// The variables read after a point, and (as `=name`) those assigned after it, whose
/// declarations must stay.
type Live = HashSet<String>;

fn declared(name: &str) -> String {
    format!("={name}")
}

/// A `let` of `name` can go: nothing reads it or assigns it after.
fn unused(live: &Live, name: &str) -> bool {
    !live.contains(name) && !live.contains(&declared(name))
}

/// `let name` (or a `let` of it by a branch or a move) from here back.
fn declare(live: &mut Live, name: &str) {
    live.remove(name);
    live.remove(&declared(name));
}

/// Every variable `e` reads, shape queries included.
fn reads(e: &Expr, live: &mut Live) {
    let mut names = Vec::new();
    e.reads(&mut names);
    live.extend(names);
    e.ints(&mut |i| int_reads(i, live));
}

fn int_reads(i: &IntExpr, live: &mut Live) {
    match i {
        IntExpr::Len(name, _) => {
            live.insert(name.clone());
        }
        IntExpr::Cast(e) => reads(e, live),
        _ => {}
    }
}

fn all_int_reads(i: &IntExpr, live: &mut Live) {
    i.visit(&mut |i| int_reads(i, live));
}

fn cond_reads(c: &Cond, live: &mut Live) {
    match c {
        Cond::Value(_, a, b) => {
            reads(a, live);
            reads(b, live);
        }
        Cond::Int(_, a, b) => {
            all_int_reads(a, live);
            all_int_reads(b, live);
        }
        Cond::IsNan(e) => reads(e, live),
        Cond::And(a, b) | Cond::Or(a, b) => {
            cond_reads(a, live);
            cond_reads(b, live);
        }
        Cond::Not(a) => cond_reads(a, live),
    }
}

/// The names the statements of `body` (and those inside them) assign.
fn assigned(body: &[Stmt], out: &mut Vec<String>) {
    for s in body {
        if let Stmt::Assign { name, .. } | Stmt::SetIndex { name, .. } = s {
            if !out.contains(name) {
                out.push(name.clone());
            }
        }
        for b in s.blocks() {
            assigned(b, out);
        }
    }
}

impl Generator<'_> {
    /// Makes the first result read every variable of the function's scope that a branch or
    /// a loop assigns and that the result does not read yet: `r + acc`, `r + h.mean()`.
    pub(super) fn use_outputs(&mut self, program: &mut Program) {
        let mut outputs = Vec::new();
        for s in program.body.iter().filter(|s| s.is_control()) {
            assigned(
                &s.blocks()
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect::<Vec<_>>(),
                &mut outputs,
            );
        }
        let mut read = Live::new();
        program.result.iter().for_each(|e| reads(e, &mut read));
        for name in outputs {
            if read.contains(&name) {
                continue;
            }
            let Some(b) = self.env.iter().rev().find(|b| b.name == name).cloned() else {
                continue;
            };
            if !b.mutable || b.field {
                continue;
            }
            let v = node(
                b.ty,
                b.bound,
                Kind::Var {
                    name: b.name.clone(),
                    by_ref: b.by_ref,
                },
            );
            let term = match b.ty {
                Ty::Scalar => v,
                _ => node(Ty::Scalar, b.bound, Kind::Reduce(Reduce::Mean, Box::new(v))),
            };
            let r = program.result.remove(0);
            let bound = r.bound + term.bound;
            program.result.insert(
                0,
                node(
                    r.ty,
                    bound,
                    Kind::Binary(BinOp::Add, Box::new(r), Box::new(term)),
                ),
            );
        }
    }
}

/// Removes the dead statements of loop bodies (see the module's documentation).
pub(super) fn prune(program: &mut Program) {
    let mut live = Live::new();
    program.result.iter().for_each(|e| reads(e, &mut live));
    block(&mut program.body, &mut live, None, false);
}

/// Walks `body` backwards from what is read after it (`live`) to what is read before it,
/// removing dead statements when `prune`. `jump` is what is read where `break` and
/// `continue` go.
fn block(body: &mut Vec<Stmt>, live: &mut Live, jump: Option<&Live>, prune: bool) {
    let mut i = body.len();
    while i > 0 {
        i -= 1;
        if !stmt(&mut body[i], live, jump, prune) {
            body.remove(i);
        }
    }
}

/// One statement, backwards; false when it is to be removed.
fn stmt(s: &mut Stmt, live: &mut Live, jump: Option<&Live>, prune: bool) -> bool {
    match s {
        Stmt::Let { name, expr, .. } => {
            if prune && unused(live, name) {
                return false;
            }
            declare(live, name);
            reads(expr, live);
            true
        }
        Stmt::Assign { name, op, expr } => {
            if prune && !live.contains(name.as_str()) {
                return false;
            }
            match op {
                None => {
                    live.remove(name.as_str());
                }
                Some(_) => {
                    live.insert(name.clone());
                }
            }
            live.insert(declared(name));
            reads(expr, live);
            true
        }
        Stmt::SetIndex {
            name, index, expr, ..
        } => {
            if prune && !live.contains(name.as_str()) {
                return false;
            }
            live.insert(name.clone());
            live.insert(declared(name));
            index.iter().for_each(|i| all_int_reads(i, live));
            reads(expr, live);
            true
        }
        Stmt::Move { name, from, .. } => {
            if prune && unused(live, name) {
                return false;
            }
            declare(live, name);
            live.insert(from.clone());
            true
        }
        Stmt::Break | Stmt::Continue => {
            if let Some(j) = jump {
                live.extend(j.iter().cloned());
            }
            true
        }
        Stmt::Branch { head, arms, bind } => {
            let after = live.clone();
            let value_live = bind
                .as_ref()
                .is_some_and(|b| after.contains(b.name.as_str()));
            let mut out = after.clone();
            if let Some(b) = bind.as_ref() {
                declare(&mut out, &b.name);
            }
            if prune && bind.is_some() && !value_live {
                // Nothing reads the value: a statement now.
                *bind = None;
                arms.iter_mut().for_each(|a| a.value = None);
            }
            let falls_through = *head == Head::If && arms.iter().all(|a| a.test != Test::Else);
            let mut before = match falls_through {
                true => out.clone(),
                false => Live::new(),
            };
            for arm in arms.iter_mut() {
                let mut l = out.clone();
                if let Some(v) = &arm.value {
                    reads(v, &mut l);
                }
                block(&mut arm.body, &mut l, jump, prune);
                before.extend(l);
                if let Test::If(c) = &arm.test {
                    cond_reads(c, &mut before);
                }
            }
            if let Head::Match(scrutinee) = head {
                all_int_reads(scrutinee, &mut before);
            }
            if prune && bind.is_none() && arms.iter().all(|a| a.body.is_empty()) {
                *live = after;
                return false;
            }
            *live = before;
            true
        }
        Stmt::For { range, body, .. } => {
            let mut head = live.clone();
            all_int_reads(&range.start, &mut head);
            all_int_reads(&range.end, &mut head);
            looped(body, live, head)
        }
        Stmt::While { cond, body, .. } => {
            let mut head = live.clone();
            if let Some(c) = cond {
                cond_reads(c, &mut head);
            }
            looped(body, live, head)
        }
        Stmt::Loop { body, .. } => {
            let head = live.clone();
            looped(body, live, head)
        }
    }
}

/// A loop body: what is read at the loop's head is the least fixed point of what is read
/// after the loop and before the body; then the body is pruned against it. False when the
/// loop is left without effect.
fn looped(body: &mut Vec<Stmt>, live: &mut Live, mut head: Live) -> bool {
    loop {
        let mut copy = body.clone();
        let mut l = head.clone();
        block(&mut copy, &mut l, Some(&head), true);
        let before = head.len();
        head.extend(l);
        if head.len() == before {
            break;
        }
    }
    let mut l = head.clone();
    let jump = head.clone();
    block(body, &mut l, Some(&jump), true);
    let mut effects = Vec::new();
    assigned(body, &mut effects);
    if effects.is_empty() {
        return false;
    }
    *live = head;
    true
}
