//! The SSA program: the lectures' evaluation trace. Differentiated parameters are the inputs
//! v₍₁₋ₙ₎ … v₀; every primitive application is a node vᵢ = op(args) keeping the span of the
//! expression it came from. Everything that does not depend on an input is a constant,
//! evaluated once, in source order, by the user's own code.
//!
//! Control flow is structured, as MLIR's `scf.if` / `scf.for` / `scf.while`: a [`Branch`] or
//! a [`Loop`] is one statement holding regions, and values leave them only through named
//! [`Local`]s (a branch's results, a loop's carried variables), so every emitter walks the
//! same tree and never needs a control-flow graph.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Span, TokenStream};
use syn::Ident;

use crate::rules::{Primitive, Returns};

mod sums;

pub use sums::Increments;

/// A value the derivative depends on.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Var {
    /// The k-th differentiated parameter.
    Input(usize),
    /// The result of node i.
    Node(usize),
    /// A variable of the generated code that a region assigns: a branch's result or a
    /// loop-carried variable (inside the loop's body, its value at the iteration's start;
    /// after the loop, its final value).
    Local(usize),
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
    /// Passed by reference (`x: &Array1<f64>`): constants read it as such.
    pub reference: bool,
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
    /// `x.mapv(|v| body)` (or `x.map(|&v| body)`, `Zip::from(&a).and(&b).map_collect(|&a, &b|
    /// body)`): `body` applied to every element of the first [`Closure::elements`] arguments,
    /// arrays of one shape; the other arguments are the differentiated scalars it captures.
    Map(Box<Closure>),
    /// A part of a struct of parameters (argument 0, a differentiated parameter or a field of
    /// one) at a position known only when it runs: `p.layers[i].w`, `&p.layers[i]` (the
    /// element of a `Vec` of layers). Its value borrows the parameter; its adjoint is added
    /// to the same part of argument 0's. The indices are the constant arguments 1, 2, ….
    Project(Vec<Step>),
}

/// One step of an [`Op::Project`]: a field, or an element at the constant argument k.
#[derive(Clone)]
pub enum Step {
    Field(syn::Member),
    Index(usize),
}

/// The closure of an elementwise [`Op::Map`]: its body as a program of its own, on scalars.
#[derive(Clone)]
pub struct Closure {
    /// Inputs 0 … elements − 1 are the elements (the closure's parameters); each later
    /// input k is the captured value that the node's argument k is.
    pub program: Program,
    /// How many arrays are mapped together: 1 for `mapv`, more for a `Zip`.
    pub elements: usize,
    /// The node's value is the sum of the mapped elements, a scalar (`x.mapv(f).sum()`,
    /// `a.iter().map(f).sum()`): the pass adds them up and makes no array of values.
    pub summed: bool,
    /// How the documentation writes it: `mapv(|v| v.tanh())`.
    pub display: String,
    /// Where the body reads each captured value (input `elements + k`): where an error about
    /// its type points.
    pub capture_spans: Vec<Span>,
    /// Which parameters are references to their element (`x.map(|v| …)`, where `*v` reads
    /// it), one per element.
    pub by_reference: Vec<bool>,
    /// The function's constant bindings (and constant parameters) in scope where the closure
    /// is written, which its code may read.
    pub constants: Vec<Ident>,
}

