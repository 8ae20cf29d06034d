//! A random program as data: typed expressions over the primitives, statements, parameters.
//! The generator builds it, the renderer writes it as Rust, the shrinker takes it apart.

/// The float type a whole program computes in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Float {
    F64,
    F32,
}

impl Float {
    pub fn name(self) -> &'static str {
        match self {
            Float::F64 => "f64",
            Float::F32 => "f32",
        }
    }
}

/// The type (and shape) of a value.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Ty {
    Scalar,
    Vector(usize),
    Matrix(usize, usize),
}

impl Ty {
    pub fn is_array(self) -> bool {
        self != Ty::Scalar
    }

    /// The number of floats.
    pub fn elements(self) -> usize {
        match self {
            Ty::Scalar => 1,
            Ty::Vector(n) => n,
            Ty::Matrix(r, c) => r * c,
        }
    }

    /// The owned Rust type, `f64`, `Array1<f64>`, `Array2<f64>`.
    pub fn rust(self, float: Float) -> String {
        let f = float.name();
        match self {
            Ty::Scalar => f.to_string(),
            Ty::Vector(_) => format!("Array1<{f}>"),
            Ty::Matrix(..) => format!("Array2<{f}>"),
        }
    }

    /// A zero value of this type, as Rust.
    pub fn zeros(self, float: Float) -> String {
        let f = float.name();
        match self {
            Ty::Scalar => format!("0.0_{f}"),
            Ty::Vector(n) => format!("Array1::<{f}>::zeros({n})"),
            Ty::Matrix(r, c) => format!("Array2::<{f}>::zeros(({r}, {c}))"),
        }
    }
}

/// How an array parameter is passed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Pass {
    /// Scalars by value, arrays as `&ArrayN<F>`.
    Ref,
    /// Arrays as `ArrayViewN<F>`.
    View,
}

#[derive(Clone, PartialEq, Debug)]
pub enum ParamKind {
    /// A differentiated float or array of floats.
    Diff { ty: Ty, pass: Pass, mutable: bool },
    /// `p: &Params`, the support crate's struct of parameters, read through its fields.
    Struct,
    /// A float left out of `wrt`.
    Const(f64),
    /// `n: usize`, read as `n as F`.
    Size(usize),
    /// A constant array `&ArrayN<F>` (data, targets in (0, 1)).
    Data(Ty, Vec<f64>),
    /// `labels: &[usize]`, class indices for `cross_entropy`.
    Labels(Vec<usize>),
}

#[derive(Clone, PartialEq, Debug)]
pub struct Param {
    pub name: String,
    pub kind: ParamKind,
}

impl Param {
    pub fn is_differentiated(&self) -> bool {
        matches!(self.kind, ParamKind::Diff { .. } | ParamKind::Struct)
    }
}

/// Elementwise methods, on scalars and arrays alike.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Unary {
    Ln,
    Log2,
    Log10,
    Exp,
    Exp2,
    Ln1p,
    ExpM1,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Tanh,
    Sqrt,
    Cbrt,
    Recip,
    Abs,
}

impl Unary {
    pub const ALL: [Unary; 20] = [
        Unary::Ln,
        Unary::Log2,
        Unary::Log10,
        Unary::Exp,
        Unary::Exp2,
        Unary::Ln1p,
        Unary::ExpM1,
        Unary::Sin,
        Unary::Cos,
        Unary::Tan,
        Unary::Asin,
        Unary::Acos,
        Unary::Atan,
        Unary::Sinh,
        Unary::Cosh,
        Unary::Tanh,
        Unary::Sqrt,
        Unary::Cbrt,
        Unary::Recip,
        Unary::Abs,
    ];

    pub fn method(self) -> &'static str {
        match self {
            Unary::Ln => "ln",
            Unary::Log2 => "log2",
            Unary::Log10 => "log10",
            Unary::Exp => "exp",
            Unary::Exp2 => "exp2",
            Unary::Ln1p => "ln_1p",
            Unary::ExpM1 => "exp_m1",
            Unary::Sin => "sin",
            Unary::Cos => "cos",
            Unary::Tan => "tan",
            Unary::Asin => "asin",
            Unary::Acos => "acos",
            Unary::Atan => "atan",
            Unary::Sinh => "sinh",
            Unary::Cosh => "cosh",
            Unary::Tanh => "tanh",
            Unary::Sqrt => "sqrt",
            Unary::Cbrt => "cbrt",
            Unary::Recip => "recip",
            Unary::Abs => "abs",
        }
    }
}

