//! The evaluation trace of one call of a differentiable function, as plain data: every node
//! of the Wengert list in evaluation order, numbered as the lectures number them (inputs
//! v₍₁₋ₙ₎ … v₀, nodes v₁ … vₗ), with its operation in the lectures' notation, the arguments it
//! read with the local partial derivatives ∂vᵢ/∂vₖ at this point, its primal value and its
//! adjoint v̄ᵢ = ∂y/∂vᵢ.
//!
//! A [`Trace`] is filled node by node through a small builder (what `f_trace` does, emitted
//! by `#[differentiable]`), walked as data (its fields are public), and rendered:
//!
//! - [`Display`](std::fmt::Display): the lectures' two tables, the forward trace and then the
//!   adjoints in reverse order; `{:#}` prints arrays in full;
//! - [`Trace::to_markdown`]: the same tables in Markdown;
//! - [`Trace::to_dot`]: the computational graph in Graphviz DOT, each edge labelled with its
//!   local partial derivative;
//! - [`Trace::to_svg`]: that graph laid out and drawn in Rust (no external program).
//!
//! Loops and branches are regions ([`TraceRegion`]): each node knows the innermost region it
//! was evaluated in, and a loop's iterations beyond [`Trace::fold_after`] are folded in every
//! rendering with a count of those omitted. Each execution of an operation in a loop is a
//! node of its own, with its own value and adjoint; a variable a loop carries or a branch
//! assigns is listed where it is assigned ([`TraceBinding`], `s ← v₇`), so that the next
//! iteration's reading of v₇ reads as `s`.
//!
//! ```
//! use autodiff_runtime::trace::Trace;
//!
//! // f(x₁, x₂) = ln x₁ + x₁x₂ − sin x₂ at (2, 5), by hand.
//! let (x1, x2) = (2.0_f64, 5.0_f64);
//! let mut t = Trace::new("f");
//! t.push_input("x₁", x1); // v₋₁
//! t.push_input("x₂", x2); // v₀
//! // Each operation and partial is a template: {k} names argument k.
//! let v1 = t.push_node("ln {0}", [(-1, 1.0 / x1, "1/{0}")], x1.ln());
//! let v2 = t.push_node("{0} × {1}", [(-1, x2, "{1}"), (0, x1, "{0}")], x1 * x2);
//! let v3 = t.push_node("sin {0}", [(0, x2.cos(), "cos {0}")], x2.sin());
//! let v4 = t.push_node("{0} + {1}", [(v1, 1.0, "1"), (v2, 1.0, "1")], x1.ln() + x1 * x2);
//! let y = x1.ln() + x1 * x2 - x2.sin();
//! let v5 = t.push_node("{0} − {1}", [(v4, 1.0, "1"), (v3, -1.0, "−1")], y);
//! t.set_output(v5);
//! // The adjoint sweep, in reverse order.
//! for (i, adjoint) in [(5, 1.0), (4, 1.0), (3, -1.0), (2, 1.0), (1, 1.0)] {
//!     t.set_adjoint(i, adjoint);
//! }
//! t.set_adjoint(0, x1 - x2.cos());
//! t.set_adjoint(-1, 1.0 / x1 + x2);
//!
//! assert_eq!(t.node(-1).unwrap().adjoint.as_ref().unwrap().as_scalar(), Some(5.5));
//! let text = t.to_string();
//! assert!(text.contains("v₁  = ln v₋₁"));
//! assert!(text.contains("= 11.652"));
//! assert!(t.to_dot().contains("v_m1 -> v1"));
//! ```

mod dot;
mod format;
mod record;
#[cfg(feature = "svg")]
mod svg;
mod table;

use std::borrow::Cow;

use ndarray::{ArrayBase, Data, Dimension};

pub use format::{adjoint_name, var_name};
#[doc(hidden)]
pub use record::{traced_constant, TraceKey, TraceRecorder, TraceSource};

