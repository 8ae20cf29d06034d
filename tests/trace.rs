//! `f_trace`: the generated evaluation trace of one call, node by node, against the lecture's
//! table, and its adjoints against `f_grad`.

use autodiff::ndarray::{array, Array1, Array2};
use autodiff::prelude::*;
use autodiff::TraceValue;

/// The lecture's f(x₁, x₂) = ln x₁ + x₁x₂ − sin x₂, as written: Rust evaluates it left to
/// right, so its nodes are v₁ = ln v₋₁, v₂ = v₋₁ · v₀, v₃ = v₁ + v₂, v₄ = sin v₀, v₅ = v₃ − v₄.
#[differentiable]
fn f(x1: f64, x2: f64) -> f64 {
    x1.ln() + x1 * x2 - x2.sin()
}

/// The same function with the lecture's own order of evaluation: sin x₂ before the sum.
#[differentiable]
fn lecture_f(x1: f64, x2: f64) -> f64 {
    let v1 = x1.ln();
    let v2 = x1 * x2;
    let v3 = x2.sin();
    v1 + v2 - v3
}

fn scalar(value: Option<&TraceValue>) -> f64 {
    value.and_then(TraceValue::as_scalar).expect("a scalar")
}

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance
}

#[test]
fn the_lecture_trace_has_the_lectures_values_and_adjoints() {
    let t = lecture_f_trace(2.0, 5.0);
    let indices: Vec<isize> = t.nodes.iter().map(|n| n.index).collect();
    assert_eq!(indices, [-1, 0, 1, 2, 3, 4, 5]);
    assert_eq!(t.node(-1).unwrap().label, "x1");
    assert_eq!(t.node(0).unwrap().label, "x2");
    for (i, value) in [
        (-1, 2.0),
        (0, 5.0),
        (1, 0.693),
        (2, 10.0),
        (3, -0.959),
        (4, 10.693),
        (5, 11.652),
    ] {
        assert!(close(scalar(t.value(i)), value, 5e-4), "v{i}");
    }
    for (i, adjoint) in [
        (5, 1.0),
        (4, 1.0),
        (3, -1.0),
        (2, 1.0),
        (1, 1.0),
        (0, 1.716),
        (-1, 5.5),
    ] {
        assert!(close(scalar(t.adjoint(i)), adjoint, 5e-4), "v̄{i}");
    }
    assert_eq!(t.output_node().unwrap().index, 5);
    // The local partials at (2, 5), in the rules' notation.
    let v3 = t.node(3).unwrap();
    assert_eq!(v3.expression(), "sin v₀");
    assert_eq!(v3.partial_expression(0), "cos v₀");
    assert!(close(v3.args[0].partial.unwrap(), 5.0_f64.cos(), 1e-15));
    let v2 = t.node(2).unwrap();
    assert_eq!(
        (v2.args[0].partial, v2.args[1].partial),
        (Some(5.0), Some(2.0))
    );
    assert_eq!(t.node(5).unwrap().args[1].partial, Some(-1.0));

    let text = t.to_string();
    println!("{text}");
    for line in [
        "v₋₁ = x1",
        "v₀  = x2",
        "v₁  = ln v₋₁   = ln 2",
        "v₂  = v₋₁ · v₀ = 2 · 5",
        "v₃  = sin v₀   = sin 5",
        "v₄  = v₁ + v₂  = 0.693 + 10",
        "v₅  = v₄ − v₃  = 10.693 − (−0.959)",
        "v̄₅  = 1",
        "v̄₄  = v̄₅",
        "v̄₃  = −v̄₅",
        "v̄₀  = v̄₂ · v₋₁ + v̄₃ · cos v₀",
        "v̄₋₁ = v̄₁ · 1/v₋₁ + v̄₂ · v₀",
        "= 1 · 2 + (−1) · 0.284",
        "= 5.5",
        "= 1.716",
        "= 11.652",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    let dot = t.to_dot();
    assert!(dot.contains("v0 -> v3 [label=\"cos v₀ = 0.284\"]"), "{dot}");
    let svg = t.to_svg();
    assert!(svg.trim_start().starts_with("<svg") || svg.contains("<svg"));
    assert!(svg.trim_end().ends_with("</svg>"));
}

#[test]
fn the_function_as_written_is_numbered_in_rusts_evaluation_order() {
    let t = f_trace(2.0, 5.0);
    let (y, (d1, d2)) = f_grad(2.0, 5.0);
    assert_eq!(t.node(3).unwrap().expression(), "v₁ + v₂");
    assert_eq!(t.node(4).unwrap().expression(), "sin v₀");
    assert_eq!(scalar(t.value(5)), y);
    assert_eq!(scalar(t.output_node().map(|n| &n.value)), y);
    assert_eq!((scalar(t.adjoint(-1)), scalar(t.adjoint(0))), (d1, d2));
}

/// Constants are written into the notation; an input nothing reads has adjoint 0.
#[differentiable(wrt(x, _unused))]
fn scaled(x: f64, _unused: f64, k: f64) -> f64 {
    (x * k).powi(2) / 2.0
}

#[test]
fn constants_appear_by_their_source() {
    let t = scaled_trace(3.0, 7.0, 2.0);
    assert_eq!(t.node(1).unwrap().expression(), "v₋₁ · k");
    assert_eq!(t.node(2).unwrap().expression(), "v₁^2");
    assert_eq!(t.node(2).unwrap().partial_expression(0), "2·v₁^(2 − 1)");
    assert_eq!(t.node(3).unwrap().expression(), "v₂ / 2.0");
    let (_, (dx, dunused)) = scaled_grad(3.0, 7.0, 2.0);
    assert_eq!(scalar(t.adjoint(-1)), dx);
    assert_eq!(scalar(t.adjoint(0)), dunused);
    assert_eq!(dunused, 0.0);
    assert!(close(
        t.node(2).unwrap().args[0].partial.unwrap(),
        12.0,
        1e-12
    ));
}

/// A neuron on arrays: the array nodes keep their shapes, the inputs' adjoints are the
/// gradient.
#[differentiable(wrt(w, b))]
fn layer(w: &Array1<f64>, b: f64, x: &Array2<f64>) -> f64 {
    (x.dot(w) + b).tanh().sum()
}

#[test]
fn array_adjoints_are_the_gradient() {
    let w = array![0.5, -1.0, 0.25];
    let x = array![[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]];
    let t = layer_trace(&w, 0.1, &x);
    let (y, (dw, db)) = layer_grad(&w, 0.1, &x);
    println!("{t}");
    assert_eq!(t.nodes.len(), 2 + 4);
    assert_eq!(t.value(-1).unwrap().shape(), [3]);
    assert_eq!(t.value(1).unwrap().shape(), [2]);
    assert_eq!(scalar(t.value(4)), y);
    assert_eq!(t.adjoint(-1).unwrap(), &TraceValue::from(&dw));
    assert_eq!(scalar(t.adjoint(0)), db);
    // The adjoint of x·w + b, an array, is the gradient of the sum of tanh.
    let dtanh = t.adjoint(2).unwrap();
    assert_eq!(dtanh.shape(), [2]);
    // Array edges have no scalar partial; sum's result is scalar but its argument is not.
    assert!(t.node(1).unwrap().args.iter().all(|a| a.partial.is_none()));
    assert_eq!(t.node(4).unwrap().args[0].partial, None);
    let text = t.to_string();
    assert!(text.contains("v₁  = x v₋₁"), "{text}");
    assert!(text.contains("v₄  = Σ v₃"), "{text}");
}

#[differentiable]
fn cube(x: f32) -> f32 {
    x * x * x
}

#[differentiable]
fn identity(x: f64) -> f64 {
    x
}

#[differentiable(wrt(x))]
fn affine(x: f64, a: f64) -> f64 {
    -(a * x) + 2.0 * x - x / a
}

#[test]
fn f32_repeated_arguments_and_an_input_as_the_result() {
    let t = cube_trace(2.0);
    let partials: Vec<Option<f64>> = t.node(1).unwrap().args.iter().map(|a| a.partial).collect();
    assert_eq!(partials, [Some(2.0), Some(2.0)]);
    let partials: Vec<Option<f64>> = t.node(2).unwrap().args.iter().map(|a| a.partial).collect();
    assert_eq!(partials, [Some(2.0), Some(4.0)]);
    assert_eq!(scalar(t.adjoint(0)), f64::from(cube_grad(2.0).1));
    assert_eq!(scalar(t.adjoint(0)), 12.0);

    let t = identity_trace(3.0);
    assert_eq!(t.nodes.len(), 1);
    assert_eq!(t.output_node().unwrap().index, 0);
    assert_eq!(scalar(t.adjoint(0)), 1.0);

    let t = affine_trace(3.0, 4.0);
    assert_eq!(scalar(t.adjoint(0)), affine_grad(3.0, 4.0).1);
    // −(a · x): ∂/∂x is a, then −1; 2.0 · x: 2; x / a: 1/a by the pullback of 1.
    assert_eq!(t.node(1).unwrap().args[0].partial, Some(4.0));
    assert_eq!(t.node(2).unwrap().args[0].partial, Some(-1.0));
    assert_eq!(t.node(3).unwrap().args[0].partial, Some(2.0));
    assert_eq!(t.node(5).unwrap().args[0].partial, Some(0.25));
    assert_eq!(t.node(1).unwrap().expression(), "a · v₀");
}

// ---- Branches and loops ---------------------------------------------------------------

use autodiff::trace::{RegionKind, Trace};

/// Each entry's adjoint is the sum over the entries that read it of their adjoints times
/// the local partials (plus ȳ = 1 for the output), wherever those are numbers: the adjoint
/// sweep set each execution's adjoint on that execution's entry.
fn assert_adjoints_consistent(t: &Trace) {
    let output = t.output;
    for node in &t.nodes {
        let Some(adjoint) = node.adjoint.as_ref().and_then(TraceValue::as_scalar) else {
            continue;
        };
        let mut sum = if output == Some(node.index) { 1.0 } else { 0.0 };
        let mut known = true;
        for reader in &t.nodes {
            for arg in reader.args.iter().filter(|a| a.index == node.index) {
                let g = reader
                    .adjoint
                    .as_ref()
                    .map_or(Some(0.0), TraceValue::as_scalar);
                match (g, arg.partial) {
                    (Some(g), Some(p)) => sum += g * p,
                    _ => known = false,
                }
            }
        }
        if known {
            assert!(
                close(adjoint, sum, 1e-9 * (1.0 + sum.abs())),
                "v̄{} = {adjoint}, but its readers give {sum}\n{t}",
                node.index
            );
        }
    }
}

/// The trace's inputs' adjoints, flattened in parameter order.
fn input_adjoints(t: &Trace) -> Vec<f64> {
    t.nodes
        .iter()
        .filter(|n| n.is_input())
        .flat_map(|n| {
            n.adjoint
                .as_ref()
                .expect("an input's adjoint")
                .data()
                .to_vec()
        })
        .collect()
}

fn assert_gradient(t: &Trace, gradient: &[f64]) {
    let adjoints = input_adjoints(t);
    assert_eq!(adjoints.len(), gradient.len(), "{t}");
    for (a, g) in adjoints.iter().zip(gradient) {
        assert!(
            close(*a, *g, 1e-12 * (1.0 + g.abs())),
            "{adjoints:?} ≠ {gradient:?}\n{t}"
        );
    }
    assert_adjoints_consistent(t);
}

/// The entries evaluated in each iteration of the loop `head`, iteration by iteration.
fn iterations<'t>(t: &'t Trace, head: &str) -> Vec<Vec<&'t autodiff::TraceNode>> {
    let lp = t
        .regions
        .iter()
        .position(|r| matches!(&r.kind, RegionKind::Loop { head: h } if h == head))
        .unwrap_or_else(|| panic!("no loop {head:?} in\n{t}"));
    let iterations: Vec<usize> = (0..t.regions.len())
        .filter(|&r| {
            t.regions[r].parent == Some(lp)
                && matches!(t.regions[r].kind, RegionKind::Iteration { .. })
        })
        .collect();
    iterations
        .iter()
        .map(|&r| t.nodes.iter().filter(|n| n.region == Some(r)).collect())
        .collect()
}

