//! What branches and loops compute, made live: in most programs the result reads every
//! variable a branch or a loop assigns, so that the checks reach their derivatives (the rest
//! keep such values dead, which the macro must compile too).

use std::collections::HashSet;

use super::*;

/// Variable names.
type Live = HashSet<String>;

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
