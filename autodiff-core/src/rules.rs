//! The one table of primitives: how each is written in Rust, its arity, and the runtime
//! module (`::autodiff::__private::prim::<module>`) that holds its forward function and its
//! pullbacks `vjp0`, `vjp1`, … side by side. Adding a primitive means one variant, one row
//! here and one `rule!` block in `autodiff-runtime/src/prim.rs`.

/// How a primitive appears in source.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Syntax {
    /// An operator: `a + b`, `-a`.
    Operator,
    /// A float method, `x.ln()`, also callable as `f64::ln(x)`; the receiver is argument 0.
    Method,
    /// A free function of the runtime, `sigmoid(x)`.
    Function,
}

/// What a primitive returns: see [`Primitive::returns`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Returns {
    Scalar,
    Array,
    /// Of its arguments' kind: an array if one of them is.
    Elementwise,
    /// Decided by its arguments' ranks.
    Depends,
}

/// One row of the table.
pub struct Rule {
    /// The runtime module and, for methods and functions, the name written in source.
    pub module: &'static str,
    pub syntax: Syntax,
    /// Number of arguments, the receiver included.
    pub arity: usize,
    /// Arguments that are never differentiated (the exponent of `powi`).
    pub constant_args: &'static [usize],
    /// The Wengert-list notation; `{k}` is argument k.
    pub notation: &'static str,
    /// ∂y/∂argₖ for the generated documentation; `{y}` is the result. A partial that names
    /// the incoming adjoint `{g}` is the whole contribution (matrix products, softmax).
    /// Indexed by argument: a constant argument before a differentiated one has a `"0"`.
    pub partials: &'static [&'static str],
}

macro_rules! primitives {
    ($($variant:ident => $module:literal, $syntax:ident, $arity:literal, $consts:expr,
        $notation:literal, [$($partial:literal),*];)*) => {
        /// A primitive operation of the SSA program.
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        pub enum Primitive { $($variant),* }

        impl Primitive {
            pub const ALL: &'static [Primitive] = &[$(Primitive::$variant),*];

            pub fn rule(self) -> Rule {
                match self {
                    $(Primitive::$variant => Rule {
                        module: $module,
                        syntax: Syntax::$syntax,
                        arity: $arity,
                        constant_args: $consts,
                        notation: $notation,
                        partials: &[$($partial),*],
                    },)*
                }
            }
        }
    };
}

