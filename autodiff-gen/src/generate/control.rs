//! Branches and loops: `if`/`else if`/`else` and `match` as statements and as values
//! (`let v = if …`, `let v; if … { v = … }`), `for` over literal, parameter and shape ranges
//! (`..=`, `.rev()`, `.step_by(2)`, triangular `(i + 1)..n`), `while` with a counter and a
//! condition on values, `loop` with `break`, `break` and `continue` under conditions, element
//! reads at loop indices and element writes.
//!
//! Values stay bounded across iterations: on entering a loop, every variable it may assign
//! gets a cap (its bound plus two per iteration); inside, a plain assignment is squashed when
//! its bound is above the cap, `*=` takes a factor of at most 1, and `+=`/`-=` (at most twice
//! per variable and loop) an increment of at most 1.

use super::*;

/// The chance that a statement of the function's body is a branch or a loop.
pub(super) const TOP_LEVEL: f64 = 0.25;
/// The chance that a program with control flow (and a scalar result) has `hessian`.
pub(super) const HESSIAN: f64 = 0.15;
/// Blocks nest at most this deep (a loop in a loop, a branch in a loop).
const MAX_DEPTH: usize = 2;

/// How large a variable carried by a loop may grow.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Cap {
    limit: f64,
    /// The loop (by nesting level) that carries it: only its own body may add to it.
    level: usize,
    /// `+=` and `-=` left.
    increments: usize,
}

/// An integer variable in scope.
#[derive(Clone, Debug)]
pub(super) struct IntVar {
    pub name: String,
    pub lo: usize,
    pub hi: usize,
    /// A loop index's range end and its largest value, for a triangular inner loop.
    pub end: Option<(IntExpr, usize)>,
    /// A loop index (not the size parameter).
    pub index: bool,
}

/// What ends a loop besides its range or counter.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Exit {
    None,
    /// The `while` condition.
    While,
    /// `if cond { break; }` somewhere in the body.
    Break,
}

/// What to restore when a block ends.
struct Scope {
    env: usize,
    scope: usize,
    ints: usize,
    jumps: bool,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn var(b: &Binding) -> Expr {
    node(
        b.ty,
        b.bound,
        Kind::Var {
            name: b.name.clone(),
            by_ref: b.by_ref,
        },
    )
}

impl Generator<'_> {
    fn enter(&mut self) -> Scope {
        let saved = Scope {
            env: self.env.len(),
            scope: self.scope,
            ints: self.ints.len(),
            jumps: self.jumps,
        };
        self.scope = self.env.len();
        self.depth += 1;
        saved
    }

    /// Forgets the block's own bindings. Bindings declared before it are neither removed nor
    /// moved inside it (only the block's own may be shadowed or moved), so they keep their
    /// places in `env`.
    fn exit(&mut self, saved: Scope) {
        self.env.truncate(saved.env);
        self.scope = saved.scope;
        self.ints.truncate(saved.ints);
        self.jumps = saved.jumps;
        self.depth -= 1;
    }

    /// A branch or a loop, appended to `body` after the `let mut` it assigns when it needs
    /// a new one.
    pub(super) fn control(&mut self, body: &mut Vec<Stmt>) {
        let roll = self.rng.below(20);
        let in_loop = self.loops > 0;
        match roll {
            0..=4 => self.branch(body, false),
            5..=7 => self.branch(body, true),
            8..=9 if in_loop => self.branch(body, false),
            8..=13 => self.for_loop(body),
            14..=15 => self.while_loop(body),
            16..=17 => self.loop_with_break(body),
            _ => self.for_loop(body),
        }
    }

    /// Bindings declared before the current block that it may assign.
    fn targets(&self) -> Vec<usize> {
        (0..self.scope)
            .filter(|&i| self.env[i].mutable && !self.env[i].field)
            .collect()
    }

