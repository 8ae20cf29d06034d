//! Programs written out as Rust: the `#[differentiable]` function itself (as a user would
//! write it: arrays borrowed where Rust wants a reference, moved where it allows), and the
//! `case()` that hands its generated functions to the checks on flat vectors.

use std::fmt::Write;

use crate::ast::*;

/// Operator precedence, for printing no more parentheses than Rust needs.
const ADD: u8 = 0;
const MUL: u8 = 1;
const PREFIX: u8 = 2;
const POSTFIX: u8 = 3;

struct Printer {
    float: Float,
    /// Write every comparison of values and every cast of a value to an integer through
    /// `autodiff_gen::support::probe`, which records the branch taken (the instrumented twin).
    probe: bool,
    /// Suffix every literal: inside a constant subexpression whose float type Rust could not
    /// otherwise infer (`2.0_f64.ln()`, `sigmoid(2.0_f64)`).
    suffix: std::cell::Cell<bool>,
}

impl Printer {
    fn new(float: Float, probe: bool) -> Printer {
        Printer {
            float,
            probe,
            suffix: std::cell::Cell::new(false),
        }
    }

    fn lit(&self, v: f64) -> String {
        match (self.float, self.suffix.get()) {
            (Float::F64, false) => format!("{v:?}"),
            (float, _) => format!("{v:?}_{}", float.name()),
        }
    }

    /// Prints `e` with suffixed literals when it is made of literals alone.
    fn typed(&self, e: &Expr, print: impl FnOnce() -> String) -> String {
        let outer = self.suffix.get();
        self.suffix.set(outer || literal_only(e));
        let s = print();
        self.suffix.set(outer);
        s
    }