fn values(nodes: &[&autodiff::TraceNode]) -> Vec<f64> {
    nodes.iter().map(|n| scalar(Some(&n.value))).collect()
}

fn adjoints(nodes: &[&autodiff::TraceNode]) -> Vec<f64> {
    nodes.iter().map(|n| scalar(n.adjoint.as_ref())).collect()
}

/// Horner's rule, p(x) = c₀ + x(c₁ + x(c₂ + x c₃)), in x only.
#[differentiable(wrt(x))]
fn horner(c: &Array1<f64>, x: f64) -> f64 {
    let mut p = 0.0;
    for i in (0..c.len()).rev() {
        p = p * x + c[i];
    }
    p
}

#[test]
fn a_loop_lists_each_iteration_with_its_own_values_and_adjoints() {
    let c = array![1.0, -2.0, 3.0, 0.5];
    let x = 1.5;
    let t = horner_trace(&c, x);
    let (y, dx) = horner_grad(&c, x);
    println!("{t}");
    assert_gradient(&t, &[dx]);
    assert_eq!(scalar(t.output_node().map(|n| &n.value)), y);
    // Iteration k computes p·x, then + c[i] for i = 3, 2, 1, 0; p after iteration k has
    // adjoint x^(3 − k), and so have both its nodes.
    let steps = iterations(&t, "for i in (0..c.len()).rev()");
    assert_eq!(steps.len(), 4);
    let mut p = 0.0;
    for (k, nodes) in steps.iter().enumerate() {
        let i = 3 - k;
        let next = p * x + c[i];
        assert_eq!(values(nodes), [p * x, next], "iteration {k}");
        let adjoint = x.powi(3 - k as i32);
        assert_eq!(adjoints(nodes), [adjoint, adjoint], "iteration {k}");
        // p·x reads p as the previous iteration's sum (the constant 0 at first) and x.
        assert_eq!(nodes[0].args[1].index, 0);
        assert_eq!(nodes[0].args[0].partial, Some(x));
        assert_eq!(nodes[0].args[1].partial, Some(p));
        let read = t.node(nodes[0].args[0].index).unwrap();
        assert_eq!(scalar(Some(&read.value)), p);
        if k > 0 {
            assert_eq!(read.index, steps[k - 1][1].index);
        }
        p = next;
    }
    assert_eq!(p, y);
    // The carried variable, by name: `p ← v₃` ends each iteration.
    let text = t.clone().fold_after(None).to_string();
    for nodes in &steps {
        let sum = nodes[1].index;
        assert!(
            text.contains(&format!("p ← {}", autodiff::trace::var_name(sum))),
            "{text}"
        );
    }
    assert!(text.contains("for i in (0..c.len()).rev() {"), "{text}");
    assert!(text.contains("iteration 3:"), "{text}");
    assert!(text.contains("iterations last first"), "{text}");
    assert!(!text.contains("omitted"), "{text}");
    // By default, three iterations are shown.
    assert_eq!(
        t.to_string().matches("… 1 iteration omitted").count(),
        2,
        "{t}"
    );
    // Folded after one iteration: three omitted, in both tables and the graph.
    let folded = t.clone().fold_after(1).to_string();
    println!("{folded}");
    assert_eq!(
        folded.matches("… 3 iterations omitted").count(),
        2,
        "{folded}"
    );
    assert!(folded.contains("iteration 0:") && !folded.contains("iteration 1:"));
    assert!(t
        .clone()
        .fold_after(1)
        .to_dot()
        .contains("3 iterations omitted"));
}