    /// A `let mut` for a branch or a loop to assign: one already in scope, or a new one.
    fn ensure_target(&mut self, body: &mut Vec<Stmt>, ty: Option<Ty>) -> String {
        let candidates: Vec<String> = self
            .env
            .iter()
            .filter(|b| b.mutable && !b.field && ty.map_or(true, |t| b.ty == t))
            .map(|b| b.name.clone())
            .collect();
        if !candidates.is_empty() && self.rng.chance(0.5) {
            return self.rng.pick(&candidates).clone();
        }
        let ty = ty.unwrap_or_else(|| self.any_type());
        let expr = if ty == Ty::Scalar && self.rng.chance(0.3) {
            lit(0.0)
        } else {
            self.owned_expr(ty, 2)
        };
        let name = self.name("acc");
        let bound = expr.bound;
        body.push(Stmt::Let {
            name: name.clone(),
            mutable: true,
            expr,
        });
        self.bind(&name, ty, false, bound);
        self.mark_movable(&name);
        if let Some(b) = self.env.last_mut() {
            b.mutable = true;
        }
        name
    }

    /// Moves a binding of the current block to the end of `env`, so that the expressions
    /// after a branch or a loop read what it computed.
    fn touch(&mut self, name: &str) {
        if let Some(i) = self.env.iter().rposition(|b| b.name == name) {
            if i >= self.scope {
                let b = self.env.remove(i);
                self.env.push(b);
            }
        }
    }

    /// The statements of an arm or a loop body: assignments of the variables declared
    /// before the block (first of `first`), locals, nested branches and loops, and in a loop
    /// `break` and `continue` under conditions.
    fn block_statements(&mut self, body: &mut Vec<Stmt>, count: usize, first: Option<&str>) {
        if let Some(name) = first {
            if let Some(i) = self.env[..self.scope]
                .iter()
                .rposition(|b| b.name == name && b.mutable)
            {
                let s = self.update(i);
                body.push(s);
            }
        }
        for _ in 0..count {
            let targets = self.targets();
            let roll = self.rng.unit();
            if roll < 0.35 && !targets.is_empty() {
                let i = *self.rng.pick(&targets);
                let s = self.update(i);
                body.push(s);
            } else if roll < 0.5 && self.jumps {
                let s = self.jump();
                body.push(s);
            } else if roll < 0.65 && self.depth < MAX_DEPTH {
                self.control(body);
            } else {
                self.statement(body);
            }
        }
    }

    /// An assignment of the outer binding `env[i]`, within its cap when a loop carries it.
    fn update(&mut self, i: usize) -> Stmt {
        let b = self.env[i].clone();
        let ty = b.ty;
        let cap = b.cap;
        if ty.is_array() && self.rng.chance(0.3) {
            return self.set_index(i);
        }
        let grows = cap.map_or(true, |c| c.level == self.loops && c.increments > 0);
        let mut ops = vec![None, None, Some(BinOp::Mul)];
        if grows {
            ops.extend([Some(BinOp::Add), Some(BinOp::Add), Some(BinOp::Sub)]);
        }
        if cap.is_none() {
            ops.push(Some(BinOp::Div));
        }
        let op = *self.rng.pick(&ops);
        let (expr, bound) = match op {
            None => {
                let mut e = if self.rng.chance(0.6) {
                    self.recurrence(&b)
                } else {
                    self.owned_expr(ty, 2)
                };
                if cap.is_some_and(|c| e.bound > c.limit) {
                    e = self.squash(e);
                }
                let bound = e.bound;
                (e, bound)
            }
            Some(op) => {
                let rhs_ty = match ty.is_array() && self.rng.chance(0.3) {
                    true => Ty::Scalar,
                    false => ty,
                };
                let mut rhs = self.expr(rhs_ty, 2);
                rhs = match op {
                    BinOp::Div => self.positive(rhs),
                    BinOp::Mul if cap.is_some() => self.squash_above(rhs, 1.0),
                    BinOp::Mul => self.squash_above(rhs, 2.0),
                    _ if cap.is_some() => self.squash_above(rhs, 1.0),
                    _ => rhs,
                };
                if borrows(&rhs, &b.name) {
                    let bound = rhs.bound;
                    rhs = node(rhs.ty, bound, Kind::Copy(Copying::ToOwned, Box::new(rhs)));
                }
                let bound = match op {
                    BinOp::Add | BinOp::Sub => b.bound + rhs.bound,
                    BinOp::Mul => b.bound * rhs.bound,
                    BinOp::Div => b.bound * 2.0,
                };
                (rhs, bound)
            }
        };
        self.assigned(i, matches!(op, Some(BinOp::Add | BinOp::Sub)), bound);
        Stmt::Assign {
            name: b.name,
            op,
            expr,
        }
    }