/// The evaluation trace of one call: inputs and nodes in evaluation order, the output, and
/// the loops and branches the nodes ran in.
///
/// Texts are templates, so that generated code passes `&'static str`s and allocates none:
/// in a node's operation and in an argument's partial, `{k}` stands for the name of argument
/// k (`ln {0}` shows as `ln v₋₁`), `{y}` for the node's own name, `{{` and `}}` for braces;
/// in a partial, `{g}` places the adjoint v̄ᵢ where the rule needs it (`{g} · {1}ᵀ`), which
/// otherwise multiplies the partial from the left. Text without placeholders is shown as it
/// is, and may name arguments itself (`ln v₋₁`). [`TraceNode::expression`] and
/// [`TraceNode::partial_expression`] fill them in.
///
/// Build one with [`Trace::new`], [`push_input`](Trace::push_input) (every input before the
/// first node), [`push_node`](Trace::push_node), [`enter_loop`](Trace::enter_loop) /
/// [`enter_iteration`](Trace::enter_iteration) / [`enter_arm`](Trace::enter_arm) /
/// [`exit`](Trace::exit) around the nodes of a region, [`bind`](Trace::bind) where a variable
/// of the function is assigned a node, [`set_output`](Trace::set_output), and
/// then [`set_adjoint`](Trace::set_adjoint) in any order (the reverse sweep knows them last
/// node first). See the [module documentation](self) for an example.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    /// The differentiated function's name.
    pub function: String,
    /// Inputs (indices 1 − n … 0) then nodes (1, 2, …), in evaluation order.
    pub nodes: Vec<TraceNode>,
    /// The node that is the result y (`None` until [`Trace::set_output`]; the renderings then
    /// take the last node).
    pub output: Option<isize>,
    /// The loops, iterations and branch arms the nodes were evaluated in; a node's `region`
    /// indexes this list, and each region its parent.
    pub regions: Vec<TraceRegion>,
    /// The function's variables assigned a node (a loop-carried variable at the end of each
    /// iteration, a branch's result in the arm taken), in evaluation order: `s ← v₇`.
    pub bindings: Vec<TraceBinding>,
    /// How many iterations of each loop the renderings show before folding the rest into
    /// "… k iterations omitted" (`None`: never fold). Default: 3.
    pub fold_after: Option<usize>,
    /// Decimals the tables and the graph print (the lectures print 3). Trailing zeros are
    /// dropped: 10, 5.5, 0.693.
    pub precision: usize,
    /// The regions entered and not yet exited, innermost last (builder state).
    open: Vec<usize>,
}

/// One node vᵢ of the trace: an input or an operation.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceNode {
    /// The lectures' number i of vᵢ: inputs end at 0, operations start at 1.
    pub index: isize,
    /// A name for the node: the parameter for an input (`x₁`); for an operation, the local
    /// variable it was bound to, or empty.
    pub label: Cow<'static, str>,
    /// The operation in the lectures' notation, a template over the arguments (`ln {0}`,
    /// `{0} × {1}`) or plain text (`ln v₋₁`); for an input, its label. See
    /// [`TraceNode::expression`].
    pub expr: Cow<'static, str>,
    /// What the operation read, in argument order, with the local partial derivatives.
    pub args: Vec<TraceArg>,
    /// The primal value vᵢ.
    pub value: TraceValue,
    /// The adjoint v̄ᵢ = ∂y/∂vᵢ, once the reverse sweep has set it.
    pub adjoint: Option<TraceValue>,
    /// The innermost loop iteration or branch arm the node was evaluated in, an index into
    /// [`Trace::regions`]; `None` at the function's top level.
    pub region: Option<usize>,
}

/// An argument vₖ of a node vᵢ: the edge vₖ → vᵢ of the computational graph.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceArg {
    /// k, the argument's number.
    pub index: isize,
    /// ∂vᵢ/∂vₖ at this point, for a scalar node of a scalar argument; `None` otherwise (the
    /// partial of an array operation is a Jacobian, which the trace does not keep).
    pub partial: Option<f64>,
    /// The partial in the lectures' notation, a template over the node's arguments like the
    /// node's operation (`cos {0}`, `1/{0}`, or plain `cos v₀`), or empty: the renderings then
    /// write ∂vᵢ/∂vₖ. See [`TraceNode::partial_expression`].
    pub notation: Cow<'static, str>,
}

impl TraceArg {
    /// An argument with a known scalar partial derivative and its notation (may be empty).
    pub fn new(index: isize, partial: Option<f64>, notation: impl Into<Cow<'static, str>>) -> Self {
        TraceArg {
            index,
            partial,
            notation: notation.into(),
        }
    }
}

/// `(k, ∂vᵢ/∂vₖ, "notation")`.
impl<S: Into<Cow<'static, str>>> From<(isize, f64, S)> for TraceArg {
    fn from((index, partial, notation): (isize, f64, S)) -> Self {
        TraceArg::new(index, Some(partial), notation)
    }
}