    /// `e` with its precedence.
    fn expr(&self, e: &Expr) -> (String, u8) {
        let f = self.float.name();
        match &e.kind {
            Kind::Var { name, .. } => (name.clone(), POSTFIX),
            Kind::Field(path) => (path.clone(), POSTFIX),
            Kind::Lit(v) => (self.lit(*v), POSTFIX),
            Kind::SizeCast(n) => (format!("({n} as {f})"), POSTFIX),
            Kind::IntCast(i) => (format!("({} as {f})", self.int_at(i, POSTFIX)), POSTFIX),
            Kind::Unary(op, a) => (format!("{}.{}()", self.recv(a), op.method()), POSTFIX),
            Kind::Powi(a, k) => (format!("{}.powi({k})", self.recv(a)), POSTFIX),
            Kind::Activation(act, a) => (format!("{}({})", act.name(), self.arg(a)), POSTFIX),
            Kind::Neg(a) => {
                let inner = if a.ty.is_array() && by_reference(a) {
                    self.operand(a)
                } else {
                    self.at(a, PREFIX)
                };
                (format!("-{inner}"), PREFIX)
            }
            Kind::Binary(op, a, b) => {
                let prec = match op {
                    BinOp::Add | BinOp::Sub => ADD,
                    BinOp::Mul | BinOp::Div => MUL,
                };
                let left = if a.ty.is_array() && by_reference(a) {
                    self.operand(a)
                } else {
                    self.at(a, prec)
                };
                let right = if b.ty.is_array() {
                    self.operand(b)
                } else {
                    self.at(b, prec + 1)
                };
                (format!("{left} {} {right}", op.symbol()), prec)
            }
            Kind::Method2(m, a, b) => (
                format!("{}.{}({})", self.recv(a), m.name(), self.value(b)),
                POSTFIX,
            ),
            Kind::MulAdd(a, b, c) => (
                format!(
                    "{}.mul_add({}, {})",
                    self.recv(a),
                    self.value(b),
                    self.value(c)
                ),
                POSTFIX,
            ),
            Kind::Dot(a, b) => (
                format!("{}.dot({})", self.recv(a), self.operand(b)),
                POSTFIX,
            ),
            Kind::Transpose(a) => (format!("{}.t()", self.recv(a)), POSTFIX),
            Kind::Reduce(r, a) => {
                // Methods of ndarray on the receiver, functions of the runtime on an argument.
                let (recv, arg) = (|| self.recv(a), || self.arg(a));
                let s = match r {
                    Reduce::Sum => format!("{}.sum()", recv()),
                    Reduce::Mean => format!("{}.mean().unwrap()", recv()),
                    Reduce::SumAxis(k) => format!("{}.sum_axis(Axis({k}))", recv()),
                    Reduce::MeanAxis(k) => format!("{}.mean_axis(Axis({k})).unwrap()", recv()),
                    Reduce::Amax => format!("amax({})", arg()),
                    Reduce::Amin => format!("amin({})", arg()),
                    Reduce::Norm => format!("norm({})", arg()),
                    Reduce::Trace => format!("trace({})", arg()),
                    Reduce::AmaxAxis(k) => format!("amax_axis({}, Axis({k}))", arg()),
                    Reduce::AminAxis(k) => format!("amin_axis({}, Axis({k}))", arg()),
                    Reduce::Var(ddof) => format!("{}.var({ddof}.0)", recv()),
                    Reduce::Std(ddof) => format!("{}.std({ddof}.0)", recv()),
                    Reduce::VarAxis(k, ddof) => format!("{}.var_axis(Axis({k}), {ddof}.0)", recv()),
                    Reduce::StdAxis(k, ddof) => format!("{}.std_axis(Axis({k}), {ddof}.0)", recv()),
                };
                (s, POSTFIX)
            }
            Kind::Clamp(a, lo, hi) => (
                format!(
                    "{}.clamp({}, {})",
                    self.recv(a),
                    self.lit(*lo),
                    self.lit(*hi)
                ),
                POSTFIX,
            ),
            Kind::Outer(a, b) => (format!("outer({}, {})", self.arg(a), self.arg(b)), POSTFIX),
            Kind::Det(a) => (format!("det({})", self.dominant(a)), POSTFIX),
            Kind::Inv(a) => (format!("inv({})", self.dominant(a)), POSTFIX),
            Kind::Solve(a, b) => (
                format!("solve({}, {})", self.dominant(a), self.arg(b)),
                POSTFIX,
            ),
            Kind::Loss(l, a, b) => (
                format!("{}({}, {})", l.name(), self.arg(a), self.arg(b)),
                POSTFIX,
            ),
            Kind::Index(a, index) => (format!("{}{}", self.recv(a), self.index(index)), POSTFIX),
            Kind::Line(a, axis, index) => {
                let method = if *axis == 0 { "row" } else { "column" };
                // A view in the original: made owned, as the generator's vectors are.
                (
                    format!("{}.{method}({index}).to_owned()", self.recv(a)),
                    POSTFIX,
                )
            }
            Kind::View(view, a) => (
                format!("{}{}", self.recv(a), self.view(view, a.ty)),
                POSTFIX,
            ),
            Kind::Join(join, k, a, b) => {
                let (a, b) = (self.recv(a), self.recv(b));
                let s = match join {
                    Join::Concatenate { macro_form: true } => {
                        format!("concatenate![Axis({k}), {a}.view(), {b}.view()]")
                    }
                    Join::Concatenate { macro_form: false } => {
                        format!("concatenate(Axis({k}), &[{a}.view(), {b}.view()]).unwrap()")
                    }
                    Join::Stack { macro_form: true } => {
                        format!("stack![Axis({k}), {a}.view(), {b}.view()]")
                    }
                    Join::Stack { macro_form: false } => {
                        format!("stack(Axis({k}), &[{a}.view(), {b}.view()]).unwrap()")
                    }
                };
                (s, POSTFIX)
            }
            Kind::Logsumexp(a) => (format!("logsumexp({})", self.arg(a)), POSTFIX),
            Kind::Softmax { log, axis, arg } => {
                let name = if *log { "log_softmax" } else { "softmax" };
                (format!("{name}({}, Axis({axis}))", self.arg(arg)), POSTFIX)
            }
            Kind::CrossEntropy(a, labels) => {
                (format!("cross_entropy({}, {labels})", self.arg(a)), POSTFIX)
            }
            Kind::Copy(how, a) => {
                let m = match how {
                    Copying::View => "view",
                    Copying::ToOwned => "to_owned",
                    Copying::Clone => "clone",
                };
                (format!("{}.{m}()", self.recv(a)), POSTFIX)
            }
            Kind::Call(k, args) => {
                let prefix = match self.float {
                    Float::F64 => "g",
                    Float::F32 => "h",
                };
                let args: Vec<String> = args.iter().map(|a| self.value(a)).collect();
                (format!("{prefix}{k}({})", args.join(", ")), POSTFIX)
            }
            Kind::Map {
                array,
                other,
                params,
                form,
                body,
            } => {
                let body = self.value(body);
                let (a, v) = (self.recv(array), &params[0]);
                let float = self.float.name();
                let s = match (form, other) {
                    (MapForm::Mapv, None) => format!("{a}.mapv(|{v}| {body})"),
                    (MapForm::Map, _) => format!("{a}.map(|&{v}| {body})"),
                    (MapForm::Mapv, Some(b)) => format!(
                        "Zip::from({}).and({}).map_collect(|&{v}, &{}| {body})",
                        self.operand(array),
                        self.operand(b),
                        params[1]
                    ),
                    (MapForm::IterSum | MapForm::Fold, _) => {
                        let (iter, pattern) = match other {
                            None => (format!("{a}.iter()"), format!("&{v}")),
                            Some(b) => (
                                format!("{a}.iter().zip({})", self.operand(b)),
                                format!("(&{v}, &{})", params[1]),
                            ),
                        };
                        match form {
                            MapForm::Fold => {
                                format!("{iter}.fold(0.0_{float}, |acc, {pattern}| acc + {body})")
                            }
                            _ => format!("{iter}.map(|{pattern}| {body}).sum::<{float}>()"),
                        }
                    }
                };
                (s, POSTFIX)
            }
            Kind::Custom(name, a) => {
                // The custom functions take owned arrays by reference only.
                let arg = match a.ty.is_array() {
                    true => self.operand(a),
                    false => self.arg(a),
                };
                (format!("autodiff_gen::custom::{name}({arg})"), POSTFIX)
            }
        }
    }