    /// Records an assignment of `env[i]`: its new bound, or its cap's.
    fn assigned(&mut self, i: usize, increment: bool, bound: f64) {
        let b = &mut self.env[i];
        match &mut b.cap {
            Some(c) => {
                if increment {
                    c.increments = c.increments.saturating_sub(1);
                }
                b.bound = c.limit;
            }
            None => b.bound = bound.min(1e12),
        }
    }

    /// `q[i] op= e` on the local array `env[i]`.
    fn set_index(&mut self, i: usize) -> Stmt {
        let b = self.env[i].clone();
        let cap = b.cap;
        let index = match b.ty {
            Ty::Vector(n) => vec![self.index_below(n)],
            Ty::Matrix(r, c) => vec![self.index_below(r), self.index_below(c)],
            Ty::Scalar => unreachable!("an array"),
        };
        let grows = cap.map_or(true, |c| c.level == self.loops && c.increments > 0);
        let mut ops = vec![None, None, Some(BinOp::Mul)];
        if grows {
            ops.extend([Some(BinOp::Add), Some(BinOp::Sub)]);
        }
        let op = *self.rng.pick(&ops);
        let mut e = self.expr(Ty::Scalar, 2);
        e = match op {
            None if cap.is_some_and(|c| e.bound > c.limit) => self.squash(e),
            Some(BinOp::Mul) => self.squash_above(e, 1.0),
            Some(_) if cap.is_some() => self.squash_above(e, 1.0),
            _ => e,
        };
        let bound = match op {
            None => b.bound.max(e.bound),
            Some(BinOp::Mul) => b.bound,
            _ => b.bound + e.bound,
        };
        self.assigned(i, matches!(op, Some(BinOp::Add | BinOp::Sub)), bound);
        Stmt::SetIndex {
            name: b.name,
            index,
            op,
            expr: e,
        }
    }

    /// A new value of `b` computed from its old one: `h = (w.dot(&h) + &u).tanh()`,
    /// `acc * x + 0.5`, squashed more often than not.
    fn recurrence(&mut self, b: &Binding) -> Expr {
        let ty = b.ty;
        let old = var(b);
        let inner = match ty {
            Ty::Vector(n) if self.pool.contains(&Ty::Matrix(n, n)) && self.rng.chance(0.5) => {
                let m = self.expr(Ty::Matrix(n, n), 1);
                let m = self.squash_above(m, 2.0);
                let old = self.squash_above(old, 5.0);
                let dot = node(
                    ty,
                    m.bound * old.bound * n as f64,
                    Kind::Dot(Box::new(m), Box::new(old)),
                );
                let other = self.expr(ty, 1);
                let bound = dot.bound + other.bound;
                node(
                    ty,
                    bound,
                    Kind::Binary(BinOp::Add, Box::new(dot), Box::new(other)),
                )
            }
            _ => {
                let op = *self.rng.pick(&[BinOp::Add, BinOp::Sub, BinOp::Mul]);
                let other_ty = match ty.is_array() && self.rng.chance(0.4) {
                    true => Ty::Scalar,
                    false => ty,
                };
                let other = self.expr(other_ty, 1);
                let (old, other, bound) = match op {
                    BinOp::Mul => {
                        let old = self.squash_above(old, 30.0);
                        let other = self.squash_above(other, 30.0);
                        let bound = old.bound * other.bound;
                        (old, other, bound)
                    }
                    _ => {
                        let bound = old.bound + other.bound;
                        (old, other, bound)
                    }
                };
                node(ty, bound, Kind::Binary(op, Box::new(old), Box::new(other)))
            }
        };
        if self.rng.chance(0.6) {
            self.squash(inner)
        } else {
            inner
        }
    }

