//! Smaller programs from a failing one: drop a statement (at any depth), a result, a
//! parameter or an option; drop a branch's arm or keep one arm's statements in its place;
//! replace a loop by its body run once; give a loop fewer iterations (a smaller end, no
//! `..=`, `.rev()`, `.step_by()`, a lower limit, no condition); simplify a condition or a
//! pattern; replace an expression by one of its operands of the same type or by a leaf.
//! Candidates that would not compile as plain Rust (a read of a dropped binding, a borrowed
//! view where an owned array is needed, an index out of its array, `break` outside a loop)
//! are left out, so a shrunk failure is still the macro's fault.

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
    for b in 0..block_count(&program.body) {
        let block = block_at(&program.body, b);
        for (s, stmt) in block.iter().enumerate() {
            let mut replacements = vec![Vec::new()];
            replacements.extend(simpler_statements(stmt));
            for replacement in replacements {
                let mut p = program.clone();
                block_at_mut(&mut p.body, b).splice(s..s + 1, replacement);
                push(p);
            }
        }
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
    // Expression simplifications, at every node of every expression, conditions included.
    let roots = program.exprs();
    for (slot, root) in roots.iter().enumerate() {
        for node in 0..root.nodes() {
            for replacement in replacements(program, node_at(root, node)) {
                let mut p = program.clone();
                if let Some(target) = p.exprs_mut().into_iter().nth(slot) {
                    *node_at_mut(target, node) = replacement;
                    push(p);
                }
            }
        }
    }
    out.sort_by_key(Program::size);
    out
}

/// The number of blocks: the body, and every arm and loop body inside it.
fn block_count(body: &[Stmt]) -> usize {
    1 + body
        .iter()
        .flat_map(Stmt::blocks)
        .map(|b| block_count(b))
        .sum::<usize>()
}

/// The block with pre-order index `k` (0 is `body` itself).
fn block_at(body: &Vec<Stmt>, k: usize) -> &Vec<Stmt> {
    fn walk<'b>(body: &'b Vec<Stmt>, k: &mut usize) -> Option<&'b Vec<Stmt>> {
        if *k == 0 {
            return Some(body);
        }
        *k -= 1;
        body.iter()
            .flat_map(Stmt::blocks)
            .find_map(|inner| walk(inner, k))
    }
    walk(body, &mut { k }).expect("a block in range")
}

fn block_at_mut(body: &mut Vec<Stmt>, k: usize) -> &mut Vec<Stmt> {
    fn walk<'b>(body: &'b mut Vec<Stmt>, k: &mut usize) -> Option<&'b mut Vec<Stmt>> {
        if *k == 0 {
            return Some(body);
        }
        *k -= 1;
        for stmt in body.iter_mut() {
            for inner in stmt.blocks_mut() {
                if let Some(found) = walk(inner, k) {
                    return Some(found);
                }
            }
        }
        None
    }
    walk(body, &mut { k }).expect("a block in range")
}