/// Σ xᵢ², by element reads of a differentiated array.
#[differentiable]
fn sum_of_squares(x: &Array1<f64>) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i] * x[i];
    }
    s
}

#[test]
fn element_reads_in_a_loop_scatter_back_to_the_array() {
    let x = array![1.0, -2.0, 0.5, 3.0, 4.0, -1.5];
    let t = sum_of_squares_trace(&x);
    let (y, dx) = sum_of_squares_grad(&x);
    assert_gradient(&t, dx.as_slice().unwrap());
    let steps = iterations(&t, "for i in 0..x.len()");
    assert_eq!(steps.len(), x.len());
    let mut s = 0.0;
    for (i, nodes) in steps.iter().enumerate() {
        s += x[i] * x[i];
        // x[i], x[i], their product, the sum so far.
        assert_eq!(values(nodes), [x[i], x[i], x[i] * x[i], s], "iteration {i}");
        assert_eq!(adjoints(nodes), [x[i], x[i], 1.0, 1.0], "iteration {i}");
        assert_eq!(nodes[0].expression(), "v₀[i]");
    }
    assert_eq!(s, y);
    // The sum starts from the constant 0, an entry of its own before the loop.
    let start = t.node(1).unwrap();
    assert_eq!((start.expression(), start.region), ("s".to_string(), None));
    assert_eq!(scalar(Some(&start.value)), 0.0);
    assert_eq!(scalar(start.adjoint.as_ref()), 1.0);
    let text = t.clone().fold_after(2).to_string();
    println!("{text}");
    assert!(text.contains("s ← v₁\n"), "{text}");
    assert_eq!(text.matches("… 4 iterations omitted").count(), 2, "{text}");
    let md = t.fold_after(2).to_markdown();
    assert!(md.contains("… 4 iterations omitted"), "{md}");
}