    /// `if c { break; }` or `if c { continue; }`, now and then after an assignment.
    fn jump(&mut self) -> Stmt {
        let test = Test::If(self.cond());
        let s = self.enter();
        let mut body = Vec::new();
        let targets = self.targets();
        if !targets.is_empty() && self.rng.chance(0.3) {
            let i = *self.rng.pick(&targets);
            let u = self.update(i);
            body.push(u);
        }
        self.exit(s);
        body.push(match self.rng.chance(0.5) {
            true => Stmt::Break,
            false => Stmt::Continue,
        });
        Stmt::Branch {
            head: Head::If,
            arms: vec![Arm {
                test,
                body,
                value: None,
            }],
            bind: None,
        }
    }

    /// An index below `n`: a loop index whose range fits, `i % n`, `i + 1`, or a literal.
    pub(super) fn index_below(&mut self, n: usize) -> IntExpr {
        let indices: Vec<IntVar> = self.ints.iter().filter(|v| v.index).cloned().collect();
        if !indices.is_empty() && self.rng.chance(0.85) {
            let v = self.rng.pick(&indices).clone();
            let at = IntExpr::Var(v.name.clone());
            if v.hi < n {
                if v.hi + 1 < n && self.rng.chance(0.15) {
                    return IntExpr::Add(Box::new(at), Box::new(IntExpr::Lit(1)));
                }
                return at;
            }
            if n >= 2 {
                let k = match n > 2 && self.rng.chance(0.5) {
                    true => n,
                    false => 2,
                };
                return IntExpr::Rem(Box::new(at), k);
            }
        }
        IntExpr::Lit(self.rng.below(n))
    }

    /// An element of an array variable at loop indices, `x[i]`, `m[[i, j % 2]]`.
    pub(super) fn element(&mut self) -> Option<Expr> {
        let arrays: Vec<Binding> = self
            .env
            .iter()
            .filter(|b| b.ty.is_array())
            .cloned()
            .collect();
        let b = self.pick_or_none(&arrays)?.clone();
        let index = match b.ty {
            Ty::Vector(n) => vec![self.index_below(n)],
            Ty::Matrix(r, c) => vec![self.index_below(r), self.index_below(c)],
            Ty::Scalar => return None,
        };
        let a = match b.field {
            true => node(b.ty, b.bound, Kind::Field(b.name.clone())),
            false => var(&b),
        };
        Some(node(Ty::Scalar, b.bound, Kind::Index(Box::new(a), index)))
    }

    /// `(i as f64)` of a loop index, or `(x.len() as f64)` of an array.
    pub(super) fn int_cast(&mut self) -> Option<Expr> {
        if !self.features.control || !self.rng.chance(0.2) {
            return None;
        }
        let indices: Vec<IntVar> = self.ints.iter().filter(|v| v.index).cloned().collect();
        if !indices.is_empty() && self.rng.chance(0.8) {
            let v = self.rng.pick(&indices).clone();
            let bound = v.hi.max(1) as f64;
            return Some(node(Ty::Scalar, bound, Kind::IntCast(IntExpr::Var(v.name))));
        }
        let (name, dim, size) = self.pick_or_none(&self.shapes())?.clone();
        Some(node(
            Ty::Scalar,
            size as f64,
            Kind::IntCast(IntExpr::Len(name, dim)),
        ))
    }