/// The statements that may stand for `stmt`: a branch without one of its arms, or one arm's
/// statements (and the variable it defined, from that arm's value); a loop's body run once,
/// or the loop with fewer iterations; simpler conditions and patterns.
fn simpler_statements(stmt: &Stmt) -> Vec<Vec<Stmt>> {
    let mut out: Vec<Vec<Stmt>> = Vec::new();
    match stmt {
        Stmt::Branch { head, arms, bind } => {
            for j in 0..arms.len() {
                let mut arms_left = arms.clone();
                arms_left.remove(j);
                if !arms_left.is_empty() {
                    out.push(vec![Stmt::Branch {
                        head: head.clone(),
                        arms: arms_left,
                        bind: bind.clone(),
                    }]);
                }
                let arm = &arms[j];
                let mut inline = arm.body.clone();
                if let (Some(b), Some(value)) = (bind, &arm.value) {
                    inline.push(Stmt::Let {
                        name: b.name.clone(),
                        mutable: false,
                        expr: value.clone(),
                    });
                }
                out.push(inline);
                let tests: Vec<Test> = match &arm.test {
                    Test::If(c) => simpler_conds(c).into_iter().map(Test::If).collect(),
                    Test::Pat(Pat::Or(ks)) => vec![Test::Pat(Pat::Lit(ks[0]))],
                    Test::Pat(Pat::Range(a, _)) => vec![Test::Pat(Pat::Lit(*a))],
                    _ => vec![],
                };
                for test in tests {
                    let mut simpler = arms.clone();
                    simpler[j].test = test;
                    out.push(vec![Stmt::Branch {
                        head: head.clone(),
                        arms: simpler,
                        bind: bind.clone(),
                    }]);
                }
            }
            if let Some(b) = bind.as_ref().filter(|b| b.late) {
                let bind = Some(Bind {
                    late: false,
                    ..b.clone()
                });
                out.push(vec![Stmt::Branch {
                    head: head.clone(),
                    arms: arms.clone(),
                    bind,
                }]);
            }
        }
        Stmt::For { var, range, body } => {
            let mut once = body.clone();
            if let Some(v) = var {
                for s in once.iter_mut() {
                    s.ints_mut(&mut |i| {
                        if matches!(i, IntExpr::Var(n) if n == v) {
                            *i = range.start.clone();
                        }
                    });
                }
            }
            strip_jumps(&mut once);
            out.push(once);
            let mut fewer = Vec::new();
            if range.inclusive {
                fewer.push(Range {
                    inclusive: false,
                    ..range.clone()
                });
            }
            if range.rev {
                fewer.push(Range {
                    rev: false,
                    ..range.clone()
                });
            }
            if range.step.is_some() {
                fewer.push(Range {
                    step: None,
                    ..range.clone()
                });
            }
            if range.start != IntExpr::Lit(0) {
                fewer.push(Range {
                    start: IntExpr::Lit(0),
                    ..range.clone()
                });
            }
            match range.end {
                IntExpr::Lit(k) if k > 0 => fewer.push(Range {
                    end: IntExpr::Lit(k - 1),
                    ..range.clone()
                }),
                IntExpr::Lit(_) => {}
                _ => fewer.extend((1..3).map(|k| Range {
                    end: IntExpr::Lit(k),
                    ..range.clone()
                })),
            }
            for range in fewer {
                out.push(vec![Stmt::For {
                    var: var.clone(),
                    range,
                    body: body.clone(),
                }]);
            }
            if var.is_some() {
                out.push(vec![Stmt::For {
                    var: None,
                    range: range.clone(),
                    body: body.clone(),
                }]);
            }
        }
        Stmt::While {
            counter,
            limit,
            cond,
            body,
        } => {
            let mut once = body.clone();
            strip_jumps(&mut once);
            out.push(once);
            let mut variants: Vec<(usize, Option<Cond>)> = Vec::new();
            if *limit > 1 {
                variants.push((limit - 1, cond.clone()));
                variants.push((1, cond.clone()));
            }
            if let Some(c) = cond {
                variants.push((*limit, None));
                variants.extend(simpler_conds(c).into_iter().map(|c| (*limit, Some(c))));
            }
            for (limit, cond) in variants {
                out.push(vec![Stmt::While {
                    counter: counter.clone(),
                    limit,
                    cond,
                    body: body.clone(),
                }]);
            }
        }
        Stmt::Loop {
            counter,
            limit,
            body,
        } => {
            let mut once = body.clone();
            strip_jumps(&mut once);
            out.push(once);
            if *limit > 1 {
                for limit in [limit - 1, 1] {
                    out.push(vec![Stmt::Loop {
                        counter: counter.clone(),
                        limit,
                        body: body.clone(),
                    }]);
                }
            }
        }
        _ => {}
    }
    out
}

/// The operands of `&&` and `||`, and the condition under `!`.
fn simpler_conds(c: &Cond) -> Vec<Cond> {
    match c {
        Cond::And(a, b) | Cond::Or(a, b) => vec![(**a).clone(), (**b).clone()],
        Cond::Not(a) => vec![(**a).clone()],
        _ => vec![],
    }
}

/// Removes the `break` and `continue` of this loop body (not those of loops inside it).
fn strip_jumps(body: &mut Vec<Stmt>) {
    body.retain(|s| !matches!(s, Stmt::Break | Stmt::Continue));
    for s in body.iter_mut() {
        if let Stmt::Branch { arms, .. } = s {
            for arm in arms {
                strip_jumps(&mut arm.body);
            }
        }
    }
}

/// The node with pre-order index `k`.
fn node_at(e: &Expr, k: usize) -> &Expr {
    fn walk<'e>(e: &'e Expr, k: &mut usize) -> Option<&'e Expr> {
        if *k == 0 {
            return Some(e);
        }
        *k -= 1;
        e.children().into_iter().find_map(|c| walk(c, k))
    }
    walk(e, &mut { k }).expect("in range")
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