primitives! {
    Add => "add", Operator, 2, &[], "{0} + {1}", ["1", "1"];
    Sub => "sub", Operator, 2, &[], "{0} − {1}", ["1", "−1"];
    Mul => "mul", Operator, 2, &[], "{0} · {1}", ["{1}", "{0}"];
    Div => "div", Operator, 2, &[], "{0} / {1}", ["1/{1}", "−{y}/{1}"];
    Neg => "neg", Operator, 1, &[], "−{0}", ["−1"];
    Ln => "ln", Method, 1, &[], "ln {0}", ["1/{0}"];
    Log2 => "log2", Method, 1, &[], "log₂ {0}", ["1/({0} ln 2)"];
    Log10 => "log10", Method, 1, &[], "log₁₀ {0}", ["1/({0} ln 10)"];
    Exp => "exp", Method, 1, &[], "exp {0}", ["{y}"];
    Exp2 => "exp2", Method, 1, &[], "2^{0}", ["{y} ln 2"];
    Ln1p => "ln_1p", Method, 1, &[], "ln(1 + {0})", ["1/(1 + {0})"];
    ExpM1 => "exp_m1", Method, 1, &[], "exp {0} − 1", ["{y} + 1"];
    Sin => "sin", Method, 1, &[], "sin {0}", ["cos {0}"];
    Cos => "cos", Method, 1, &[], "cos {0}", ["−sin {0}"];
    Tan => "tan", Method, 1, &[], "tan {0}", ["1 + {y}²"];
    Asin => "asin", Method, 1, &[], "asin {0}", ["1/√(1 − {0}²)"];
    Acos => "acos", Method, 1, &[], "acos {0}", ["−1/√(1 − {0}²)"];
    Atan => "atan", Method, 1, &[], "atan {0}", ["1/(1 + {0}²)"];
    Atan2 => "atan2", Method, 2, &[], "atan2({0}, {1})",
        ["{1}/({0}² + {1}²)", "−{0}/({0}² + {1}²)"];
    Sinh => "sinh", Method, 1, &[], "sinh {0}", ["cosh {0}"];
    Cosh => "cosh", Method, 1, &[], "cosh {0}", ["sinh {0}"];
    Tanh => "tanh", Method, 1, &[], "tanh {0}", ["1 − {y}²"];
    Sqrt => "sqrt", Method, 1, &[], "√{0}", ["1/(2{y})"];
    Cbrt => "cbrt", Method, 1, &[], "∛{0}", ["1/(3{y}²)"];
    Powi => "powi", Method, 2, &[1], "{0}^{1}", ["{1}·{0}^({1} − 1)"];
    Powf => "powf", Method, 2, &[], "{0}^{1}", ["{1}·{0}^({1} − 1)", "{y} ln {0}"];
    Recip => "recip", Method, 1, &[], "1/{0}", ["−{y}²"];
    Abs => "abs", Method, 1, &[], "|{0}|", ["sign {0}"];
    Hypot => "hypot", Method, 2, &[], "hypot({0}, {1})", ["{0}/{y}", "{1}/{y}"];
    Max => "max", Method, 2, &[], "max({0}, {1})", ["[{0} ≥ {1}]", "[{0} < {1}]"];
    Min => "min", Method, 2, &[], "min({0}, {1})", ["[{0} ≤ {1}]", "[{0} > {1}]"];
    MulAdd => "mul_add", Method, 3, &[], "{0} · {1} + {2}", ["{1}", "{0}", "1"];
    Sigmoid => "sigmoid", Function, 1, &[], "σ({0})", ["{y}(1 − {y})"];
    Relu => "relu", Function, 1, &[], "relu {0}", ["[{0} > 0]"];
    Softplus => "softplus", Function, 1, &[], "softplus {0}", ["σ({0})"];
    Erf => "erf", Function, 1, &[], "erf {0}", ["2/√π e^(−{0}²)"];
    Erfc => "erfc", Function, 1, &[], "erfc {0}", ["−2/√π e^(−{0}²)"];
    LnGamma => "ln_gamma", Function, 1, &[], "ln Γ({0})", ["ψ({0})"];
    Digamma => "digamma", Function, 1, &[], "ψ({0})", ["ψ′({0})"];
    Signum => "signum", Method, 1, &[], "sign {0}", ["0"];
    Floor => "floor", Method, 1, &[], "⌊{0}⌋", ["0"];
    Ceil => "ceil", Method, 1, &[], "⌈{0}⌉", ["0"];
    Round => "round", Method, 1, &[], "round {0}", ["0"];
    Trunc => "trunc", Method, 1, &[], "trunc {0}", ["0"];
    Fract => "fract", Method, 1, &[], "fract {0}", ["1"];
    Clamp => "clamp", Method, 3, &[1, 2], "clamp({0}, {1}, {2})", ["[{1} ≤ {0} ≤ {2}]"];

    Index => "index", Operator, 2, &[1], "{0}[{1}]", ["e_{1}"];
    SetIndex => "set_index", Operator, 3, &[1], "{0} with [{1}] = {2}", ["1 but 0 at [{1}]", "0", "e_{1}"];
    Row => "row", Method, 2, &[1], "{0}[{1}, :]", ["e_{1}"];
    Column => "column", Method, 2, &[1], "{0}[:, {1}]", ["e_{1}"];
    Slice => "slice", Method, 2, &[1], "{0}[{1}]", ["1 on the slice {1}"];
    SliceAxis => "slice_axis", Method, 3, &[1, 2], "{0}[{2} along {1}]", ["1 on the slice"];
    IndexAxis => "index_axis", Method, 3, &[1, 2], "{0}[{2} along {1}]", ["1 on the subarray"];
    Select => "select", Method, 3, &[1, 2], "{0}[{2} along {1}]", ["Σ over repeats of each index"];
    Diag => "diag", Method, 1, &[], "diag {0}", ["1 on the diagonal"];
    RemoveAxis => "remove_axis", Method, 2, &[1], "{0}[0 along {1}]", ["1 at index 0"];
    IntoShape => "into_shape_with_order", Method, 2, &[1], "reshape({0}, {1})", ["{g} reshaped back"];
    Flatten => "flatten", Method, 1, &[], "flatten {0}", ["{g} reshaped back"];
    InsertAxis => "insert_axis", Method, 2, &[1], "{0} with axis {1}", ["{g} without the axis"];
    ReversedAxes => "reversed_axes", Method, 1, &[], "{0}ᵀ", ["{g}ᵀ"];
    PermutedAxes => "permuted_axes", Method, 2, &[1], "{0} permuted by {1}", ["{g} permuted back"];
    BroadcastTo => "broadcast", Method, 2, &[1], "{0} broadcast to {1}", ["{g} summed over the broadcast axes"];
    Concatenate => "concatenate", Function, 3, &[0], "[{1}, {2}] along {0}", ["0", "{g}'s first part", "{g}'s second part"];
    Stack => "stack", Function, 3, &[0], "stack [{1}, {2}] along {0}", ["0", "{g}[0 along {0}]", "{g}[1 along {0}]"];
    Dot => "dot", Method, 2, &[], "{0} {1}", ["{g} {1}ᵀ", "{0}ᵀ {g}"];
    T => "t", Method, 1, &[], "{0}ᵀ", ["{g}ᵀ"];
    Sum => "sum", Method, 1, &[], "Σ {0}", ["1"];
    Mean => "mean", Method, 1, &[], "mean {0}", ["1/n"];
    SumAxis => "sum_axis", Method, 2, &[1], "Σ_{1} {0}", ["1"];
    MeanAxis => "mean_axis", Method, 2, &[1], "mean_{1} {0}", ["1/n"];
    Variance => "var", Method, 2, &[1], "var {0}", ["2({0} − μ)/(n − {1})"];
    StdDev => "std", Method, 2, &[1], "std {0}", ["({0} − μ)/((n − {1}) {y})"];
    VarianceAxis => "var_axis", Method, 3, &[1, 2], "var_{1} {0}", ["2({0} − μ)/(n − {2})"];
    StdDevAxis => "std_axis", Method, 3, &[1, 2], "std_{1} {0}", ["({0} − μ)/((n − {2}) {y})"];
    Amax => "amax", Function, 1, &[], "max {0}", ["e_argmax {0}"];
    Amin => "amin", Function, 1, &[], "min {0}", ["e_argmin {0}"];
    AmaxAxis => "amax_axis", Function, 2, &[1], "max_{1} {0}", ["e_argmax"];
    AminAxis => "amin_axis", Function, 2, &[1], "min_{1} {0}", ["e_argmin"];
    Norm => "norm", Function, 1, &[], "‖{0}‖", ["{0}/{y}"];
    Outer => "outer", Function, 2, &[], "{0} ⊗ {1}", ["{g} {1}", "{g}ᵀ {0}"];
    Trace => "trace", Function, 1, &[], "tr {0}", ["I"];
    Det => "det", Function, 1, &[], "det {0}", ["{y} {0}⁻ᵀ"];
    Inv => "inv", Function, 1, &[], "{0}⁻¹", ["−{y}ᵀ {g} {y}ᵀ"];
    Solve => "solve", Function, 2, &[], "solve({0}, {1})", ["−{0}⁻ᵀ {g} {y}ᵀ", "{0}⁻ᵀ {g}"];

    Mse => "mse", Function, 2, &[], "mse({0}, {1})", ["2({0} − {1})/n", "2({1} − {0})/n"];
    Bce => "bce", Function, 2, &[], "bce({0}, {1})",
        ["({0} − {1})/({0}(1 − {0}) n)", "ln((1 − {0})/{0})/n"];
    BceWithLogits => "bce_with_logits", Function, 2, &[], "bce_with_logits({0}, {1})",
        ["(σ({0}) − {1})/n", "−{0}/n"];
    Logsumexp => "logsumexp", Function, 1, &[], "logsumexp {0}", ["softmax {0}"];
    Softmax => "softmax", Function, 2, &[1], "softmax({0}, {1})", ["{y} ∘ ({g} − Σ {g} ∘ {y})"];
    LogSoftmax => "log_softmax", Function, 2, &[1], "log_softmax({0}, {1})", ["{g} − e^{y} Σ {g}"];
    CrossEntropy => "cross_entropy", Function, 2, &[1], "cross_entropy({0}, {1})",
        ["(softmax {0} − onehot {1})/n"];
}

