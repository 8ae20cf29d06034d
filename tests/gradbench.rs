//! The GradBench tool (`examples/gradbench`) speaking GradBench's protocol on small inputs,
//! without GradBench: a scripted session in memory, each response checked, the gradients
//! against central differences of the primal through the same protocol.

#[path = "../examples/gradbench/tool.rs"]
mod tool;

use serde_json::{json, Value};

/// The responses to `messages`, one per message, through the tool's session loop.
fn session(messages: &[Value]) -> Vec<Value> {
    let input: String = messages.iter().map(|m| format!("{m}\n")).collect();
    let mut output = Vec::new();
    tool::serve(input.as_bytes(), &mut output, false).expect("in-memory io");
    String::from_utf8(output)
        .expect("UTF-8")
        .lines()
        .map(|line| serde_json::from_str(line).expect("every response is JSON"))
        .collect()
}

fn evaluate(module: &str, function: &str, input: Value) -> Value {
    let responses = session(&[json!({
        "id": 7, "kind": "evaluate", "module": module, "function": function, "input": input,
    })]);
    assert_eq!(responses.len(), 1);
    let response = responses.into_iter().next().expect("one response");
    assert_eq!(response["id"], 7);
    assert_eq!(response["success"], true, "{response}");
    response
}

fn floats(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_f64().expect("a number"))
        .collect()
}

#[test]
fn a_whole_session_of_the_hello_eval() {
    let responses = session(&[
        json!({ "id": 0, "kind": "start", "eval": "hello" }),
        json!({ "id": 1, "kind": "define", "module": "hello" }),
        json!({ "id": 2, "kind": "evaluate", "module": "hello", "function": "square", "input": 3.0 }),
        json!({ "id": 3, "kind": "analysis", "of": 2, "valid": true }),
        json!({ "id": 4, "kind": "evaluate", "module": "hello", "function": "double", "input": -1.25 }),
        json!({ "id": 5, "kind": "analysis", "of": 4, "valid": false, "error": "no" }),
    ]);
    let ids: Vec<i64> = responses
        .iter()
        .map(|r| r["id"].as_i64().expect("an id"))
        .collect();
    assert_eq!(ids, [0, 1, 2, 3, 4, 5]);
    assert_eq!(responses[0]["tool"], "autodiff");
    assert_eq!(responses[1]["success"], true);
    assert_eq!(responses[2]["output"], 9.0);
    assert_eq!(responses[4]["output"], -2.5);
    assert_eq!(responses[3], json!({ "id": 3 }));
    for r in [&responses[2], &responses[4]] {
        assert_eq!(r["timings"][0]["name"], "evaluate");
        assert!(r["timings"][0]["nanoseconds"].is_u64());
    }
}

#[test]
fn lse_and_llsq_gradients_against_differences() {
    let x = [0.3, -1.2, 2.0, 0.7];
    let gradient = floats(
        &evaluate(
            "lse",
            "gradient",
            json!({ "x": x, "min_runs": 1, "min_seconds": 0 }),
        )["output"],
    );
    let primal = |x: &[f64], module: &str, n: Option<usize>| {
        let mut input = json!({ "x": x, "min_runs": 1, "min_seconds": 0 });
        if let Some(n) = n {
            input["n"] = json!(n);
        }
        evaluate(module, "primal", input)["output"]
            .as_f64()
            .expect("a number")
    };
    for (module, n) in [("lse", None), ("llsq", Some(9))] {
        let gradient = match module {
            "lse" => gradient.clone(),
            _ => floats(
                &evaluate(
                    module,
                    "gradient",
                    json!({ "x": x, "n": 9, "min_runs": 1, "min_seconds": 0 }),
                )["output"],
            ),
        };
        assert_eq!(gradient.len(), x.len());
        for k in 0..x.len() {
            let h = 1e-6;
            let (mut up, mut down) = (x, x);
            up[k] += h;
            down[k] -= h;
            let difference = (primal(&up, module, n) - primal(&down, module, n)) / (2.0 * h);
            assert!(
                (gradient[k] - difference).abs() < 1e-6 * (1.0 + difference.abs()),
                "{module} ∂/∂x{k}: {} vs {difference}",
                gradient[k]
            );
        }
    }
    // The softmax sums to one.
    assert!((gradient.iter().sum::<f64>() - 1.0).abs() < 1e-12);
}

#[test]
fn runs_at_least_min_runs_and_min_seconds() {
    let r = evaluate(
        "lse",
        "primal",
        json!({ "x": [1.0, 2.0], "min_runs": 5, "min_seconds": 0 }),
    );
    assert_eq!(r["timings"].as_array().expect("timings").len(), 5);
    let r = evaluate(
        "lse",
        "primal",
        json!({ "x": [1.0, 2.0], "min_runs": 1, "min_seconds": 0.02 }),
    );
    let total: u64 = r["timings"]
        .as_array()
        .expect("timings")
        .iter()
        .map(|t| t["nanoseconds"].as_u64().expect("nanoseconds"))
        .sum();
    assert!(total >= 20_000_000, "{total} ns");
}