    /// `(n + 1) I + &a` for an n × n matrix `a` with elements in [−1, 1]: diagonally
    /// dominant, so invertible and well conditioned.
    fn dominant(&self, a: &Expr) -> String {
        let n = match a.ty {
            Ty::Matrix(n, _) => n,
            _ => 1,
        };
        format!(
            "Array2::<{f}>::eye({n}) * {c} + {a}",
            f = self.float.name(),
            c = self.lit((n + 1) as f64),
            a = self.operand(a)
        )
    }

    fn value(&self, e: &Expr) -> String {
        self.expr(e).0
    }

    /// `[i]` or `[[i, j]]`.
    fn index(&self, index: &[IntExpr]) -> String {
        match index {
            [i] => format!("[{}]", self.int(i).0),
            _ => {
                let items: Vec<String> = index.iter().map(|i| self.int(i).0).collect();
                format!("[[{}]]", items.join(", "))
            }
        }
    }

    /// The method reading `view` of an array of type `from`, made owned.
    fn view(&self, view: &View, from: Ty) -> String {
        let (rows, cols) = match from {
            Ty::Matrix(r, c) => (r, c),
            Ty::Vector(n) => (n, 1),
            Ty::Scalar => (1, 1),
        };
        match view {
            View::Window(start, n) => {
                let start = self.int_at(start, ADD);
                format!(".slice(s![{start}..{start} + {n}]).to_owned()")
            }
            View::Reverse => ".slice(s![..;-1]).to_owned()".into(),
            View::Block(r0, r, c0, c) => format!(
                ".slice(s![-{}..{}, {c0}..{}]).to_owned()",
                rows - r0,
                r0 + r,
                c0 + c
            ),
            // A literal index typed: the view's rank depends on it, which a method called on
            // the view (`.dot(..)`) needs before rustc's fallback to `i32` (E0034).
            View::Line(0, i) => format!(".slice(s![{i}_isize, ..]).to_owned()"),
            View::Line(_, j) => format!(".slice(s![.., -{}_isize]).to_owned()", cols - j),
            View::SliceAxis(k, start, end) => {
                format!(".slice_axis(Axis({k}), Slice::from({start}..{end})).to_owned()")
            }
            View::IndexAxis(k, i) => {
                format!(".index_axis(Axis({k}), {}).to_owned()", self.int(i).0)
            }
            View::Select(k, picks) => {
                let picks: Vec<String> = picks.iter().map(ToString::to_string).collect();
                format!(".select(Axis({k}), &[{}])", picks.join(", "))
            }
            View::Diag => ".diag().to_owned()".into(),
            View::Flatten => ".flatten().to_owned()".into(),
            View::Reshape { shape, to_shape } => {
                let shape: Vec<String> = shape.iter().map(ToString::to_string).collect();
                let shape = match shape.as_slice() {
                    [n] => n.clone(),
                    _ => format!("({})", shape.join(", ")),
                };
                match to_shape {
                    true => format!(".to_shape({shape}).unwrap().to_owned()"),
                    false => format!(".view().into_shape_with_order({shape}).unwrap().to_owned()"),
                }
            }
            View::RemoveAxis(k) => format!(".view().remove_axis(Axis({k})).to_owned()"),
            View::InsertAxis(k) => format!(".view().insert_axis(Axis({k})).to_owned()"),
            View::Broadcast(r, c) => format!(".broadcast(({r}, {c})).unwrap().to_owned()"),
            View::ReversedAxes => ".view().reversed_axes().to_owned()".into(),
            View::PermutedAxes => ".view().permuted_axes([1, 0]).to_owned()".into(),
        }
    }