/// Simpler expressions of the same type: its operands, a literal, a parameter; an element
/// read at index 0.
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
    if let Kind::Index(a, index) = &e.kind {
        if index.iter().any(|i| *i != IntExpr::Lit(0)) {
            out.push(Expr {
                kind: Kind::Index(a.clone(), vec![IntExpr::Lit(0); index.len()]),
                ..e.clone()
            });
        }
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
    /// The block depth of its declaration: only a block's own bindings may be moved in it.
    depth: usize,
}

fn is_place(e: &Expr) -> bool {
    matches!(e.kind, Kind::Var { .. } | Kind::Field(_))
}

fn owned(e: &Expr) -> bool {
    !e.ty.is_array() || !(is_view(e) || is_place(e))
}

/// The scope as the checker walks the program.
#[derive(Clone)]
struct Checker {
    env: HashMap<String, Seen>,
    /// Integer variables with their smallest and largest values.
    ints: HashMap<String, (usize, usize)>,
    labels: Vec<String>,
    size: Vec<String>,
    struct_param: bool,
    depth: usize,
    /// `break` and `continue` may stand here.
    jumps: bool,
}

/// Whether `program` is valid Rust as the renderer writes it: every name read is bound with
/// the type and passing the read expects, moved arrays are not read again (nor moved out of
/// an outer block), assigned variables are `mut`, bindings and results of arrays hold owned
/// values, every index is within its array, `break` and `continue` stand in loops (not in
/// an arm with a value), `if` values have an `else` and `match`es end with `_`.
pub fn valid(program: &Program) -> bool {
    let mut c = Checker {
        env: HashMap::new(),
        ints: HashMap::new(),
        labels: Vec::new(),
        size: Vec::new(),
        struct_param: false,
        depth: 0,
        jumps: false,
    };
    let seen = |ty: Ty, by_ref: bool, mutable: bool| Seen {
        ty,
        by_ref,
        mutable,
        depth: 0,
    };
    for p in &program.params {
        match &p.kind {
            ParamKind::Diff { ty, pass, mutable } => {
                let by_ref = ty.is_array() && *pass == Pass::Ref;
                c.env.insert(p.name.clone(), seen(*ty, by_ref, *mutable));
            }
            ParamKind::Const(_) => {
                c.env.insert(p.name.clone(), seen(Ty::Scalar, false, false));
            }
            ParamKind::Data(ty, _) => {
                c.env.insert(p.name.clone(), seen(*ty, true, false));
            }
            ParamKind::Struct => c.struct_param = true,
            ParamKind::Size(v) => {
                c.size.push(p.name.clone());
                c.ints.insert(p.name.clone(), (*v, *v));
            }
            ParamKind::Labels(_) => c.labels.push(p.name.clone()),
        }
    }
    if !program.params.iter().any(Param::is_differentiated)
        || (program.hessian
            && (!program.scalar_result() || program.calls_custom() || c.struct_param))
    {
        return false;
    }
    c.block(&program.body)
        && !program.result.is_empty()
        && program.result.iter().all(|e| c.reads_ok(e) && owned(e))
}

impl Checker {
    fn reads_ok(&self, e: &Expr) -> bool {
        let here = match &e.kind {
            Kind::Var { name, by_ref } => self
                .env
                .get(name)
                .is_some_and(|s| s.ty == e.ty && s.by_ref == *by_ref),
            // The custom functions take `&Array1<f64>`: an owned temporary, never a place.
            Kind::Custom(_, a) => !a.ty.is_array() || !(is_view(a) || is_place(a)),
            Kind::Field(_) => self.struct_param,
            Kind::SizeCast(n) => self.size.contains(n),
            Kind::CrossEntropy(_, l) => self.labels.contains(l),
            Kind::IntCast(i) => self.range_of(i, false).is_some(),
            Kind::Index(a, index) => {
                let dims = match a.ty {
                    Ty::Vector(n) => vec![n],
                    Ty::Matrix(r, c) => vec![r, c],
                    Ty::Scalar => vec![],
                };
                dims.len() == index.len()
                    && dims
                        .iter()
                        .zip(index)
                        .all(|(&n, i)| self.range_of(i, false).is_some_and(|(_, hi)| hi < n))
            }
            // Loop indices in a view's bounds stay within the array.
            Kind::View(View::Window(start, n), a) => {
                let hi = self.range_of(start, false).map(|(_, hi)| hi + n);
                matches!((a.ty, hi), (Ty::Vector(m), Some(hi)) if hi <= m)
            }
            Kind::View(View::IndexAxis(k, i), a) => {
                let len = match a.ty {
                    Ty::Matrix(r, c) => [r, c][*k],
                    Ty::Vector(n) => n,
                    Ty::Scalar => 0,
                };
                self.range_of(i, false).is_some_and(|(_, hi)| hi < len)
            }
            _ => true,
        };
        here && e.children().iter().all(|c| self.reads_ok(c))
    }