/// Three pieces, by `if` / `else if` / `else`.
#[differentiable]
fn piecewise(x: f64, y: f64) -> f64 {
    let z = x * y;
    let w = if z < -1.0 {
        -z - 0.5
    } else if z < 1.0 {
        0.5 * z * z
    } else {
        z.ln() + 0.5
    };
    w * x
}

#[test]
fn a_branch_lists_the_arm_taken() {
    for (x, y) in [(0.5, 1.2), (2.0, 3.0), (-1.5, 2.0)] {
        let t = piecewise_trace(x, y);
        let (value, (dx, dy)) = piecewise_grad(x, y);
        println!("{t}");
        assert_gradient(&t, &[dx, dy]);
        assert_eq!(scalar(t.output_node().map(|n| &n.value)), value);
        let z = x * y;
        let arms: Vec<&str> = t
            .regions
            .iter()
            .filter_map(|r| match &r.kind {
                RegionKind::Arm { arm, .. } => Some(arm.as_str()),
                _ => None,
            })
            .collect();
        let (w, expected): (f64, &[&str]) = if z < -1.0 {
            (-z - 0.5, &["then"])
        } else if z < 1.0 {
            (0.5 * z * z, &["else", "then"])
        } else {
            (z.ln() + 0.5, &["else", "else"])
        };
        assert_eq!(arms, expected, "{t}");
        // v₁ = x·y, the arm's nodes, then w·x; only the arm taken was evaluated.
        let w_node = t.nodes.iter().rev().nth(1).unwrap();
        assert_eq!(scalar(Some(&w_node.value)), w);
        assert!(w_node.region.is_some());
        assert_eq!(scalar(t.value(1)), z);
        assert_eq!(scalar(t.adjoint(1)), dy / x);
        let text = t.to_string();
        let taken = format!(
            "if z < 1.0, in the arm taken: {} {{",
            expected[expected.len() - 1]
        );
        assert!(expected.len() == 1 || text.contains(&taken), "{text}");
        let outer = format!("if z < -1.0, in the arm taken: {} {{", expected[0]);
        assert!(text.contains(&outer), "{text}");
    }
}

