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
    Signum,
    Floor,
    Ceil,
    Round,
    Trunc,
    Fract,
}

impl Unary {
    pub const ALL: [Unary; 26] = [
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
        Unary::Signum,
        Unary::Floor,
        Unary::Ceil,
        Unary::Round,
        Unary::Trunc,
        Unary::Fract,
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
            Unary::Signum => "signum",
            Unary::Floor => "floor",
            Unary::Ceil => "ceil",
            Unary::Round => "round",
            Unary::Trunc => "trunc",
            Unary::Fract => "fract",
        }
    }
}

/// The runtime's elementwise functions, `sigmoid(x)`, `erf(x)`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Activation {
    Sigmoid,
    Relu,
    Softplus,
    Erf,
    Erfc,
    /// On positive arguments only (the generator keeps them away from the poles).
    LnGamma,
    Digamma,
}

impl Activation {
    pub const ALL: [Activation; 7] = [
        Activation::Sigmoid,
        Activation::Relu,
        Activation::Softplus,
        Activation::Erf,
        Activation::Erfc,
        Activation::LnGamma,
        Activation::Digamma,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Activation::Sigmoid => "sigmoid",
            Activation::Relu => "relu",
            Activation::Softplus => "softplus",
            Activation::Erf => "erf",
            Activation::Erfc => "erfc",
            Activation::LnGamma => "ln_gamma",
            Activation::Digamma => "digamma",
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
    /// `amax(a)`, `amin(a)`, `norm(a)`, `trace(m)` of a square matrix.
    Amax,
    Amin,
    Norm,
    Trace,
    AmaxAxis(usize),
    AminAxis(usize),
    /// `a.var(ddof)`, `a.std(ddof)`, `a.var_axis(Axis(k), ddof)`, `a.std_axis(Axis(k), ddof)`,
    /// with `ddof` 0 or 1 (1 only where the reduced length is at least 2).
    Var(u8),
    Std(u8),
    VarAxis(usize, u8),
    StdAxis(usize, u8),
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
    /// `a.clamp(lo, hi)` with literal bounds.
    Clamp(Box<Expr>, f64, f64),
    Dot(Box<Expr>, Box<Expr>),
    /// `outer(a, b)` of two vectors.
    Outer(Box<Expr>, Box<Expr>),
    /// `det(c I + &a)`, `inv(c I + &a)`, `solve(c I + &a, b)` of a square matrix `a` with
    /// elements in [−1, 1], made diagonally dominant (c = n + 1), so well conditioned.
    Det(Box<Expr>),
    Inv(Box<Expr>),
    Solve(Box<Expr>, Box<Expr>),
    Transpose(Box<Expr>),
    Reduce(Reduce, Box<Expr>),
    /// One element of an array, `a[i]` or `a[[i, j]]`, at indices within its shape: literals,
    /// loop indices, `i % 2`, `i + 1`.
    Index(Box<Expr>, Vec<IntExpr>),
    /// An integer constant as a float, `(i as f64)`, `(x.len() as f64)`.
    IntCast(IntExpr),
    /// One line of a matrix: `m.row(i)` (axis 0) or `m.column(j)` (axis 1).
    Line(Box<Expr>, usize, usize),
    /// A part of an array, made owned: a slice, a gather, a diagonal, a reshaping.
    View(View, Box<Expr>),
    /// Two arrays joined along an axis.
    Join(Join, usize, Box<Expr>, Box<Expr>),
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
    /// An elementwise closure over `array` (and `other`, zipped, of the same shape), written
    /// as `form` says: `body` a scalar expression of the parameters (`params[0]` the element
    /// of `array`, `params[1]` of `other`), literals and scalars in scope (captured).
    Map {
        array: Box<Expr>,
        other: Option<Box<Expr>>,
        params: Vec<String>,
        form: MapForm,
        body: Box<Expr>,
    },
}

/// How an elementwise closure is written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MapForm {
    /// `a.mapv(|v| …)`, or with `other`: `Zip::from(&a).and(&b).map_collect(|&v, &w| …)`.
    Mapv,
    /// `a.map(|&v| …)` (one array only).
    Map,
    /// A scalar: `a.iter().map(|&v| …).sum::<f64>()`, or `a.iter().zip(&b).map(|(&v, &w)| …)`.
    IterSum,
    /// A scalar: `a.iter().fold(0.0, |acc, &v| acc + …)`, zipped likewise.
    Fold,
}