    /// An integer expression with its precedence.
    fn int(&self, i: &IntExpr) -> (String, u8) {
        match i {
            IntExpr::Lit(k) => (k.to_string(), POSTFIX),
            IntExpr::Var(n) => (n.clone(), POSTFIX),
            IntExpr::Len(n, dim) => (format!("{n}.{}()", dim.method()), POSTFIX),
            IntExpr::Add(a, b) => (
                format!("{} + {}", self.int_at(a, ADD), self.int_at(b, MUL)),
                ADD,
            ),
            IntExpr::Rem(a, k) => (format!("{} % {k}", self.int_at(a, MUL)), MUL),
            IntExpr::Cast(e) if self.probe => (
                format!(
                    "autodiff_gen::support::probe::cast({})",
                    self.typed(e, || self.value(e))
                ),
                POSTFIX,
            ),
            IntExpr::Cast(e) => (format!("({} as usize)", self.recv(e)), POSTFIX),
        }
    }

    fn int_at(&self, i: &IntExpr, min: u8) -> String {
        let (s, prec) = self.int(i);
        if prec < min {
            format!("({s})")
        } else {
            s
        }
    }

    /// A condition with its precedence: 0 for `||`, 1 for `&&`, 2 for a comparison, 3 for
    /// `!`, a call or a method.
    fn cond(&self, c: &Cond) -> (String, u8) {
        let at = |c: &Cond, min: u8| {
            let (s, prec) = self.cond(c);
            if prec < min {
                format!("({s})")
            } else {
                s
            }
        };
        match c {
            Cond::Value(op, a, b) if self.probe => (
                format!(
                    "autodiff_gen::support::probe::{}({}, {})",
                    op.probe(),
                    self.typed(a, || self.value(a)),
                    self.typed(b, || self.value(b))
                ),
                3,
            ),
            Cond::Value(op, a, b) => (
                format!(
                    "{} {} {}",
                    self.typed(a, || self.value(a)),
                    op.symbol(),
                    self.value(b)
                ),
                2,
            ),
            Cond::Int(op, a, b) => (
                format!("{} {} {}", self.int(a).0, op.symbol(), self.int(b).0),
                2,
            ),
            Cond::IsNan(e) => (format!("{}.is_nan()", self.recv(e)), 3),
            Cond::And(a, b) => (format!("{} && {}", at(a, 1), at(b, 2)), 1),
            Cond::Or(a, b) => (format!("{} || {}", at(a, 0), at(b, 1)), 0),
            Cond::Not(a) => (format!("!{}", at(a, 3)), 3),
        }
    }

    fn range(&self, r: &Range) -> String {
        let start = self.int_at(&r.start, POSTFIX);
        let end = self.int_at(&r.end, POSTFIX);
        let dots = if r.inclusive { "..=" } else { ".." };
        let mut s = format!("{start}{dots}{end}");
        if r.rev || r.step.is_some() {
            s = format!("({s})");
        }
        if r.rev {
            s.push_str(".rev()");
        }
        if let Some(k) = r.step {
            write!(s, ".step_by({k})").unwrap();
        }
        s
    }

    fn line(&self, out: &mut String, indent: usize, text: &str) {
        writeln!(out, "{}{text}", "    ".repeat(indent)).unwrap();
    }

    /// The statements of a block, one a line (blocks inside them indented).
    fn stmts(&self, body: &[Stmt], indent: usize, out: &mut String) {
        for stmt in body {
            self.stmt(stmt, indent, out);
        }
    }

