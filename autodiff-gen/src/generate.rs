//! Random differentiable programs, built type-directed: every expression is asked for with a
//! type (scalar, vector or matrix of a shape the program has), so every program type-checks;
//! arguments of primitives with a restricted domain (logarithms, roots, arcsines, divisors)
//! are wrapped in expressions that keep them inside it, and arguments of fast-growing ones are
//! squashed when their rough magnitude bound is large, so most random points are usable.

use crate::ast::*;
use crate::rng::Rng;

mod control;
mod live;
mod views;

/// Constructs the generator can leave out (`AUTODIFF_GEN_FEATURES`). A construct the macro
/// gets wrong can be taken out of the default run behind a switch here until it is fixed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Features {
    /// Branches, loops, `match`, `break`, `continue`, element reads at loop indices and
    /// element writes.
    pub control: bool,
    /// Elementwise closures: `x.mapv(|v| …)`, `x.map(|&v| …)`, `Zip::from(a).and(b)
    /// .map_collect(|&v, &w| …)`, `a.iter().map(|&v| …).sum()`, summing folds.
    pub closures: bool,
}

impl Features {
    /// What CI runs: every construct.
    pub const DEFAULT: Features = Features::ALL;

    /// Every construct the generator knows.
    pub const ALL: Features = Features {
        control: true,
        closures: true,
    };

    /// Straight-line programs only (the generator before control flow).
    pub const STRAIGHT: Features = Features {
        control: false,
        closures: false,
    };

    /// [`Features::DEFAULT`] changed by a list such as `none`, `-control` (a name turns a
    /// construct on, `-name` off, `all` and `none` every one).
    pub fn parse(spec: &str) -> Result<Features, String> {
        let mut f = Features::DEFAULT;
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (on, name) = match item.strip_prefix('-') {
                Some(name) => (false, name),
                None => (true, item),
            };
            match name {
                "all" if on => f = Features::ALL,
                "none" if on => f = Features::STRAIGHT,
                "control" => f.control = on,
                "closures" => f.closures = on,
                _ => {
                    return Err(format!(
                        "unknown feature `{item}` (known: all, none, control, closures)"
                    ))
                }
            }
        }
        Ok(f)
    }
}

/// A generated scalar callee `g{k}` (`h{k}` in f32) that programs may call.
#[derive(Clone, Debug)]
pub struct Callee {
    pub arity: usize,
    pub bound: f64,
    /// With `hessian`: a caller with `hessian` may call it.
    pub hessian: bool,
}

/// The shapes of the support crate's struct of parameters (`Params`).
pub const STRUCT_FIELDS: [(&str, Ty); 5] = [
    ("p.w", Ty::Matrix(3, 2)),
    ("p.b", Ty::Vector(2)),
    ("p.s", Ty::Scalar),
    ("p.inner.v", Ty::Vector(3)),
    ("p.inner.k", Ty::Scalar),
];

/// Names users may pick that look like the generated code's own.
const LOOKALIKES: [&str; 10] = [
    "v0",
    "v_1",
    "__v1",
    "__adj0",
    "grad",
    "tangent",
    "cotangent",
    "value",
    "seed",
    "t0",
];

/// Inputs are drawn from [−INPUT_BOUND, INPUT_BOUND].
pub const INPUT_BOUND: f64 = 1.5;

#[derive(Clone, Debug)]
struct Binding {
    name: String,
    ty: Ty,
    /// Read as `name` in reference position (an `&ArrayN` parameter or field path).
    by_ref: bool,
    /// A field of the struct parameter, rendered through its path.
    field: bool,
    /// An owned local array that may be moved.
    movable: bool,
    /// An `ArrayViewN` parameter: its `.clone()` is a view too.
    view: bool,
    bound: f64,
    /// `let mut` (or a `mut` parameter): branches and loops may assign it.
    mutable: bool,
    /// Inside a loop that carries it: how large it may grow.
    cap: Option<control::Cap>,
}

/// Which kind of program to make.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Shape {
    Scalars,
    Arrays,
    Struct,
}

pub struct Generator<'a> {
    rng: &'a mut Rng,
    float: Float,
    env: Vec<Binding>,
    pool: Vec<Ty>,
    callees: &'a [Callee],
    labels: Option<(String, Ty)>,
    size: Option<String>,
    fresh: usize,
    /// Making a callee: scalar parameters only, a scalar result, no calls.
    is_callee: bool,
    /// Look-alike names given out (each once, so parameters stay distinct).
    used: Vec<String>,
    features: Features,
    /// Where the bindings of the block being generated start in `env`: only those may be
    /// shadowed or moved (the outer ones outlive the block).
    scope: usize,
    /// Blocks the statement being generated is inside.
    depth: usize,
    /// Loops the statement being generated is inside.
    loops: usize,
    /// Integer variables in scope: loop indices and the `n: usize` parameter.
    ints: Vec<control::IntVar>,
    /// `break` and `continue` may be written here (in a loop, not in an arm with a value).
    jumps: bool,
    /// The differentiated parameters, by name: what a closure maps.
    inputs: Vec<(String, Ty)>,
}

/// Generates one program. `callees` are the scalar functions it may call.
pub fn program(
    rng: &mut Rng,
    float: Float,
    shape: Shape,
    callees: &[Callee],
    features: Features,
) -> Program {
    build(rng, float, shape, callees, false, features)
}

/// A callee: a scalar function of one to four scalars, written once for f64 and f32, in
/// straight-line code.
pub fn callee(rng: &mut Rng) -> Program {
    build(
        rng,
        Float::F64,
        Shape::Scalars,
        &[],
        true,
        Features::STRAIGHT,
    )
}

