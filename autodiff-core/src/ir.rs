//! The SSA program: the lectures' evaluation trace. Differentiated parameters are the inputs
//! v₍₁₋ₙ₎ … v₀; every primitive application is a node vᵢ = op(args) keeping the span of the
//! expression it came from. Everything that does not depend on an input is a constant,
//! evaluated once, in source order, by the user's own code.
//!
//! The statement list is flat (straight-line code); structured control flow would enter as
//! statements holding regions, as MLIR's `scf.if` / `scf.for` do.

use proc_macro2::{Span, TokenStream};
use syn::Ident;

use crate::rules::Primitive;

/// A value the derivative depends on.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Var {
    /// The k-th differentiated parameter.
    Input(usize),
    /// The result of node i.
    Node(usize),
}

/// An argument of a node.
#[derive(Clone)]
pub enum Operand {
    Var(Var),
    /// A constant: a literal, a path, or an identifier bound by a [`Stmt::Const`]. `display`
    /// is how the documentation writes it.
    Const {
        tokens: TokenStream,
        display: String,
        /// Made only of numeric literals (`2.0`, `-1.0 / 3.0`): its float type is inferred
        /// from the other operands, so generated code passes it as it is.
        literal: bool,
    },
    /// The result of an expression already reported as an error; anything computed from it
    /// is silently poisoned too, so one mistake gives one diagnostic.
    Poison,
}

/// A differentiated parameter, or a field of one that the body reads.
#[derive(Clone)]
pub struct Input {
    /// The name the generated function gives the parameter (the user's, or a fresh one for
    /// `_`); for a field, its parameter's.
    pub ident: Ident,
    /// How the documentation writes it: `x`, `p.w1`.
    pub display: String,
    pub kind: InputKind,
}

#[derive(Clone)]
pub enum InputKind {
    /// A float or an array parameter.
    Value,
    /// A struct of parameters (`p: &Mlp`): not a value itself; each field the body reads is
    /// an input of its own, and the gradient entry is a struct of the same type.
    Struct,
    /// `p.layer.w`, a field of the struct parameter `root` at `path` (`.layer.w`); the same
    /// path leads to its tangent in the parameter's tangent and to its entry in the gradient.
    Field { root: usize, path: TokenStream },
}

impl Input {
    /// Whether the input is a value of the trace (v₍₁₋ₙ₎ … v₀), not a struct holding some.
    pub fn is_value(&self) -> bool {
        !matches!(self.kind, InputKind::Struct)
    }

    /// Whether the input is a differentiated parameter, with an entry in the gradient.
    pub fn is_parameter(&self) -> bool {
        !matches!(self.kind, InputKind::Field { .. })
    }
}

/// What a node applies.
#[derive(Clone)]
pub enum Op {
    /// A primitive of the rule table.
    Prim(Primitive),
    /// Another `#[differentiable]` function (or one with custom rules), by the path the body
    /// calls it with; differentiated through its own generated functions.
    Call {
        path: syn::Path,
        /// Where each argument is written, for errors about it.
        arg_spans: Vec<Span>,
    },
    /// An owned copy of a view (`m.t().to_owned()`, `v.to_owned()` for `v: ArrayView1<f64>`),
    /// which a called function may take as `&Array2<f64>`: the identity on derivatives.
    Copy,
}

/// vᵢ = op(args).
#[derive(Clone)]
pub struct Node {
    pub op: Op,
    pub args: Vec<Operand>,
    pub span: Span,
}

impl Node {
    /// The Wengert-list notation; `{k}` is argument k.
    pub fn notation(&self) -> String {
        match &self.op {
            Op::Prim(prim) => prim.rule().notation.to_string(),
            Op::Call { path, .. } => {
                let args: Vec<String> = (0..self.args.len()).map(|k| format!("{{{k}}}")).collect();
                format!("{}({})", crate::lower::pretty(path), args.join(", "))
            }
            Op::Copy => "{0}".to_string(),
        }
    }

    /// ∂y/∂argₖ for the documentation, as in [`crate::rules::Rule::partials`].
    pub fn partial(&self, k: usize) -> String {
        match &self.op {
            Op::Prim(prim) => prim.rule().partials[k].to_string(),
            Op::Call { path, .. } => format!("∂{}/∂{{{k}}}", crate::lower::pretty(path)),
            Op::Copy => "1".to_string(),
        }
    }
}

/// One step of the forward sweep, in source order.
#[derive(Clone)]
pub enum Stmt {
    /// `let ident[: ty] = expr;` for a value that depends on no input.
    Const {
        ident: Ident,
        ty: Option<TokenStream>,
        expr: TokenStream,
    },
    /// An item (`use`, `const`) or a constant statement of the body, kept as written.
    Verbatim(TokenStream),
    /// Node i.
    Node(usize),
}

/// A lowered function body.
#[derive(Clone)]
pub struct Program {
    pub inputs: Vec<Input>,
    pub nodes: Vec<Node>,
    pub stmts: Vec<Stmt>,
    /// The function's result: one operand, or one per element of a tuple.
    pub outputs: Vec<Operand>,
    /// Whether each element of the result is declared an array, which the generated
    /// functions return owned even where the value computed is a view (`m.t()`).
    pub array_outputs: Vec<bool>,
    /// The constant bindings known to be `Copy` (numbers, shared references), by name: a
    /// call takes them as they are, where others are copied for the sweeps that call again.
    pub copy_constants: std::collections::HashSet<String>,
}

impl Program {
    /// The variables the result is made of.
    pub fn output_vars(&self) -> impl Iterator<Item = Var> + '_ {
        self.outputs.iter().filter_map(|output| match output {
            Operand::Var(var) => Some(*var),
            _ => None,
        })
    }

    /// Node i's arguments that are variables, with their positions.
    pub fn var_args(&self, node: usize) -> impl Iterator<Item = (usize, Var)> + '_ {
        self.nodes[node]
            .args
            .iter()
            .enumerate()
            .filter_map(|(k, arg)| match arg {
                Operand::Var(var) => Some((k, *var)),
                _ => None,
            })
    }
}