    fn stmt(&self, stmt: &Stmt, indent: usize, out: &mut String) {
        let p = self;
        match stmt {
            Stmt::Let {
                name,
                mutable,
                expr,
            } => self.line(
                out,
                indent,
                &format!(
                    "let {}{name} = {};",
                    if *mutable { "mut " } else { "" },
                    p.typed(expr, || p.value(expr))
                ),
            ),
            Stmt::Assign { name, op, expr } => {
                let line = match op {
                    None => format!("{name} = {};", p.value(expr)),
                    Some(op) => {
                        let rhs = if expr.ty.is_array() {
                            p.operand(expr)
                        } else {
                            p.value(expr)
                        };
                        format!("{name} {}= {rhs};", op.symbol())
                    }
                };
                self.line(out, indent, &line);
            }
            Stmt::Move { name, from, .. } => {
                self.line(out, indent, &format!("let {name} = {from};"))
            }
            Stmt::SetIndex {
                name,
                index,
                op,
                expr,
            } => self.line(
                out,
                indent,
                &format!(
                    "{name}{} {}= {};",
                    self.index(index),
                    op.map_or("", BinOp::symbol),
                    p.typed(expr, || p.value(expr))
                ),
            ),
            Stmt::Break => self.line(out, indent, "break;"),
            Stmt::Continue => self.line(out, indent, "continue;"),
            Stmt::For { var, range, body } => {
                self.line(
                    out,
                    indent,
                    &format!(
                        "for {} in {} {{",
                        var.as_deref().unwrap_or("_"),
                        self.range(range)
                    ),
                );
                self.stmts(body, indent + 1, out);
                self.line(out, indent, "}");
            }
            Stmt::While {
                counter,
                limit,
                cond,
                body,
            } => {
                self.line(out, indent, &format!("let mut {counter} = 0;"));
                let test = match cond {
                    Some(c) => {
                        let (s, prec) = self.cond(c);
                        let s = if prec < 2 { format!("({s})") } else { s };
                        format!("{counter} < {limit} && {s}")
                    }
                    None => format!("{counter} < {limit}"),
                };
                self.line(out, indent, &format!("while {test} {{"));
                self.line(out, indent + 1, &format!("{counter} += 1;"));
                self.stmts(body, indent + 1, out);
                self.line(out, indent, "}");
            }
            Stmt::Loop {
                counter,
                limit,
                body,
            } => {
                self.line(out, indent, &format!("let mut {counter} = 0;"));
                self.line(out, indent, "loop {");
                self.line(out, indent + 1, &format!("if {counter} == {limit} {{"));
                self.line(out, indent + 2, "break;");
                self.line(out, indent + 1, "}");
                self.line(out, indent + 1, &format!("{counter} += 1;"));
                self.stmts(body, indent + 1, out);
                self.line(out, indent, "}");
            }
            Stmt::Branch { head, arms, bind } => {
                self.branch(head, arms, bind.as_ref(), indent, out)
            }
        }
    }

    fn branch(
        &self,
        head: &Head,
        arms: &[Arm],
        bind: Option<&Bind>,
        indent: usize,
        out: &mut String,
    ) {
        let (prefix, suffix) = match bind {
            Some(Bind {
                name, late: false, ..
            }) => (format!("let {name} = "), ";"),
            Some(Bind {
                name, late: true, ..
            }) => {
                self.line(out, indent, &format!("let {name};"));
                (String::new(), "")
            }
            None => (String::new(), ""),
        };
        // An arm's value: its last line, or an assignment of the late-initialized variable.
        let value = |arm: &Arm, indent: usize, out: &mut String| {
            if let (Some(v), Some(b)) = (&arm.value, bind) {
                let v = self.typed(v, || self.value(v));
                match b.late {
                    true => self.line(out, indent, &format!("{} = {v};", b.name)),
                    false => self.line(out, indent, &v),
                }
            }
        };
        match head {
            Head::If => {
                for (k, arm) in arms.iter().enumerate() {
                    let open = match (&arm.test, k) {
                        (Test::If(c), 0) => format!("{prefix}if {} {{", self.cond(c).0),
                        (Test::If(c), _) => format!("}} else if {} {{", self.cond(c).0),
                        (_, 0) => format!("{prefix}if true {{"),
                        _ => "} else {".to_string(),
                    };
                    self.line(out, indent, &open);
                    self.stmts(&arm.body, indent + 1, out);
                    value(arm, indent + 1, out);
                }
                self.line(out, indent, &format!("}}{suffix}"));
            }
            Head::Match(scrutinee) => {
                self.line(
                    out,
                    indent,
                    &format!("{prefix}match {} {{", self.int(scrutinee).0),
                );
                for arm in arms {
                    let pattern = match &arm.test {
                        Test::Pat(Pat::Lit(k)) => k.to_string(),
                        Test::Pat(Pat::Range(a, b)) => format!("{a}..={b}"),
                        Test::Pat(Pat::Or(ks)) => ks
                            .iter()
                            .map(usize::to_string)
                            .collect::<Vec<_>>()
                            .join(" | "),
                        Test::Pat(Pat::Bind(name)) => name.clone(),
                        _ => "_".to_string(),
                    };
                    self.line(out, indent + 1, &format!("{pattern} => {{"));
                    self.stmts(&arm.body, indent + 2, out);
                    value(arm, indent + 2, out);
                    self.line(out, indent + 1, "}");
                }
                self.line(out, indent, &format!("}}{suffix}"));
            }
        }
    }

