//! `Trace` built by hand: the lectures' example f(x₁, x₂) = ln x₁ + x₁x₂ − sin x₂ at (2, 5),
//! a loop, and arrays, through every rendering.

use autodiff_runtime::ndarray::array;
use autodiff_runtime::trace::{RegionKind, Trace, TraceValue};

/// The lecture's trace and adjoints, filled as the generated `f_trace` would: static
/// templates, `{k}` naming argument k.
fn lecture() -> Trace {
    let (x1, x2) = (2.0_f64, 5.0_f64);
    let mut t = Trace::new("f");
    t.push_input("x₁", x1);
    t.push_input("x₂", x2);
    let (a, b) = (-1, 0);
    let v1 = t.push_node("ln {0}", [(a, 1.0 / x1, "1/{0}")], x1.ln());
    let v2 = t.push_node("{0} × {1}", [(a, x2, "{1}"), (b, x1, "{0}")], x1 * x2);
    let v3 = t.push_node("sin {0}", [(b, x2.cos(), "cos {0}")], x2.sin());
    let v4 = t.push_node(
        "{0} + {1}",
        [(v1, 1.0, "1"), (v2, 1.0, "1")],
        x1.ln() + x1 * x2,
    );
    let y = x1.ln() + x1 * x2 - x2.sin();
    let v5 = t.push_node("{0} − {1}", [(v4, 1.0, "1"), (v3, -1.0, "−1")], y);
    assert_eq!((v1, v2, v3, v4, v5), (1, 2, 3, 4, 5));
    t.set_output(v5);
    // The reverse sweep knows the adjoints last node first.
    let (a5, a4) = (1.0, 1.0);
    let a3 = -a5;
    let (a2, a1) = (a4, a4);
    let a0 = a2 * x1 + a3 * x2.cos();
    let am1 = a1 / x1 + a2 * x2;
    for (i, a) in [
        (5, a5),
        (4, a4),
        (3, a3),
        (2, a2),
        (1, a1),
        (0, a0),
        (-1, am1),
    ] {
        t.set_adjoint(i, a);
    }
    t
}

#[test]
fn the_lecture_trace_is_numbered_and_valued_as_in_the_lecture() {
    let t = lecture();
    let indices: Vec<isize> = t.nodes.iter().map(|n| n.index).collect();
    assert_eq!(indices, [-1, 0, 1, 2, 3, 4, 5]);
    assert_eq!(t.node(-1).unwrap().label, "x₁");
    assert_eq!(t.node(2).unwrap().expr, "{0} × {1}");
    assert_eq!(t.node(2).unwrap().expression(), "v₋₁ × v₀");
    assert_eq!(t.node(3).unwrap().partial_expression(0), "cos v₀");
    assert!(t.node(0).unwrap().is_input() && !t.node(1).unwrap().is_input());
    let adjoint = |i| {
        t.node(i)
            .unwrap()
            .adjoint
            .as_ref()
            .unwrap()
            .as_scalar()
            .unwrap()
    };
    assert!((adjoint(-1) - 5.5).abs() < 1e-12);
    assert!((adjoint(0) - 1.716).abs() < 1e-3);
    assert_eq!(t.output_node().unwrap().index, 5);
}

#[test]
fn display_prints_the_lectures_two_tables() {
    let text = lecture().to_string();
    println!("{text}");
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    // Forward trace, node by node: the operation, at the values, the value.
    let forward = [
        "v₋₁ = x₁",
        "v₀  = x₂",
        "v₁  = ln v₋₁   = ln 2",
        "v₂  = v₋₁ × v₀ = 2 × 5",
        "v₃  = sin v₀   = sin 5",
        "v₄  = v₁ + v₂  = 0.693 + 10",
        "v₅  = v₄ − v₃  = 10.693 − (−0.959)",
        "y   = v₅",
    ];
    let values = [
        "2", "5", "0.693", "10", "−0.959", "10.693", "11.652", "11.652",
    ];
    let start = lines
        .iter()
        .position(|l| l.starts_with("Evaluation trace of f"))
        .unwrap();
    for (k, (head, value)) in forward.iter().zip(values).enumerate() {
        let line = lines[start + 1 + k].trim_start();
        assert!(
            line.starts_with(head),
            "{line:?} should start with {head:?}"
        );
        assert!(
            line.ends_with(&format!("= {value}")),
            "{line:?} should end with {value}"
        );
    }
    // The adjoint trace in reverse order, with each adjoint's sum over the nodes that read it.
    let adjoints = [
        ("v̄₅  = 1", "1"),
        ("v̄₄  = v̄₅", "1"),
        ("v̄₃  = −v̄₅", "−1"),
        ("v̄₂  = v̄₄", "1"),
        ("v̄₁  = v̄₄", "1"),
        ("v̄₀  = v̄₂ · v₋₁ + v̄₃ · cos v₀", "1.716"),
        ("v̄₋₁ = v̄₁ · 1/v₋₁ + v̄₂ · v₀", "5.5"),
    ];
    let start = lines
        .iter()
        .position(|l| l.starts_with("Adjoint trace"))
        .unwrap();
    for (k, (head, value)) in adjoints.iter().enumerate() {
        let line = lines[start + 1 + k].trim_start();
        assert!(
            line.starts_with(head),
            "{line:?} should start with {head:?}"
        );
        assert!(
            line.ends_with(&format!("= {value}")),
            "{line:?} should end with {value}"
        );
    }
    assert!(text.contains("= 1 · 2 + (−1) · 0.284"));
    // The values line up in one column, as in the lecture's table.
    let column: Vec<usize> = lines[start + 1..start + 8]
        .iter()
        .map(|l| {
            let (left, _) = l.rsplit_once(" = ").unwrap();
            left.chars().filter(|c| *c != '\u{304}').count()
        })
        .collect();
    assert!(column.windows(2).all(|w| w[0] == w[1]), "{column:?}");
}