    /// The shape queries of the array variables in scope: `x.len()`, `m.nrows()`, `m.ncols()`.
    fn shapes(&self) -> Vec<(String, Dim, usize)> {
        let mut out = Vec::new();
        for b in self.env.iter().filter(|b| !b.field) {
            match b.ty {
                Ty::Vector(n) => out.push((b.name.clone(), Dim::Len, n)),
                Ty::Matrix(r, c) => {
                    out.push((b.name.clone(), Dim::Rows, r));
                    out.push((b.name.clone(), Dim::Cols, c));
                }
                Ty::Scalar => {}
            }
        }
        out
    }

    /// A scalar for a condition.
    fn cond_expr(&mut self, depth: u32) -> Expr {
        self.expr(Ty::Scalar, depth)
    }

    /// A condition: mostly a comparison of a value with a literal offset.
    fn cond(&mut self) -> Cond {
        let roll = self.rng.unit();
        if roll < 0.1 {
            Cond::And(Box::new(self.simple_cond()), Box::new(self.simple_cond()))
        } else if roll < 0.17 {
            Cond::Or(Box::new(self.simple_cond()), Box::new(self.simple_cond()))
        } else if roll < 0.22 {
            Cond::Not(Box::new(self.simple_cond()))
        } else {
            self.simple_cond()
        }
    }

    fn simple_cond(&mut self) -> Cond {
        let indices: Vec<IntVar> = self.ints.iter().filter(|v| v.index).cloned().collect();
        if !indices.is_empty() && self.rng.chance(0.25) {
            return self.int_cond(&indices);
        }
        if self.rng.chance(0.04) {
            let e = self.cond_expr(1);
            return Cond::Not(Box::new(Cond::IsNan(e)));
        }
        let depth = self.rng.below(3) as u32;
        let a = self.cond_expr(depth);
        self.compare(a)
    }

    /// `a op t` with `t` a literal inside `a`'s rough range (so both branches happen), or
    /// now and then another value.
    fn compare(&mut self, a: Expr) -> Cond {
        let op = *self.rng.pick(&[CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge]);
        let b = match self.rng.chance(0.2) {
            true => self.cond_expr(1),
            false => lit(0.0),
        };
        let b = match b.kind {
            Kind::Lit(_) => lit(round2(self.rng.uniform(-0.5, 0.5) * a.bound.min(2.0))),
            _ if b == a => lit(0.25),
            _ => b,
        };
        Cond::Value(op, a, b)
    }

    fn int_cond(&mut self, indices: &[IntVar]) -> Cond {
        let v = self.rng.pick(indices).clone();
        let at = IntExpr::Var(v.name.clone());
        match self.rng.below(3) {
            0 => Cond::Int(CmpOp::Eq, IntExpr::Rem(Box::new(at), 2), IntExpr::Lit(0)),
            1 => {
                let k = v.lo + self.rng.below(v.hi.saturating_sub(v.lo) + 1);
                let op = *self.rng.pick(&[
                    CmpOp::Lt,
                    CmpOp::Le,
                    CmpOp::Gt,
                    CmpOp::Ge,
                    CmpOp::Eq,
                    CmpOp::Ne,
                ]);
                Cond::Int(op, at, IntExpr::Lit(k))
            }
            _ => {
                let others: Vec<String> = self
                    .ints
                    .iter()
                    .filter(|w| w.name != v.name)
                    .map(|w| w.name.clone())
                    .collect();
                let other = match self.pick_or_none(&others) {
                    Some(w) => IntExpr::Var(w.clone()),
                    None => IntExpr::Lit(v.hi),
                };
                let op = *self.rng.pick(&[CmpOp::Lt, CmpOp::Eq, CmpOp::Ne, CmpOp::Gt]);
                Cond::Int(op, at, other)
            }
        }
    }