    /// `e` printed where precedence at least `min` is needed.
    fn at(&self, e: &Expr, min: u8) -> String {
        let (s, prec) = self.expr(e);
        if prec < min {
            format!("({s})")
        } else {
            s
        }
    }

    fn recv(&self, e: &Expr) -> String {
        self.typed(e, || self.at(e, POSTFIX))
    }

    /// An array where Rust wants a reference: `x` for an `&ArrayN` parameter, `&u` for a
    /// local, `&p.w` for a field, `&(a + b)` for a temporary.
    fn operand(&self, e: &Expr) -> String {
        match &e.kind {
            Kind::Var { name, by_ref: true } => name.clone(),
            _ => format!("&{}", self.at(e, PREFIX)),
        }
    }

    /// An argument of a runtime function: places by reference, temporaries by value (both
    /// are accepted, as users write both).
    fn arg(&self, e: &Expr) -> String {
        if e.ty.is_array() && is_place(e) {
            self.operand(e)
        } else {
            self.typed(e, || self.value(e))
        }
    }
}

/// Made of literals alone: Rust cannot infer its float type from its operands.
fn literal_only(e: &Expr) -> bool {
    match &e.kind {
        Kind::Var { .. }
        | Kind::Field(_)
        | Kind::SizeCast(_)
        | Kind::Call(..)
        | Kind::Custom(..) => false,
        _ => e.children().into_iter().all(literal_only),
    }
}

/// A variable or field: read through a reference rather than moved.
fn is_place(e: &Expr) -> bool {
    matches!(e.kind, Kind::Var { .. } | Kind::Field(_))
}

/// An array operand Rust's operators take only by reference: a place, or a view (only owned
/// arrays can be consumed by `-a` or `a + &b`).
fn by_reference(e: &Expr) -> bool {
    is_place(e) || crate::generate::is_view(e)
}

fn param_type(p: &Param, float: Float) -> String {
    let f = float.name();
    let array = |ty: Ty| match ty {
        Ty::Vector(_) => "1",
        _ => "2",
    };
    match &p.kind {
        ParamKind::Diff { ty, pass, .. } => match (ty, pass) {
            (Ty::Scalar, _) => f.to_string(),
            (ty, Pass::Ref) => format!("&{}", ty.rust(float)),
            (ty, Pass::View) => format!("ArrayView{}<{f}>", array(*ty)),
        },
        ParamKind::Struct => "&Params".into(),
        ParamKind::Const(_) => f.to_string(),
        ParamKind::Size(_) => "usize".into(),
        ParamKind::Data(ty, _) => format!("&{}", ty.rust(float)),
        ParamKind::Labels(_) => "&[usize]".into(),
    }
}

fn result_type(program: &Program, float: Float) -> String {
    let types: Vec<String> = program.result.iter().map(|e| e.ty.rust(float)).collect();
    match types.len() {
        1 => types[0].clone(),
        _ => format!("({})", types.join(", ")),
    }
}

/// The `#[differentiable(...)]` attribute the program needs.
pub fn attribute(program: &Program) -> String {
    let mut args = Vec::new();
    let needs_wrt = program.explicit_wrt
        || program.params.iter().any(|p| {
            matches!(
                p.kind,
                ParamKind::Const(_) | ParamKind::Data(..) | ParamKind::Struct
            )
        });
    let diff: Vec<&str> = program
        .params
        .iter()
        .filter(|p| p.is_differentiated())
        .map(|p| p.name.as_str())
        .collect();
    if needs_wrt && !diff.is_empty() {
        args.push(format!("wrt({})", diff.join(", ")));
    }
    if program.hessian {
        args.push("hessian".into());
    }
    match args.len() {
        0 => "#[differentiable]".into(),
        _ => format!("#[differentiable({})]", args.join(", ")),
    }
}

