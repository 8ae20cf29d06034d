//! The documentation of a generated gradient: the evaluation trace (Wengert list) and the
//! adjoint program in the lectures' notation, so that `cargo doc` shows what was derived.

use crate::ir::Pullback;
use crate::ir::{Operand, Program, Stmt, Target, Var};
use crate::signature::Signature;

/// `v₋₁`, `v₀`, `v₁`, … as the lectures number them: inputs end at v₀.
fn var_name(program: &Program, var: Var) -> String {
    let index = match var {
        Var::Input(k) => {
            // Structs of parameters are not values: only their fields are numbered.
            let values =
                |inputs: &[crate::ir::Input]| inputs.iter().filter(|i| i.is_value()).count();
            values(&program.inputs[..=k]) as i64 - values(&program.inputs) as i64
        }
        Var::Node(i) => i as i64 + 1,
        Var::Local(k) => return program.locals[k].display.clone(),
    };
    let digits: String = index
        .to_string()
        .chars()
        .map(|c| match c {
            '-' => '₋',
            d => char::from_u32('₀' as u32 + d.to_digit(10).unwrap_or(0)).unwrap_or(d),
        })
        .collect();
    format!("v{digits}")
}

/// `v̄ᵢ`, the adjoint ∂y/∂vᵢ (the lectures' sᵢ).
fn adjoint_name(program: &Program, var: Var) -> String {
    match var {
        // A local's name with a bar over its last letter: `acc̄`.
        Var::Local(k) => format!("{}\u{304}", program.locals[k].display),
        _ => var_name(program, var).replacen('v', "v\u{304}", 1),
    }
}

/// Whether `text` is one parenthesized group, `(1.0 - y)` (not `(a) + (b)`).
fn enclosed(text: &str) -> bool {
    if !text.starts_with('(') {
        return false;
    }
    let mut depth = 0;
    for (at, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if depth == 0 {
            return at + c.len_utf8() == text.len();
        }
    }
    false
}

fn operand_name(program: &Program, operand: &Operand) -> String {
    match operand {
        Operand::Var(var) => var_name(program, *var),
        Operand::Const { display, .. } if display.contains(' ') && !enclosed(display) => {
            format!("({display})")
        }
        Operand::Const { display, .. } => display.clone(),
        Operand::Poison => "?".into(),
    }
}

/// Fills a rule's template: `{k}` is argument k, `{y}` the node's own value.
fn fill(template: &str, program: &Program, node: usize) -> String {
    let mut text = template.replace("{y}", &var_name(program, Var::Node(node)));
    for (k, arg) in program.nodes[node].args.iter().enumerate() {
        text = text.replace(&format!("{{{k}}}"), &operand_name(program, arg));
    }
    text
}

/// One term v̄ᵢ · ∂vᵢ/∂vₖ of an adjoint, simplified where the partial is ±1.
fn term(adjoint: &str, partial: &str) -> String {
    match partial {
        "1" => adjoint.to_string(),
        "−1" => format!("−{adjoint}"),
        p if (p.contains(' ') && !enclosed(p)) || p.starts_with('−') => {
            format!("{adjoint} · ({p})")
        }
        p => format!("{adjoint} · {p}"),
    }
}

fn aligned(lines: &[(String, String)]) -> String {
    let width = lines
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    lines
        .iter()
        .map(|(left, right)| {
            let pad = width - left.chars().count();
            format!("    {left}{} = {right}\n", " ".repeat(pad))
        })
        .collect()
}

