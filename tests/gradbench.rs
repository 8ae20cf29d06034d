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

/// One observation's reprojection error written independently of the tool: the rotation
/// as the matrix I + sin θ K + (1 − cos θ) K² of the unit axis' cross-product matrix K.
fn reprojection(params: &[f64; 15], feature: [f64; 2]) -> [f64; 2] {
    let (cam, x, w) = (&params[..11], &params[11..14], params[14]);
    let theta = (cam[0] * cam[0] + cam[1] * cam[1] + cam[2] * cam[2]).sqrt();
    let k = [cam[0] / theta, cam[1] / theta, cam[2] / theta];
    let cross = [[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]];
    let p = [x[0] - cam[3], x[1] - cam[4], x[2] - cam[5]];
    let mut q = [0.0; 3];
    for i in 0..3 {
        for j in 0..3 {
            let square: f64 = (0..3).map(|l| cross[i][l] * cross[l][j]).sum();
            let identity = if i == j { 1.0 } else { 0.0 };
            q[i] += (identity + theta.sin() * cross[i][j] + (1.0 - theta.cos()) * square) * p[j];
        }
    }
    let (u, v) = (q[0] / q[2], q[1] / q[2]);
    let rsq = u * u + v * v;
    let distortion = 1.0 + cam[9] * rsq + cam[10] * rsq * rsq;
    [
        w * (u * distortion * cam[6] + cam[7] - feature[0]),
        w * (v * distortion * cam[6] + cam[8] - feature[1]),
    ]
}

#[test]
fn bundle_adjustment_errors_and_sparse_jacobian() {
    let cam = [
        0.2, -0.1, 0.3, 0.5, -0.4, -6.0, 300.0, 10.0, -5.0, 1e-2, -3e-3,
    ];
    let (x, w, feature) = ([1.0, 2.0, 3.0], 0.8, [12.0, -7.0]);
    let input = json!({
        "n": 2, "m": 3, "p": 4, "cam": cam, "x": x, "w": w, "feat": feature,
        "min_runs": 1, "min_seconds": 0,
    });
    let mut params = [0.0; 15];
    params[..11].copy_from_slice(&cam);
    params[11..14].copy_from_slice(&x);
    params[14] = w;
    let expected = reprojection(&params, feature);

    let objective = evaluate("ba", "objective", input.clone())["output"].clone();
    let errors = floats(&objective["reproj_error"]["elements"]);
    for (got, want) in errors.iter().zip(expected) {
        assert!(
            (got - want).abs() < 1e-9 * (1.0 + want.abs()),
            "{got} vs {want}"
        );
    }
    assert_eq!(objective["reproj_error"]["repeated"], 4);
    assert_eq!(
        objective["w_err"],
        json!({ "element": 1.0 - w * w, "repeated": 4 })
    );

    // 3p rows: observation 0's two rows of 15 entries first, the weights' rows of one last.
    let jacobian = evaluate("ba", "jacobian", input)["output"].clone();
    let rows: Vec<u64> = jacobian["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r.as_u64().expect("an offset"))
        .collect();
    assert_eq!(rows[..4], [0, 15, 30, 45]);
    assert_eq!(rows.last(), Some(&(2 * 15 * 4 + 4)));
    let cols: Vec<u64> = jacobian["cols"]
        .as_array()
        .expect("cols")
        .iter()
        .map(|c| c.as_u64().expect("a column"))
        .collect();
    // Camera 0's parameters, point 0's three coordinates after the 2 cameras' 22, weight 0
    // after the 3 points' 9; the last entry is weight 3's.
    let row: Vec<u64> = (0..11).chain(22..25).chain([31]).collect();
    assert_eq!(cols[..15], row[..]);
    assert_eq!(cols[15..30], row[..]);
    assert_eq!(cols.last(), Some(&(22 + 9 + 3)));
    let vals = floats(&jacobian["vals"]);
    assert_eq!(vals.last(), Some(&(-2.0 * w)));
    for k in 0..15 {
        let h = 1e-6 * params[k].abs().max(1.0);
        let (mut up, mut down) = (params, params);
        up[k] += h;
        down[k] -= h;
        for r in 0..2 {
            let difference =
                (reprojection(&up, feature)[r] - reprojection(&down, feature)[r]) / (2.0 * h);
            let got = vals[15 * r + k];
            assert!(
                (got - difference).abs() < 1e-5 * (1.0 + difference.abs()),
                "∂e{r}/∂p{k}: {got} vs {difference}"
            );
        }
    }
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
