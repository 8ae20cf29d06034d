//! Smaller programs from a failing one: drop a statement, a result, a parameter or an option;
//! replace an expression by one of its operands of the same type or by a leaf. Candidates
//! that would not compile as plain Rust (a read of a dropped binding, a borrowed view where an
//! owned array is needed) are left out, so a shrunk failure is still the macro's fault.

use std::collections::HashMap;

use crate::ast::*;
use crate::generate::is_view;

/// Every one-step simplification of `program` that is still a valid program.
pub fn candidates(program: &Program) -> Vec<Program> {
    let mut out = Vec::new();
    let mut push = |p: Program| {
        if p.size() < program.size() && valid(&p) {
            out.push(p);
        }
    };
    for i in 0..program.body.len() {
        let mut p = program.clone();
        p.body.remove(i);
        push(p);
    }
    if program.result.len() > 1 {
        for i in 0..program.result.len() {
            let mut p = program.clone();
            p.result.remove(i);
            p.hessian = false;
            push(p);
        }
    }
    for i in 0..program.params.len() {
        let mut p = program.clone();
        p.params.remove(i);
        push(p);
    }
    if program.hessian {
        let mut p = program.clone();
        p.hessian = false;
        push(p);
    }
    if program.explicit_wrt {
        let mut p = program.clone();
        p.explicit_wrt = false;
        push(p);
    }
    // Expression simplifications, at every node of every statement and result.
    let slots = program.body.len() + program.result.len();
    for slot in 0..slots {
        let nodes = count_nodes(root(program, slot));
        for node in 0..nodes {
            for replacement in replacements(program, nodes_at(root(program, slot), node)) {
                let mut p = program.clone();
                if let Some(target) = root_mut(&mut p, slot) {
                    *node_at_mut(target, node) = replacement;
                    push(p);
                }
            }
        }
    }
    out.sort_by_key(Program::size);
    out
}

fn root(program: &Program, slot: usize) -> Option<&Expr> {
    if slot < program.body.len() {
        match &program.body[slot] {
            Stmt::Let { expr, .. } | Stmt::Assign { expr, .. } | Stmt::SetElement { expr, .. } => {
                Some(expr)
            }
            Stmt::Move { .. } => None,
        }
    } else {
        program.result.get(slot - program.body.len())
    }
}

fn root_mut(program: &mut Program, slot: usize) -> Option<&mut Expr> {
    let body = program.body.len();
    if slot < body {
        program.body[slot].exprs_mut().into_iter().next()
    } else {
        program.result.get_mut(slot - body)
    }
}

fn count_nodes(e: Option<&Expr>) -> usize {
    e.map_or(0, Expr::size)
}

/// The node with pre-order index `k`.
fn nodes_at(e: Option<&Expr>, k: usize) -> &Expr {
    fn walk<'e>(e: &'e Expr, k: &mut usize) -> Option<&'e Expr> {
        if *k == 0 {
            return Some(e);
        }
        *k -= 1;
        e.children().into_iter().find_map(|c| walk(c, k))
    }
    walk(e.expect("a statement with an expression"), &mut { k }).expect("in range")
}

fn node_at_mut(e: &mut Expr, k: usize) -> &mut Expr {
    fn walk<'e>(e: &'e mut Expr, k: &mut usize) -> Option<&'e mut Expr> {
        if *k == 0 {
            return Some(e);
        }
        *k -= 1;
        for c in e.children_mut() {
            if let Some(found) = walk(c, k) {
                return Some(found);
            }
        }
        None
    }
    walk(e, &mut { k }).expect("in range")
}