// ---- Every construct of the control-flow issue: adjoints against f_grad -----------------

#[differentiable]
fn matched(x: f64, k: usize) -> f64 {
    let y = match k {
        0 => x.cos(),
        1 | 2 => x * x * 3.0,
        _ => x.tanh(),
    };
    y + x
}

/// `while`: Newton's method for ∛a.
#[differentiable]
fn cube_root(a: f64) -> f64 {
    let mut x = a.max(1.0);
    while (x * x * x - a).abs() > 1e-12 * a {
        x = x - (x * x * x - a) / (3.0 * x * x);
    }
    x
}

/// `loop` with `break`: the product of the 1 + xᵢ until it exceeds a limit.
#[differentiable(wrt(x))]
fn product_until(x: &Array1<f64>, limit: f64) -> f64 {
    let mut p = 1.0;
    let mut i = 0;
    loop {
        if i == x.len() || p > limit {
            break;
        }
        p *= 1.0 + x[i];
        i += 1;
    }
    p
}

/// `continue`: the cosines of the even elements.
#[differentiable]
fn even_cosines(x: &Array1<f64>) -> f64 {
    let mut acc = 0.0;
    for i in 0..x.len() {
        if i % 2 == 1 {
            continue;
        }
        acc += x[i].cos();
    }
    acc
}

/// Nested loops (the outer one's adjoint runs each iteration again): Σ_{j<i} (xᵢ − xⱼ)².
#[differentiable]
fn spread(x: &Array1<f64>) -> f64 {
    let mut acc = 0.0;
    for i in 0..x.len() {
        for j in 0..i {
            acc += (x[i] - x[j]).powi(2);
        }
    }
    acc
}