/// `(k, ∂vᵢ/∂vₖ)`, without notation.
impl From<(isize, f64)> for TraceArg {
    fn from((index, partial): (isize, f64)) -> Self {
        TraceArg::new(index, Some(partial), "")
    }
}

/// `(k, Some(∂vᵢ/∂vₖ) or None, "notation")`: a partial that may not be a number (an array
/// edge's), with its notation.
impl<S: Into<Cow<'static, str>>> From<(isize, Option<f64>, S)> for TraceArg {
    fn from((index, partial, notation): (isize, Option<f64>, S)) -> Self {
        TraceArg::new(index, partial, notation)
    }
}

/// `k` alone: an argument whose partial is not a number (an array's).
impl From<isize> for TraceArg {
    fn from(index: isize) -> Self {
        TraceArg::new(index, None, "")
    }
}

/// A variable of the function assigned the value of a node: `s ← v₇`. The forward table
/// lists it where it happened, so that a loop-carried variable read in the next iteration
/// (as v₇) reads as the variable it is.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceBinding {
    /// The variable's name in the source (`s`).
    pub name: Cow<'static, str>,
    /// The node it now holds.
    pub index: isize,
    /// The innermost region it happened in, an index into [`Trace::regions`].
    pub region: Option<usize>,
    /// How many nodes (inputs included) were evaluated before it.
    pub position: usize,
}

/// A loop, one of its iterations, or the arm a branch took.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceRegion {
    /// The enclosing region, an index into [`Trace::regions`].
    pub parent: Option<usize>,
    /// What the region is.
    pub kind: RegionKind,
}

/// The kinds of [`TraceRegion`].
#[derive(Clone, Debug, PartialEq)]
pub enum RegionKind {
    /// A loop as a whole, with its head as written (`for i in 0..n`); its iterations are its
    /// children.
    Loop {
        /// The loop's head in the source.
        head: String,
    },
    /// One iteration of the parent loop, counted from 0.
    Iteration {
        /// The iteration's number, from 0.
        number: usize,
    },
    /// The arm a branch took.
    Arm {
        /// The branch's head in the source (`if x > 0.0`, `match k`).
        head: String,
        /// The arm taken (`then`, `else`, a match pattern).
        arm: String,
    },
}

/// A value of the trace: a scalar or an array (row-major).
#[derive(Clone, Debug, PartialEq)]
pub enum TraceValue {
    /// A float, widened to `f64`.
    Scalar(f64),
    /// An array, its elements in row-major order, widened to `f64`.
    Array {
        /// The array's shape.
        shape: Vec<usize>,
        /// The elements, row-major.
        data: Vec<f64>,
    },
}

impl TraceValue {
    /// The scalar, if this is one.
    pub fn as_scalar(&self) -> Option<f64> {
        match self {
            TraceValue::Scalar(x) => Some(*x),
            TraceValue::Array { .. } => None,
        }
    }

    /// The shape: empty for a scalar.
    pub fn shape(&self) -> &[usize] {
        match self {
            TraceValue::Scalar(_) => &[],
            TraceValue::Array { shape, .. } => shape,
        }
    }

    /// The elements: one for a scalar.
    pub fn data(&self) -> &[f64] {
        match self {
            TraceValue::Scalar(x) => std::slice::from_ref(x),
            TraceValue::Array { data, .. } => data,
        }
    }
}

/// A scalar as the tables print it (3 decimals, trailing zeros dropped); an array by its
/// shape and a summary, or with `{:#}` every element.
///
/// ```
/// # use autodiff_runtime::trace::TraceValue;
/// # use autodiff_runtime::ndarray::array;
/// assert_eq!(TraceValue::from(2.0_f64.ln()).to_string(), "0.693");
/// let a = TraceValue::from(array![[1.0, 2.0], [3.0, 4.0]]);
/// assert_eq!(a.to_string(), "[2×2] [1, 2, 3, …] min 1 max 4 ‖·‖ 5.477");
/// assert_eq!(format!("{a:#}"), "[2×2] [[1, 2], [3, 4]]");
/// ```
impl std::fmt::Display for TraceValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let decimals = f.precision().unwrap_or(3);
        f.write_str(&format::value(self, decimals, f.alternate()))
    }
}

impl From<f64> for TraceValue {
    fn from(x: f64) -> Self {
        TraceValue::Scalar(x)
    }
}

impl From<f32> for TraceValue {
    fn from(x: f32) -> Self {
        TraceValue::Scalar(x.into())
    }
}