/// The direct subexpressions of a `&Kind` or a `&mut Kind`, as references of the same kind.
macro_rules! children {
    ($kind:expr) => {
        match $kind {
            Kind::Var { .. }
            | Kind::Field(_)
            | Kind::Lit(_)
            | Kind::SizeCast(_)
            | Kind::IntCast(_) => vec![],
            Kind::Unary(_, a)
            | Kind::Powi(a, _)
            | Kind::Activation(_, a)
            | Kind::Neg(a)
            | Kind::Transpose(a)
            | Kind::Reduce(_, a)
            | Kind::Index(a, _)
            | Kind::Line(a, _, _)
            | Kind::View(_, a)
            | Kind::Logsumexp(a)
            | Kind::Softmax { arg: a, .. }
            | Kind::CrossEntropy(a, _)
            | Kind::Copy(_, a)
            | Kind::Clamp(a, _, _)
            | Kind::Det(a)
            | Kind::Inv(a)
            | Kind::Custom(_, a) => vec![a],
            // The body's reads are of scalars only: the shrinker replaces the closure whole.
            Kind::Map { array, other, .. } => match other {
                Some(other) => vec![array, other],
                None => vec![array],
            },
            Kind::Binary(_, a, b)
            | Kind::Method2(_, a, b)
            | Kind::Dot(a, b)
            | Kind::Outer(a, b)
            | Kind::Join(_, _, a, b)
            | Kind::Solve(a, b)
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

    /// Number of expression nodes (what [`Expr::children`] walks).
    pub fn nodes(&self) -> usize {
        1 + self.children().iter().map(|c| c.nodes()).sum::<usize>()
    }

    /// Number of nodes (and of the indices' nodes): the shrinker's measure.
    pub fn size(&self) -> usize {
        let ints = match &self.kind {
            Kind::Index(_, index) => index.iter().map(IntExpr::size).sum(),
            Kind::IntCast(i) => i.size(),
            _ => 0,
        };
        1 + ints + self.children().iter().map(|c| c.size()).sum::<usize>()
    }

    /// Whether the expression calls a custom rule (which has no second derivatives).
    pub fn calls_custom(&self) -> bool {
        matches!(self.kind, Kind::Custom(..)) || self.children().iter().any(|c| c.calls_custom())
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

    /// The integer expressions of this expression and its subexpressions (indices, casts).
    pub fn ints(&self, f: &mut dyn FnMut(&IntExpr)) {
        match &self.kind {
            Kind::Index(_, index) => index.iter().for_each(|i| i.visit(f)),
            Kind::IntCast(i) => i.visit(f),
            _ => {}
        }
        for child in self.children() {
            child.ints(f);
        }
    }

    pub fn ints_mut(&mut self, f: &mut dyn FnMut(&mut IntExpr)) {
        match &mut self.kind {
            Kind::Index(_, index) => index.iter_mut().for_each(|i| i.visit_mut(f)),
            Kind::IntCast(i) => i.visit_mut(f),
            _ => {}
        }
        for child in self.children_mut() {
            child.ints_mut(f);
        }
    }
}

/// What `x.len()`, `m.nrows()`, `m.ncols()` ask of an array.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Dim {
    Len,
    Rows,
    Cols,
}

impl Dim {
    pub fn method(self) -> &'static str {
        match self {
            Dim::Len => "len",
            Dim::Rows => "nrows",
            Dim::Cols => "ncols",
        }
    }
}

/// A part of an array that `Kind::View` reads (the indices within the source's shape).
#[derive(Clone, PartialEq, Debug)]
pub enum View {
    /// `x.slice(s![start..start + n])` of a vector.
    Window(IntExpr, usize),
    /// `x.slice(s![..;-1])`.
    Reverse,
    /// `m.slice(s![r0..r0 + r, c0..c0 + c])`, the bounds of the rows counted from the end.
    Block(usize, usize, usize, usize),
    /// `m.slice(s![i, ..])` (axis 0) or `m.slice(s![.., -1 - j])` (axis 1, from the end).
    Line(usize, usize),
    /// `a.slice_axis(Axis(k), Slice::from(start..end))`.
    SliceAxis(usize, usize, usize),
    /// `m.index_axis(Axis(k), i)`.
    IndexAxis(usize, IntExpr),
    /// `a.select(Axis(k), &[i, j, …])`, indices repeated at will.
    Select(usize, Vec<usize>),
    /// `m.diag()`.
    Diag,
    /// `m.flatten()`.
    Flatten,
    /// `a.view().into_shape_with_order(shape).unwrap()`, or `a.to_shape(shape).unwrap()`
    /// when `to_shape`.
    Reshape { shape: Vec<usize>, to_shape: bool },
    /// `m.view().remove_axis(Axis(k))` of a matrix with one row or column.
    RemoveAxis(usize),
    /// `v.view().insert_axis(Axis(k))`.
    InsertAxis(usize),
    /// `v.broadcast((r, c)).unwrap()`.
    Broadcast(usize, usize),
    /// `m.view().reversed_axes()`.
    ReversedAxes,
    /// `m.view().permuted_axes([1, 0])`.
    PermutedAxes,
}

/// How two arrays are joined: `concatenate` or `stack`, as a function or a macro.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Join {
    Concatenate { macro_form: bool },
    Stack { macro_form: bool },
}