/// Carried variables assigned at once, and swapped through a temporary in a branch.
#[allow(clippy::manual_swap)]
#[differentiable]
fn fibonacci_like(a: f64, b: f64) -> f64 {
    let (mut u, mut v) = (a, b);
    for k in 0..4 {
        (u, v) = (v, u + 0.5 * v);
        if k == 2 {
            let t = u;
            u = v;
            v = t;
        }
    }
    u * v
}

/// Element writes into a local array in a loop, then read and overwritten.
#[differentiable]
fn bucketed(x: &Array1<f64>) -> f64 {
    let mut h = Array1::<f64>::zeros(2);
    for i in 0..x.len() {
        h[i % 2] += x[i].exp();
    }
    h[0] = h[1].sin() + h[0].powi(2);
    h.sum()
}

/// Element writes in straight-line code.
#[differentiable]
fn patched(x: &Array1<f64>, s: f64) -> f64 {
    let mut v = x.to_owned();
    v[1] = s.sin();
    v[0] = v[1] * v[2];
    v.sum() * s
}

/// `return` from inside nested loops.
#[differentiable(wrt(x))]
fn first_large_product(x: &Array1<f64>, limit: f64) -> f64 {
    for i in 0..x.len() {
        for j in 0..i {
            let d = x[i] * x[j];
            if d > limit {
                return d.sqrt();
            }
        }
    }
    x.sum()
}

/// A recurrence on arrays, reading a row (a view) in the loop.
#[differentiable(wrt(w, b))]
fn recurrent(w: &Array2<f64>, b: &Array1<f64>, xs: &Array2<f64>) -> f64 {
    let mut h = Array1::zeros(b.len());
    for t in 0..xs.nrows() {
        h = (w.dot(&h) + xs.row(t) + b).tanh();
    }
    h.sum()
}

#[test]
fn every_construct_traces_with_the_gradients_adjoints() {
    for k in 0..4 {
        assert_gradient(&matched_trace(0.7, k), &[matched_grad(0.7, k).1]);
    }
    assert_gradient(&cube_root_trace(5.0), &[cube_root_grad(5.0).1]);
    let x = array![0.3, -1.2, 0.8, 2.5, 0.1];
    for limit in [1.0, 10.0] {
        let (_, dx) = product_until_grad(&x, limit);
        assert_gradient(&product_until_trace(&x, limit), dx.as_slice().unwrap());
    }
    let (_, dx) = even_cosines_grad(&x);
    assert_gradient(&even_cosines_trace(&x), dx.as_slice().unwrap());
    let (_, dx) = spread_grad(&x);
    let t = spread_trace(&x);
    assert_gradient(&t, dx.as_slice().unwrap());
    assert_eq!(iterations(&t, "for i in 0..x.len()").len(), x.len());
    let (_, (da, db)) = fibonacci_like_grad(0.5, 2.0);
    assert_gradient(&fibonacci_like_trace(0.5, 2.0), &[da, db]);
    let (_, dx) = bucketed_grad(&x);
    assert_gradient(&bucketed_trace(&x), dx.as_slice().unwrap());
    let (_, (dx, ds)) = patched_grad(&x, 1.5);
    let mut gradient = dx.to_vec();
    gradient.push(ds);
    assert_gradient(&patched_trace(&x, 1.5), &gradient);
    for limit in [0.5, 100.0] {
        let (_, dx) = first_large_product_grad(&x, limit);
        assert_gradient(
            &first_large_product_trace(&x, limit),
            dx.as_slice().unwrap(),
        );
    }
    let w = array![[0.5, -0.2], [0.1, 0.3]];
    let b = array![0.1, -0.1];
    let xs = array![[1.0, 0.5], [-0.5, 0.2], [0.3, 0.3]];
    let (_, (dw, db)) = recurrent_grad(&w, &b, &xs);
    let mut gradient: Vec<f64> = dw.iter().copied().collect();
    gradient.extend(db.iter());
    assert_gradient(&recurrent_trace(&w, &b, &xs), &gradient);
}

// ---- Structs of parameters ------------------------------------------------------------