impl<A, S, D> From<&ArrayBase<S, D>> for TraceValue
where
    A: Copy + Into<f64>,
    S: Data<Elem = A>,
    D: Dimension,
{
    fn from(a: &ArrayBase<S, D>) -> Self {
        TraceValue::Array {
            shape: a.shape().to_vec(),
            data: a.iter().map(|&x| x.into()).collect(),
        }
    }
}

impl<A, S, D> From<ArrayBase<S, D>> for TraceValue
where
    A: Copy + Into<f64>,
    S: Data<Elem = A>,
    D: Dimension,
{
    fn from(a: ArrayBase<S, D>) -> Self {
        TraceValue::from(&a)
    }
}

/// A value `f_trace` records: a float or an array, or a reference to one. What the code
/// `#[differentiable]` emits calls; not an API of its own.
#[doc(hidden)]
pub trait Traced {
    /// The value as the trace keeps it.
    fn trace_value(&self) -> TraceValue;
    /// The value if it is a scalar.
    fn trace_scalar(&self) -> Option<f64>;
}

macro_rules! traced_float {
    ($($t:ty),*) => {$(
        impl Traced for $t {
            fn trace_value(&self) -> TraceValue {
                TraceValue::Scalar((*self).into())
            }
            fn trace_scalar(&self) -> Option<f64> {
                Some((*self).into())
            }
        }
    )*};
}
traced_float!(f32, f64);

impl<A, S, D> Traced for ArrayBase<S, D>
where
    A: Copy + Into<f64>,
    S: Data<Elem = A>,
    D: Dimension,
{
    fn trace_value(&self) -> TraceValue {
        TraceValue::from(self)
    }
    fn trace_scalar(&self) -> Option<f64> {
        None
    }
}

impl<T: Traced + ?Sized> Traced for &T {
    fn trace_value(&self) -> TraceValue {
        (**self).trace_value()
    }
    fn trace_scalar(&self) -> Option<f64> {
        (**self).trace_scalar()
    }
}

/// The local partial ∂vᵢ/∂vₖ of a scalar node vᵢ = `y`, from its pullback of 1 to argument k:
/// `None` where the node or the argument is an array (the partial is then a Jacobian).
#[doc(hidden)]
pub fn scalar_partial<Y: Traced + ?Sized, P: Traced>(y: &Y, pullback_of_one: P) -> Option<f64> {
    y.trace_scalar().and(pullback_of_one.trace_scalar())
}

impl TraceNode {
    /// Whether the node is an input (its index is 0 or below).
    pub fn is_input(&self) -> bool {
        self.index <= 0
    }

    /// The operation with its arguments' names filled in: `ln {0}` → `ln v₋₁`.
    ///
    /// ```
    /// # use autodiff_runtime::trace::Trace;
    /// let mut t = Trace::new("f");
    /// t.push_input("x₁", 2.0);
    /// t.push_input("x₂", 5.0);
    /// let v1 = t.push_node("{0} × {1}", [(-1, 5.0, "{1}"), (0, 2.0, "{0}")], 10.0);
    /// let node = t.node(v1).unwrap();
    /// assert_eq!(node.expression(), "v₋₁ × v₀");
    /// assert_eq!(node.partial_expression(0), "v₀");
    /// ```
    pub fn expression(&self) -> String {
        format::fill(
            &self.expr,
            |k| self.args.get(k).map(|a| var_name(a.index)),
            self.index,
            None,
        )
    }

    /// The partial ∂vᵢ/∂vₖ of argument `k` in the lectures' notation, its names filled in
    /// (`cos {0}` → `cos v₀`); ∂vᵢ/∂vₖ itself when the argument has no notation.
    pub fn partial_expression(&self, k: usize) -> String {
        let Some(arg) = self.args.get(k) else {
            return String::new();
        };
        match arg.notation.is_empty() {
            true => format!("∂{}/∂{}", var_name(self.index), var_name(arg.index)),
            false => format::fill(
                &arg.notation,
                |j| self.args.get(j).map(|a| var_name(a.index)),
                self.index,
                None,
            ),
        }
    }
}

impl Trace {
    /// An empty trace of the function `function`.
    pub fn new(function: impl Into<String>) -> Self {
        Trace {
            function: function.into(),
            nodes: Vec::new(),
            output: None,
            regions: Vec::new(),
            bindings: Vec::new(),
            fold_after: Some(3),
            precision: 3,
            open: Vec::new(),
        }
    }