/// A `usize` expression: a constant to the macro (loop indices, sizes, shape queries, casts
/// of values).
#[derive(Clone, PartialEq, Debug)]
pub enum IntExpr {
    Lit(usize),
    /// A loop index, or an `n: usize` parameter.
    Var(String),
    /// `x.len()`, `m.nrows()`, `m.ncols()` of an array variable.
    Len(String, Dim),
    Add(Box<IntExpr>, Box<IntExpr>),
    /// `i % k`.
    Rem(Box<IntExpr>, usize),
    /// `(e as usize)` of a scalar value: a constant read off the primal value (only in
    /// conditions and `match` scrutinees).
    Cast(Box<Expr>),
}

impl IntExpr {
    /// Grows with a literal's value (a loop to 2 is smaller than a loop to 3), and counts a
    /// variable or a shape query as large as the largest size (4).
    pub fn size(&self) -> usize {
        match self {
            IntExpr::Lit(k) => 1 + k,
            IntExpr::Var(_) | IntExpr::Len(..) => 5,
            IntExpr::Add(a, b) => 1 + a.size() + b.size(),
            IntExpr::Rem(a, _) => 1 + a.size(),
            IntExpr::Cast(e) => 1 + e.size(),
        }
    }

    /// Every node, parents first.
    pub fn visit(&self, f: &mut dyn FnMut(&IntExpr)) {
        f(self);
        match self {
            IntExpr::Add(a, b) => {
                a.visit(f);
                b.visit(f);
            }
            IntExpr::Rem(a, _) => a.visit(f),
            IntExpr::Cast(e) => e.ints(f),
            _ => {}
        }
    }

    pub fn visit_mut(&mut self, f: &mut dyn FnMut(&mut IntExpr)) {
        f(self);
        match self {
            IntExpr::Add(a, b) => {
                a.visit_mut(f);
                b.visit_mut(f);
            }
            IntExpr::Rem(a, _) => a.visit_mut(f),
            IntExpr::Cast(e) => e.ints_mut(f),
            _ => {}
        }
    }