impl Closure {
    /// The name of the array of ∂y/∂(input k), one per element, that the forward sweep
    /// computes beside node i's value and the derivative sweeps read.
    pub fn partial_ident(node: usize, k: usize) -> Ident {
        quote::format_ident!("__d{}_{}", node + 1, k, span = Span::mixed_site())
    }
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
                let (name, part) = crate::nested::display(path);
                format!("{name}({}){part}", args.join(", "))
            }
            Op::Copy => "{0}".to_string(),
            Op::Map(closure) => {
                let mapped = match closure.elements {
                    1 => format!("{{0}}.{}", closure.display),
                    n => {
                        let arrays: Vec<String> = (0..n).map(|k| format!("{{{k}}}")).collect();
                        format!("zip({}).{}", arrays.join(", "), closure.display)
                    }
                };
                match closure.summed {
                    true => format!("Σ {mapped}"),
                    false => mapped,
                }
            }
            Op::Project(steps) => steps
                .iter()
                .fold("{0}".to_string(), |text, step| match step {
                    Step::Field(member) => format!("{text}.{}", crate::text::pretty(member)),
                    Step::Index(k) => format!("{text}[{{{k}}}]"),
                }),
        }
    }

    /// ∂y/∂argₖ for the documentation, as in [`crate::rules::Rule::partials`].
    pub fn partial(&self, k: usize) -> String {
        match &self.op {
            // Partials are listed by argument, constant ones included where later ones follow.
            Op::Prim(prim) => prim.rule().partials.get(k).unwrap_or(&"0").to_string(),
            Op::Call { path, .. } => {
                let (name, part) = crate::nested::display(path);
                match part.is_empty() {
                    true => format!("∂{name}/∂{{{k}}}"),
                    false => format!("∂{name}(…){part}/∂{{{k}}}"),
                }
            }
            Op::Copy => "1".to_string(),
            Op::Project(_) if k == 0 => "e".to_string(),
            Op::Project(_) => "0".to_string(),
            Op::Map(closure) => {
                let name = match closure.program.inputs.get(k) {
                    Some(input) => input.display.clone(),
                    None => format!("{{{k}}}"),
                };
                format!("∂f/∂{name}")
            }
        }
    }
}

/// One step of the forward sweep, in source order.
#[derive(Clone)]
pub enum Stmt {
    /// `let ident[: ty] = expr;` for a value whose derivative is zero: it depends on no
    /// input, or only on values' primal parts (`x > 0.0`, `x.len()`), which `reads` names:
    /// each placeholder is bound to the variable's value (its real part on dual numbers).
    Const {
        ident: Ident,
        ty: Option<TokenStream>,
        expr: TokenStream,
        reads: Vec<(Ident, Var)>,
        /// The constant bindings it may borrow (`&c`, `c.view()`); itself, when it borrows a
        /// temporary (`&c.view()`).
        borrows: Vec<String>,
    },
    /// An item (`use`, `const`) or a constant statement of the body, kept as written.
    Verbatim(TokenStream),
    /// Node i.
    Node(usize),
    /// `if` / `match`: one arm's region runs.
    Branch(Branch),
    /// `for` / `while` / `loop`.
    Loop(Loop),
}

/// A nested statement list and the values it hands out: one per result of its branch, or
/// the next value of each carried variable of its loop.
#[derive(Clone, Default)]
pub struct Region {
    pub stmts: Vec<Stmt>,
    pub yields: Vec<Operand>,
}

/// What a region's yield is assigned to.
#[derive(Clone)]
pub enum Target {
    /// A variable of the trace.
    Local(usize),
    /// A constant binding (a counter, a flag): no derivative.
    Const(Ident),
}

#[derive(Clone)]
pub struct Branch {
    /// Numbers the binding that records which arm ran, for the adjoint sweep.
    pub id: usize,
    pub head: BranchHead,
    /// How the documentation writes the head (`if x > 0.0`) and each arm (`else`, `1 | 2`).
    pub display: String,
    pub arm_displays: Vec<String>,
    pub arms: Vec<Region>,
    pub results: Vec<Target>,
    pub span: Span,
}

#[derive(Clone)]
pub enum BranchHead {
    /// `if cond { arms[0] } else { arms[1] }`, `cond` a constant `bool`.
    If(TokenStream),
    /// `match scrutinee { patterns[k] guards[k] => arms[k], … }`, a guard written
    /// `if cond`.
    Match {
        scrutinee: TokenStream,
        patterns: Vec<TokenStream>,
        guards: Vec<Option<TokenStream>>,
    },
}

