//! The lectures' two tables: the forward trace, then the adjoints in reverse order, as text
//! (`Display`) and as Markdown.

use std::collections::HashMap;
use std::fmt;

use super::format::{
    adjoint_name, fill, is_template, number, operand, substitute, value, var_name,
};
use super::{RegionKind, Trace, TraceBinding, TraceNode, TraceValue};

/// One line of a table.
pub(crate) enum Row {
    /// `name = formula = at this point = value`, indented by depth.
    Entry {
        depth: usize,
        name: String,
        formula: String,
        at: String,
        value: String,
    },
    /// A region's head or end, or a fold, indented by depth.
    Text { depth: usize, text: String },
}

/// What a table lists: a node, or (in the forward table) a variable's binding.
#[derive(Clone, Copy)]
enum Step<'t> {
    Node(&'t TraceNode),
    Bind(&'t TraceBinding),
}

impl Step<'_> {
    fn region(&self) -> Option<usize> {
        match self {
            Step::Node(node) => node.region,
            Step::Bind(binding) => binding.region,
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Sweep {
    Forward,
    Reverse,
}

impl Trace {
    /// The rows of the forward trace, inputs first, ending with `y = vᵢ`.
    pub(crate) fn forward_rows(&self, full: bool) -> Vec<Row> {
        let mut rows = Vec::new();
        // Each binding after the nodes evaluated before it.
        let mut order: Vec<Step<'_>> = Vec::with_capacity(self.nodes.len());
        let mut bindings = self.bindings.iter().peekable();
        for (position, node) in self.nodes.iter().enumerate() {
            while let Some(binding) = bindings.next_if(|b| b.position <= position) {
                order.push(Step::Bind(binding));
            }
            order.push(Step::Node(node));
        }
        order.extend(bindings.map(Step::Bind));
        self.walk(&order, Sweep::Forward, &mut rows, |step, depth| {
            let node = match step {
                Step::Node(node) => node,
                Step::Bind(binding) => {
                    return Row::Text {
                        depth,
                        text: format!("{} ← {}", binding.name, var_name(binding.index)),
                    }
                }
            };
            let scalars: HashMap<isize, f64> = node
                .args
                .iter()
                .filter_map(|a| Some((a.index, self.node(a.index)?.value.as_scalar()?)))
                .collect();
            let all_scalar = node.args.iter().all(|a| scalars.contains_key(&a.index));
            let at_value = |k: isize| scalars.get(&k).map(|&x| operand(x, self.precision));
            let at = match (node.is_input() || !all_scalar, is_template(&node.expr)) {
                (true, _) => String::new(),
                (false, true) => fill(
                    &node.expr,
                    |k| at_value(node.args.get(k)?.index),
                    node.index,
                    None,
                ),
                (false, false) => substitute(&node.expr, at_value),
            };
            let formula = node.expression();
            Row::Entry {
                depth,
                name: var_name(node.index),
                at: match at == formula {
                    true => String::new(),
                    false => at,
                },
                formula,
                value: value(&node.value, self.precision, full),
            }
        });
        if let Some(out) = self.output_node() {
            rows.push(Row::Entry {
                depth: 0,
                name: "y".into(),
                formula: var_name(out.index),
                at: String::new(),
                value: value(&out.value, self.precision, full),
            });
        }
        rows
    }

    /// The rows of the adjoint trace, v̄ᵢ = Σⱼ v̄ⱼ ∂vⱼ/∂vᵢ over the nodes j that read vᵢ, last
    /// node first.
    pub(crate) fn adjoint_rows(&self, full: bool) -> Vec<Row> {
        // Who reads each node, and through which argument.
        let mut readers: HashMap<isize, Vec<(&TraceNode, usize)>> = HashMap::new();
        for node in &self.nodes {
            for (k, arg) in node.args.iter().enumerate() {
                readers.entry(arg.index).or_default().push((node, k));
            }
        }
        let output = self.output_node().map(|n| n.index);
        let mut rows = Vec::new();
        let order: Vec<Step<'_>> = self.nodes.iter().rev().map(Step::Node).collect();
        self.walk(&order, Sweep::Reverse, &mut rows, |step, depth| {
            let Step::Node(node) = step else {
                return Row::Text {
                    depth,
                    text: String::new(),
                };
            };
            // The output is seeded with ȳ = 1.
            let seed: Vec<String> = match output == Some(node.index) {
                true => vec!["1".to_string()],
                false => Vec::new(),
            };
            let mut symbolic = seed.clone();
            let mut numeric = Some(seed);
            // Of the terms from folded iterations, the first is written out (where the
            // visible nodes meet the folded ones) and the rest are counted.
            let (mut omitted, mut first_folded) = (0, true);
            for (reader, k) in readers.get(&node.index).into_iter().flatten() {
                if self.is_folded(reader) && !self.is_folded(node) {
                    if !first_folded {
                        omitted += 1;
                        continue;
                    }
                    first_folded = false;
                }
                let arg = &reader.args[*k];
                let bar = adjoint_name(reader.index);
                symbolic.push(match arg.notation.contains("{g}") {
                    true => fill(
                        &arg.notation,
                        |j| reader.args.get(j).map(|a| var_name(a.index)),
                        reader.index,
                        Some(&bar),
                    ),
                    false => term(&bar, &reader.partial_expression(*k)),
                });
                let adjoint = reader.adjoint.as_ref().and_then(TraceValue::as_scalar);
                numeric = match (numeric, adjoint, arg.partial) {
                    (Some(mut terms), Some(g), Some(p)) => {
                        terms.push(match p == 1.0 {
                            true => number(g, self.precision),
                            false => {
                                format!(
                                    "{} · {}",
                                    operand(g, self.precision),
                                    operand(p, self.precision)
                                )
                            }
                        });
                        Some(terms)
                    }
                    _ => None,
                };
            }
            if omitted > 0 {
                let more = format!("… ({omitted} more)");
                symbolic.push(more.clone());
                if let Some(terms) = numeric.as_mut() {
                    terms.push(more);
                }
            }
            let formula = match symbolic.is_empty() {
                true => "0".to_string(),
                false => symbolic.join(" + "),
            };
            let at = match numeric {
                Some(terms) if !terms.is_empty() && terms.join(" + ") != formula => {
                    terms.join(" + ")
                }
                _ => String::new(),
            };
            Row::Entry {
                depth,
                name: adjoint_name(node.index),
                formula,
                at,
                value: node
                    .adjoint
                    .as_ref()
                    .map_or_else(|| "—".to_string(), |a| value(a, self.precision, full)),
            }
        });
        rows
    }

    /// Walks nodes in `order`, opening and closing the regions between them, folding the
    /// iterations beyond `fold_after` into one line per loop.
    fn walk<'t>(
        &'t self,
        order: &[Step<'t>],
        sweep: Sweep,
        rows: &mut Vec<Row>,
        mut entry: impl FnMut(Step<'t>, usize) -> Row,
    ) {
        let mut current: Vec<usize> = Vec::new();
        let mut folded_loops: Vec<usize> = Vec::new();
        for &step in order {
            let mut chain = self.chain_of(step.region());
            let fold = chain.iter().position(|&r| self.folded(r));
            if let Some(at) = fold {
                // Show the path down to the loop, then one line for all its folded iterations.
                chain.truncate(at);
                let lp = chain[at - 1];
                if folded_loops.contains(&lp) {
                    continue;
                }
                folded_loops.push(lp);
                self.transition(&mut current, &chain, sweep, rows);
                let omitted = self.iterations(lp) - self.fold_after.unwrap_or(0);
                rows.push(Row::Text {
                    depth: chain.len(),
                    text: format!(
                        "… {omitted} iteration{} omitted",
                        if omitted == 1 { "" } else { "s" }
                    ),
                });
                continue;
            }
            self.transition(&mut current, &chain, sweep, rows);
            rows.push(entry(step, chain.len()));
        }
        self.transition(&mut current, &[], sweep, rows);
    }

    /// Closes the regions of `current` not in `chain` and opens those of `chain` not in
    /// `current`.
    fn transition(
        &self,
        current: &mut Vec<usize>,
        chain: &[usize],
        sweep: Sweep,
        rows: &mut Vec<Row>,
    ) {
        let common = current
            .iter()
            .zip(chain)
            .take_while(|(a, b)| a == b)
            .count();
        while current.len() > common {
            let region = current.pop().unwrap_or_default();
            if !matches!(self.regions[region].kind, RegionKind::Iteration { .. }) {
                rows.push(Row::Text {
                    depth: current.len(),
                    text: "}".into(),
                });
            }
        }
        for &region in &chain[common..] {
            let text = match (&self.regions[region].kind, sweep) {
                (RegionKind::Loop { head }, Sweep::Forward) => format!("{head} {{"),
                (RegionKind::Loop { head }, Sweep::Reverse) => {
                    format!("{head}, iterations last first {{")
                }
                (RegionKind::Iteration { number }, _) => format!("iteration {number}:"),
                (RegionKind::Arm { head, arm }, _) => format!("{head}, in the arm taken: {arm} {{"),
            };
            rows.push(Row::Text {
                depth: current.len(),
                text,
            });
            current.push(region);
        }
    }

    /// The forward table then the adjoint table, as text.
    fn tables(&self, full: bool) -> String {
        format!(
            "Evaluation trace of {}\n{}\nAdjoint trace, v̄ᵢ = ∂y/∂vᵢ, in reverse order\n{}",
            self.function,
            render(&self.forward_rows(full)),
            render(&self.adjoint_rows(full)),
        )
    }

    /// The two tables in Markdown: the forward trace, then the adjoints in reverse order.
    /// Regions are rows of their own (`for i in 0..n {`, `iteration 0:`, `}`).
    ///
    /// ```
    /// # use autodiff_runtime::trace::Trace;
    /// let mut t = Trace::new("square");
    /// t.push_input("x", 3.0);
    /// let v1 = t.push_node("v₀ · v₀", [(0, 6.0, "2v₀"), (0, 6.0, "2v₀")], 9.0);
    /// t.set_output(v1);
    /// t.set_adjoint(1, 1.0);
    /// t.set_adjoint(0, 6.0);
    /// let md = t.to_markdown();
    /// assert!(md.contains("| v₁ | v₀ · v₀ | 3 · 3 | 9 |"));
    /// ```
    pub fn to_markdown(&self) -> String {
        let table = |rows: &[Row], head: &str| {
            let mut out = format!("{head}\n|---|---|---|---|\n");
            for row in rows {
                let line = match row {
                    Row::Entry {
                        depth,
                        name,
                        formula,
                        at,
                        value,
                    } => format!(
                        "| {}{} | {} | {} | {} |\n",
                        "&emsp;".repeat(*depth),
                        cell(name),
                        cell(formula),
                        cell(at),
                        cell(value)
                    ),
                    Row::Text { depth, text } => {
                        format!("| {}*{}* | | | |\n", "&emsp;".repeat(*depth), cell(text))
                    }
                };
                out.push_str(&line.replace("|  |", "| |"));
            }
            out
        };
        format!(
            "### Evaluation trace of `{}`\n\n{}\n### Adjoint trace, v̄ᵢ = ∂y/∂vᵢ, in reverse order\n\n{}",
            self.function,
            table(
                &self.forward_rows(false),
                "| node | operation | at this point | value |"
            ),
            table(
                &self.adjoint_rows(false),
                "| adjoint | over the nodes that read it | at this point | value |"
            ),
        )
    }
}

/// `v̄ⱼ · partial`, simplified where the partial is ±1.
fn term(adjoint: &str, partial: &str) -> String {
    match partial {
        "1" => adjoint.to_string(),
        "−1" | "-1" => format!("−{adjoint}"),
        p if p.contains(" + ") || p.contains(" − ") || p.contains(" - ") || p.starts_with('−') =>
        {
            format!("{adjoint} · ({p})")
        }
        p => format!("{adjoint} · {p}"),
    }
}

/// A Markdown cell's text.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The width a text takes on screen: combining marks (the bar of v̄) take none.
fn width(text: &str) -> usize {
    text.chars()
        .filter(|c| !('\u{300}'..='\u{36f}').contains(c))
        .count()
}

fn pad(text: &str, to: usize) -> String {
    format!("{text}{}", " ".repeat(to.saturating_sub(width(text))))
}

/// The widest formula or substituted formula that sets its column's width.
const WIDEST: usize = 32;

/// The rows as aligned columns: `name = formula = at this point = value`.
pub(crate) fn render(rows: &[Row]) -> String {
    let (mut names, mut formulas, mut ats) = (0, 0, 0);
    for row in rows {
        if let Row::Entry {
            depth,
            name,
            formula,
            at,
            ..
        } = row
        {
            names = names.max(4 * depth + width(name));
            // A long sum (an input read in every iteration) overflows its column rather
            // than widening every row's.
            if width(formula) <= WIDEST {
                formulas = formulas.max(width(formula));
            }
            if width(at) <= WIDEST {
                ats = ats.max(width(at));
            }
        }
    }
    let mut out = String::new();
    for row in rows {
        match row {
            Row::Entry {
                depth,
                name,
                formula,
                at,
                value,
            } => {
                let indent = "    ".repeat(*depth);
                let name = pad(name, names - 4 * depth);
                let at = match (ats, at.is_empty()) {
                    (0, _) => String::new(),
                    (_, true) => " ".repeat(ats + 3),
                    (_, false) => format!(" = {}", pad(at, ats)),
                };
                let line = format!(
                    "    {indent}{name} = {}{at} = {value}",
                    pad(formula, formulas)
                );
                out.push_str(&line);
            }
            Row::Text { depth, text } => {
                out.push_str(&format!("    {}{text}", "    ".repeat(*depth)));
            }
        }
        out.push('\n');
    }
    out
}

/// The lectures' two tables: the forward trace (each node's operation, the operation at the
/// values it read, and its value), then the adjoints in reverse order (each as the sum over
/// the nodes that read it, that sum at this point, and its value). Arrays show their shape
/// and a summary; `{:#}` prints them in full.
impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.tables(f.alternate()))
    }
}