    fn exprs<'a>(&'a self, out: &mut Vec<&'a Expr>) {
        match self {
            IntExpr::Add(a, b) => {
                a.exprs(out);
                b.exprs(out);
            }
            IntExpr::Rem(a, _) => a.exprs(out),
            IntExpr::Cast(e) => out.push(e),
            _ => {}
        }
    }

    fn exprs_mut<'a>(&'a mut self, out: &mut Vec<&'a mut Expr>) {
        match self {
            IntExpr::Add(a, b) => {
                a.exprs_mut(out);
                b.exprs_mut(out);
            }
            IntExpr::Rem(a, _) => a.exprs_mut(out),
            IntExpr::Cast(e) => out.push(e),
            _ => {}
        }
    }

    /// Whether it reads a value (a cast): it may change between nearby points.
    pub fn casts(&self) -> bool {
        let mut found = false;
        self.visit(&mut |i| found |= matches!(i, IntExpr::Cast(_)));
        found
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
        }
    }

    /// The name of the probe that records this comparison of floats.
    pub fn probe(self) -> &'static str {
        match self {
            CmpOp::Lt => "lt",
            CmpOp::Le => "le",
            CmpOp::Gt => "gt",
            CmpOp::Ge => "ge",
            CmpOp::Eq => "eq",
            CmpOp::Ne => "ne",
        }
    }
}

/// A `bool` condition: comparisons of values (against a literal offset, so ties are rare),
/// of integers, `is_nan`, `&&`, `||`, `!`.
#[derive(Clone, PartialEq, Debug)]
pub enum Cond {
    /// Two scalars of the program's float type.
    Value(CmpOp, Expr, Expr),
    Int(CmpOp, IntExpr, IntExpr),
    /// `e.is_nan()`.
    IsNan(Expr),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
}

impl Cond {
    pub fn size(&self) -> usize {
        match self {
            Cond::Value(_, a, b) => 1 + a.size() + b.size(),
            Cond::Int(_, a, b) => 1 + a.size() + b.size(),
            Cond::IsNan(e) => 1 + e.size(),
            Cond::And(a, b) | Cond::Or(a, b) => 1 + a.size() + b.size(),
            Cond::Not(a) => 1 + a.size(),
        }
    }

    fn exprs<'a>(&'a self, out: &mut Vec<&'a Expr>) {
        match self {
            Cond::Value(_, a, b) => out.extend([a, b]),
            Cond::Int(_, a, b) => {
                a.exprs(out);
                b.exprs(out);
            }
            Cond::IsNan(e) => out.push(e),
            Cond::And(a, b) | Cond::Or(a, b) => {
                a.exprs(out);
                b.exprs(out);
            }
            Cond::Not(a) => a.exprs(out),
        }
    }

    fn exprs_mut<'a>(&'a mut self, out: &mut Vec<&'a mut Expr>) {
        match self {
            Cond::Value(_, a, b) => out.extend([a, b]),
            Cond::Int(_, a, b) => {
                a.exprs_mut(out);
                b.exprs_mut(out);
            }
            Cond::IsNan(e) => out.push(e),
            Cond::And(a, b) | Cond::Or(a, b) => {
                a.exprs_mut(out);
                b.exprs_mut(out);
            }
            Cond::Not(a) => a.exprs_mut(out),
        }
    }

    fn ints_mut(&mut self, f: &mut dyn FnMut(&mut IntExpr)) {
        match self {
            Cond::Value(_, a, b) => {
                a.ints_mut(f);
                b.ints_mut(f);
            }
            Cond::Int(_, a, b) => {
                a.visit_mut(f);
                b.visit_mut(f);
            }
            Cond::IsNan(e) => e.ints_mut(f),
            Cond::And(a, b) | Cond::Or(a, b) => {
                a.ints_mut(f);
                b.ints_mut(f);
            }
            Cond::Not(a) => a.ints_mut(f),
        }
    }

    fn ints(&self, f: &mut dyn FnMut(&IntExpr)) {
        match self {
            Cond::Value(_, a, b) => {
                a.ints(f);
                b.ints(f);
            }
            Cond::Int(_, a, b) => {
                a.visit(f);
                b.visit(f);
            }
            Cond::IsNan(e) => e.ints(f),
            Cond::And(a, b) | Cond::Or(a, b) => {
                a.ints(f);
                b.ints(f);
            }
            Cond::Not(a) => a.ints(f),
        }
    }
}