#[derive(Clone)]
pub struct Loop {
    /// Numbers the loop's tape and item bindings.
    pub id: usize,
    pub head: LoopHead,
    /// How the documentation writes the head: `for i in 0..n`.
    pub display: String,
    /// The carried variables with their initial values; `body.yields` are their next values.
    pub carried: Vec<(Target, Operand)>,
    pub body: Region,
    /// The constant flag `break` sets: the loop ends after the iteration that sets it.
    pub exit: Option<Ident>,
    pub span: Span,
}

#[derive(Clone)]
pub enum LoopHead {
    /// `for pattern in iter`: `stmts` compute the constant `iter` once, before the loop.
    For {
        stmts: Vec<Stmt>,
        pattern: TokenStream,
        iter: TokenStream,
    },
    /// `while cond`: `stmts` compute the constant `cond` at the start of every iteration.
    While { stmts: Vec<Stmt>, cond: TokenStream },
    /// `loop`: only `break` ends it.
    Loop,
}

impl LoopHead {
    /// The statements computing the iterated value or the condition (none for `loop`).
    pub fn stmts(&self) -> &[Stmt] {
        match self {
            LoopHead::For { stmts, .. } | LoopHead::While { stmts, .. } => stmts,
            LoopHead::Loop => &[],
        }
    }
}

/// A named variable of the generated code ([`Var::Local`]).
#[derive(Clone)]
pub struct Local {
    /// The user's name for it, for documentation.
    pub display: String,
}

/// A lowered function body.
#[derive(Clone)]
pub struct Program {
    pub inputs: Vec<Input>,
    pub nodes: Vec<Node>,
    pub locals: Vec<Local>,
    pub stmts: Vec<Stmt>,
    /// The function's result: one operand, or one per element of a tuple.
    pub outputs: Vec<Operand>,
    /// Whether each element of the result is declared an array, which the generated
    /// functions return owned even where the value computed is a view (`m.t()`).
    pub array_outputs: Vec<bool>,
    /// The constant bindings known to be `Copy` (numbers, shared references), by name: a
    /// call takes them as they are, where others are copied for the sweeps that call again.
    pub copy_constants: std::collections::HashSet<String>,
    /// The inputs declared floats (`x: f64`), whose values are scalars.
    pub float_inputs: std::collections::HashSet<usize>,
    /// The one float type the signature names, if it names one: the type of a carried
    /// variable that starts from a literal.
    pub float: Option<TokenStream>,
    /// Whether the values are dual numbers (the Hessian's program), whose constants read
    /// only the real parts.
    pub dual: bool,
    /// In the Hessian's program, the values computed on real numbers all the same (no
    /// derivative reaches them), and the parameters bound as they were passed, before their
    /// seeding, as [`real_input_ident`] names them.
    pub reals: HashSet<Var>,
}

/// A reference to parameter k as it was passed, taken before the Hessian's sweep seeds it
/// along its tangent.
pub fn real_input_ident(k: usize) -> Ident {
    quote::format_ident!("__real{}", k, span = Span::mixed_site())
}

impl Program {
    /// Whether `var` is known to be a scalar: a float input, a reduction, or elementwise on
    /// scalars only.
    pub fn known_scalar(&self, var: Var) -> bool {
        match var {
            Var::Input(k) => self.float_inputs.contains(&k),
            Var::Local(_) => false,
            Var::Node(i) => match self.nodes[i].op {
                Op::Prim(prim) => match prim.returns() {
                    Returns::Scalar => true,
                    Returns::Elementwise => self.nodes[i].args.iter().all(|arg| match arg {
                        Operand::Var(var) => self.known_scalar(*var),
                        Operand::Const { literal, .. } => *literal,
                        Operand::Poison => true,
                    }),
                    Returns::Array | Returns::Depends => false,
                },
                _ => false,
            },
        }
    }

    /// Whether the tangent sweep must run beside the values, statement by statement: the
    /// body branches or loops, or writes array elements (which move arrays along).
    pub fn interleaved(&self) -> bool {
        self.has_regions()
            || self
                .nodes
                .iter()
                .any(|node| matches!(node.op, Op::Prim(Primitive::SetIndex)))
    }