/// The function `name` in `float`, with its attribute line when `attribute` is given;
/// with `probe`, its conditions record the branches taken (see [`crate::support::probe`]).
pub fn function(
    program: &Program,
    float: Float,
    name: &str,
    attribute: Option<&str>,
    probe: bool,
) -> String {
    let p = Printer::new(float, probe);
    let mut out = String::new();
    if let Some(attr) = attribute {
        writeln!(out, "{attr}").unwrap();
    }
    let params: Vec<String> = program
        .params
        .iter()
        .map(|param| {
            let mutable = matches!(param.kind, ParamKind::Diff { mutable: true, .. });
            format!(
                "{}{}: {}",
                if mutable { "mut " } else { "" },
                param.name,
                param_type(param, float)
            )
        })
        .collect();
    writeln!(
        out,
        "pub fn {name}({}) -> {} {{",
        params.join(", "),
        result_type(program, float)
    )
    .unwrap();
    p.stmts(&program.body, 1, &mut out);
    let results: Vec<String> = program.result.iter().map(|e| p.value(e)).collect();
    match results.len() {
        1 => writeln!(out, "    {}", results[0]).unwrap(),
        _ => writeln!(out, "    ({})", results.join(", ")).unwrap(),
    }
    out.push_str("}\n");
    out
}

/// The number of flat inputs (differentiated floats) and outputs of a program.
pub fn dimensions(program: &Program) -> (usize, usize) {
    let inputs = program
        .params
        .iter()
        .map(|p| match &p.kind {
            ParamKind::Diff { ty, .. } => ty.elements(),
            ParamKind::Struct => crate::generate::STRUCT_FIELDS
                .iter()
                .map(|(_, ty)| ty.elements())
                .sum(),
            _ => 0,
        })
        .sum();
    let outputs = program.result.iter().map(|e| e.ty.elements()).sum();
    (inputs, outputs)
}

/// Reads the differentiated arguments from the flat slice `from` into `a0, a1, …`.
fn read_args(program: &Program, float: Float, prefix: &str, from: &str) -> String {
    let mut out = format!("let mut r = Reader::new({from}); ");
    for (i, param) in program.params.iter().enumerate() {
        let template = match &param.kind {
            ParamKind::Diff { ty, .. } => ty.zeros(float),
            ParamKind::Struct => "Params::template()".into(),
            _ => continue,
        };
        write!(out, "let {prefix}{i} = r.take({template}); ").unwrap();
    }
    out
}

/// The argument list of a call, from `a0, a1, …` and the constants.
fn call_args(program: &Program, float: Float) -> Vec<String> {
    let p = Printer::new(float, false);
    program
        .params
        .iter()
        .enumerate()
        .map(|(i, param)| match &param.kind {
            ParamKind::Diff { ty: Ty::Scalar, .. } => format!("a{i}"),
            ParamKind::Diff {
                pass: Pass::View, ..
            } => format!("a{i}.view()"),
            ParamKind::Diff { .. } | ParamKind::Struct => format!("&a{i}"),
            ParamKind::Const(v) => p.lit(*v),
            ParamKind::Size(n) => n.to_string(),
            ParamKind::Labels(labels) => format!("&{labels:?}"),
            ParamKind::Data(ty, values) => {
                let values: Vec<String> = values.iter().map(|v| p.lit(*v)).collect();
                format!(
                    "&Array::from_shape_vec({}, vec![{}]).unwrap()",
                    match ty {
                        Ty::Matrix(r, c) => format!("({r}, {c})"),
                        _ => ty.elements().to_string(),
                    },
                    values.join(", ")
                )
            }
        })
        .collect()
}

fn tangents(program: &Program) -> Vec<String> {
    program
        .params
        .iter()
        .enumerate()
        .filter(|(_, p)| p.is_differentiated())
        .map(|(i, _)| format!("t{i}"))
        .collect()
}

/// Whether a program has an f64 `twin`: f32 programs (for accurate finite differences),
/// and programs with control flow (instrumented, to see whether a branch flips near a point).
fn has_twin(program: &Program) -> bool {
    program.float == Float::F32 || program.has_control()
}

/// The function, and its twin when it has one, as plain Rust (`plain`: without the
/// attribute).
fn functions(program: &Program, plain: bool) -> String {
    let attr = (!plain).then(|| attribute(program));
    let mut out = function(program, program.float, "f", attr.as_deref(), false);
    if has_twin(program) {
        out.push_str(&function(program, Float::F64, "twin", None, true));
    }
    out
}