/// A `match` pattern on a `usize`.
#[derive(Clone, PartialEq, Debug)]
pub enum Pat {
    Lit(usize),
    /// `a..=b`.
    Range(usize, usize),
    /// `a | b | …`.
    Or(Vec<usize>),
    Wild,
    /// `n`: every other value, bound to a name the arm may read.
    Bind(String),
}

/// How an arm of a branch is chosen.
#[derive(Clone, PartialEq, Debug)]
pub enum Test {
    /// `if c` / `else if c`.
    If(Cond),
    Else,
    Pat(Pat),
}

/// One arm: statements, then (when the branch is a value) the arm's value.
#[derive(Clone, PartialEq, Debug)]
pub struct Arm {
    pub test: Test,
    pub body: Vec<Stmt>,
    pub value: Option<Expr>,
}

/// An `if` chain, or a `match` on a `usize`.
#[derive(Clone, PartialEq, Debug)]
pub enum Head {
    If,
    Match(IntExpr),
}

/// The variable a branch used as a value defines.
#[derive(Clone, PartialEq, Debug)]
pub struct Bind {
    pub name: String,
    pub ty: Ty,
    /// `let name; if c { name = a; } else { name = b; }` rather than `let name = if …`.
    pub late: bool,
}

/// The range of a `for` loop: `start..end`, `start..=end`, `(start..end).rev()`,
/// `(start..end).step_by(k)`.
#[derive(Clone, PartialEq, Debug)]
pub struct Range {
    pub start: IntExpr,
    pub end: IntExpr,
    pub inclusive: bool,
    pub rev: bool,
    pub step: Option<usize>,
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
    Move {
        name: String,
        from: String,
        ty: Ty,
    },
    /// `name[i] = expr;`, `name[[i, j]] op= expr;` on a local `mut` array.
    SetIndex {
        name: String,
        index: Vec<IntExpr>,
        op: Option<BinOp>,
        expr: Expr,
    },
    /// An `if` chain or a `match`: a statement, or with `bind` the value of a new variable.
    Branch {
        head: Head,
        arms: Vec<Arm>,
        bind: Option<Bind>,
    },
    /// `for var in range { body }` (`_` when `var` is `None`).
    For {
        var: Option<String>,
        range: Range,
        body: Vec<Stmt>,
    },
    /// `let mut counter = 0; while counter < limit && cond { counter += 1; body }`: a trip
    /// count that depends on values, bounded by the counter.
    While {
        counter: String,
        limit: usize,
        cond: Option<Cond>,
        body: Vec<Stmt>,
    },
    /// `let mut counter = 0; loop { if counter == limit { break; } counter += 1; body }`.
    Loop {
        counter: String,
        limit: usize,
        body: Vec<Stmt>,
    },
    Break,
    Continue,
}