    /// Whether the body branches or loops anywhere.
    pub fn has_regions(&self) -> bool {
        self.stmts
            .iter()
            .any(|stmt| matches!(stmt, Stmt::Branch(_) | Stmt::Loop(_)))
    }

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

/// The variables a statement list defines (nodes and locals, its regions' too) and the
/// variables whose derivatives it reads (nodes' arguments, yields, initial values), in
/// source order.
#[derive(Default)]
pub struct Uses {
    pub defined: std::collections::HashSet<Var>,
    pub read: Vec<Var>,
}

impl Uses {
    pub fn of(program: &Program, stmts: &[Stmt]) -> Uses {
        let mut uses = Uses::default();
        uses.visit(program, stmts);
        uses
    }

    /// A region's statements and yields.
    pub fn of_region(program: &Program, region: &Region) -> Uses {
        let mut uses = Uses::default();
        uses.add_region(program, region);
        uses
    }

    pub fn add_region(&mut self, program: &Program, region: &Region) {
        self.visit(program, &region.stmts);
        self.operands(&region.yields);
    }

    /// Variables read here that are defined outside: those whose adjoints a region's
    /// adjoint sweep contributes to.
    pub fn external(&self) -> Vec<Var> {
        let mut seen = std::collections::HashSet::new();
        self.read
            .iter()
            .filter(|var| !self.defined.contains(var) && seen.insert(**var))
            .copied()
            .collect()
    }

    fn operands<'a>(&mut self, operands: impl IntoIterator<Item = &'a Operand>) {
        for operand in operands {
            if let Operand::Var(var) = operand {
                self.read.push(*var);
            }
        }
    }

    fn targets(&mut self, targets: impl IntoIterator<Item = Target>) {
        for target in targets {
            if let Target::Local(k) = target {
                self.defined.insert(Var::Local(k));
            }
        }
    }

    fn visit(&mut self, program: &Program, stmts: &[Stmt]) {
        for stmt in stmts {
            match stmt {
                // A constant's reads have no adjoint.
                Stmt::Const { .. } | Stmt::Verbatim(_) => {}
                Stmt::Node(i) => {
                    self.operands(&program.nodes[*i].args);
                    self.defined.insert(Var::Node(*i));
                }
                Stmt::Branch(branch) => {
                    for arm in &branch.arms {
                        self.visit(program, &arm.stmts);
                        self.operands(&arm.yields);
                    }
                    self.targets(branch.results.iter().cloned());
                }
                Stmt::Loop(lp) => {
                    self.operands(lp.carried.iter().map(|(_, init)| init));
                    self.targets(lp.carried.iter().map(|(target, _)| target.clone()));
                    if let LoopHead::While { stmts, .. } | LoopHead::For { stmts, .. } = &lp.head {
                        self.visit(program, stmts);
                    }
                    self.visit(program, &lp.body.stmts);
                    self.operands(&lp.body.yields);
                }
            }
        }
    }
}