#[test]
fn markdown_has_the_same_tables() {
    let md = lecture().to_markdown();
    println!("{md}");
    assert!(md.contains("| v₁ | ln v₋₁ | ln 2 | 0.693 |"), "{md}");
    assert!(
        md.contains("| v̄₋₁ | v̄₁ · 1/v₋₁ + v̄₂ · v₀ | 1 · 0.5 + 1 · 5 | 5.5 |"),
        "{md}"
    );
    assert_eq!(md.matches("|---|---|---|---|").count(), 2);
}

#[test]
fn dot_names_every_node_and_edge() {
    let dot = lecture().to_dot();
    for id in ["v_m1", "v0", "v1", "v2", "v3", "v4", "v5", "y"] {
        assert!(
            dot.contains(&format!("  {id} [label=")),
            "{id} missing in\n{dot}"
        );
    }
    for edge in [
        "v_m1 -> v1 [label=\"1/v₋₁ = 0.5\"]",
        "v_m1 -> v2 [label=\"v₀ = 5\"]",
        "v0 -> v2 [label=\"v₋₁ = 2\"]",
        "v0 -> v3 [label=\"cos v₀ = 0.284\"]",
        "v1 -> v4 [label=\"1\"]",
        "v2 -> v4 [label=\"1\"]",
        "v4 -> v5 [label=\"1\"]",
        "v3 -> v5 [label=\"−1\"]",
        "v5 -> y",
    ] {
        assert!(dot.contains(edge), "{edge} missing in\n{dot}");
    }
    assert!(dot.contains("v₁ = ln v₋₁\\n= 0.693\\nv̄₁ = 1"), "{dot}");
    assert_eq!(dot.matches("->").count(), 9);
}

/// With `TRACE_SVG_DIR` set, keeps the pictures there to look at.
#[cfg(feature = "svg")]
fn save(name: &str, svg: &str) {
    if let Ok(dir) = std::env::var("TRACE_SVG_DIR") {
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.svg")), svg).unwrap();
    }
}

#[cfg(feature = "svg")]
#[test]
fn svg_is_well_formed_and_names_every_node() {
    let svg = lecture().to_svg();
    save("lecture", &svg);
    let doc = roxmltree::Document::parse(&svg).expect("well-formed SVG");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let text: String = doc
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join("\n");
    for name in [
        "v₋₁ = x₁",
        "v₀ = x₂",
        "v₁ = ln v₋₁",
        "v₂ = v₋₁ × v₀",
        "v₃ = sin v₀",
        "v₄ = v₁ + v₂",
        "v₅ = v₄ − v₃",
        "y = 11.652",
        "v̄₋₁ = 5.5",
        "cos v₀ = 0.284",
    ] {
        assert!(
            text.contains(name),
            "{name} missing in the SVG's text:\n{text}"
        );
    }
}

/// acc = x; for i in 0..5 { acc = acc · x } at x = 2, with adjoints.
fn power_loop(iterations: usize) -> Trace {
    let x = 2.0_f64;
    let mut t = Trace::new("power");
    t.push_input("x", x);
    let mut acc = 0;
    t.enter_loop("for _ in 0..n");
    for k in 0..iterations {
        t.enter_iteration();
        let value = x.powi(k as i32 + 2);
        // One static template for every iteration; the names are the iteration's own.
        let partials = [(acc, x, "{1}"), (0, x.powi(k as i32 + 1), "{0}")];
        acc = t.push_node("{0} · {1}", partials, value);
        t.exit();
    }
    t.exit();
    t.set_output(acc);
    let n = iterations as i32 + 1;
    for i in (1..=acc).rev() {
        // ∂y/∂vᵢ for vᵢ = x^(i+1): x^(n−i−1).
        t.set_adjoint(i, x.powi(n - i as i32 - 1));
    }
    t.set_adjoint(0, f64::from(n) * x.powi(n - 1));
    t
}