    /// Appends an input. Inputs are numbered so that the last one is v₀: each new input is
    /// v₀ and those before it move down one (v₀ becomes v₋₁), so input k of n (from 0) ends
    /// as v₍ₖ₊₁₋ₙ₎. Push every input before the first node.
    ///
    /// # Panics
    ///
    /// If a node has been pushed already.
    pub fn push_input(
        &mut self,
        label: impl Into<Cow<'static, str>>,
        value: impl Into<TraceValue>,
    ) {
        assert!(
            self.nodes.iter().all(TraceNode::is_input),
            "Trace::push_input after push_node: push every input first"
        );
        for node in &mut self.nodes {
            node.index -= 1;
        }
        let label = label.into();
        self.nodes.push(TraceNode {
            index: 0,
            expr: label.clone(),
            label,
            args: Vec::new(),
            value: value.into(),
            adjoint: None,
            region: self.open.last().copied(),
        });
    }

    /// Appends the node vᵢ = `expr`(`args`) with its value, in the innermost open region,
    /// and returns its number i (1 for the first node, then 2, …). `args` are
    /// [`TraceArg`]s or anything that converts to them: `(k, ∂vᵢ/∂vₖ, "notation")`,
    /// `(k, ∂vᵢ/∂vₖ)`, or `k` alone for an array argument.
    pub fn push_node<A: Into<TraceArg>>(
        &mut self,
        expr: impl Into<Cow<'static, str>>,
        args: impl IntoIterator<Item = A>,
        value: impl Into<TraceValue>,
    ) -> isize {
        let index = self.nodes.last().map_or(1, |n| n.index.max(0) + 1);
        self.nodes.push(TraceNode {
            index,
            label: Cow::Borrowed(""),
            expr: expr.into(),
            args: args.into_iter().map(Into::into).collect(),
            value: value.into(),
            adjoint: None,
            region: self.open.last().copied(),
        });
        index
    }

    /// Says which node is the result y.
    pub fn set_output(&mut self, index: isize) {
        self.output = Some(index);
    }

    /// Sets the adjoint v̄ᵢ = ∂y/∂vᵢ of node `index` (replacing any set before).
    ///
    /// # Panics
    ///
    /// If there is no node `index`.
    pub fn set_adjoint(&mut self, index: isize, adjoint: impl Into<TraceValue>) {
        let position = self
            .position(index)
            .unwrap_or_else(|| panic!("Trace::set_adjoint: no node v{index}"));
        self.nodes[position].adjoint = Some(adjoint.into());
    }

    /// Records that the function's variable `name` now holds node vᵢ (`s ← v₇`), in the
    /// innermost open region.
    ///
    /// ```
    /// # use autodiff_runtime::trace::Trace;
    /// // s = x; for _ in 0..2 { s = s · s }
    /// let mut t = Trace::new("square_twice");
    /// t.push_input("x", 3.0);
    /// t.bind("s", 0);
    /// t.enter_loop("for _ in 0..2");
    /// let mut s = (0, 3.0);
    /// for _ in 0..2 {
    ///     t.enter_iteration();
    ///     let next = t.push_node("{0} · {1}", [(s.0, s.1), (s.0, s.1)], s.1 * s.1);
    ///     s = (next, s.1 * s.1);
    ///     t.bind("s", next);
    ///     t.exit();
    /// }
    /// t.exit();
    /// let text = t.to_string();
    /// assert!(text.contains("    s ← v₀\n    for _ in 0..2 {\n        iteration 0:\n"));
    /// assert!(text.contains("v₂ = v₁ · v₁ = 9 · 9 = 81\n            s ← v₂\n"), "{text}");
    /// ```
    pub fn bind(&mut self, name: impl Into<Cow<'static, str>>, index: isize) {
        self.bindings.push(TraceBinding {
            name: name.into(),
            index,
            region: self.open.last().copied(),
            position: self.nodes.len(),
        });
    }

    /// Opens a loop with its head as written (`for i in 0..n`); open each iteration inside
    /// it with [`enter_iteration`](Trace::enter_iteration), and [`exit`](Trace::exit) both.
    pub fn enter_loop(&mut self, head: impl Into<String>) {
        self.open_region(RegionKind::Loop { head: head.into() });
    }