pub fn grad_doc(sig: &Signature, program: &Program, sweep: &[Pullback]) -> String {
    let name = &sig.name;
    let params: Vec<String> = sig.params.iter().map(|p| p.ident.to_string()).collect();
    let partials: Vec<String> = program
        .inputs
        .iter()
        .filter(|input| input.is_parameter())
        .map(|input| format!("∂{name}/∂{}", input.ident))
        .collect();
    let gradient = match partials.as_slice() {
        [single] => single.clone(),
        many => format!("({})", many.join(", ")),
    };

    if program.has_regions() {
        return region_doc(&name.to_string(), &params, &gradient, program);
    }
    let mut trace: Vec<(String, String)> = program
        .inputs
        .iter()
        .enumerate()
        .filter(|(_, input)| input.is_value())
        .map(|(k, input)| (var_name(program, Var::Input(k)), input.display.clone()))
        .collect();
    for (i, node) in program.nodes.iter().enumerate() {
        trace.push((
            var_name(program, Var::Node(i)),
            fill(&node.notation(), program, i),
        ));
    }
    // Only a scalar function has a gradient, so the result is one operand.
    let output = &program.outputs[0];
    trace.push(("y".into(), operand_name(program, output)));

    // Each variable's adjoint is the sum of what the nodes that read it pass back.
    let adjoint_of = |var: Var| -> Option<String> {
        let terms: Vec<String> = sweep
            .iter()
            .filter(|pb| pb.target == var)
            .map(|pb| {
                let partial = program.nodes[pb.node].partial(pb.arg);
                let adjoint = adjoint_name(program, Var::Node(pb.node));
                let partial = fill(&partial, program, pb.node);
                match partial.contains("{g}") {
                    true => partial.replace("{g}", &adjoint),
                    false => term(&adjoint, &partial),
                }
            })
            .collect();
        let seeded = matches!(output, Operand::Var(out) if *out == var);
        match (seeded, terms.is_empty()) {
            (true, _) => Some("1".into()),
            (false, true) => None,
            (false, false) => Some(terms.join(" + ")),
        }
    };
    let mut adjoints = Vec::new();
    for i in (0..program.nodes.len()).rev() {
        if let Some(sum) = adjoint_of(Var::Node(i)) {
            adjoints.push((adjoint_name(program, Var::Node(i)), sum));
        }
    }
    for k in (0..program.inputs.len()).rev() {
        if !program.inputs[k].is_value() {
            continue;
        }
        let sum = adjoint_of(Var::Input(k)).unwrap_or_else(|| "0".into());
        adjoints.push((adjoint_name(program, Var::Input(k)), sum));
    }
    let adjoints = aligned(&adjoints);

    format!(
        "Value and gradient of [`{name}`] by reverse-mode automatic differentiation.\n\n\
         Returns `({name}({args}), {gradient})`, generated at compile time by \
         `#[differentiable]` from the evaluation trace below: no tape or graph at run time.\n\n\
         ```text\n\
         Evaluation trace (Wengert list)\n{trace}\n\
         Adjoint program, v̄ᵢ = ∂y/∂vᵢ, in reverse order\n{adjoints}```\n",
        args = params.join(", "),
        trace = aligned(&trace),
    )
}