    /// The smallest and largest values of an integer expression, if it is valid here (casts
    /// of values only where `casts` allows them).
    fn range_of(&self, i: &IntExpr, casts: bool) -> Option<(usize, usize)> {
        match i {
            IntExpr::Lit(k) => Some((*k, *k)),
            IntExpr::Var(n) => self.ints.get(n).copied(),
            IntExpr::Len(name, dim) => match (self.env.get(name)?.ty, dim) {
                (Ty::Vector(n), Dim::Len) | (Ty::Matrix(n, _), Dim::Rows) => Some((n, n)),
                (Ty::Matrix(_, c), Dim::Cols) => Some((c, c)),
                _ => None,
            },
            IntExpr::Add(a, b) => {
                let (a, b) = (self.range_of(a, casts)?, self.range_of(b, casts)?);
                Some((a.0 + b.0, a.1 + b.1))
            }
            IntExpr::Rem(a, k) => {
                let (lo, hi) = self.range_of(a, casts)?;
                match (*k > 0, hi < *k) {
                    (false, _) => None,
                    (true, true) => Some((lo, hi)),
                    (true, false) => Some((0, k - 1)),
                }
            }
            IntExpr::Cast(e) => {
                (casts && e.ty == Ty::Scalar && self.reads_ok(e)).then_some((0, 1 << 20))
            }
        }
    }

    fn cond_ok(&self, c: &Cond) -> bool {
        match c {
            Cond::Value(_, a, b) => {
                a.ty == Ty::Scalar && b.ty == Ty::Scalar && self.reads_ok(a) && self.reads_ok(b)
            }
            Cond::Int(_, a, b) => {
                self.range_of(a, true).is_some() && self.range_of(b, true).is_some()
            }
            Cond::IsNan(e) => e.ty == Ty::Scalar && self.reads_ok(e),
            Cond::And(a, b) | Cond::Or(a, b) => self.cond_ok(a) && self.cond_ok(b),
            Cond::Not(a) => self.cond_ok(a),
        }
    }

    /// `body` as a block of its own (its bindings end with it), then `value` read in it.
    fn scoped(
        &mut self,
        body: &[Stmt],
        setup: impl FnOnce(&mut Checker),
        value: Option<&Expr>,
    ) -> bool {
        let saved = self.clone();
        self.depth += 1;
        setup(self);
        let ok = self.block(body) && value.map_or(true, |v| self.reads_ok(v));
        *self = saved;
        ok
    }

    fn declare(&mut self, name: &str, ty: Ty, mutable: bool) {
        self.ints.remove(name);
        self.env.insert(
            name.to_string(),
            Seen {
                ty,
                by_ref: false,
                mutable,
                depth: self.depth,
            },
        );
    }

    /// A variable that is an integer from here on (a loop index, a counter).
    fn declare_int(&mut self, name: &str, range: (usize, usize)) {
        self.env.remove(name);
        self.ints.insert(name.to_string(), range);
    }

    fn block(&mut self, body: &[Stmt]) -> bool {
        body.iter().all(|s| self.stmt(s))
    }