#[test]
fn a_loop_folded_after_two_iterations_counts_the_rest() {
    let t = power_loop(5).fold_after(2);
    assert_eq!(t.regions.len(), 6);
    assert!(matches!(
        t.regions[t.nodes[3].region.unwrap()].kind,
        RegionKind::Iteration { number: 2 }
    ));
    assert!(!t.is_folded(&t.nodes[2]) && t.is_folded(&t.nodes[3]));
    let text = t.to_string();
    println!("{text}");
    assert_eq!(text.matches("… 3 iterations omitted").count(), 2, "{text}");
    assert!(text.contains("for _ in 0..n {"));
    assert!(text.contains("for _ in 0..n, iterations last first {"));
    assert!(text.contains("iteration 0:") && text.contains("iteration 1:"));
    assert!(!text.contains("iteration 2:"));
    assert!(
        text.contains("            v₂ = v₁ · v₀ = 4 · 2 = 8"),
        "{text}"
    );
    assert!(!text.contains("v₃ = v₂ · v₀"));
    // y is the last iteration's node, shown though folded.
    assert!(text
        .lines()
        .any(|l| l.starts_with("    y ") && l.contains(" = v₅ ") && l.ends_with(" = 64")));
    // The adjoint of x sums every iteration's contribution; the folded ones are counted.
    assert!(
        text.contains("v̄₀         = v̄₁ · v₀ + v̄₁ · v₀ + v̄₂ · v₁ + v̄₃ · v₂ + … (2 more)"),
        "{text}"
    );
    assert!(
        text.contains("= 16 · 2 + 16 · 2 + 8 · 4 + 4 · 8 + … (2 more) = 192"),
        "{text}"
    );

    let dot = t.to_dot();
    assert!(dot.contains("… 3 iterations omitted"));
    assert!(dot.contains("v2 -> fold_r0 [style=dashed]"), "{dot}");
    assert!(dot.contains("fold_r0 -> y"), "{dot}");
    assert!(!dot.contains("v3 ["));
    assert!(t
        .clone()
        .fold_after(None)
        .to_string()
        .contains("iteration 4:"));
    #[cfg(feature = "svg")]
    {
        let svg = t.to_svg();
        save("loop", &svg);
        roxmltree::Document::parse(&svg).expect("well-formed SVG");
    }
}

#[test]
fn a_branch_shows_the_arm_taken() {
    let mut t = Trace::new("relu");
    t.push_input("x", -1.5);
    t.enter_arm("if x > 0.0", "else");
    let v1 = t.push_node("0 · v₀", [(0, 0.0)], 0.0);
    t.exit();
    t.set_output(v1);
    t.set_adjoint(1, 1.0);
    t.set_adjoint(0, 0.0);
    let text = t.to_string();
    assert!(
        text.contains("if x > 0.0, in the arm taken: else {"),
        "{text}"
    );
    assert!(text.contains("        v₁ = 0 · v₀"), "{text}");
    assert!(t.to_dot().contains("subgraph cluster_r0 {"));
}

#[test]
fn arrays_show_their_shape_and_a_summary() {
    let w = array![[1.0, -2.0], [3.0, 4.0]];
    let x = array![1.0_f32, 1.0];
    let mut t = Trace::new("net");
    t.push_input("w", &w);
    t.push_input("x", x.view());
    let u = w.dot(&array![1.0, 1.0]);
    let v1 = t.push_node("{0} · {1}", [-1, 0], &u);
    // A rule that places the adjoint itself: v̄₁ gets v̄₂ broadcast.
    let v2 = t.push_node("sum {0}", [(v1, 1.0, "broadcast {g}")], u.sum());
    t.set_output(v2);
    t.set_adjoint(2, 1.0);
    t.set_adjoint(1, array![1.0, 1.0]);
    assert_eq!(t.nodes[0].value.shape(), [2, 2]);
    assert_eq!(
        t.nodes[1].value,
        TraceValue::Array {
            shape: vec![2],
            data: vec![1.0, 1.0]
        }
    );
    let text = t.to_string();
    assert!(
        text.contains("[2×2] [1, −2, 3, …] min −2 max 4 ‖·‖ 5.477"),
        "{text}"
    );
    assert!(
        text.contains("v₁  = v₋₁ · v₀ = [2] [−1, 7] min −1 max 7 ‖·‖ 7.071"),
        "{text}"
    );
    assert!(text.contains("v̄₁  = broadcast v̄₂"), "{text}");
    let full = format!("{t:#}");
    assert!(full.contains("[2×2] [[1, −2], [3, 4]]"), "{full}");
    // An array edge has no scalar partial: no label.
    assert!(t.to_dot().contains("  v_m1 -> v1;"));
}

#[test]
fn an_empty_or_unfinished_trace_renders() {
    let empty = Trace::new("nothing");
    assert!(empty.to_string().starts_with("Evaluation trace of nothing"));
    assert!(empty.to_dot().contains("digraph"));
    #[cfg(feature = "svg")]
    roxmltree::Document::parse(&empty.to_svg()).expect("well-formed SVG");

    // Before the reverse sweep: no adjoints yet, and the output is the last node.
    let mut t = Trace::new("g");
    t.push_input("x", 1.0);
    t.push_node("exp {0}", [(0, 1.0_f64.exp(), "{y}")], 1.0_f64.exp());
    let text = t.to_string();
    assert!(text.contains("v̄₀ = v̄₁ · v₁ = —"), "{text}");
    assert!(text.contains("y  = v₁"), "{text}");
}