#[test]
fn bad_input_gets_an_error_response_and_the_session_goes_on() {
    let responses = session(&[
        json!("not a message"),
        json!({ "id": 1, "kind": "define", "module": "gmm" }),
        json!({ "id": 2, "kind": "evaluate", "module": "llsq", "function": "primal", "input": { "x": "oops", "n": 4 } }),
        json!({ "id": 3, "kind": "evaluate", "module": "llsq", "function": "primal", "input": { "x": [1.0], "n": 1 } }),
        json!({ "id": 4, "kind": "evaluate", "module": "lse", "function": "hessian", "input": { "x": [1.0] } }),
        json!({ "id": 5, "kind": "evaluate", "module": "lse", "function": "primal", "input": { "x": [1.0], "min_runs": -2 } }),
        json!({ "id": 6, "kind": "define", "module": "lse" }),
    ]);
    assert_eq!(responses.len(), 7);
    assert!(responses[0]["error"].is_string() && responses[0]["id"].is_null());
    assert_eq!(responses[1]["success"], false);
    for (r, needle) in responses[2..6]
        .iter()
        .zip(["\"x\"", "\"n\"", "hessian", "min_runs"])
    {
        assert_eq!(r["success"], false, "{r}");
        assert!(
            r["error"].as_str().expect("an error").contains(needle),
            "{r}"
        );
    }
    assert_eq!(responses[6], json!({ "id": 6, "success": true }));
    // Malformed JSON too.
    let mut output = Vec::new();
    tool::serve("{\"id\": 1, \"kind\"\n{}\n".as_bytes(), &mut output, false).expect("in-memory io");
    assert_eq!(String::from_utf8(output).expect("UTF-8").lines().count(), 2);
}

#[test]
fn kmeans_cost_and_newton_direction_against_differences() {
    let points: [[f64; 2]; 5] = [[0.0, 0.1], [0.2, 0.9], [1.0, 1.1], [0.9, 0.8], [0.1, -0.2]];
    let centroids: [[f64; 2]; 2] = [[0.1, 0.2], [0.8, 1.0]];
    let cost = |c: &[[f64; 2]; 2]| {
        evaluate(
            "kmeans",
            "cost",
            json!({ "points": points, "centroids": c, "min_runs": 1, "min_seconds": 0 }),
        )["output"]
            .as_f64()
            .expect("a number")
    };
    // Σᵢ minⱼ ‖cⱼ − pᵢ‖², by hand.
    let by_hand: f64 = points
        .iter()
        .map(|p| {
            centroids
                .iter()
                .map(|c| (c[0] - p[0]).powi(2) + (c[1] - p[1]).powi(2))
                .fold(f64::INFINITY, f64::min)
        })
        .sum();
    assert!((cost(&centroids) - by_hand).abs() < 1e-12);
    let dir = evaluate(
        "kmeans",
        "dir",
        json!({ "points": points, "centroids": centroids, "min_runs": 1, "min_seconds": 0 }),
    );
    let dir: Vec<Vec<f64>> = dir["output"]
        .as_array()
        .expect("rows")
        .iter()
        .map(floats)
        .collect();
    assert_eq!((dir.len(), dir[0].len()), (2, 2));
    // J / H element by element, each from differences of the cost (a quadratic near here:
    // the second difference is H's diagonal).
    let h = 1e-4;
    for j in 0..2 {
        for l in 0..2 {
            let (mut up, mut down) = (centroids, centroids);
            up[j][l] += h;
            down[j][l] -= h;
            let (fu, f0, fd) = (cost(&up), cost(&centroids), cost(&down));
            let expected = ((fu - fd) / (2.0 * h)) / ((fu - 2.0 * f0 + fd) / (h * h));
            assert!(
                (dir[j][l] - expected).abs() < 1e-5,
                "dir[{j}][{l}] = {} vs {expected}",
                dir[j][l]
            );
        }
    }
    // Ragged rows, centroids of another dimension, an unknown function: errors.
    for (input, function, needle) in [
        (
            json!({ "points": [[0.0, 1.0], [2.0]], "centroids": [[0.0, 0.0]] }),
            "cost",
            "one length",
        ),
        (
            json!({ "points": [[0.0, 1.0]], "centroids": [[0.0]] }),
            "dir",
            "dimension",
        ),
        (
            json!({ "points": [[0.0]], "centroids": [[0.0]] }),
            "hessian",
            "hessian",
        ),
    ] {
        let responses = session(&[json!({
            "id": 1, "kind": "evaluate", "module": "kmeans", "function": function, "input": input,
        })]);
        assert_eq!(responses[0]["success"], false, "{}", responses[0]);
        let error = responses[0]["error"].as_str().expect("an error");
        assert!(error.contains(needle), "{error}");
    }
}