/// Each value's operands: a node's arguments, a branch result's yields, a loop-carried
/// variable's initial and next values (constants' reads carry no derivative and are left out).
pub fn dependencies(program: &Program) -> HashMap<Var, Vec<Var>> {
    fn vars<'a>(operands: impl IntoIterator<Item = &'a Operand>) -> Vec<Var> {
        operands
            .into_iter()
            .filter_map(|operand| match operand {
                Operand::Var(var) => Some(*var),
                _ => None,
            })
            .collect()
    }
    fn collect(program: &Program, stmts: &[Stmt], deps: &mut HashMap<Var, Vec<Var>>) {
        for stmt in stmts {
            match stmt {
                Stmt::Node(i) => {
                    let args = vars(&program.nodes[*i].args);
                    deps.entry(Var::Node(*i)).or_default().extend(args);
                }
                Stmt::Branch(branch) => {
                    for arm in &branch.arms {
                        collect(program, &arm.stmts, deps);
                        for (target, value) in branch.results.iter().zip(&arm.yields) {
                            if let Target::Local(k) = target {
                                deps.entry(Var::Local(*k))
                                    .or_default()
                                    .extend(vars([value]));
                            }
                        }
                    }
                }
                Stmt::Loop(lp) => {
                    if let LoopHead::While { stmts, .. } | LoopHead::For { stmts, .. } = &lp.head {
                        collect(program, stmts, deps);
                    }
                    collect(program, &lp.body.stmts, deps);
                    for ((target, init), next) in lp.carried.iter().zip(&lp.body.yields) {
                        if let Target::Local(k) = target {
                            deps.entry(Var::Local(*k))
                                .or_default()
                                .extend(vars([init, next]));
                        }
                    }
                }
                Stmt::Const { .. } | Stmt::Verbatim(_) => {}
            }
        }
    }
    let mut deps = HashMap::new();
    collect(program, &program.stmts, &mut deps);
    deps
}

/// The variables the result depends on (through any path, around loops too): only they
/// need tangents or adjoints.
pub fn live(program: &Program) -> HashSet<Var> {
    let deps = dependencies(program);
    let mut live: HashSet<Var> = program.output_vars().collect();
    let mut work: Vec<Var> = live.iter().copied().collect();
    while let Some(var) = work.pop() {
        for dep in deps.get(&var).into_iter().flatten() {
            if live.insert(*dep) {
                work.push(*dep);
            }
        }
    }
    live
}

/// The regions whose records could read `var` after node `writer` (an element write) moved
/// it: for a local the loop carrying it reassigns at the end of every iteration, that loop
/// and the regions inside it (a record made after the loop reads the reassigned binding);
/// `None` for any other variable (every region's record counts).
pub fn write_scope(program: &Program, var: Var, writer: usize) -> Option<Vec<usize>> {
    move_scope(program, var, &|body| contains_node(body, writer))
}

/// As [`write_scope`], for `var` taken as loop `id`'s initial value.
pub fn initial_value_scope(program: &Program, var: Var, id: usize) -> Option<Vec<usize>> {
    move_scope(program, var, &|body| contains_loop(body, id))
}

/// The regions whose records could read `var` after what `holds` finds moved it.
fn move_scope(program: &Program, var: Var, holds: &dyn Fn(&[Stmt]) -> bool) -> Option<Vec<usize>> {
    fn regions(stmts: &[Stmt], out: &mut Vec<usize>) {
        for stmt in stmts {
            match stmt {
                Stmt::Branch(branch) => {
                    out.push(branch.id);
                    for arm in &branch.arms {
                        regions(&arm.stmts, out);
                    }
                }
                Stmt::Loop(lp) => {
                    out.push(lp.id);
                    regions(&lp.body.stmts, out);
                }
                Stmt::Node(_) | Stmt::Const { .. } | Stmt::Verbatim(_) => {}
            }
        }
    }
    let Var::Local(k) = var else {
        return None;
    };
    let lp = carrying_loop(&program.stmts, k, holds)?;
    let mut out = vec![lp.id];
    regions(&lp.body.stmts, &mut out);
    Some(out)
}

/// The innermost loop carrying local `k` whose body `holds` what is looked for (an element
/// write, a loop).
fn carrying_loop<'p>(
    stmts: &'p [Stmt],
    k: usize,
    holds: &dyn Fn(&[Stmt]) -> bool,
) -> Option<&'p Loop> {
    stmts.iter().find_map(|stmt| match stmt {
        Stmt::Branch(branch) => branch
            .arms
            .iter()
            .find_map(|arm| carrying_loop(&arm.stmts, k, holds)),
        Stmt::Loop(lp) => carrying_loop(&lp.body.stmts, k, holds).or_else(|| {
            let carries = lp
                .carried
                .iter()
                .any(|(target, _)| matches!(target, Target::Local(j) if *j == k));
            (carries && holds(&lp.body.stmts)).then_some(lp)
        }),
        Stmt::Node(_) | Stmt::Const { .. } | Stmt::Verbatim(_) => None,
    })
}