    /// What a `match` looks at, with its largest value: the size parameter, a loop index,
    /// `i % 3`, or a value cast to an integer.
    fn scrutinee(&mut self) -> (IntExpr, usize) {
        let mut options: Vec<(IntExpr, usize)> = Vec::new();
        for v in &self.ints {
            options.push((IntExpr::Var(v.name.clone()), v.hi));
            if v.index && v.hi >= 2 {
                let at = IntExpr::Var(v.name.clone());
                options.push((IntExpr::Rem(Box::new(at), 3), 2));
            }
        }
        if options.is_empty() || self.rng.chance(0.25) {
            let e = self.cond_expr(1);
            let e = node(Ty::Scalar, e.bound, Kind::Unary(Unary::Abs, Box::new(e)));
            let scale = *self.rng.pick(&[1.0, 1.5, 2.0]);
            let bound = e.bound * scale;
            let e = node(
                Ty::Scalar,
                bound,
                Kind::Binary(BinOp::Mul, Box::new(e), Box::new(lit(scale))),
            );
            let hi = (bound.min(4.0) as usize).max(2);
            return (IntExpr::Cast(Box::new(e)), hi);
        }
        self.rng.pick(&options).clone()
    }

    /// One to three patterns over `0..=hi + 1`, then `_` or, where `bindable`, a name bound
    /// to the scrutinee.
    fn patterns(&mut self, hi: usize, bindable: bool) -> Vec<Pat> {
        let mut out: Vec<Pat> = (0..1 + self.rng.below(3))
            .map(|_| match self.rng.below(3) {
                0 => Pat::Lit(self.rng.below(hi + 1)),
                1 => {
                    let a = self.rng.below(hi + 1);
                    Pat::Range(a, a + 1 + self.rng.below(2))
                }
                _ => {
                    let a = self.rng.below(hi + 1);
                    let b = (a + 1 + self.rng.below(2)).min(hi + 1);
                    match a == b {
                        true => Pat::Lit(a),
                        false => Pat::Or(vec![a, b]),
                    }
                }
            })
            .collect();
        out.push(match bindable && self.rng.chance(0.4) {
            true => Pat::Bind(self.name("n")),
            false => Pat::Wild,
        });
        out
    }

    /// An `if` chain or a `match`: a statement assigning outer variables, or with `value`
    /// the value of a new variable.
    fn branch(&mut self, body: &mut Vec<Stmt>, value: bool) {
        let target = (!value).then(|| self.ensure_target(body, None));
        // The largest value a name bound by the last arm may hold (a value cast to an
        // integer has no known bound).
        let mut bound_hi = 0;
        let (head, tests) = if self.rng.chance(0.3) {
            let (scrutinee, hi) = self.scrutinee();
            let bindable = !matches!(scrutinee, IntExpr::Cast(_));
            bound_hi = hi;
            let tests = self
                .patterns(hi, bindable)
                .into_iter()
                .map(Test::Pat)
                .collect();
            (Head::Match(scrutinee), tests)
        } else {
            let n = 1 + self.rng.chance(0.4) as usize;
            let mut tests: Vec<Test> = (0..n).map(|_| Test::If(self.cond())).collect();
            if value || self.rng.chance(0.6) {
                tests.push(Test::Else);
            }
            (Head::If, tests)
        };
        let ty = value.then(|| self.any_type());
        // Each arm starts from the bounds before the branch; after it, the largest holds.
        let before: Vec<f64> = self.env.iter().map(|b| b.bound).collect();
        let mut after = before.clone();
        let mut arms = Vec::new();
        let mut value_bound: f64 = 0.0;
        for (k, test) in tests.into_iter().enumerate() {
            let saved = self.enter();
            if let Test::Pat(Pat::Bind(name)) = &test {
                self.ints.push(IntVar {
                    name: name.clone(),
                    lo: 0,
                    hi: bound_hi,
                    end: None,
                    index: false,
                });
            }
            if value {
                // A block that may `break` cannot also give a value.
                self.jumps = false;
            }
            let mut stmts = Vec::new();
            let count = self.rng.below(2);
            let first = match k {
                0 => target.as_deref(),
                _ if self.rng.chance(0.5) => target.as_deref(),
                _ => None,
            };
            self.block_statements(&mut stmts, count, first);
            let v = ty.map(|ty| self.owned_expr(ty, 2));
            if let Some(v) = &v {
                value_bound = value_bound.max(v.bound);
            }
            self.exit(saved);
            for (j, b) in self.env.iter_mut().enumerate() {
                after[j] = after[j].max(b.bound);
                b.bound = before[j];
            }
            arms.push(Arm {
                test,
                body: stmts,
                value: v,
            });
        }
        for (b, bound) in self.env.iter_mut().zip(after) {
            b.bound = bound;
        }
        let bind = ty.map(|ty| Bind {
            name: self.name("u"),
            ty,
            late: self.rng.chance(0.3),
        });
        body.push(Stmt::Branch {
            head,
            arms,
            bind: bind.clone(),
        });
        match (bind, target) {
            (Some(b), _) => {
                self.bind(&b.name, b.ty, false, value_bound);
                self.mark_movable(&b.name);
            }
            (None, Some(t)) => self.touch(&t),
            _ => {}
        }
    }