impl Stmt {
    /// The expressions of this statement and the statements inside it, in order.
    pub fn exprs<'a>(&'a self, out: &mut Vec<&'a Expr>) {
        match self {
            Stmt::Let { expr, .. } | Stmt::Assign { expr, .. } => out.push(expr),
            Stmt::SetIndex { index, expr, .. } => {
                index.iter().for_each(|i| i.exprs(out));
                out.push(expr);
            }
            Stmt::Branch { head, arms, .. } => {
                if let Head::Match(scrutinee) = head {
                    scrutinee.exprs(out);
                }
                for arm in arms {
                    if let Test::If(c) = &arm.test {
                        c.exprs(out);
                    }
                    arm.body.iter().for_each(|s| s.exprs(out));
                    out.extend(arm.value.as_ref());
                }
            }
            Stmt::For { range, body, .. } => {
                range.start.exprs(out);
                range.end.exprs(out);
                body.iter().for_each(|s| s.exprs(out));
            }
            Stmt::While { cond, body, .. } => {
                if let Some(c) = cond {
                    c.exprs(out);
                }
                body.iter().for_each(|s| s.exprs(out));
            }
            Stmt::Loop { body, .. } => body.iter().for_each(|s| s.exprs(out)),
            Stmt::Move { .. } | Stmt::Break | Stmt::Continue => {}
        }
    }

    /// The same expressions as [`Stmt::exprs`], in the same order.
    pub fn exprs_mut<'a>(&'a mut self, out: &mut Vec<&'a mut Expr>) {
        match self {
            Stmt::Let { expr, .. } | Stmt::Assign { expr, .. } => out.push(expr),
            Stmt::SetIndex { index, expr, .. } => {
                index.iter_mut().for_each(|i| i.exprs_mut(out));
                out.push(expr);
            }
            Stmt::Branch { head, arms, .. } => {
                if let Head::Match(scrutinee) = head {
                    scrutinee.exprs_mut(out);
                }
                for arm in arms {
                    if let Test::If(c) = &mut arm.test {
                        c.exprs_mut(out);
                    }
                    arm.body.iter_mut().for_each(|s| s.exprs_mut(out));
                    out.extend(arm.value.as_mut());
                }
            }
            Stmt::For { range, body, .. } => {
                range.start.exprs_mut(out);
                range.end.exprs_mut(out);
                body.iter_mut().for_each(|s| s.exprs_mut(out));
            }
            Stmt::While { cond, body, .. } => {
                if let Some(c) = cond {
                    c.exprs_mut(out);
                }
                body.iter_mut().for_each(|s| s.exprs_mut(out));
            }
            Stmt::Loop { body, .. } => body.iter_mut().for_each(|s| s.exprs_mut(out)),
            Stmt::Move { .. } | Stmt::Break | Stmt::Continue => {}
        }
    }

    /// Every integer expression of this statement and the statements inside it.
    pub fn ints(&self, f: &mut dyn FnMut(&IntExpr)) {
        match self {
            Stmt::Let { expr, .. } | Stmt::Assign { expr, .. } => expr.ints(f),
            Stmt::SetIndex { index, expr, .. } => {
                index.iter().for_each(|i| i.visit(f));
                expr.ints(f);
            }
            Stmt::Branch { head, arms, .. } => {
                if let Head::Match(scrutinee) = head {
                    scrutinee.visit(f);
                }
                for arm in arms {
                    if let Test::If(c) = &arm.test {
                        c.ints(f);
                    }
                    arm.body.iter().for_each(|s| s.ints(f));
                    if let Some(v) = &arm.value {
                        v.ints(f);
                    }
                }
            }
            Stmt::For { range, body, .. } => {
                range.start.visit(f);
                range.end.visit(f);
                body.iter().for_each(|s| s.ints(f));
            }
            Stmt::While { cond, body, .. } => {
                if let Some(c) = cond {
                    c.ints(f);
                }
                body.iter().for_each(|s| s.ints(f));
            }
            Stmt::Loop { body, .. } => body.iter().for_each(|s| s.ints(f)),
            Stmt::Move { .. } | Stmt::Break | Stmt::Continue => {}
        }
    }

    pub fn ints_mut(&mut self, f: &mut dyn FnMut(&mut IntExpr)) {
        match self {
            Stmt::Let { expr, .. } | Stmt::Assign { expr, .. } => expr.ints_mut(f),
            Stmt::SetIndex { index, expr, .. } => {
                index.iter_mut().for_each(|i| i.visit_mut(f));
                expr.ints_mut(f);
            }
            Stmt::Branch { head, arms, .. } => {
                if let Head::Match(scrutinee) = head {
                    scrutinee.visit_mut(f);
                }
                for arm in arms {
                    if let Test::If(c) = &mut arm.test {
                        c.ints_mut(f);
                    }
                    arm.body.iter_mut().for_each(|s| s.ints_mut(f));
                    if let Some(v) = &mut arm.value {
                        v.ints_mut(f);
                    }
                }
            }
            Stmt::For { range, body, .. } => {
                range.start.visit_mut(f);
                range.end.visit_mut(f);
                body.iter_mut().for_each(|s| s.ints_mut(f));
            }
            Stmt::While { cond, body, .. } => {
                if let Some(c) = cond {
                    c.ints_mut(f);
                }
                body.iter_mut().for_each(|s| s.ints_mut(f));
            }
            Stmt::Loop { body, .. } => body.iter_mut().for_each(|s| s.ints_mut(f)),
            Stmt::Move { .. } | Stmt::Break | Stmt::Continue => {}
        }
    }

    /// The blocks directly inside this statement.
    pub fn blocks(&self) -> Vec<&Vec<Stmt>> {
        match self {
            Stmt::Branch { arms, .. } => arms.iter().map(|a| &a.body).collect(),
            Stmt::For { body, .. } | Stmt::While { body, .. } | Stmt::Loop { body, .. } => {
                vec![body]
            }
            _ => vec![],
        }
    }

    pub fn blocks_mut(&mut self) -> Vec<&mut Vec<Stmt>> {
        match self {
            Stmt::Branch { arms, .. } => arms.iter_mut().map(|a| &mut a.body).collect(),
            Stmt::For { body, .. } | Stmt::While { body, .. } | Stmt::Loop { body, .. } => {
                vec![body]
            }
            _ => vec![],
        }
    }

    /// Whether this is control flow (a branch, a loop, `break`, `continue`).
    pub fn is_control(&self) -> bool {
        matches!(
            self,
            Stmt::Branch { .. }
                | Stmt::For { .. }
                | Stmt::While { .. }
                | Stmt::Loop { .. }
                | Stmt::Break
                | Stmt::Continue
        )
    }

    pub fn size(&self) -> usize {
        let own = match self {
            Stmt::Let { expr, .. } | Stmt::Assign { expr, .. } => 1 + expr.size(),
            Stmt::SetIndex { index, expr, .. } => {
                1 + index.iter().map(IntExpr::size).sum::<usize>() + expr.size()
            }
            Stmt::Move { .. } | Stmt::Break | Stmt::Continue => 1,
            Stmt::Branch { head, arms, bind } => {
                1 + bind.is_some() as usize
                    + match head {
                        Head::If => 0,
                        Head::Match(s) => s.size(),
                    }
                    + arms
                        .iter()
                        .map(|a| {
                            1 + match &a.test {
                                Test::If(c) => c.size(),
                                Test::Else => 0,
                                Test::Pat(p) => match p {
                                    Pat::Or(v) => v.len(),
                                    Pat::Wild => 0,
                                    _ => 1,
                                },
                            } + a.value.as_ref().map_or(0, Expr::size)
                        })
                        .sum::<usize>()
            }
            Stmt::For { range, .. } => {
                2 + range.start.size()
                    + range.end.size()
                    + range.inclusive as usize
                    + range.rev as usize
                    + range.step.is_some() as usize
            }
            Stmt::While { limit, cond, .. } => 2 + limit + cond.as_ref().map_or(0, Cond::size),
            Stmt::Loop { limit, .. } => 2 + limit,
        };
        own + self
            .blocks()
            .iter()
            .flat_map(|b| b.iter())
            .map(Stmt::size)
            .sum::<usize>()
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

    /// Every expression of the program, statements (and those inside them) first, in order.
    pub fn exprs(&self) -> Vec<&Expr> {
        let mut out = Vec::new();
        self.body.iter().for_each(|s| s.exprs(&mut out));
        out.extend(self.result.iter());
        out
    }

    /// The same expressions as [`Program::exprs`], in the same order.
    pub fn exprs_mut(&mut self) -> Vec<&mut Expr> {
        let mut out = Vec::new();
        self.body.iter_mut().for_each(|s| s.exprs_mut(&mut out));
        out.extend(self.result.iter_mut());
        out
    }

    pub fn calls_custom(&self) -> bool {
        self.exprs().into_iter().any(Expr::calls_custom)
    }

    /// Whether the body has branches or loops.
    pub fn has_control(&self) -> bool {
        self.body.iter().any(Stmt::is_control)
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
        for e in self.exprs() {
            walk(e, &mut out);
        }
        out
    }
}