fn build(
    rng: &mut Rng,
    float: Float,
    shape: Shape,
    callees: &[Callee],
    is_callee: bool,
    features: Features,
) -> Program {
    let mut g = Generator {
        rng,
        float,
        env: Vec::new(),
        pool: vec![Ty::Scalar],
        callees,
        labels: None,
        size: None,
        fresh: 0,
        is_callee,
        used: Vec::new(),
        features,
        scope: 0,
        depth: 0,
        loops: 0,
        ints: Vec::new(),
        jumps: false,
        inputs: Vec::new(),
    };
    let params = g.params(shape);
    let mut body = Vec::new();
    // A branch or a loop takes two statements' room (compile time).
    let mut room = g.rng.below(6);
    while room > 0 {
        if g.features.control && g.rng.chance(control::TOP_LEVEL) {
            g.control(&mut body);
            room = room.saturating_sub(2);
        } else {
            g.statement(&mut body);
            room -= 1;
        }
    }
    let result = g.result();
    let mut program = Program {
        float,
        params,
        body,
        result,
        explicit_wrt: false,
        hessian: false,
    };
    if g.features.control && g.rng.chance(0.8) {
        g.use_outputs(&mut program);
    }
    program.explicit_wrt = g.rng.chance(0.2);
    // `hessian` takes float and array parameters (not yet structs), and calls of callees
    // that have `hessian` too (not of custom rules). Callees call nothing.
    let callees_with_hessian = program.callees().iter().all(|&k| g.callees[k].hessian);
    program.hessian = program.scalar_result()
        && !program.calls_custom()
        && callees_with_hessian
        && shape != Shape::Struct
        && g.rng.chance(match program.has_control() {
            // Through loops, the Hessian's code is large: fewer of them, for compile time.
            true => control::HESSIAN,
            false => 0.4,
        });
    program
}

fn lit(value: f64) -> Expr {
    Expr {
        ty: Ty::Scalar,
        bound: value.abs(),
        kind: Kind::Lit(value),
    }
}

fn node(ty: Ty, bound: f64, kind: Kind) -> Expr {
    Expr {
        ty,
        bound: bound.min(1e12),
        kind,
    }
}