/// Whether what `holds` finds (an element write, a loop) is in an arm of a branch that reads
/// `var` from outside: the branch's adjoint starts `var`'s adjoint from zeros of its shape,
/// read after the branch, so the value must not be moved there.
fn taken_in_branch(
    program: &Program,
    stmts: &[Stmt],
    var: Var,
    holds: &dyn Fn(&[Stmt]) -> bool,
) -> bool {
    stmts.iter().any(|stmt| match stmt {
        Stmt::Branch(branch) => branch.arms.iter().any(|arm| {
            holds(&arm.stmts)
                && (!Uses::of(program, &arm.stmts).defined.contains(&var)
                    || taken_in_branch(program, &arm.stmts, var, holds))
        }),
        Stmt::Loop(lp) => taken_in_branch(program, &lp.body.stmts, var, holds),
        _ => false,
    })
}

/// Whether `stmts` hold loop `id`, in regions too.
fn contains_loop(stmts: &[Stmt], id: usize) -> bool {
    stmts.iter().any(|stmt| match stmt {
        Stmt::Loop(lp) => lp.id == id || contains_loop(&lp.body.stmts, id),
        Stmt::Branch(branch) => branch.arms.iter().any(|arm| contains_loop(&arm.stmts, id)),
        Stmt::Node(_) | Stmt::Const { .. } | Stmt::Verbatim(_) => false,
    })
}

fn contains_node(stmts: &[Stmt], node: usize) -> bool {
    stmts.iter().any(|stmt| match stmt {
        Stmt::Node(i) => *i == node,
        Stmt::Branch(branch) => branch
            .arms
            .iter()
            .any(|arm| contains_node(&arm.stmts, node)),
        Stmt::Loop(lp) => contains_node(&lp.body.stmts, node),
        Stmt::Const { .. } | Stmt::Verbatim(_) => false,
    })
}

/// Every read of `var` in the program (`uses` of its statements): by nodes, loops' initial
/// values, regions' yields, constants, and the result.
pub fn reads(program: &Program, uses: &Uses, var: Var) -> usize {
    uses.read.iter().filter(|read| **read == var).count()
        + program.output_vars().filter(|out| *out == var).count()
        + const_reads(&program.stmts, var)
}

/// How many constant statements (anywhere) read `var`.
pub fn const_reads(stmts: &[Stmt], var: Var) -> usize {
    stmts
        .iter()
        .map(|stmt| match stmt {
            Stmt::Const { reads, .. } => reads.iter().filter(|(_, read)| *read == var).count(),
            Stmt::Branch(branch) => branch
                .arms
                .iter()
                .map(|arm| const_reads(&arm.stmts, var))
                .sum(),
            Stmt::Loop(lp) => {
                let head = match &lp.head {
                    LoopHead::For { stmts, .. } | LoopHead::While { stmts, .. } => {
                        const_reads(stmts, var)
                    }
                    LoopHead::Loop => 0,
                };
                head + const_reads(&lp.body.stmts, var)
            }
            Stmt::Node(_) | Stmt::Verbatim(_) => 0,
        })
        .sum()
}