#[derive(Parameters, Clone, Debug)]
struct Affine {
    w: f64,
    b: f64,
}

#[derive(Parameters, Clone, Debug)]
struct Model {
    line: Affine,
    scale: Array1<f64>,
}

/// A struct of parameters read by its fields, one through a sub-struct bound by `let`.
#[differentiable(wrt(p))]
fn model_loss(p: &Model, xs: &Array1<f64>, ys: &Array1<f64>) -> f64 {
    let line = &p.line;
    let mut loss = 0.0;
    for i in 0..xs.len() {
        let e = line.w * xs[i] + line.b - ys[i];
        loss += e * e * p.scale[i % 2];
    }
    loss
}

#[test]
fn a_struct_of_parameters_is_listed_by_its_fields() {
    let p = Model {
        line: Affine { w: 0.5, b: -0.25 },
        scale: array![1.0, 2.0],
    };
    let (xs, ys) = (array![1.0, 2.0, 3.0], array![0.5, 0.0, 1.5]);
    let t = model_loss_trace(&p, &xs, &ys);
    let (loss, grad) = model_loss_grad(&p, &xs, &ys);
    println!("{}", t.clone().fold_after(1));
    let inputs: Vec<(&str, isize)> = t
        .nodes
        .iter()
        .filter(|n| n.is_input())
        .map(|n| (n.label.as_ref(), n.index))
        .collect();
    assert_eq!(inputs, [("p.line.w", -2), ("p.line.b", -1), ("p.scale", 0)]);
    let mut gradient = vec![grad.line.w, grad.line.b];
    gradient.extend(grad.scale.iter());
    assert_gradient(&t, &gradient);
    assert_eq!(scalar(t.output_node().map(|n| &n.value)), loss);
}

/// A constant result.
#[differentiable]
fn level(_x: f64) -> f64 {
    0.25
}

#[test]
fn a_constant_result_is_an_entry_of_its_own() {
    let t = level_trace(2.0);
    let y = t.output_node().unwrap();
    assert_eq!((y.index, y.expression()), (1, "0.25".to_string()));
    assert_eq!(scalar(Some(&y.value)), 0.25);
    assert_eq!(scalar(y.adjoint.as_ref()), 1.0);
    assert_eq!(scalar(t.adjoint(0)), 0.0);
    assert!(
        t.to_string().contains("v₁ = 0.25 = 0.25\n    y  = v₁"),
        "{t}"
    );
    // A loop that runs no iteration: the result is the variable's constant start.
    let t = even_cosines_trace(&Array1::zeros(0));
    println!("{t}");
    let y = t.output_node().unwrap();
    assert_eq!((y.index, y.expression()), (1, "acc".to_string()));
    assert_eq!(iterations(&t, "for i in 0..x.len()").len(), 0);
    assert_gradient(&t, &[]);
}

/// The new functions in a trace: a scalar edge of `erf` and `clamp` shows its partial, the
/// array functions' edges none, and the notation names each.
#[differentiable(wrt(x, v))]
fn special(x: f64, v: &Array1<f64>) -> f64 {
    erf(x).clamp(-0.5, 0.5) + norm(v) * amax(v)
}

#[test]
fn special_functions_in_a_trace() {
    let (x, v) = (0.3, array![3.0, -4.0]);
    let t = special_trace(x, &v);
    let (y, (dx, dv)) = special_grad(x, &v);
    assert_eq!(scalar(t.value(t.nodes.last().unwrap().index)), y);
    assert_eq!(scalar(t.adjoint(-1)), dx);
    assert_eq!(t.adjoint(0).unwrap(), &TraceValue::from(&dv));
    let erf_partial = t.node(1).unwrap().args[0].partial.expect("a scalar edge");
    assert!(close(
        erf_partial,
        std::f64::consts::FRAC_2_SQRT_PI * (-x * x).exp(),
        1e-15
    ));
    assert_eq!(t.node(2).unwrap().args[0].partial, Some(1.0));
    assert_eq!(t.node(3).unwrap().args[0].partial, None);
    assert_eq!(t.node(4).unwrap().args[0].partial, None);
    let text = t.to_string();
    for notation in ["erf v₋₁", "clamp(v₁, ", "‖v₀‖", "max v₀"] {
        assert!(text.contains(notation), "{notation} in {text}");
    }
}