/// A line of the documentation of a program with regions: `left = right`, or a region's
/// head or end, indented by depth.
enum Line {
    /// `left op right`, `op` being `=` or `+=`.
    Assign(usize, String, &'static str, String),
    Text(usize, String),
}

fn render(lines: &[Line]) -> String {
    let width = lines
        .iter()
        .filter_map(|line| match line {
            Line::Assign(depth, left, ..) => Some(4 * depth + left.chars().count()),
            Line::Text(..) => None,
        })
        .max()
        .unwrap_or(0);
    lines
        .iter()
        .map(|line| match line {
            Line::Assign(depth, left, op, right) => {
                let indent = "    ".repeat(*depth);
                let pad = width - 4 * depth - left.chars().count();
                format!("    {indent}{left}{} {op} {right}\n", " ".repeat(pad))
            }
            Line::Text(depth, text) => format!("    {}{text}\n", "    ".repeat(*depth)),
        })
        .collect()
}

fn target_name(program: &Program, target: &Target) -> String {
    match target {
        Target::Local(k) => program.locals[*k].display.clone(),
        Target::Const(ident) => ident.to_string(),
    }
}

/// The evaluation trace with its regions: each node, each region's head, and what a region
/// assigns at its end (`acc ← v₃`).
fn trace_lines(program: &Program, stmts: &[Stmt], depth: usize, lines: &mut Vec<Line>) {
    for stmt in stmts {
        match stmt {
            Stmt::Node(i) => lines.push(Line::Assign(
                depth,
                var_name(program, Var::Node(*i)),
                "=",
                fill(&program.nodes[*i].notation(), program, *i),
            )),
            Stmt::Branch(branch) => {
                for (k, (arm, label)) in branch.arms.iter().zip(&branch.arm_displays).enumerate() {
                    let head = match (k, &branch.head) {
                        (0, crate::ir::BranchHead::If(_)) => format!("{} {{", branch.display),
                        (_, crate::ir::BranchHead::If(_)) => "} else {".to_string(),
                        (0, _) => format!("{} {{ {label} =>", branch.display),
                        _ => format!("{label} =>"),
                    };
                    lines.push(Line::Text(depth, head));
                    trace_lines(program, &arm.stmts, depth + 1, lines);
                    assignments(program, &branch.results, &arm.yields, depth + 1, lines);
                }
                lines.push(Line::Text(depth, "}".into()));
            }
            Stmt::Loop(lp) => {
                lines.push(Line::Text(depth, format!("{} {{", lp.display)));
                trace_lines(program, &lp.body.stmts, depth + 1, lines);
                let targets: Vec<Target> = lp.carried.iter().map(|(t, _)| t.clone()).collect();
                assignments(program, &targets, &lp.body.yields, depth + 1, lines);
                lines.push(Line::Text(depth, "}".into()));
            }
            Stmt::Const { .. } | Stmt::Verbatim(_) => {}
        }
    }
}

/// `name ← value` for each value of the trace a region hands out.
fn assignments(
    program: &Program,
    targets: &[Target],
    values: &[Operand],
    depth: usize,
    lines: &mut Vec<Line>,
) {
    for (target, value) in targets.iter().zip(values) {
        let (name, value) = (target_name(program, target), operand_name(program, value));
        if matches!(target, Target::Local(_)) && name != value {
            lines.push(Line::Text(depth, format!("{name} ← {value}")));
        }
    }
}

/// The adjoint program with its regions: each node's contributions v̄ₖ += v̄ᵢ · ∂vᵢ/∂vₖ,
/// statements in reverse order, loops' iterations last first, branches in the arm taken.
fn adjoint_lines(program: &Program, stmts: &[Stmt], depth: usize, lines: &mut Vec<Line>) {
    for stmt in stmts.iter().rev() {
        match stmt {
            Stmt::Node(i) => {
                let adjoint = adjoint_name(program, Var::Node(*i));
                for (k, var) in program.var_args(*i) {
                    let partial = fill(&program.nodes[*i].partial(k), program, *i);
                    let contribution = match partial.contains("{g}") {
                        true => partial.replace("{g}", &adjoint),
                        false => term(&adjoint, &partial),
                    };
                    lines.push(Line::Assign(
                        depth,
                        adjoint_name(program, var),
                        "+=",
                        contribution,
                    ));
                }
            }
            Stmt::Branch(branch) => {
                lines.push(Line::Text(
                    depth,
                    format!("in the arm `{}` took {{", branch.display),
                ));
                for (arm, label) in branch.arms.iter().zip(&branch.arm_displays) {
                    if !label.is_empty() {
                        lines.push(Line::Text(depth, format!("}} {label} {{")));
                    }
                    seeds(program, &branch.results, &arm.yields, depth + 1, lines);
                    adjoint_lines(program, &arm.stmts, depth + 1, lines);
                }
                lines.push(Line::Text(depth, "}".into()));
            }
            Stmt::Loop(lp) => {
                lines.push(Line::Text(
                    depth,
                    format!("{}, iterations last first {{", lp.display),
                ));
                let targets: Vec<Target> = lp.carried.iter().map(|(t, _)| t.clone()).collect();
                seeds(program, &targets, &lp.body.yields, depth + 1, lines);
                adjoint_lines(program, &lp.body.stmts, depth + 1, lines);
                lines.push(Line::Text(depth, "}".into()));
            }
            Stmt::Const { .. } | Stmt::Verbatim(_) => {}
        }
    }
}

/// What a region hands out receives its target's adjoint: `v̄₃ += acc̄`.
fn seeds(
    program: &Program,
    targets: &[Target],
    values: &[Operand],
    depth: usize,
    lines: &mut Vec<Line>,
) {
    for (target, value) in targets.iter().zip(values) {
        if let (Target::Local(k), Operand::Var(var)) = (target, value) {
            let (from, to) = (
                adjoint_name(program, Var::Local(*k)),
                adjoint_name(program, *var),
            );
            if from != to {
                lines.push(Line::Assign(depth, to, "+=", from));
            }
        }
    }
}

fn region_doc(name: &str, params: &[String], gradient: &str, program: &Program) -> String {
    let mut trace: Vec<Line> = program
        .inputs
        .iter()
        .enumerate()
        .filter(|(_, input)| input.is_value())
        .map(|(k, input)| {
            Line::Assign(
                0,
                var_name(program, Var::Input(k)),
                "=",
                input.display.clone(),
            )
        })
        .collect();
    trace_lines(program, &program.stmts, 0, &mut trace);
    trace.push(Line::Assign(
        0,
        "y".into(),
        "=",
        operand_name(program, &program.outputs[0]),
    ));
    let mut adjoints = vec![Line::Assign(
        0,
        adjoint_name_of(program, &program.outputs[0]),
        "=",
        "1".into(),
    )];
    adjoint_lines(program, &program.stmts, 0, &mut adjoints);
    format!(
        "Value and gradient of [`{name}`] by reverse-mode automatic differentiation.\n\n\
         Returns `({name}({args}), {gradient})`, generated at compile time by \
         `#[differentiable]` from the evaluation trace below. The adjoint sweep runs each \
         loop's iterations last first, reading the values the forward sweep recorded for \
         each, and each branch in the arm the forward sweep took.\n\n\
         ```text\n\
         Evaluation trace (Wengert list)\n{trace}\n\
         Adjoint program, v̄ᵢ = ∂y/∂vᵢ, in reverse order\n{adjoints}```\n",
        args = params.join(", "),
        trace = render(&trace),
        adjoints = render(&adjoints),
    )
}

fn adjoint_name_of(program: &Program, output: &Operand) -> String {
    match output {
        Operand::Var(var) => adjoint_name(program, *var),
        _ => "ȳ".into(),
    }
}