/// Whether loop `id` may take its initial value `var` by move: `var` is read once in all (by
/// a node, a loop's initial values, a region's yields, a constant or the result), is an
/// element write's result or a local, whose value no pullback reads (a node's own pullback
/// may read its result, `&y`), and the loop is in no branch's arm reading it from outside.
/// A local that a loop around loop `id` carries counts only the reads in that loop: after
/// it, its name holds the final value (`for c in 0..k { for col in 0..d { w[..] = … } }`
/// takes `w` into the inner loop by move at every `c`).
pub fn initial_value_moves(program: &Program, var: Var, id: usize) -> bool {
    let kind = match var {
        Var::Node(j) => matches!(program.nodes[j].op, Op::Prim(Primitive::SetIndex)),
        Var::Local(_) => true,
        Var::Input(_) => false,
    };
    let carrier = match var {
        Var::Local(k) => carrying_loop(&program.stmts, k, &|body| contains_loop(body, id)),
        _ => None,
    };
    let readers = match carrier {
        Some(lp) => loop_reads(program, lp, var),
        None => reads(program, &Uses::of(program, &program.stmts), var),
    };
    kind && readers == 1
        && !taken_in_branch(program, &program.stmts, var, &|stmts| {
            contains_loop(stmts, id)
        })
        && (carrier.is_none()
            || adjoint_flows_back(program, var, &|live| starts_live(program, id, var, live)))
}

/// Whether a value loop `id` carries from the start value `var` reaches the result.
fn starts_live(program: &Program, id: usize, var: Var, live: &HashSet<Var>) -> bool {
    find_loop(&program.stmts, id).is_some_and(|lp| {
        lp.carried.iter().any(|(target, start)| {
            matches!(start, Operand::Var(v) if *v == var)
                && matches!(target, Target::Local(k) if live.contains(&Var::Local(*k)))
        })
    })
}

/// Whether a carried local `var`, taken by move, gets its adjoint back from what took it
/// (`took_live` of the live set), or has none: a loop that runs its body again in its
/// adjoint starts a dead taker's contribution from zeros of `var`'s shape, read after the
/// move.
fn adjoint_flows_back(
    program: &Program,
    var: Var,
    took_live: &dyn Fn(&HashSet<Var>) -> bool,
) -> bool {
    let live = live(program);
    !live.contains(&var) || took_live(&live)
}

/// Loop `id`, wherever it is.
fn find_loop(stmts: &[Stmt], id: usize) -> Option<&Loop> {
    stmts.iter().find_map(|stmt| match stmt {
        Stmt::Loop(lp) if lp.id == id => Some(lp),
        Stmt::Loop(lp) => find_loop(&lp.body.stmts, id),
        Stmt::Branch(branch) => branch.arms.iter().find_map(|arm| find_loop(&arm.stmts, id)),
        Stmt::Node(_) | Stmt::Const { .. } | Stmt::Verbatim(_) => None,
    })
}

/// How many times loop `lp` reads `var`: in its head, its body and its yields.
fn loop_reads(program: &Program, lp: &Loop, var: Var) -> usize {
    let uses = [
        Uses::of(program, lp.head.stmts()),
        Uses::of_region(program, &lp.body),
    ];
    uses.iter()
        .map(|uses| uses.read.iter().filter(|read| **read == var).count())
        .sum::<usize>()
        + const_reads(lp.head.stmts(), var)
        + const_reads(&lp.body.stmts, var)
}