/// The runtime's elementwise functions, `sigmoid(x)`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Activation {
    Sigmoid,
    Relu,
    Softplus,
}

impl Activation {
    pub const ALL: [Activation; 3] = [Activation::Sigmoid, Activation::Relu, Activation::Softplus];

    pub fn name(self) -> &'static str {
        match self {
            Activation::Sigmoid => "sigmoid",
            Activation::Relu => "relu",
            Activation::Softplus => "softplus",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
        }
    }
}

/// Scalar methods of two arguments, `a.atan2(b)`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Method2 {
    Atan2,
    Hypot,
    Max,
    Min,
    Powf,
}

impl Method2 {
    pub fn name(self) -> &'static str {
        match self {
            Method2::Atan2 => "atan2",
            Method2::Hypot => "hypot",
            Method2::Max => "max",
            Method2::Min => "min",
            Method2::Powf => "powf",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Reduce {
    Sum,
    Mean,
    SumAxis(usize),
    MeanAxis(usize),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Loss {
    Mse,
    /// `bce(p, y)` with both in (0, 1).
    Bce,
    BceWithLogits,
}

impl Loss {
    pub fn name(self) -> &'static str {
        match self {
            Loss::Mse => "mse",
            Loss::Bce => "bce",
            Loss::BceWithLogits => "bce_with_logits",
        }
    }
}

/// What `.view()`, `.to_owned()`, `.clone()` make of an array.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Copying {
    View,
    ToOwned,
    Clone,
}

/// A typed expression with a rough bound on its magnitude (used to keep values in range).
#[derive(Clone, PartialEq, Debug)]
pub struct Expr {
    pub ty: Ty,
    pub bound: f64,
    pub kind: Kind,
}

#[derive(Clone, PartialEq, Debug)]
pub enum Kind {
    /// A parameter or local; `by_ref` when it is already a reference (`&ArrayN` parameters).
    Var {
        name: String,
        by_ref: bool,
    },
    /// A field of the struct parameter, `p.inner.v`.
    Field(String),
    Lit(f64),
    /// `n as F`.
    SizeCast(String),
    Unary(Unary, Box<Expr>),
    Powi(Box<Expr>, i32),
    Activation(Activation, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    /// Scalar `a.atan2(b)` … and, for arrays, `a.powf(s)`, `a.hypot(s)` with a scalar `s`.
    Method2(Method2, Box<Expr>, Box<Expr>),
    MulAdd(Box<Expr>, Box<Expr>, Box<Expr>),
    Dot(Box<Expr>, Box<Expr>),
    Transpose(Box<Expr>),
    Reduce(Reduce, Box<Expr>),
    /// One element of an array, `a[i]` or `a[[i, j]]`, at an index within its shape.
    Index(Box<Expr>, Vec<usize>),
    /// One line of a matrix: `m.row(i)` (axis 0) or `m.column(j)` (axis 1).
    Line(Box<Expr>, usize, usize),
    Loss(Loss, Box<Expr>, Box<Expr>),
    Logsumexp(Box<Expr>),
    Softmax {
        log: bool,
        axis: usize,
        arg: Box<Expr>,
    },
    CrossEntropy(Box<Expr>, String),
    Copy(Copying, Box<Expr>),
    /// A generated `#[differentiable]` callee of scalars, by index.
    Call(usize, Vec<Expr>),
    /// A function with custom rules from the support module.
    Custom(&'static str, Box<Expr>),
}

/// The direct subexpressions of a `&Kind` or a `&mut Kind`, as references of the same kind.
macro_rules! children {
    ($kind:expr) => {
        match $kind {
            Kind::Var { .. } | Kind::Field(_) | Kind::Lit(_) | Kind::SizeCast(_) => vec![],
            Kind::Unary(_, a)
            | Kind::Powi(a, _)
            | Kind::Activation(_, a)
            | Kind::Neg(a)
            | Kind::Transpose(a)
            | Kind::Reduce(_, a)
            | Kind::Index(a, _)
            | Kind::Line(a, _, _)
            | Kind::Logsumexp(a)
            | Kind::Softmax { arg: a, .. }
            | Kind::CrossEntropy(a, _)
            | Kind::Copy(_, a)
            | Kind::Custom(_, a) => vec![a],
            Kind::Binary(_, a, b)
            | Kind::Method2(_, a, b)
            | Kind::Dot(a, b)
            | Kind::Loss(_, a, b) => vec![a, b],
            Kind::MulAdd(a, b, c) => vec![a, b, c],
            Kind::Call(_, args) => args.into_iter().collect(),
        }
    };
}

impl Expr {
    /// The direct subexpressions.
    pub fn children(&self) -> Vec<&Expr> {
        children!(&self.kind)
    }

    pub fn children_mut(&mut self) -> Vec<&mut Expr> {
        children!(&mut self.kind)
    }

    /// Number of nodes: the shrinker's measure.
    pub fn size(&self) -> usize {
        1 + self.children().iter().map(|c| c.size()).sum::<usize>()
    }

    /// Whether the expression calls a generated callee or a custom rule (no Hessian then).
    pub fn calls(&self) -> bool {
        matches!(self.kind, Kind::Call(..) | Kind::Custom(..))
            || self.children().iter().any(|c| c.calls())
    }

    /// Every variable name read.
    pub fn reads(&self, out: &mut Vec<String>) {
        if let Kind::Var { name, .. } = &self.kind {
            out.push(name.clone());
        }
        for child in self.children() {
            child.reads(out);
        }
    }
}

#[derive(Clone, PartialEq, Debug)]
pub enum Stmt {
    /// `let [mut] name = expr;` (`name` may shadow an earlier binding of the same type).
    Let {
        name: String,
        mutable: bool,
        expr: Expr,
    },
    /// `name = expr;` or `name op= expr;`.
    Assign {
        name: String,
        op: Option<BinOp>,
        expr: Expr,
    },
    /// `let name = from;`: an owned array moved into a new binding.
    Move { name: String, from: String, ty: Ty },
    /// `name[i] = expr;`, `name[[i, j]] op= expr;`: one element of a mutable array.
    SetElement {
        name: String,
        index: Vec<usize>,
        op: Option<BinOp>,
        expr: Expr,
    },
}

impl Stmt {
    pub fn exprs_mut(&mut self) -> Vec<&mut Expr> {
        match self {
            Stmt::Let { expr, .. } | Stmt::Assign { expr, .. } | Stmt::SetElement { expr, .. } => {
                vec![expr]
            }
            Stmt::Move { .. } => vec![],
        }
    }

    pub fn size(&self) -> usize {
        match self {
            Stmt::Let { expr, .. } | Stmt::Assign { expr, .. } | Stmt::SetElement { expr, .. } => {
                1 + expr.size()
            }
            Stmt::Move { .. } => 1,
        }
    }
}

/// One random `#[differentiable]` function.
#[derive(Clone, PartialEq, Debug)]
pub struct Program {
    pub float: Float,
    pub params: Vec<Param>,
    pub body: Vec<Stmt>,
    /// One expression, or the elements of a tuple.
    pub result: Vec<Expr>,
    /// Write `wrt(...)` even when every float parameter is differentiated.
    pub explicit_wrt: bool,
    pub hessian: bool,
}

impl Program {
    pub fn size(&self) -> usize {
        self.params.len()
            + self.hessian as usize
            + self.explicit_wrt as usize
            + self.body.iter().map(Stmt::size).sum::<usize>()
            + self.result.iter().map(Expr::size).sum::<usize>()
    }

    pub fn scalar_result(&self) -> bool {
        self.result.len() == 1 && self.result[0].ty == Ty::Scalar
    }

    pub fn calls(&self) -> bool {
        self.result.iter().any(Expr::calls)
            || self.body.iter().any(
                |s| matches!(s, Stmt::Let { expr, .. } | Stmt::Assign { expr, .. } | Stmt::SetElement { expr, .. } if expr.calls()),
            )
    }

    /// The callees (by index) this program calls.
    pub fn callees(&self) -> Vec<usize> {
        fn walk(e: &Expr, out: &mut Vec<usize>) {
            if let Kind::Call(k, _) = e.kind {
                if !out.contains(&k) {
                    out.push(k);
                }
            }
            for c in e.children() {
                walk(c, out);
            }
        }
        let mut out = Vec::new();
        for stmt in &self.body {
            if let Stmt::Let { expr, .. }
            | Stmt::Assign { expr, .. }
            | Stmt::SetElement { expr, .. } = stmt
            {
                walk(expr, &mut out);
            }
        }
        for e in &self.result {
            walk(e, &mut out);
        }
        out
    }
}