/// Simpler expressions of the same type: its operands, a literal, a parameter.
fn replacements(program: &Program, e: &Expr) -> Vec<Expr> {
    let mut out: Vec<Expr> = e
        .children()
        .into_iter()
        .filter(|c| c.ty == e.ty)
        .cloned()
        .collect();
    if e.ty == Ty::Scalar && !matches!(e.kind, Kind::Lit(_)) {
        out.push(Expr {
            ty: Ty::Scalar,
            bound: 1.0,
            kind: Kind::Lit(1.0),
        });
    }
    if !matches!(e.kind, Kind::Var { .. } | Kind::Lit(_)) {
        for p in &program.params {
            if let ParamKind::Diff { ty, pass, .. } = p.kind {
                if ty == e.ty {
                    out.push(Expr {
                        ty,
                        bound: 1.5,
                        kind: Kind::Var {
                            name: p.name.clone(),
                            by_ref: ty.is_array() && pass == Pass::Ref,
                        },
                    });
                }
            }
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq)]
struct Seen {
    ty: Ty,
    by_ref: bool,
    mutable: bool,
}

fn is_place(e: &Expr) -> bool {
    matches!(e.kind, Kind::Var { .. } | Kind::Field(_))
}

/// Whether `program` is valid Rust as the renderer writes it: every name read is bound with
/// the type and passing the read expects, moved arrays are not read again, accumulators are
/// `mut`, and bindings and results of arrays hold owned values.
pub fn valid(program: &Program) -> bool {
    let mut env: HashMap<String, Seen> = HashMap::new();
    let mut labels = Vec::new();
    let mut size = Vec::new();
    for p in &program.params {
        match &p.kind {
            ParamKind::Diff { ty, pass, .. } => {
                env.insert(
                    p.name.clone(),
                    Seen {
                        ty: *ty,
                        by_ref: ty.is_array() && *pass == Pass::Ref,
                        mutable: false,
                    },
                );
            }
            ParamKind::Const(_) => {
                env.insert(
                    p.name.clone(),
                    Seen {
                        ty: Ty::Scalar,
                        by_ref: false,
                        mutable: false,
                    },
                );
            }
            ParamKind::Data(ty, _) => {
                env.insert(
                    p.name.clone(),
                    Seen {
                        ty: *ty,
                        by_ref: true,
                        mutable: false,
                    },
                );
            }
            ParamKind::Struct => {}
            ParamKind::Size(_) => size.push(p.name.clone()),
            ParamKind::Labels(_) => labels.push(p.name.clone()),
        }
    }
    let struct_param = program.params.iter().any(|p| p.kind == ParamKind::Struct);
    if !program.params.iter().any(Param::is_differentiated)
        || (program.hessian && (!program.scalar_result() || program.calls() || struct_param))
    {
        return false;
    }
    let reads_ok = |e: &Expr, env: &HashMap<String, Seen>| -> bool {
        fn walk(e: &Expr, env: &HashMap<String, Seen>, ok: &dyn Fn(&Kind) -> bool) -> bool {
            let here = match &e.kind {
                Kind::Var { name, by_ref } => env
                    .get(name)
                    .is_some_and(|s| s.ty == e.ty && s.by_ref == *by_ref),
                other => ok(other),
            };
            here && e.children().iter().all(|c| walk(c, env, ok))
        }
        walk(e, env, &|k| match k {
            // The custom functions take `&Array1<f64>`: an owned temporary, never a place.
            Kind::Custom(_, a) => !a.ty.is_array() || !(is_view(a) || is_place(a)),
            Kind::Field(_) => struct_param,
            Kind::SizeCast(n) => size.contains(n),
            Kind::CrossEntropy(_, l) => labels.contains(l),
            _ => true,
        })
    };
    let owned = |e: &Expr| !e.ty.is_array() || !(is_view(e) || is_place(e));
    for stmt in &program.body {
        match stmt {
            Stmt::Let {
                name,
                mutable,
                expr,
            } => {
                if !reads_ok(expr, &env) || !owned(expr) {
                    return false;
                }
                env.insert(
                    name.clone(),
                    Seen {
                        ty: expr.ty,
                        by_ref: false,
                        mutable: *mutable,
                    },
                );
            }
            Stmt::SetElement {
                name, index, expr, ..
            } => {
                let Some(target) = env.get(name).copied() else {
                    return false;
                };
                let fits = match target.ty {
                    Ty::Vector(n) => matches!(index.as_slice(), [i] if *i < n),
                    Ty::Matrix(r, c) => matches!(index.as_slice(), [i, j] if *i < r && *j < c),
                    Ty::Scalar => false,
                };
                if !target.mutable || !fits || expr.ty != Ty::Scalar || !reads_ok(expr, &env) {
                    return false;
                }
            }
            Stmt::Assign { name, op, expr } => {
                let Some(target) = env.get(name).copied() else {
                    return false;
                };
                let fits = match op {
                    None => expr.ty == target.ty && owned(expr),
                    Some(_) => {
                        (expr.ty == target.ty || expr.ty == Ty::Scalar)
                            && !crate::generate::borrows(expr, name)
                    }
                };
                if !target.mutable || !fits || !reads_ok(expr, &env) {
                    return false;
                }
            }
            Stmt::Move { name, from, ty } => {
                match env.remove(from) {
                    Some(s) if s.ty == *ty && !s.by_ref => {}
                    _ => return false,
                }
                env.insert(
                    name.clone(),
                    Seen {
                        ty: *ty,
                        by_ref: false,
                        mutable: false,
                    },
                );
            }
        }
    }
    !program.result.is_empty() && program.result.iter().all(|e| reads_ok(e, &env) && owned(e))
}