impl Primitive {
    /// The primitive written as `recv.name(..)` or `f64::name(..)`.
    pub fn method(name: &str) -> Option<Primitive> {
        Self::find(Syntax::Method, name)
    }

    /// The runtime function written as `name(..)`.
    pub fn function(name: &str) -> Option<Primitive> {
        Self::find(Syntax::Function, name)
    }

    /// The primitive of a binary operator; `None` for operators without a derivative rule.
    pub fn binary(op: &syn::BinOp) -> Option<Primitive> {
        match op {
            syn::BinOp::Add(_) | syn::BinOp::AddAssign(_) => Some(Primitive::Add),
            syn::BinOp::Sub(_) | syn::BinOp::SubAssign(_) => Some(Primitive::Sub),
            syn::BinOp::Mul(_) | syn::BinOp::MulAssign(_) => Some(Primitive::Mul),
            syn::BinOp::Div(_) | syn::BinOp::DivAssign(_) => Some(Primitive::Div),
            _ => None,
        }
    }

    /// Whether the adjoint of the primitive's argument 0 is a part of it (an element, a
    /// line, a slice) that the generated code adds in place with the rule's `add_at`, called
    /// as `add_at(&mut adjoint, constant arguments…, g)`; argument 0 is the only one
    /// differentiated.
    pub fn scatters(self) -> bool {
        matches!(
            self,
            Primitive::Index
                | Primitive::Row
                | Primitive::Column
                | Primitive::Slice
                | Primitive::SliceAxis
                | Primitive::IndexAxis
                | Primitive::Select
                | Primitive::Diag
                | Primitive::RemoveAxis
        )
    }