    /// The body of a loop of at most `trips` iterations: the variables declared before it
    /// are capped while inside (see the module's documentation).
    fn loop_body(
        &mut self,
        trips: usize,
        target: &str,
        index: Option<IntVar>,
        exit: Exit,
    ) -> (Vec<Stmt>, Option<Cond>) {
        let outer = self.env.len();
        let saved = self.enter();
        self.loops += 1;
        // `break` and `continue` in a third of the loops (and in every `loop`).
        self.jumps = exit == Exit::Break || self.rng.chance(0.35);
        let mut capped = Vec::new();
        for (i, b) in self.env[..outer].iter_mut().enumerate() {
            if b.mutable && b.cap.is_none() {
                let limit = b.bound.max(1.0) + 2.0 * trips as f64;
                b.cap = Some(Cap {
                    limit,
                    level: self.loops,
                    increments: 2,
                });
                b.bound = limit;
                capped.push(i);
            }
        }
        if let Some(v) = index {
            self.ints.push(v);
        }
        // The condition reads the values before the body (what a `while` tests is
        // evaluated in its loop, under the same rules).
        let cond = match exit {
            Exit::None => None,
            Exit::While if self.rng.chance(0.1) => None,
            Exit::While | Exit::Break => Some(self.target_cond(target)),
        };
        let mut stmts = Vec::new();
        let count = self.rng.below(2) + self.rng.chance(0.2) as usize;
        self.block_statements(&mut stmts, count, Some(target));
        if let (Exit::Break, Some(c)) = (exit, cond.clone()) {
            let at = self.rng.below(stmts.len() + 1);
            stmts.insert(
                at,
                Stmt::Branch {
                    head: Head::If,
                    arms: vec![Arm {
                        test: Test::If(c),
                        body: vec![Stmt::Break],
                        value: None,
                    }],
                    bind: None,
                },
            );
        }
        self.loops -= 1;
        self.exit(saved);
        for i in capped {
            self.env[i].cap = None;
        }
        (stmts, cond.filter(|_| exit == Exit::While))
    }