    fn stmt(&mut self, stmt: &Stmt) -> bool {
        match stmt {
            Stmt::Let {
                name,
                mutable,
                expr,
            } => {
                if !self.reads_ok(expr) || !owned(expr) {
                    return false;
                }
                self.declare(name, expr.ty, *mutable);
                true
            }
            Stmt::Assign { name, op, expr } => {
                let Some(target) = self.env.get(name).copied() else {
                    return false;
                };
                let fits = match op {
                    None => expr.ty == target.ty && owned(expr),
                    Some(_) => {
                        (expr.ty == target.ty || expr.ty == Ty::Scalar)
                            && !crate::generate::borrows(expr, name)
                    }
                };
                target.mutable && fits && self.reads_ok(expr)
            }
            Stmt::Move { name, from, ty } => {
                match self.env.remove(from) {
                    Some(s) if s.ty == *ty && !s.by_ref && s.depth == self.depth => {}
                    _ => return false,
                }
                self.declare(name, *ty, false);
                true
            }
            Stmt::SetIndex {
                name, index, expr, ..
            } => {
                let Some(target) = self.env.get(name).copied() else {
                    return false;
                };
                let dims = match target.ty {
                    Ty::Vector(n) => vec![n],
                    Ty::Matrix(r, c) => vec![r, c],
                    Ty::Scalar => return false,
                };
                target.mutable
                    && !target.by_ref
                    && dims.len() == index.len()
                    && dims
                        .iter()
                        .zip(index)
                        .all(|(&n, i)| self.range_of(i, false).is_some_and(|(_, hi)| hi < n))
                    && expr.ty == Ty::Scalar
                    && self.reads_ok(expr)
            }
            Stmt::Break | Stmt::Continue => self.jumps,
            Stmt::Branch { head, arms, bind } => self.branch(head, arms, bind.as_ref()),
            Stmt::For { var, range, body } => {
                let (Some((lo, _)), Some((_, end))) = (
                    self.range_of(&range.start, false),
                    self.range_of(&range.end, false),
                ) else {
                    return false;
                };
                let hi = match range.inclusive {
                    true => end,
                    false => end.saturating_sub(1),
                };
                if range.step == Some(0) {
                    return false;
                }
                self.scoped(
                    body,
                    |c| {
                        c.jumps = true;
                        if let Some(v) = var {
                            c.declare_int(v, (lo, hi));
                        }
                    },
                    None,
                )
            }
            Stmt::While {
                counter,
                cond,
                body,
                ..
            } => {
                self.declare_int(counter, (0, usize::MAX));
                if cond.as_ref().is_some_and(|c| !self.cond_ok(c)) {
                    return false;
                }
                self.scoped(body, |c| c.jumps = true, None)
            }
            Stmt::Loop { counter, body, .. } => {
                self.declare_int(counter, (0, usize::MAX));
                self.scoped(body, |c| c.jumps = true, None)
            }
        }
    }

    fn branch(&mut self, head: &Head, arms: &[Arm], bind: Option<&Bind>) -> bool {
        let Some(last) = arms.last() else {
            return false;
        };
        let tests_ok = match head {
            Head::If => {
                matches!(arms[0].test, Test::If(_))
                    && arms.iter().enumerate().all(|(k, arm)| match &arm.test {
                        Test::If(c) => self.cond_ok(c),
                        Test::Else => k + 1 == arms.len(),
                        Test::Pat(_) => false,
                    })
                    && (bind.is_none() || last.test == Test::Else)
            }
            Head::Match(scrutinee) => {
                self.range_of(scrutinee, true).is_some()
                    && matches!(last.test, Test::Pat(Pat::Wild | Pat::Bind(_)))
                    && arms.iter().all(|arm| match &arm.test {
                        Test::Pat(Pat::Range(a, b)) => a <= b,
                        Test::Pat(Pat::Or(ks)) => !ks.is_empty(),
                        Test::Pat(_) => true,
                        _ => false,
                    })
            }
        };
        if !tests_ok {
            return false;
        }
        // The range a name bound by a `match` arm holds: the scrutinee's.
        let scrutinee_range = match head {
            Head::Match(scrutinee) => self.range_of(scrutinee, true),
            Head::If => None,
        };
        for arm in arms {
            let value_ok = match (bind, &arm.value) {
                (None, None) => true,
                (Some(b), Some(v)) => v.ty == b.ty && owned(v),
                _ => false,
            };
            if !value_ok {
                return false;
            }
            let ok = self.scoped(
                &arm.body,
                |c| {
                    if bind.is_some() {
                        // A block that may `break` cannot also give a value.
                        c.jumps = false;
                    }
                    if let (Test::Pat(Pat::Bind(name)), Some(range)) = (&arm.test, scrutinee_range)
                    {
                        c.declare_int(name, range);
                    }
                },
                arm.value.as_ref(),
            );
            if !ok {
                return false;
            }
        }
        if let Some(b) = bind {
            self.declare(&b.name, b.ty, false);
        }
        true
    }
}