    /// Whether the runtime's `forward` returns a view of its argument (`t`) rather than an
    /// owned value: where the body makes it owned, the generated code does too.
    pub fn returns_view(self) -> bool {
        matches!(self, Primitive::T)
    }

    /// The constant arguments of the function's float type (`clamp`'s bounds, `var`'s
    /// `ddof`; not `powi`'s integer exponent nor an `Axis`): lifted to dual numbers with the
    /// value in Hessians.
    pub fn float_constants(self) -> &'static [usize] {
        match self {
            Primitive::Clamp => &[1, 2],
            Primitive::Variance | Primitive::StdDev => &[1],
            Primitive::VarianceAxis | Primitive::StdDevAxis => &[2],
            _ => &[],
        }
    }

    /// Whether the result is a scalar or an array, as far as the primitive alone decides.
    /// Matched exhaustively, so that a new primitive is classified where it is added.
    pub fn returns(self) -> Returns {
        use Primitive::*;
        match self {
            Add | Sub | Mul | Div | Neg | Ln | Log2 | Log10 | Exp | Exp2 | Ln1p | ExpM1 | Sin
            | Cos | Tan | Asin | Acos | Atan | Atan2 | Sinh | Cosh | Tanh | Sqrt | Cbrt | Powi
            | Powf | Recip | Abs | Hypot | Max | Min | MulAdd | Sigmoid | Relu | Softplus | Erf
            | Erfc | LnGamma | Digamma | Signum | Floor | Ceil | Round | Trunc | Fract | Clamp => {
                Returns::Elementwise
            }
            Index | Sum | Mean | Variance | StdDev | Amax | Amin | Norm | Trace | Det | Mse
            | Bce | BceWithLogits | Logsumexp | CrossEntropy => Returns::Scalar,
            SetIndex | Row | Column | T | SumAxis | MeanAxis | VarianceAxis | StdDevAxis
            | AmaxAxis | AminAxis | Outer | Inv | Solve | Softmax | LogSoftmax => Returns::Array,
            // Views and reshapes: arrays (an index of every axis gives a 0-dimensional one).
            Slice | SliceAxis | IndexAxis | Select | Diag | RemoveAxis | IntoShape | Flatten
            | InsertAxis | ReversedAxes | PermutedAxes | BroadcastTo | Concatenate | Stack => {
                Returns::Array
            }
            // A vector times a vector is a scalar, anything else an array.
            Dot => Returns::Depends,
        }
    }

    /// The names of every primitive written with `syntax`, for error messages.
    pub fn names(syntax: Syntax) -> String {
        let names: Vec<_> = Self::ALL
            .iter()
            .map(|p| p.rule())
            .filter(|r| r.syntax == syntax)
            .map(|r| r.module)
            .collect();
        names.join(", ")
    }

    fn find(syntax: Syntax, name: &str) -> Option<Primitive> {
        Self::ALL.iter().copied().find(|p| {
            let rule = p.rule();
            rule.syntax == syntax && rule.module == name
        })
    }
}