    /// A range: its end a literal, the size parameter or a shape query; now and then
    /// triangular after an enclosing loop, inclusive, reversed or strided. With the loop
    /// index's smallest and largest values, the most iterations, and the end.
    fn range(&mut self) -> (Range, IntVar, usize) {
        let enclosing: Vec<IntVar> = self
            .ints
            .iter()
            .filter(|v| v.index && v.end.is_some())
            .cloned()
            .collect();
        if !enclosing.is_empty() && self.rng.chance(0.4) {
            let v = self.rng.pick(&enclosing).clone();
            let (end, end_hi) = v.end.clone().expect("an enclosing loop's end");
            let start = IntExpr::Add(
                Box::new(IntExpr::Var(v.name.clone())),
                Box::new(IntExpr::Lit(1)),
            );
            let lo = v.lo + 1;
            let range = Range {
                start,
                end: end.clone(),
                inclusive: false,
                rev: self.rng.chance(0.2),
                step: None,
            };
            let index = IntVar {
                name: String::new(),
                lo,
                hi: end_hi.saturating_sub(1),
                end: Some((end, end_hi)),
                index: true,
            };
            return (range, index, end_hi.saturating_sub(lo));
        }
        let mut ends: Vec<(IntExpr, usize)> = Vec::new();
        for v in self.ints.iter().filter(|v| !v.index) {
            ends.push((IntExpr::Var(v.name.clone()), v.hi));
        }
        for (name, dim, size) in self.shapes() {
            ends.push((IntExpr::Len(name, dim), size));
        }
        let (end, end_hi) = match self.pick_or_none(&ends) {
            Some(e) if self.rng.chance(0.7) => e.clone(),
            _ => {
                let k = 2 + self.rng.below(3);
                (IntExpr::Lit(k), k)
            }
        };
        let start = match end_hi >= 2 && self.rng.chance(0.15) {
            true => 1,
            false => 0,
        };
        let inclusive = matches!(end, IntExpr::Lit(_)) && self.rng.chance(0.25);
        let end = match (inclusive, &end) {
            (true, IntExpr::Lit(k)) => IntExpr::Lit(k - 1),
            _ => end,
        };
        let rev = self.rng.chance(0.2);
        let step = self.rng.chance(0.2).then_some(2);
        let span = end_hi.saturating_sub(start);
        let trips = span.div_ceil(step.unwrap_or(1));
        let index = IntVar {
            name: String::new(),
            lo: start,
            hi: end_hi.saturating_sub(1),
            end: (!inclusive).then(|| (end.clone(), end_hi)),
            index: true,
        };
        let range = Range {
            start: IntExpr::Lit(start),
            end,
            inclusive,
            rev,
            step,
        };
        (range, index, trips)
    }

    fn for_loop(&mut self, body: &mut Vec<Stmt>) {
        let target = self.ensure_target(body, None);
        let (range, mut index, trips) = self.range();
        let var = self.rng.chance(0.85).then(|| self.name("i"));
        let index = var.clone().map(|name| {
            index.name = name;
            index
        });
        let (stmts, _) = self.loop_body(trips, &target, index, Exit::None);
        body.push(Stmt::For {
            var,
            range,
            body: stmts,
        });
        self.touch(&target);
    }

    /// `target < t` (or `>`…): a condition on a carried value, for `while` and `break`.
    fn target_cond(&mut self, target: &str) -> Cond {
        let b = self
            .env
            .iter()
            .rev()
            .find(|b| b.name == target)
            .cloned()
            .expect("the target is in scope");
        let c = self.compare(var(&b));
        match self.rng.chance(0.2) {
            true => Cond::And(Box::new(c), Box::new(self.simple_cond())),
            false => c,
        }
    }

    /// `while k < limit && cond { k += 1; … }`.
    fn while_loop(&mut self, body: &mut Vec<Stmt>) {
        let target = self.ensure_target(body, Some(Ty::Scalar));
        let limit = 2 + self.rng.below(4);
        let counter = self.name("k");
        let (stmts, cond) = self.loop_body(limit, &target, None, Exit::While);
        body.push(Stmt::While {
            counter,
            limit,
            cond,
            body: stmts,
        });
        self.touch(&target);
    }

    /// `loop { if k == limit { break; } k += 1; … if cond { break; } … }`.
    fn loop_with_break(&mut self, body: &mut Vec<Stmt>) {
        let target = self.ensure_target(body, Some(Ty::Scalar));
        let limit = 2 + self.rng.below(4);
        let counter = self.name("k");
        let (stmts, _) = self.loop_body(limit, &target, None, Exit::Break);
        body.push(Stmt::Loop {
            counter,
            limit,
            body: stmts,
        });
        self.touch(&target);
    }
}
