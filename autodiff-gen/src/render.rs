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
    /// Suffix every literal: inside a constant subexpression whose float type Rust could not
    /// otherwise infer (`2.0_f64.ln()`, `sigmoid(2.0_f64)`).
    suffix: std::cell::Cell<bool>,
}

impl Printer {
    fn new(float: Float) -> Printer {
        Printer {
            float,
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
                let a = self.recv(a);
                let s = match r {
                    Reduce::Sum => format!("{a}.sum()"),
                    Reduce::Mean => format!("{a}.mean().unwrap()"),
                    Reduce::SumAxis(k) => format!("{a}.sum_axis(Axis({k}))"),
                    Reduce::MeanAxis(k) => format!("{a}.mean_axis(Axis({k})).unwrap()"),
                };
                (s, POSTFIX)
            }
            Kind::Loss(l, a, b) => (
                format!("{}({}, {})", l.name(), self.arg(a), self.arg(b)),
                POSTFIX,
            ),
            Kind::Index(a, index) => {
                let at = match index.as_slice() {
                    [i] => format!("{i}"),
                    _ => format!(
                        "[{}]",
                        index
                            .iter()
                            .map(usize::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                (format!("{}[{at}]", self.recv(a)), POSTFIX)
            }
            Kind::Line(a, axis, index) => {
                let method = if *axis == 0 { "row" } else { "column" };
                // A view in the original: made owned, as the generator's vectors are.
                (
                    format!("{}.{method}({index}).to_owned()", self.recv(a)),
                    POSTFIX,
                )
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

    fn value(&self, e: &Expr) -> String {
        self.expr(e).0
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

/// The function `name` in `float`, with its attribute line when `attribute` is given.
pub fn function(program: &Program, float: Float, name: &str, attribute: Option<&str>) -> String {
    let p = Printer::new(float);
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
    for stmt in &program.body {
        let line = match stmt {
            Stmt::Let {
                name,
                mutable,
                expr,
            } => format!(
                "let {}{name} = {};",
                if *mutable { "mut " } else { "" },
                p.typed(expr, || p.value(expr))
            ),
            Stmt::Assign { name, op, expr } => match op {
                None => format!("{name} = {};", p.value(expr)),
                Some(op) => {
                    let rhs = if expr.ty.is_array() {
                        p.operand(expr)
                    } else {
                        p.value(expr)
                    };
                    format!("{name} {}= {rhs};", op.symbol())
                }
            },
            Stmt::Move { name, from, .. } => format!("let {name} = {from};"),
            Stmt::SetElement {
                name,
                index,
                op,
                expr,
            } => {
                let at = match index.as_slice() {
                    [i] => format!("{i}"),
                    _ => format!(
                        "[{}]",
                        index
                            .iter()
                            .map(usize::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                let op = op.map(|op| op.symbol()).unwrap_or("");
                format!("{name}[{at}] {op}= {};", p.value(expr))
            }
        };
        writeln!(out, "    {line}").unwrap();
    }
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
    let p = Printer::new(float);
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

/// The module of one program: the function, its f64 twin for f32 programs (for accurate
/// finite differences), and `case()`.
pub fn module(name: &str, program: &Program) -> String {
    let float = program.float;
    let mut out = format!("pub mod {name} {{\nuse super::*;\n");
    out.push_str(&function(program, float, "f", Some(&attribute(program))));
    if float == Float::F32 {
        out.push_str(&function(program, Float::F64, "twin", None));
    }
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
    let twin = match float {
        Float::F32 => format!(
            "Some(|x| {{ {} flat(&twin({})) }})",
            read_args(program, Float::F64, "a", "x"),
            call_args(program, Float::F64).join(", ")
        ),
        Float::F64 => "None".into(),
    };
    let grad = match program.scalar_result() {
        true => format!("Some(|x| {{ {read} let (v, g) = f_grad({args}); (flat(&v), flat(&g)) }})"),
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
        vjp: |x, c| {{ {read} let cot = Reader::new(c).take({cot_template}); let (v, g) = f_vjp({args}, cot); (flat(&v), flat(&g)) }},
        jvp: |x, t| {{ {read} {read_t} let (v, d) = f_jvp({args}, {tangents}); (flat(&v), flat(&d)) }},
        grad: {grad},
        jacobian: {jacobian},
        hessian: {hessian},
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
    let mut out = function(program, Float::F64, &format!("g{k}"), attr.as_deref());
    out.push_str(&function(
        program,
        Float::F32,
        &format!("h{k}"),
        attr.as_deref(),
    ));
    out
}

/// The module of one program as plain Rust: the function without the attribute.
pub fn plain_module(name: &str, program: &Program) -> String {
    format!(
        "pub mod {name} {{\nuse super::*;\n{}}}\n",
        function(program, program.float, "f", None)
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
        ));
        out.push('\n');
    }
    out.push_str(&function(
        program,
        program.float,
        "f",
        Some(&attribute(program)),
    ));
    out
}