    /// Opens the next iteration of the innermost open loop (numbered from 0).
    ///
    /// # Panics
    ///
    /// If the innermost open region is not a loop.
    pub fn enter_iteration(&mut self) {
        let parent = self.open.last().copied();
        assert!(
            matches!(
                parent.map(|p| &self.regions[p].kind),
                Some(RegionKind::Loop { .. })
            ),
            "Trace::enter_iteration outside a loop: call enter_loop first"
        );
        let number = self
            .regions
            .iter()
            .filter(|r| r.parent == parent && matches!(r.kind, RegionKind::Iteration { .. }))
            .count();
        self.open_region(RegionKind::Iteration { number });
    }

    /// Opens the arm `arm` that the branch `head` took.
    pub fn enter_arm(&mut self, head: impl Into<String>, arm: impl Into<String>) {
        self.open_region(RegionKind::Arm {
            head: head.into(),
            arm: arm.into(),
        });
    }

    /// Closes the innermost open region (loop, iteration or arm).
    ///
    /// # Panics
    ///
    /// If no region is open.
    pub fn exit(&mut self) {
        self.open.pop().expect("Trace::exit without an open region");
    }

    /// Shows `n` iterations of each loop and folds the rest (`None`: show all).
    pub fn fold_after(mut self, n: impl Into<Option<usize>>) -> Self {
        self.fold_after = n.into();
        self
    }

    /// Prints numbers with `decimals` decimals (trailing zeros dropped).
    pub fn precision(mut self, decimals: usize) -> Self {
        self.precision = decimals;
        self
    }

    /// The node vᵢ.
    pub fn node(&self, index: isize) -> Option<&TraceNode> {
        self.position(index).map(|p| &self.nodes[p])
    }

    /// The value of node vᵢ.
    pub fn value(&self, index: isize) -> Option<&TraceValue> {
        self.node(index).map(|n| &n.value)
    }

    /// The adjoint v̄ᵢ = ∂y/∂vᵢ of node vᵢ, if the reverse sweep has set it.
    pub fn adjoint(&self, index: isize) -> Option<&TraceValue> {
        self.node(index)?.adjoint.as_ref()
    }

    /// The output node y: the one [`set_output`](Trace::set_output) named, else the last.
    pub fn output_node(&self) -> Option<&TraceNode> {
        match self.output {
            Some(index) => self.node(index),
            None => self.nodes.last(),
        }
    }

    /// The enclosing regions of a node, outermost first.
    pub fn context(&self, node: &TraceNode) -> Vec<&TraceRegion> {
        let mut chain = Vec::new();
        let mut region = node.region;
        while let Some(r) = region {
            chain.push(&self.regions[r]);
            region = self.regions[r].parent;
        }
        chain.reverse();
        chain
    }

    fn position(&self, index: isize) -> Option<usize> {
        // Nodes are numbered consecutively from the first input.
        let first = self.nodes.first()?.index;
        let position = usize::try_from(index - first).unwrap_or(usize::MAX);
        match self.nodes.get(position) {
            Some(node) if node.index == index => Some(position),
            // Numbering edited by hand: look for it.
            _ => self.nodes.iter().position(|n| n.index == index),
        }
    }

    fn open_region(&mut self, kind: RegionKind) {
        self.regions.push(TraceRegion {
            parent: self.open.last().copied(),
            kind,
        });
        self.open.push(self.regions.len() - 1);
    }

    /// Region indices of a node, outermost first.
    pub(crate) fn chain(&self, node: &TraceNode) -> Vec<usize> {
        self.chain_of(node.region)
    }

    /// Region indices from the outermost to `region`.
    pub(crate) fn chain_of(&self, mut region: Option<usize>) -> Vec<usize> {
        let mut chain = Vec::new();
        while let Some(r) = region {
            chain.push(r);
            region = self.regions[r].parent;
        }
        chain.reverse();
        chain
    }

    /// The number of iterations of loop `region`.
    pub(crate) fn iterations(&self, region: usize) -> usize {
        self.regions
            .iter()
            .filter(|r| r.parent == Some(region) && matches!(r.kind, RegionKind::Iteration { .. }))
            .count()
    }

    /// Whether a region is an iteration folded away by `fold_after`.
    pub(crate) fn folded(&self, region: usize) -> bool {
        matches!(
            (&self.regions[region].kind, self.fold_after),
            (RegionKind::Iteration { number }, Some(n)) if *number >= n
        )
    }

    /// Whether the renderings fold a node away: it ran in an iteration beyond
    /// [`fold_after`](Trace::fold_after).
    pub fn is_folded(&self, node: &TraceNode) -> bool {
        self.chain(node).into_iter().any(|r| self.folded(r))
    }
}
