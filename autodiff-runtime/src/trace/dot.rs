//! The computational graph in Graphviz DOT.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;

use super::format::{adjoint_name, number, value, var_name};
use super::{RegionKind, Trace, TraceNode};

/// The DOT identifier of node i: `v_m1`, `v0`, `v1`.
pub(crate) fn node_id(index: isize) -> String {
    match index < 0 {
        true => format!("v_m{}", -index),
        false => format!("v{index}"),
    }
}

/// A DOT string literal's contents.
fn quote(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Trace {
    /// The computational graph in Graphviz DOT, left to right as the lectures draw it: a node
    /// per input (blue), operation and the output y (yellow), each labelled with its
    /// operation, value and adjoint; an edge vₖ → vᵢ per argument, labelled with the local
    /// partial ∂vᵢ/∂vₖ at this point. Loop iterations and branch arms are clusters; the
    /// iterations beyond [`fold_after`](Trace::fold_after) become one dashed node per loop.
    ///
    /// ```
    /// # use autodiff_runtime::trace::Trace;
    /// let mut t = Trace::new("f");
    /// t.push_input("x", 2.0);
    /// let v1 = t.push_node("sin v₀", [(0, 2.0_f64.cos(), "cos v₀")], 2.0_f64.sin());
    /// t.set_output(v1);
    /// let dot = t.to_dot();
    /// assert!(dot.starts_with("digraph"));
    /// assert!(dot.contains(r#"v0 -> v1 [label="cos v₀ = −0.416"]"#));
    /// ```
    pub fn to_dot(&self) -> String {
        let p = self.precision;
        let mut out = String::new();
        let _ = writeln!(out, "digraph \"{}\" {{", quote(&self.function));
        out.push_str("  rankdir=LR;\n  node [shape=box, fontsize=12];\n  edge [fontsize=10];\n");

        // Where each hidden node is drawn: the dashed node of its outermost folded loop.
        let folded_loop = |node: &TraceNode| -> Option<usize> {
            let chain = self.chain(node);
            let at = chain.iter().position(|&r| self.folded(r))?;
            Some(chain[at - 1])
        };
        let shown = |node: &TraceNode| -> String {
            match folded_loop(node) {
                Some(lp) => format!("fold_r{lp}"),
                None => node_id(node.index),
            }
        };

        // Node statements, grouped by region.
        let mut by_region: HashMap<Option<usize>, Vec<String>> = HashMap::new();
        let mut folds: BTreeSet<usize> = BTreeSet::new();
        for node in &self.nodes {
            if let Some(lp) = folded_loop(node) {
                folds.insert(lp);
                continue;
            }
            let mut label = match node.is_input() {
                true => format!("{} = {}", var_name(node.index), node.label),
                false => format!("{} = {}", var_name(node.index), node.expression()),
            };
            let _ = write!(label, "\n= {}", value(&node.value, p, false));
            if let Some(adjoint) = &node.adjoint {
                let _ = write!(
                    label,
                    "\n{} = {}",
                    adjoint_name(node.index),
                    value(adjoint, p, false)
                );
            }
            let style = match node.is_input() {
                true => ", style=filled, fillcolor=lightblue",
                false => "",
            };
            by_region.entry(node.region).or_default().push(format!(
                "{} [label=\"{}\"{style}];",
                node_id(node.index),
                quote(&label)
            ));
        }
        for &lp in &folds {
            let omitted = self.iterations(lp) - self.fold_after.unwrap_or(0);
            by_region.entry(Some(lp)).or_default().push(format!(
                "fold_r{lp} [label=\"… {omitted} iteration{} omitted\", style=dashed];",
                if omitted == 1 { "" } else { "s" }
            ));
        }
        self.clusters(None, 1, &by_region, &mut out);

        if let Some(y) = self.output_node() {
            let _ = writeln!(
                out,
                "  y [label=\"y = {}\", shape=doublecircle, style=filled, fillcolor=lightyellow];",
                quote(&value(&y.value, p, false))
            );
        }

        // Edges, each once: hidden endpoints are their loop's dashed node.
        let mut seen = BTreeSet::new();
        for node in &self.nodes {
            for (k, arg) in node.args.iter().enumerate() {
                let Some(from) = self.node(arg.index) else {
                    continue;
                };
                let (a, b) = (shown(from), shown(node));
                let plain = a == node_id(from.index) && b == node_id(node.index);
                if a == b || (!plain && !seen.insert((a.clone(), b.clone()))) {
                    continue;
                }
                let attrs = match (plain, arg.partial) {
                    (false, _) => " [style=dashed]".to_string(),
                    (true, None) => String::new(),
                    (true, Some(d)) => {
                        let d = number(d, p);
                        let notation = node.partial_expression(k);
                        let label = match arg.notation.is_empty() || notation == d {
                            true => d,
                            false => format!("{notation} = {d}"),
                        };
                        format!(" [label=\"{}\"]", quote(&label))
                    }
                };
                let _ = writeln!(out, "  {a} -> {b}{attrs};");
            }
        }
        if let Some(y) = self.output_node() {
            let _ = writeln!(out, "  {} -> y [label=\"1\"];", shown(y));
        }
        out.push_str("}\n");
        out
    }

    /// Writes the nodes of `region` and then its child regions as clusters.
    fn clusters(
        &self,
        region: Option<usize>,
        depth: usize,
        by_region: &HashMap<Option<usize>, Vec<String>>,
        out: &mut String,
    ) {
        let indent = "  ".repeat(depth);
        for statement in by_region.get(&region).into_iter().flatten() {
            let _ = writeln!(out, "{indent}{statement}");
        }
        for (r, child) in self.regions.iter().enumerate() {
            if child.parent != region || self.folded(r) {
                continue;
            }
            let label = match &child.kind {
                RegionKind::Loop { head } => head.clone(),
                RegionKind::Iteration { number } => format!("iteration {number}"),
                RegionKind::Arm { head, arm } => format!("{head}: {arm}"),
            };
            let _ = writeln!(
                out,
                "{indent}subgraph cluster_r{r} {{\n{indent}  label=\"{}\";",
                quote(&label)
            );
            self.clusters(Some(r), depth + 1, by_region, out);
            let _ = writeln!(out, "{indent}}}");
        }
    }
}