/// The module of one program: the function, its f64 twin (see [`has_twin`]), and `case()`.
pub fn module(name: &str, program: &Program) -> String {
    let float = program.float;
    let mut out = format!("pub mod {name} {{\nuse super::*;\n");
    out.push_str(&functions(program, false));
    let (inputs, outputs) = dimensions(program);
    let args = call_args(program, float).join(", ");
    let read = read_args(program, float, "a", "x");
    let read_t = read_args(program, float, "t", "t");
    let tangents = tangents(program).join(", ");
    let cot_template = match program.result.len() {
        1 => program.result[0].ty.zeros(float),
        _ => format!(
            "({})",
            program
                .result
                .iter()
                .map(|e| e.ty.zeros(float))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let read64 = read_args(program, Float::F64, "a", "x");
    let args64 = call_args(program, Float::F64).join(", ");
    let twin = match has_twin(program) {
        true => format!("Some(|x| {{ {read64} flat(&twin({args64})) }})"),
        false => "None".into(),
    };
    let trace = match program.has_control() {
        true => format!(
            "Some(|x| {{ {read64} autodiff_gen::support::probe::trace(|| {{ twin({args64}); }}) }})"
        ),
        false => "None".into(),
    };
    let grad = match program.scalar_result() {
        true => format!("Some(|x| {{ {read} let (v, g) = f_grad({args}); (flat(&v), flat(&g)) }})"),
        false => "None".into(),
    };
    let structs = program
        .params
        .iter()
        .any(|p| matches!(p.kind, ParamKind::Struct));
    let traced = match program.scalar_result() && !structs {
        true => format!(
            "Some(|x| {{ {read} autodiff_gen::support::traced(&f_trace({args}), {single}) }})",
            single = float == Float::F32
        ),
        false => "None".into(),
    };
    let jacobian = match program.scalar_result() {
        false => {
            format!("Some(|x| {{ {read} let (v, j) = f_jacobian({args}); (flat(&v), flat(&j)) }})")
        }
        true => "None".into(),
    };
    let hessian = match program.hessian {
        true => format!(
            "Some(|x| {{ {read} let (v, g, h) = f_hessian({args}); (flat(&v), flat(&g), flat(&h)) }})"
        ),
        false => "None".into(),
    };
    // With `hessian`, f_hvp along the tangents and f_hessian_diagonal too.
    let (hvp, diagonal) = match program.hessian {
        true => (
            format!("Some(|x, t| {{ {read} {read_t} let (_, g, hv) = f_hvp({args}, {tangents}); (flat(&g), flat(&hv)) }})"),
            format!("Some(|x| {{ {read} let (_, g, d) = f_hessian_diagonal({args}); (flat(&g), flat(&d)) }})"),
        ),
        false => ("None".into(), "None".into()),
    };
    write!(
        out,
        "pub fn case() -> Case {{
    Case {{
        name: \"{name}\",
        single: {single},
        inputs: {inputs},
        outputs: {outputs},
        eval: |x| {{ {read} flat(&f({args})) }},
        eval64: {twin},
        trace: {trace},
        vjp: |x, c| {{ {read} let cot = Reader::new(c).take({cot_template}); let (v, g) = f_vjp({args}, cot); (flat(&v), flat(&g)) }},
        jvp: |x, t| {{ {read} {read_t} let (v, d) = f_jvp({args}, {tangents}); (flat(&v), flat(&d)) }},
        grad: {grad},
        traced: {traced},
        jacobian: {jacobian},
        hessian: {hessian},
        hvp: {hvp},
        diagonal: {diagonal},
    }}
}}
}}
",
        single = float == Float::F32,
    )
    .unwrap();
    out
}

/// A callee `g{k}` (and its f32 copy `h{k}`), at the root of a crate; without its
/// attribute when `plain`.
pub fn callee(k: usize, program: &Program, plain: bool) -> String {
    let attr = (!plain).then(|| attribute(program));
    let mut out = function(
        program,
        Float::F64,
        &format!("g{k}"),
        attr.as_deref(),
        false,
    );
    out.push_str(&function(
        program,
        Float::F32,
        &format!("h{k}"),
        attr.as_deref(),
        false,
    ));
    out
}

/// The module of one program as plain Rust: the function without the attribute, and its
/// twin.
pub fn plain_module(name: &str, program: &Program) -> String {
    format!(
        "pub mod {name} {{\nuse super::*;\n{}}}\n",
        functions(program, true)
    )
}

/// A whole program as a reader sees it: the function, and the callees it calls.
pub fn reproducer(program: &Program, callees: &[Program]) -> String {
    let mut out = String::new();
    for k in program.callees() {
        out.push_str(&function(
            &callees[k],
            program.float,
            &format!(
                "{}{k}",
                if program.float == Float::F64 {
                    "g"
                } else {
                    "h"
                }
            ),
            Some(&attribute(&callees[k])),
            false,
        ));
        out.push('\n');
    }
    out.push_str(&function(
        program,
        program.float,
        "f",
        Some(&attribute(program)),
        false,
    ));
    out
}
