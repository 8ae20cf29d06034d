//! The documentation of a generated gradient: the evaluation trace (Wengert list) and the
//! adjoint program in the lectures' notation, so that `cargo doc` shows what was derived.

use crate::ir::{Operand, Program, Var};
use crate::reverse::Pullback;
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
    var_name(program, var).replacen('v', "v\u{304}", 1)
}

fn operand_name(program: &Program, operand: &Operand) -> String {
    match operand {
        Operand::Var(var) => var_name(program, *var),
        Operand::Const { display, .. } if display.contains(' ') => format!("({display})"),
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
        p if p.contains(' ') || p.starts_with('−') => format!("{adjoint} · ({p})"),
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