/// Whether node `writer` (an element write) may take `var`, its array, by move: nothing else
/// reads the value it had. A loop-carried local counts only the readers inside its loop,
/// where the write happens: after the loop, its name holds the final value.
pub fn movable(program: &Program, var: Var, writer: usize) -> bool {
    fn readers(program: &Program, stmts: &[Stmt], var: Var) -> usize {
        let mut count = 0;
        for stmt in stmts {
            match stmt {
                Stmt::Node(i) => count += program.var_args(*i).filter(|(_, v)| *v == var).count(),
                Stmt::Branch(branch) => {
                    for arm in &branch.arms {
                        count += readers(program, &arm.stmts, var);
                    }
                }
                Stmt::Loop(lp) => count += readers(program, &lp.body.stmts, var),
                Stmt::Const { .. } | Stmt::Verbatim(_) => {}
            }
        }
        count
    }
    /// The element reads of `var` among `body`'s own statements before node `writer`.
    fn reads_before(program: &Program, body: &[Stmt], var: Var, writer: usize) -> usize {
        body.iter()
            .take_while(|stmt| !matches!(stmt, Stmt::Node(i) if *i == writer))
            .filter(|stmt| match stmt {
                Stmt::Node(i) => {
                    matches!(program.nodes[*i].op, Op::Prim(Primitive::Index))
                        && matches!(program.nodes[*i].args.first(), Some(Operand::Var(v)) if *v == var)
                }
                _ => false,
            })
            .count()
    }
    if program.output_vars().any(|out| out == var)
        || taken_in_branch(program, &program.stmts, var, &|stmts| {
            contains_node(stmts, writer)
        })
    {
        return false;
    }
    match var {
        Var::Input(_) => false,
        // A node's own pullback reads its value (`&y`), but for another write's. Element
        // reads before the write (`z[r + 1] += t` after `z[r] = …`), as for a local below.
        Var::Node(j) => {
            let before = body_holding(&program.stmts, writer)
                .map_or(0, |body| reads_before(program, body, var, writer));
            matches!(program.nodes[j].op, Op::Prim(Primitive::SetIndex))
                && readers(program, &program.stmts, var) == 1 + before
                && (before == 0
                    || adjoint_flows_back(program, var, &|live| live.contains(&Var::Node(writer))))
        }
        // In the loop carrying it, element reads before the write (`z[r] += t`, which reads
        // `z[r]` first) have taken their elements already, and their pullbacks add to the
        // array's adjoint, which the write's pullback, run before theirs, has given it.
        Var::Local(k) => {
            match carrying_loop(&program.stmts, k, &|body| contains_node(body, writer)) {
                Some(lp) => {
                    let body = &lp.body.stmts;
                    readers(program, body, var) == 1 + reads_before(program, body, var, writer)
                        && adjoint_flows_back(program, var, &|live| {
                            live.contains(&Var::Node(writer))
                        })
                }
                None => readers(program, &program.stmts, var) == 1,
            }
        }
    }
}

/// The statements (of the function, an arm or a loop's body) that hold node `node` itself.
fn body_holding(stmts: &[Stmt], node: usize) -> Option<&[Stmt]> {
    if stmts
        .iter()
        .any(|stmt| matches!(stmt, Stmt::Node(i) if *i == node))
    {
        return Some(stmts);
    }
    stmts.iter().find_map(|stmt| match stmt {
        Stmt::Branch(branch) => branch
            .arms
            .iter()
            .find_map(|arm| body_holding(&arm.stmts, node)),
        Stmt::Loop(lp) => body_holding(&lp.body.stmts, node),
        Stmt::Node(_) | Stmt::Const { .. } | Stmt::Verbatim(_) => None,
    })
}

/// One term of the adjoint sweep: node `node` passes its adjoint to its argument `arg`,
/// the variable `target`.
pub struct Pullback {
    pub node: usize,
    pub arg: usize,
    pub target: Var,
}

/// The adjoint sweep in execution order: nodes from last to first, skipping those the output
/// does not depend on.
pub fn pullbacks(program: &Program) -> Vec<Pullback> {
    let mut live = vec![false; program.nodes.len()];
    for var in program.output_vars() {
        if let Var::Node(out) = var {
            live[out] = true;
        }
    }
    let mut sweep = Vec::new();
    for node in (0..program.nodes.len()).rev() {
        if !live[node] {
            continue;
        }
        for (arg, target) in program.var_args(node) {
            if let Var::Node(j) = target {
                live[j] = true;
            }
            sweep.push(Pullback { node, arg, target });
        }
    }
    sweep
}

/// The nodes in no loop (in branches' arms or not): each runs once at most.
pub fn outside_loops(stmts: &[Stmt]) -> HashSet<usize> {
    let mut nodes = HashSet::new();
    for stmt in stmts {
        match stmt {
            Stmt::Node(i) => {
                nodes.insert(*i);
            }
            Stmt::Branch(branch) => {
                for arm in &branch.arms {
                    nodes.extend(outside_loops(&arm.stmts));
                }
            }
            Stmt::Loop(_) | Stmt::Const { .. } | Stmt::Verbatim(_) => {}
        }
    }
    nodes
}