impl Generator<'_> {
    /// A new name: numbered, or now and then one that looks like the macro's own
    /// (`v0`, `__adj0`, `grad`, …), which the generated code must not collide with.
    fn name(&mut self, prefix: &str) -> String {
        self.fresh += 1;
        if matches!(prefix, "x" | "u" | "acc") && self.rng.chance(0.08) {
            let taken: Vec<&str> = self.env.iter().map(|b| b.name.as_str()).collect();
            let free: Vec<&str> = LOOKALIKES
                .iter()
                .copied()
                .filter(|n| !taken.contains(n) && !self.used.iter().any(|u| u == n))
                .collect();
            if !free.is_empty() {
                let name = self.rng.pick(&free).to_string();
                self.used.push(name.clone());
                return name;
            }
        }
        format!("{prefix}{}", self.fresh - 1)
    }

    fn bind(&mut self, name: &str, ty: Ty, by_ref: bool, bound: f64) {
        self.env.retain(|b| b.name != name);
        self.env.push(Binding {
            name: name.to_string(),
            ty,
            by_ref,
            field: false,
            movable: false,
            view: false,
            bound,
            mutable: false,
            cap: None,
        });
    }

    fn params(&mut self, shape: Shape) -> Vec<Param> {
        let mut params = Vec::new();
        let mut array_types = Vec::new();
        match shape {
            Shape::Scalars => {}
            Shape::Arrays => {
                let n = 1 + self.rng.below(4);
                let m = 1 + self.rng.below(3);
                array_types.push(Ty::Vector(n));
                if self.rng.chance(0.6) {
                    array_types.push(Ty::Matrix(m, n));
                }
                if self.rng.chance(0.3) {
                    array_types.push(Ty::Vector(m));
                }
                if self.rng.chance(0.25) {
                    array_types.push(Ty::Matrix(n, m));
                }
                array_types.dedup();
            }
            Shape::Struct => {
                params.push(Param {
                    name: "p".into(),
                    kind: ParamKind::Struct,
                });
                for (path, ty) in STRUCT_FIELDS {
                    self.env.push(Binding {
                        name: path.to_string(),
                        ty,
                        by_ref: false,
                        field: true,
                        movable: false,
                        view: false,
                        bound: INPUT_BOUND,
                        mutable: false,
                        cap: None,
                    });
                    if !self.pool.contains(&ty) {
                        self.pool.push(ty);
                    }
                }
            }
        }
        let scalars = match shape {
            Shape::Scalars => 1 + self.rng.below(4),
            _ => self.rng.below(3),
        };
        let mut diffs: Vec<Ty> = array_types.clone();
        diffs.extend(std::iter::repeat(Ty::Scalar).take(scalars));
        if !array_types.is_empty() && self.rng.chance(0.3) {
            let extra = *self.rng.pick(&array_types);
            diffs.push(extra);
        }
        // Parameters in random order, constants among them.
        let mut order: Vec<Option<Ty>> = diffs.into_iter().map(Some).collect();
        if !self.is_callee {
            for _ in 0..(self.rng.chance(0.35) as usize + self.rng.chance(0.2) as usize) {
                order.push(None);
            }
        }
        for i in (1..order.len()).rev() {
            let j = self.rng.below(i + 1);
            order.swap(i, j);
        }
        for slot in order {
            match slot {
                Some(ty) => {
                    let name = self.name("x");
                    let pass = if ty.is_array() && self.rng.chance(0.25) {
                        Pass::View
                    } else {
                        Pass::Ref
                    };
                    let by_ref = ty.is_array() && pass == Pass::Ref;
                    self.bind(&name, ty, by_ref, INPUT_BOUND);
                    if let Some(b) = self.env.last_mut() {
                        b.view = ty.is_array() && pass == Pass::View;
                    }
                    if !self.pool.contains(&ty) {
                        self.pool.push(ty);
                    }
                    let mutable = ty == Ty::Scalar && self.rng.chance(0.15);
                    if let Some(b) = self.env.last_mut() {
                        b.mutable = mutable;
                    }
                    self.inputs.push((name.clone(), ty));
                    params.push(Param {
                        name,
                        kind: ParamKind::Diff { ty, pass, mutable },
                    });
                }
                None => params.push(self.constant_param()),
            }
        }
        if let Some(&data_ty) = array_types.first() {
            if self.rng.chance(0.3) {
                let name = self.name("data");
                let values = (0..data_ty.elements())
                    .map(|_| round(self.rng.uniform(0.1, 0.9)))
                    .collect();
                self.bind(&name, data_ty, true, 0.9);
                params.push(Param {
                    name,
                    kind: ParamKind::Data(data_ty, values),
                });
            }
        }
        let matrices: Vec<Ty> = self
            .pool
            .iter()
            .copied()
            .filter(|t| matches!(t, Ty::Matrix(..)))
            .collect();
        if !matrices.is_empty() && self.rng.chance(0.35) {
            let ty = *self.rng.pick(&matrices);
            if let Ty::Matrix(rows, classes) = ty {
                let labels = (0..rows).map(|_| self.rng.below(classes)).collect();
                let name = self.name("labels");
                self.labels = Some((name.clone(), ty));
                params.push(Param {
                    name,
                    kind: ParamKind::Labels(labels),
                });
            }
        }
        params
    }

    fn constant_param(&mut self) -> Param {
        let p_size = if self.features.control { 0.55 } else { 0.4 };
        if self.size.is_none() && self.rng.chance(p_size) {
            let name = self.name("n");
            self.size = Some(name.clone());
            let value = 1 + self.rng.below(4);
            self.ints.push(control::IntVar {
                name: name.clone(),
                lo: value,
                hi: value,
                end: None,
                index: false,
            });
            Param {
                name,
                kind: ParamKind::Size(value),
            }
        } else {
            let name = self.name("c");
            let value = round(self.rng.uniform(-1.0, 1.0));
            self.bind(&name, Ty::Scalar, false, 1.0);
            Param {
                name,
                kind: ParamKind::Const(value),
            }
        }
    }

    fn statement(&mut self, body: &mut Vec<Stmt>) {
        let ty = self.any_type();
        let roll = self.rng.unit();
        let movable: Vec<Binding> = self.env[self.scope..]
            .iter()
            .filter(|b| b.movable)
            .cloned()
            .collect();
        if roll < 0.08 && !movable.is_empty() {
            let from = self.rng.pick(&movable).clone();
            let name = self.name("u");
            body.push(Stmt::Move {
                name: name.clone(),
                from: from.name.clone(),
                ty: from.ty,
            });
            self.env.retain(|b| b.name != from.name);
            self.bind(&name, from.ty, false, from.bound);
            self.mark_movable(&name);
        } else if roll < 0.3 {
            // An accumulator: `let mut acc = …;` then compound assignments.
            let expr = self.owned_expr(ty, 2);
            let name = self.name("acc");
            let mut bound = expr.bound;
            body.push(Stmt::Let {
                name: name.clone(),
                mutable: true,
                expr,
            });
            // The right sides may read the accumulator itself (`m -= &m.sin()`).
            self.bind(&name, ty, false, bound);
            for _ in 0..1 + self.rng.below(3) {
                let op = *self.rng.pick(&[
                    None,
                    Some(BinOp::Add),
                    Some(BinOp::Sub),
                    Some(BinOp::Mul),
                    Some(BinOp::Div),
                ]);
                let rhs_ty = match (ty, self.rng.chance(0.3)) {
                    (Ty::Scalar, _) | (_, true) => Ty::Scalar,
                    _ => ty,
                };
                let mut rhs = self.expr(rhs_ty, 2);
                rhs = match op {
                    Some(BinOp::Div) => self.positive(rhs),
                    Some(BinOp::Mul) => self.squash_above(rhs, 2.0),
                    _ => rhs,
                };
                if op.is_none() {
                    // Plain reassignment needs the accumulator's own type.
                    rhs = self.owned_expr(ty, 2);
                } else if borrows(&rhs, &name) {
                    // `acc += &acc` borrows `acc` while it is being changed: not Rust.
                    let bound = rhs.bound;
                    rhs = node(rhs.ty, bound, Kind::Copy(Copying::ToOwned, Box::new(rhs)));
                }
                bound = match op {
                    None => rhs.bound,
                    Some(BinOp::Add) | Some(BinOp::Sub) => bound + rhs.bound,
                    Some(BinOp::Mul) => bound * rhs.bound,
                    Some(BinOp::Div) => bound * 2.0,
                };
                body.push(Stmt::Assign {
                    name: name.clone(),
                    op,
                    expr: rhs,
                });
                self.bind(&name, ty, false, bound);
            }
            self.bind(&name, ty, false, bound);
            self.mark_movable(&name);
            if let Some(b) = self.env.last_mut() {
                b.mutable = true;
            }
        } else {
            let depth = 1 + self.rng.below(3) as u32;
            let expr = self.owned_expr(ty, depth);
            // Shadow a binding of the same type now and then.
            let same: Vec<Binding> = self.env[self.scope..]
                .iter()
                .filter(|b| b.ty == ty && !b.field)
                .cloned()
                .collect();
            let name = if !same.is_empty() && self.rng.chance(0.2) {
                self.rng.pick(&same).name.clone()
            } else {
                self.name("u")
            };
            let bound = expr.bound;
            body.push(Stmt::Let {
                name: name.clone(),
                mutable: false,
                expr,
            });
            self.bind(&name, ty, false, bound);
            self.mark_movable(&name);
        }
    }

    fn mark_movable(&mut self, name: &str) {
        if let Some(b) = self.env.iter_mut().find(|b| b.name == name) {
            b.movable = b.ty.is_array();
        }
    }

    fn result(&mut self) -> Vec<Expr> {
        let arrays: Vec<Ty> = self.pool.iter().copied().filter(|t| t.is_array()).collect();
        let roll = self.rng.unit();
        if self.is_callee || roll < 0.6 || (arrays.is_empty() && roll < 0.8) {
            vec![self.expr(Ty::Scalar, 3)]
        } else if roll < 0.8 {
            let ty = *self.rng.pick(&arrays);
            vec![self.owned_expr(ty, 3)]
        } else {
            (0..2 + self.rng.below(2))
                .map(|_| {
                    let ty = self.any_type();
                    self.owned_expr(ty, 2)
                })
                .collect()
        }
    }

    fn any_type(&mut self) -> Ty {
        if self.pool.len() > 1 && self.rng.chance(0.6) {
            let arrays: Vec<Ty> = self.pool[1..].to_vec();
            *self.rng.pick(&arrays)
        } else {
            Ty::Scalar
        }
    }

    /// An expression whose value is owned (no view): what a binding or a result holds.
    fn owned_expr(&mut self, ty: Ty, depth: u32) -> Expr {
        let e = self.expr(ty, depth);
        let place = matches!(e.kind, Kind::Var { .. } | Kind::Field(_));
        if ty.is_array() && (is_view(&e) || place) {
            let bound = e.bound;
            let view_param = match &e.kind {
                Kind::Var { name, .. } => self.env.iter().any(|b| b.name == *name && b.view),
                _ => false,
            };
            let how = match is_view(&e) || view_param {
                true => Copying::ToOwned,
                false => *self.rng.pick(&[Copying::ToOwned, Copying::Clone]),
            };
            node(ty, bound, Kind::Copy(how, Box::new(e)))
        } else {
            e
        }
    }

    fn leaf(&mut self, ty: Ty) -> Expr {
        if ty == Ty::Scalar && self.loops > 0 && self.rng.chance(0.3) {
            if let Some(e) = self.element() {
                return e;
            }
        }
        let candidates: Vec<Binding> = self.env.iter().filter(|b| b.ty == ty).cloned().collect();
        if ty == Ty::Scalar && (candidates.is_empty() || self.rng.chance(0.25)) {
            if let (Some(n), true) = (&self.size, self.rng.chance(0.2)) {
                return node(Ty::Scalar, 4.0, Kind::SizeCast(n.clone()));
            }
            if let Some(e) = self.int_cast() {
                return e;
            }
            let value = *self.rng.pick(&[0.5, 2.0, 1.5, 0.25, 3.0, 0.1, 1.0, 0.75]);
            return lit(value);
        }
        // Prefer recent bindings, so locals are read again (shared subexpressions).
        let k = candidates.len();
        let index = if self.rng.chance(0.5) {
            k - 1 - self.rng.below(k.min(2))
        } else {
            self.rng.below(k)
        };
        let b = &candidates[index];
        let kind = if b.field {
            Kind::Field(b.name.clone())
        } else {
            Kind::Var {
                name: b.name.clone(),
                by_ref: b.by_ref,
            }
        };
        let e = node(ty, b.bound, kind);
        if ty.is_array() && !b.field && self.rng.chance(0.08) {
            let how = match b.view {
                true => *self.rng.pick(&[Copying::View, Copying::ToOwned]),
                false => *self
                    .rng
                    .pick(&[Copying::View, Copying::ToOwned, Copying::Clone]),
            };
            return node(ty, b.bound, Kind::Copy(how, Box::new(e)));
        }
        e
    }

    /// An expression of type `ty`, at most `depth` operations deep.
    pub fn expr(&mut self, ty: Ty, depth: u32) -> Expr {
        if depth == 0 || self.rng.chance(0.2) {
            return self.leaf(ty);
        }
        for _ in 0..8 {
            if let Some(e) = self.operation(ty, depth - 1) {
                return e;
            }
        }
        self.leaf(ty)
    }

    fn operation(&mut self, ty: Ty, d: u32) -> Option<Expr> {
        let arrays: Vec<Ty> = self.pool.iter().copied().filter(|t| t.is_array()).collect();
        let scalar = ty == Ty::Scalar;
        Some(match self.rng.below(17) {
            0 | 1 => {
                let op = *self.rng.pick(&Unary::ALL);
                let a = self.expr(ty, d);
                self.unary(op, a)
            }
            2..=4 => self.binary(ty, d)?,
            5 => {
                let k = *self.rng.pick(&[-2, -1, 0, 1, 2, 3]);
                let mut a = self.expr(ty, d);
                if k < 0 {
                    a = self.positive(a);
                }
                a = self.squash_above(a, 4.0);
                let bound = match k {
                    k if k < 0 => 4.0,
                    0 => 1.0,
                    k => a.bound.powi(k),
                };
                node(ty, bound, Kind::Powi(Box::new(a), k))
            }
            6 => {
                let act = *self.rng.pick(&Activation::ALL);
                let mut a = self.expr(ty, d);
                let bound = match act {
                    Activation::Sigmoid | Activation::Erf => 1.0,
                    Activation::Erfc => 2.0,
                    Activation::Relu | Activation::Softplus => a.bound + 0.7,
                    // Away from the poles at 0, −1, …: ψ(0.3) ≈ −3.5.
                    Activation::LnGamma | Activation::Digamma => {
                        a = self.positive(a);
                        a = self.squash_above(a, 20.0);
                        let big = a.bound.max(1.0);
                        match act {
                            Activation::LnGamma => big * big.ln() + 2.0,
                            _ => big.ln() + 4.0,
                        }
                    }
                };
                node(ty, bound, Kind::Activation(act, Box::new(a)))
            }
            7 if self.rng.chance(0.25) => {
                let (lo, hi) = *self.rng.pick(&[(-1.0, 1.0), (-0.5, 2.0), (0.0, 3.0)]);
                let a = self.expr(ty, d);
                node(ty, 3.0, Kind::Clamp(Box::new(a), lo, hi))
            }
            7 => {
                let a = self.expr(ty, d);
                let bound = a.bound;
                node(ty, bound, Kind::Neg(Box::new(a)))
            }
            8 => {
                // Two-argument methods: scalars, or an array with a scalar second argument.
                let method = if scalar {
                    *self.rng.pick(&[
                        Method2::Atan2,
                        Method2::Hypot,
                        Method2::Max,
                        Method2::Min,
                        Method2::Powf,
                    ])
                } else {
                    *self.rng.pick(&[Method2::Hypot, Method2::Powf])
                };
                let mut a = self.expr(ty, d);
                let mut b = self.expr(Ty::Scalar, d);
                let bound = match method {
                    Method2::Atan2 => 3.2,
                    Method2::Hypot => a.bound + b.bound,
                    Method2::Max | Method2::Min => a.bound.max(b.bound),
                    Method2::Powf => {
                        a = self.positive(a);
                        a = self.squash_above(a, 4.0);
                        b = self.squash(b);
                        a.bound.max(2.0).powi(2)
                    }
                };
                node(ty, bound, Kind::Method2(method, Box::new(a), Box::new(b)))
            }
            9 if scalar => {
                let a = self.expr(ty, d);
                let b = self.expr(ty, d);
                let c = self.expr(ty, d);
                let bound = a.bound * b.bound + c.bound;
                node(
                    ty,
                    bound,
                    Kind::MulAdd(Box::new(a), Box::new(b), Box::new(c)),
                )
            }
            10 if !scalar && self.rng.chance(0.3) => {
                // The outer product of two vectors of this matrix's shape.
                let Ty::Matrix(r, c) = ty else { return None };
                let (rows, cols) = (Ty::Vector(r), Ty::Vector(c));
                if !(self.pool.contains(&rows) && self.pool.contains(&cols)) {
                    return None;
                }
                let a = self.expr(rows, d);
                let b = self.expr(cols, d);
                let a = self.squash_above(a, 5.0);
                let b = self.squash_above(b, 5.0);
                let bound = a.bound * b.bound;
                node(ty, bound, Kind::Outer(Box::new(a), Box::new(b)))
            }
            9 | 10 => self.dot(ty, d)?,
            11 if !scalar && self.rng.chance(0.3) => self.view(ty, d)?,
            11 if !scalar && self.rng.chance(0.25) => {
                // A row or a column of a matrix of this vector's length.
                let Ty::Vector(n) = ty else { return None };
                let sources: Vec<(Ty, usize)> = arrays
                    .iter()
                    .filter_map(|&t| match t {
                        Ty::Matrix(_, c) if c == n => Some((t, 0)),
                        Ty::Matrix(r, _) if r == n => Some((t, 1)),
                        _ => None,
                    })
                    .collect();
                let (from, axis) = *self.pick_or_none(&sources)?;
                let Ty::Matrix(r, c) = from else { return None };
                let index = self.rng.below([r, c][axis]);
                let a = self.expr(from, d);
                let bound = a.bound;
                node(ty, bound, Kind::Line(Box::new(a), axis, index))
            }
            11 if scalar && self.rng.chance(if self.loops > 0 { 0.7 } else { 0.3 }) => {
                let from = *self.pick_or_none(&arrays)?;
                let a = self.expr(from, d);
                let index = match from {
                    Ty::Matrix(r, c) => vec![self.index_below(r), self.index_below(c)],
                    Ty::Vector(n) => vec![self.index_below(n)],
                    Ty::Scalar => return None,
                };
                let bound = a.bound;
                node(ty, bound, Kind::Index(Box::new(a), index))
            }
            11 if scalar => {
                let from = *self.pick_or_none(&arrays)?;
                // Variance and standard deviation share one slot.
                let ddof = self.ddof(from.elements());
                let moment = match self.rng.chance(0.5) {
                    true => Reduce::Var(ddof),
                    false => Reduce::Std(ddof),
                };
                let mut reductions = vec![
                    Reduce::Sum,
                    Reduce::Mean,
                    Reduce::Amax,
                    Reduce::Amin,
                    Reduce::Norm,
                    moment,
                ];
                if let Ty::Matrix(n, c) = from {
                    if n == c && self.rng.chance(0.3) {
                        let a = self.expr(from, d);
                        let a = self.squash(a);
                        let bound = ((n + 2) as f64).powi(n as i32);
                        return Some(node(ty, bound, Kind::Det(Box::new(a))));
                    }
                    if n == c {
                        reductions.push(Reduce::Trace);
                    }
                }
                let reduce = *self.rng.pick(&reductions);
                let a = self.expr(from, d);
                let bound = match reduce {
                    Reduce::Sum => a.bound * from.elements() as f64,
                    Reduce::Norm => a.bound * (from.elements() as f64).sqrt(),
                    Reduce::Trace => a.bound * (from.elements() as f64).sqrt(),
                    Reduce::Var(_) => (2.0 * a.bound).powi(2),
                    _ => a.bound,
                };
                node(ty, bound, Kind::Reduce(reduce, Box::new(a)))
            }
            11 => {
                // sum_axis / mean_axis of a matrix down to this vector.
                let Ty::Vector(n) = ty else { return None };
                let sources: Vec<(Ty, usize)> = arrays
                    .iter()
                    .filter_map(|&t| match t {
                        Ty::Matrix(_, c) if c == n => Some((t, 0)),
                        Ty::Matrix(r, _) if r == n => Some((t, 1)),
                        _ => None,
                    })
                    .collect();
                let (from, axis) = *self.pick_or_none(&sources)?;
                let a = self.expr(from, d);
                let reduced = match from {
                    Ty::Matrix(r, c) => [r, c][axis],
                    _ => 1,
                };
                let ddof = self.ddof(reduced);
                let reduce = *self.rng.pick(&[
                    Reduce::SumAxis(axis),
                    Reduce::MeanAxis(axis),
                    Reduce::AmaxAxis(axis),
                    Reduce::AminAxis(axis),
                    Reduce::VarAxis(axis, ddof),
                    Reduce::StdAxis(axis, ddof),
                ]);
                let bound = match reduce {
                    Reduce::SumAxis(_) | Reduce::MeanAxis(_) => a.bound * reduced as f64,
                    Reduce::VarAxis(..) => (2.0 * a.bound).powi(2),
                    _ => a.bound,
                };
                node(ty, bound, Kind::Reduce(reduce, Box::new(a)))
            }
            12 if scalar => {
                let from = *self.pick_or_none(&arrays)?;
                let loss = *self.rng.pick(&[Loss::Mse, Loss::Bce, Loss::BceWithLogits]);
                let mut a = self.expr(from, d);
                let mut b = self.target(from, d);
                let bound = match loss {
                    Loss::Mse => (a.bound + b.bound).powi(2),
                    Loss::Bce => {
                        a = node(
                            from,
                            1.0,
                            Kind::Activation(Activation::Sigmoid, Box::new(a)),
                        );
                        if !matches!(b.kind, Kind::Var { .. }) {
                            b = node(
                                from,
                                1.0,
                                Kind::Activation(Activation::Sigmoid, Box::new(b)),
                            );
                        }
                        a.bound + 2.0
                    }
                    Loss::BceWithLogits => a.bound * (1.0 + b.bound) + 1.0,
                };
                node(ty, bound, Kind::Loss(loss, Box::new(a), Box::new(b)))
            }
            12 if matches!(ty, Ty::Vector(n) if self.pool.contains(&Ty::Matrix(n, n)))
                && self.rng.chance(0.3) =>
            {
                let Ty::Vector(n) = ty else { return None };
                let a = self.expr(Ty::Matrix(n, n), d);
                let a = self.squash(a);
                let b = self.expr(ty, d);
                let bound = b.bound;
                node(ty, bound, Kind::Solve(Box::new(a), Box::new(b)))
            }
            12 => {
                let axis = self.rng.below(match ty {
                    Ty::Matrix(..) => 2,
                    _ => 1,
                });
                let log = self.rng.chance(0.5);
                let a = self.expr(ty, d);
                let bound = if log { 2.0 * a.bound + 3.0 } else { 1.0 };
                node(
                    ty,
                    bound,
                    Kind::Softmax {
                        log,
                        axis,
                        arg: Box::new(a),
                    },
                )
            }
            13 if scalar => {
                if let (Some((labels, lty)), true) = (self.labels.clone(), self.rng.chance(0.5)) {
                    let a = self.expr(lty, d);
                    let bound = 2.0 * a.bound + 3.0;
                    node(ty, bound, Kind::CrossEntropy(Box::new(a), labels))
                } else {
                    let from = *self.pick_or_none(&arrays)?;
                    let a = self.expr(from, d);
                    let bound = a.bound + 3.0;
                    node(ty, bound, Kind::Logsumexp(Box::new(a)))
                }
            }
            13 if matches!(ty, Ty::Matrix(r, c) if r == c) && self.rng.chance(0.3) => {
                let a = self.expr(ty, d);
                let a = self.squash(a);
                node(ty, 1.0, Kind::Inv(Box::new(a)))
            }
            13 => {
                let Ty::Matrix(r, c) = ty else { return None };
                let from = Ty::Matrix(c, r);
                if !self.pool.contains(&from) {
                    return None;
                }
                let a = self.expr(from, d);
                let bound = a.bound;
                // The transpose as ndarray's other spellings, made owned, now and then.
                match self.rng.below(5) {
                    0 => node(ty, bound, Kind::View(View::ReversedAxes, Box::new(a))),
                    1 => node(ty, bound, Kind::View(View::PermutedAxes, Box::new(a))),
                    _ => node(ty, bound, Kind::Transpose(Box::new(a))),
                }
            }
            14 if scalar && !self.callees.is_empty() => {
                let k = self.rng.below(self.callees.len());
                let callee = self.callees[k].clone();
                let args = (0..callee.arity)
                    .map(|_| self.expr(Ty::Scalar, d))
                    .collect();
                node(ty, callee.bound, Kind::Call(k, args))
            }
            15 if scalar && self.float == Float::F64 && !self.is_callee => {
                let vectors: Vec<Ty> = arrays
                    .iter()
                    .copied()
                    .filter(|t| matches!(t, Ty::Vector(_)))
                    .collect();
                if !vectors.is_empty() && self.rng.chance(0.5) {
                    let from = *self.rng.pick(&vectors);
                    // `&Array1<f64>`: an owned array, not a view.
                    let a = self.owned_expr(from, d);
                    let bound = 0.5 * a.bound * a.bound * from.elements() as f64;
                    node(ty, bound, Kind::Custom("half_sq_norm", Box::new(a)))
                } else {
                    let a = self.expr(ty, d);
                    let bound = a.bound + 1.0;
                    node(ty, bound, Kind::Custom("log1pexp", Box::new(a)))
                }
            }
            16 if self.features.closures && !self.is_callee => match scalar {
                false => self.closure(ty, ty, d)?,
                true => {
                    let from = *self.pick_or_none(&arrays)?;
                    self.closure(from, ty, d)?
                }
            },
            _ => return None,
        })
    }

    /// `a.mapv(|v| body)` or `a.map(|&v| body)` over an array made from a differentiated
    /// parameter (the macro rejects closures over constants only), the body a scalar
    /// expression of `v`, literals and the scalars in scope: no arrays (capturing a
    /// differentiated array is an error), fields, loop indices, labels or calls.
    fn closure(&mut self, ty: Ty, result: Ty, d: u32) -> Option<Expr> {
        let inputs: Vec<String> = self
            .inputs
            .iter()
            .filter(|(name, t)| *t == ty && self.env.iter().any(|b| b.name == *name))
            .map(|(name, _)| name.clone())
            .collect();
        let name = self.pick_or_none(&inputs)?.clone();
        let by_ref = self.env.iter().any(|b| b.name == name && b.by_ref);
        let mut array = node(ty, INPUT_BOUND, Kind::Var { name, by_ref });
        if self.rng.chance(0.5) {
            let other = self.expr(ty, d);
            let bound = array.bound + other.bound;
            array = node(
                ty,
                bound,
                Kind::Binary(BinOp::Add, Box::new(array), Box::new(other)),
            );
        }
        let array = self.squash_above(array, 4.0);
        // Zipped with a second array of the same shape, any expression.
        let other = match self.rng.chance(0.35) {
            true => {
                let other = self.expr(ty, d);
                Some(Box::new(self.squash_above(other, 4.0)))
            }
            false => None,
        };
        let param = self.name("v");
        let second = other.as_ref().map(|_| self.name("w"));
        let scalars: Vec<Binding> = self
            .env
            .iter()
            .filter(|b| b.ty == Ty::Scalar && !b.field)
            .cloned()
            .collect();
        let saved = (
            std::mem::replace(&mut self.env, scalars),
            std::mem::replace(&mut self.pool, vec![Ty::Scalar]),
            std::mem::replace(&mut self.loops, 0),
            std::mem::take(&mut self.ints),
            std::mem::replace(&mut self.is_callee, true),
            std::mem::take(&mut self.callees),
            self.size.take(),
            self.labels.take(),
        );
        self.bind(&param, Ty::Scalar, false, array.bound);
        if let (Some(w), Some(other)) = (&second, &other) {
            self.bind(w, Ty::Scalar, false, other.bound);
        }
        let mut body = self.expr(Ty::Scalar, d.min(2));
        // A body that does not read its element has no derivative in it: the macro says so.
        if !reads(&body, &param) {
            let v = node(
                Ty::Scalar,
                array.bound,
                Kind::Var {
                    name: param.clone(),
                    by_ref: false,
                },
            );
            let bound = array.bound + body.bound;
            body = node(
                Ty::Scalar,
                bound,
                Kind::Binary(BinOp::Add, Box::new(v), Box::new(body)),
            );
        }
        (
            self.env,
            self.pool,
            self.loops,
            self.ints,
            self.is_callee,
            self.callees,
            self.size,
            self.labels,
        ) = saved;
        let form = match (result == Ty::Scalar, &other) {
            (true, _) if self.rng.chance(0.5) => MapForm::Fold,
            (true, _) => MapForm::IterSum,
            (false, None) if self.rng.chance(0.3) => MapForm::Map,
            (false, _) => MapForm::Mapv,
        };
        let bound = match form {
            MapForm::IterSum | MapForm::Fold => body.bound * ty.elements() as f64,
            _ => body.bound,
        };
        Some(node(
            result,
            bound,
            Kind::Map {
                array: Box::new(array),
                other,
                params: std::iter::once(param).chain(second).collect(),
                form,
                body: Box::new(body),
            },
        ))
    }

    fn pick_or_none<'t, T>(&mut self, items: &'t [T]) -> Option<&'t T> {
        (!items.is_empty()).then(|| self.rng.pick(items))
    }

    /// A loss's target: a constant data array of that shape when there is one, or an
    /// expression.
    fn target(&mut self, ty: Ty, d: u32) -> Expr {
        let data: Vec<Binding> = self
            .env
            .iter()
            .filter(|b| b.ty == ty && b.name.starts_with("data"))
            .cloned()
            .collect();
        if !data.is_empty() && self.rng.chance(0.6) {
            let b = self.rng.pick(&data).clone();
            node(
                ty,
                b.bound,
                Kind::Var {
                    name: b.name,
                    by_ref: b.by_ref,
                },
            )
        } else {
            self.expr(ty, d)
        }
    }

    fn unary(&mut self, op: Unary, a: Expr) -> Expr {
        let ty = a.ty;
        let (arg, bound) = match op {
            Unary::Ln | Unary::Log2 | Unary::Log10 => {
                let a = self.positive(a);
                let bound = a.bound.ln().abs().max(3.0) * 1.5;
                (a, bound)
            }
            Unary::Sqrt | Unary::Cbrt => {
                let a = self.positive(a);
                let bound = a.bound.sqrt().max(1.0);
                (a, bound)
            }
            Unary::Ln1p => {
                let a = self.positive(a);
                let bound = (1.0 + a.bound).ln().max(1.0);
                (a, bound)
            }
            Unary::Recip => (self.positive(a), 2.0),
            Unary::Exp | Unary::Exp2 | Unary::ExpM1 | Unary::Sinh | Unary::Cosh => {
                let a = self.squash_above(a, 3.0);
                let bound = a.bound.exp() + 1.0;
                (a, bound)
            }
            Unary::Tan => {
                let a = self.squash(a);
                (a, 1.6)
            }
            Unary::Asin | Unary::Acos => {
                let a = self.unit(a);
                (a, 3.2)
            }
            Unary::Sin | Unary::Cos | Unary::Tanh | Unary::Atan => (a, 1.6),
            Unary::Abs => {
                let bound = a.bound;
                (a, bound)
            }
            Unary::Floor | Unary::Ceil | Unary::Round | Unary::Trunc => {
                let bound = a.bound + 1.0;
                (a, bound)
            }
            Unary::Signum | Unary::Fract => (a, 1.0),
        };
        node(ty, bound, Kind::Unary(op, Box::new(arg)))
    }

    fn binary(&mut self, ty: Ty, d: u32) -> Option<Expr> {
        let op = *self
            .rng
            .pick(&[BinOp::Add, BinOp::Sub, BinOp::Mul, BinOp::Div]);
        // The operand types: same type, a scalar on either side, or a row broadcast.
        let (lt, rt) = match ty {
            Ty::Scalar => (ty, ty),
            Ty::Vector(_) => *self
                .rng
                .pick(&[(ty, ty), (ty, Ty::Scalar), (Ty::Scalar, ty)]),
            Ty::Matrix(_, c) => {
                let row = Ty::Vector(c);
                let mut choices = vec![(ty, ty), (ty, Ty::Scalar), (Ty::Scalar, ty)];
                if self.pool.contains(&row) {
                    choices.extend([(ty, row), (row, ty)]);
                }
                *self.rng.pick(&choices)
            }
        };
        let mut a = self.expr(lt, d);
        let mut b = self.expr(rt, d);
        let bound = match op {
            BinOp::Add | BinOp::Sub => a.bound + b.bound,
            BinOp::Mul => {
                a = self.squash_above(a, 30.0);
                b = self.squash_above(b, 30.0);
                a.bound * b.bound
            }
            BinOp::Div => {
                b = self.positive(b);
                if self.rng.chance(0.3) {
                    let bound = b.bound;
                    b = node(b.ty, bound, Kind::Neg(Box::new(b)));
                }
                a.bound * 2.5
            }
        };
        Some(node(ty, bound, Kind::Binary(op, Box::new(a), Box::new(b))))
    }

    fn dot(&mut self, ty: Ty, d: u32) -> Option<Expr> {
        let pool = self.pool.clone();
        let has = |t: Ty| pool.contains(&t);
        // The operand types that make `ty`, read off the shapes this program has.
        let mut shapes: Vec<(Ty, Ty, usize)> = Vec::new();
        for &a in &pool {
            for &b in &pool {
                let inner = match (ty, a, b) {
                    (Ty::Scalar, Ty::Vector(n), Ty::Vector(k)) if n == k => Some(n),
                    (Ty::Vector(r), Ty::Matrix(ar, k), Ty::Vector(bk)) if ar == r && k == bk => {
                        Some(k)
                    }
                    (Ty::Vector(c), Ty::Vector(k), Ty::Matrix(bk, bc)) if k == bk && bc == c => {
                        Some(k)
                    }
                    (Ty::Matrix(r, c), Ty::Matrix(ar, k), Ty::Matrix(bk, bc))
                        if ar == r && k == bk && bc == c =>
                    {
                        Some(k)
                    }
                    _ => None,
                };
                if let Some(k) = inner {
                    shapes.push((a, b, k));
                }
            }
        }
        // A transposed matrix operand: `a.dot(&b.t())`.
        if let Ty::Matrix(r, c) = ty {
            for &a in &pool {
                if let Ty::Matrix(ar, k) = a {
                    if ar == r && has(Ty::Matrix(c, k)) {
                        shapes.push((a, Ty::Matrix(k, c), k));
                    }
                }
            }
        }
        let (at, bt, k) = *self.pick_or_none(&shapes)?;
        let a = self.expr(at, d);
        let b = if has(bt) {
            self.expr(bt, d)
        } else {
            let Ty::Matrix(k, c) = bt else { return None };
            let inner = self.expr(Ty::Matrix(c, k), d);
            let bound = inner.bound;
            node(bt, bound, Kind::Transpose(Box::new(inner)))
        };
        let a = self.squash_above(a, 5.0);
        let b = self.squash_above(b, 5.0);
        let bound = a.bound * b.bound * k as f64;
        Some(node(ty, bound, Kind::Dot(Box::new(a), Box::new(b))))
    }

    /// `e` made positive, at least 0.5 where the rough bounds say so.
    fn positive(&mut self, e: Expr) -> Expr {
        let ty = e.ty;
        let half = || lit(0.5);
        match self.rng.below(5) {
            0 => {
                let e = self.squash_above(e, 10.0);
                let sq = node(
                    ty,
                    e.bound * e.bound,
                    Kind::Binary(BinOp::Mul, Box::new(e.clone()), Box::new(e)),
                );
                let bound = sq.bound + 0.5;
                node(
                    ty,
                    bound,
                    Kind::Binary(BinOp::Add, Box::new(sq), Box::new(half())),
                )
            }
            1 => {
                let bound = e.bound + 0.5;
                let abs = node(ty, e.bound, Kind::Unary(Unary::Abs, Box::new(e)));
                node(
                    ty,
                    bound,
                    Kind::Binary(BinOp::Add, Box::new(abs), Box::new(half())),
                )
            }
            2 => {
                let bound = e.bound + 1.2;
                let sp = node(
                    ty,
                    e.bound + 0.7,
                    Kind::Activation(Activation::Softplus, Box::new(e)),
                );
                node(
                    ty,
                    bound,
                    Kind::Binary(BinOp::Add, Box::new(sp), Box::new(half())),
                )
            }
            3 => {
                let s = node(ty, 1.0, Kind::Activation(Activation::Sigmoid, Box::new(e)));
                node(
                    ty,
                    1.5,
                    Kind::Binary(BinOp::Add, Box::new(s), Box::new(half())),
                )
            }
            _ => {
                let e = self.squash_above(e, 1.0);
                let bound = e.bound.exp();
                node(ty, bound, Kind::Unary(Unary::Exp, Box::new(e)))
            }
        }
    }

    /// `e` mapped into (−0.9, 0.9), for arcsines.
    fn unit(&mut self, e: Expr) -> Expr {
        let ty = e.ty;
        let s = self.squash(e);
        node(
            ty,
            0.9,
            Kind::Binary(BinOp::Mul, Box::new(s), Box::new(lit(0.9))),
        )
    }

    /// `e` mapped into [−1, 1] (or (0, 1)).
    /// `ddof` of a variance over `n` elements: 0 or, where n ≥ 2, 1.
    fn ddof(&mut self, n: usize) -> u8 {
        u8::from(n >= 2 && self.rng.chance(0.5))
    }

    fn squash(&mut self, e: Expr) -> Expr {
        let ty = e.ty;
        match self.rng.below(4) {
            0 => node(ty, 1.0, Kind::Unary(Unary::Tanh, Box::new(e))),
            1 => node(ty, 1.0, Kind::Unary(Unary::Sin, Box::new(e))),
            2 => node(ty, 1.0, Kind::Unary(Unary::Cos, Box::new(e))),
            _ => node(ty, 1.0, Kind::Activation(Activation::Sigmoid, Box::new(e))),
        }
    }

    fn squash_above(&mut self, e: Expr, limit: f64) -> Expr {
        if e.bound > limit {
            self.squash(e)
        } else {
            e
        }
    }
}

/// Whether an array operand, passed by reference, borrows the variable `name` (`&acc`,
/// `&acc.t()`), so cannot be the right side of `name op= …`.
/// Whether `e` reads the variable `name`.
fn reads(e: &Expr, name: &str) -> bool {
    matches!(&e.kind, Kind::Var { name: n, .. } if n == name)
        || e.children().iter().any(|c| reads(c, name))
}

pub fn borrows(e: &Expr, name: &str) -> bool {
    let place = matches!(e.kind, Kind::Var { .. } | Kind::Field(_));
    let mut read = Vec::new();
    e.reads(&mut read);
    e.ty.is_array() && (place || is_view(e)) && read.iter().any(|r| r == name)
}

/// Whether an expression's value is an array view (`a.t()`, `a.view()`).
pub fn is_view(e: &Expr) -> bool {
    match &e.kind {
        Kind::Transpose(_) | Kind::Copy(Copying::View, _) => true,
        // `.clone()` of a view is a view.
        Kind::Copy(Copying::Clone, inner) => is_view(inner),
        _ => false,
    }
}

/// Three decimals: short literals in the reproducers.
fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
