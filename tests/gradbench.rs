//! The GradBench tool (`examples/gradbench`) speaking GradBench's protocol on small inputs,
//! without GradBench: a scripted session in memory, each response checked, the gradients
//! against central differences of the primal through the same protocol.

#[path = "../examples/gradbench/tool.rs"]
mod tool;

#[path = "../examples/common/gmm.rs"]
mod gmm;

use autodiff::ndarray::{Array1, Array2};
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
        json!({ "id": 1, "kind": "define", "module": "no such eval" }),
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

/// Deterministic pseudo-random numbers in [−1, 1) (a 64-bit LCG's high bits).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }

    fn rows(&mut self, rows: usize, columns: usize) -> Vec<Vec<f64>> {
        (0..rows)
            .map(|_| (0..columns).map(|_| self.next()).collect())
            .collect()
    }
}

/// Checks `gradient` (flat) against central differences of `primal` at the flat `point`.
fn check_against_differences(
    name: &str,
    point: &[f64],
    gradient: &[f64],
    primal: impl Fn(&[f64]) -> f64,
) {
    assert_eq!(gradient.len(), point.len(), "{name}");
    for k in 0..point.len() {
        let h = 1e-6;
        let (mut up, mut down) = (point.to_vec(), point.to_vec());
        up[k] += h;
        down[k] -= h;
        let difference = (primal(&up) - primal(&down)) / (2.0 * h);
        assert!(
            (gradient[k] - difference).abs() < 1e-6 * (1.0 + difference.abs()),
            "{name} ∂/∂p{k}: {} vs {difference}",
            gradient[k]
        );
    }
}

fn scalar(response: &Value) -> f64 {
    response["output"].as_f64().expect("a number")
}

/// Rows of `columns` numbers taken off the front of `flat`.
fn take_rows(flat: &mut &[f64], rows: usize, columns: usize) -> Vec<Vec<f64>> {
    (0..rows)
        .map(|_| {
            let (row, rest) = flat.split_at(columns);
            *flat = rest;
            row.to_vec()
        })
        .collect()
}

#[test]
fn gmm_objective_against_the_precision_matrix_form_and_its_jacobian_against_differences() {
    let (d, k, n) = (3, 2, 4);
    let mut rng = Lcg(15);
    let x = rng.rows(n, d);
    let mut input = json!({
        "d": d, "k": k, "n": n, "x": x, "m": 2, "gamma": 1.5,
        "alpha": rng.rows(1, k)[0], "mu": rng.rows(k, d), "q": rng.rows(k, d),
        "l": rng.rows(k, d * (d - 1) / 2), "min_runs": 1, "min_seconds": 0,
    });
    let flat = |input: &Value| -> Vec<f64> {
        ["alpha", "mu", "q", "l"]
            .iter()
            .flat_map(|name| match &input[name] {
                Value::Array(items) if items[0].is_array() => {
                    items.iter().flat_map(floats).collect::<Vec<_>>()
                }
                other => floats(other),
            })
            .collect()
    };
    let with = |input: &Value, p: &[f64]| -> Value {
        let mut input = input.clone();
        let mut p = p;
        input["alpha"] = json!(take_rows(&mut p, 1, k)[0]);
        input["mu"] = json!(take_rows(&mut p, k, d));
        input["q"] = json!(take_rows(&mut p, k, d));
        input["l"] = json!(take_rows(&mut p, k, d * (d - 1) / 2));
        input
    };
    // The value against `gmm_spec` (examples/common/gmm.rs), which builds the precision
    // matrices QₖᵀQₖ and their quadratic forms, checked in tests/gmm_loops.rs against a plain
    // evaluation of GradBench's definition.
    let matrix = |v: &Value| {
        let rows: Vec<Vec<f64>> = v.as_array().unwrap().iter().map(floats).collect();
        let columns = rows[0].len();
        Array2::from_shape_vec((rows.len(), columns), rows.concat()).unwrap()
    };
    let objective = scalar(&evaluate("gmm", "objective", input.clone()));
    let expected = gmm::gmm_spec(
        &Array1::from(floats(&input["alpha"])),
        &matrix(&input["mu"]),
        &matrix(&input["q"]),
        &matrix(&input["l"]),
        &matrix(&input["x"]),
        2,
        1.5,
    );
    assert!(
        (objective - expected).abs() < 1e-12 * expected.abs(),
        "{objective} vs {expected}"
    );
    let jacobian = evaluate("gmm", "jacobian", input.clone())["output"].clone();
    assert_eq!(jacobian["l"].as_array().expect("rows").len(), k);
    let gradient = flat(&jacobian);
    let point = flat(&input);
    check_against_differences("gmm", &point, &gradient, |p| {
        scalar(&evaluate("gmm", "objective", with(&input, p)))
    });
    // One dimension: no strictly lower part.
    input = json!({
        "d": 1, "k": 2, "n": 2, "x": [[0.5], [-1.0]], "m": 0, "gamma": 1.0,
        "alpha": [0.1, -0.3], "mu": [[0.0], [1.0]], "q": [[0.2], [-0.1]], "l": [[], []],
    });
    let jacobian = evaluate("gmm", "jacobian", input)["output"].clone();
    assert_eq!(jacobian["l"], json!([[], []]));
}

#[test]
fn lstm_loss_at_zero_parameters_and_its_jacobian_against_differences() {
    let (layers, b, c) = (2, 3, 5);
    let mut rng = Lcg(4);
    let sequence: Vec<Vec<f64>> = (0..c)
        .map(|t| (0..b).map(|i| ((t + i) % 2) as f64).collect())
        .collect();
    let state = rng.rows(2 * layers, b);
    // All parameters zero: every output is 0, so each ln-softmax is −ln(b + 2) (ADBench's
    // log-sum-exp adds 2), and the loss is ln(b + 2) times the share of ones in the
    // characters after the first.
    let zero = json!({
        "main_params": vec![vec![0.0; 4 * b]; 2 * layers], "extra_params": vec![vec![0.0; b]; 3],
        "state": state, "sequence": sequence,
    });
    let ones: f64 = sequence[1..].iter().flatten().sum();
    let expected = ((b + 2) as f64).ln() * ones / ((c - 1) * b) as f64;
    let loss = scalar(&evaluate("lstm", "objective", zero));
    assert!((loss - expected).abs() < 1e-14, "{loss} vs {expected}");

    let input = json!({
        "main_params": rng.rows(2 * layers, 4 * b), "extra_params": rng.rows(3, b),
        "state": state, "sequence": sequence,
    });
    let point: Vec<f64> = ["main_params", "extra_params"]
        .iter()
        .flat_map(|name| input[name].as_array().unwrap().iter().flat_map(floats))
        .collect();
    let gradient = floats(&evaluate("lstm", "jacobian", input.clone())["output"]);
    check_against_differences("lstm", &point, &gradient, |p| {
        let mut input = input.clone();
        let mut p = p;
        input["main_params"] = json!(take_rows(&mut p, 2 * layers, 4 * b));
        input["extra_params"] = json!(take_rows(&mut p, 3, b));
        scalar(&evaluate("lstm", "objective", input))
    });
}

#[test]
fn ode_exact_for_four_elements_and_its_gradient_against_differences() {
    // With four elements the solution is a polynomial of degree 4 in t, which the
    // fourth-order Runge–Kutta method integrates exactly in any number of steps:
    // yᵢ(2) = 2ⁱ⁺¹/(i + 1)! · x₀⋯xᵢ.
    let x = [0.7, -1.3, 0.4, 2.1];
    for s in [1, 3] {
        let y = floats(&evaluate("ode", "primal", json!({ "x": x, "s": s }))["output"]);
        let mut product = 1.0;
        let mut factorial = 1.0;
        for i in 0..4 {
            product *= x[i];
            factorial *= (i + 1) as f64;
            let expected = 2f64.powi(i as i32 + 1) / factorial * product;
            assert!(
                (y[i] - expected).abs() < 1e-14,
                "s = {s}, y{i}: {} vs {expected}",
                y[i]
            );
        }
        // ∂y₃/∂xⱼ = (2/3) Πₖ≠ⱼ xₖ.
        let g = floats(&evaluate("ode", "gradient", json!({ "x": x, "s": s }))["output"]);
        for (j, gj) in g.iter().enumerate() {
            let others: f64 = (0..4).filter(|&k| k != j).map(|k| x[k]).product();
            assert!((gj - 2.0 / 3.0 * others).abs() < 1e-14, "s = {s}, ∂/∂x{j}");
        }
    }
    // Longer: against central differences of the last element.
    let mut rng = Lcg(9);
    let x: Vec<f64> = (0..9).map(|_| rng.next()).collect();
    let gradient = floats(&evaluate("ode", "gradient", json!({ "x": x, "s": 7 }))["output"]);
    check_against_differences("ode", &x, &gradient, |p| {
        let y = floats(&evaluate("ode", "primal", json!({ "x": p, "s": 7 }))["output"]);
        y[y.len() - 1]
    });
}

#[test]
fn det_by_minors_against_known_determinants_and_cofactors() {
    // det [[2, 0, 1], [1, 3, 2], [1, 1, 1]] = 2(3 − 2) − 0 + 1(1 − 3) = 0; its cofactors.
    let a = [2.0, 0.0, 1.0, 1.0, 3.0, 2.0, 1.0, 1.0, 1.0];
    let input = json!({ "A": a, "ell": 3 });
    assert_eq!(scalar(&evaluate("det", "primal", input.clone())), 0.0);
    let g = floats(&evaluate("det", "gradient", input)["output"]);
    assert_eq!(g, [1.0, 1.0, -2.0, 1.0, 1.0, -2.0, -3.0, -3.0, 6.0]);
    // A random 5 × 5: A Gᵀ = det(A) I (each row expanded along its own cofactors, and along
    // another row's to 0), and G against central differences.
    let mut rng = Lcg(5);
    let a: Vec<f64> = (0..25).map(|_| rng.next()).collect();
    let det = scalar(&evaluate("det", "primal", json!({ "A": a, "ell": 5 })));
    let g = floats(&evaluate("det", "gradient", json!({ "A": a, "ell": 5 }))["output"]);
    for i in 0..5 {
        for k in 0..5 {
            let product: f64 = (0..5).map(|j| a[k * 5 + j] * g[i * 5 + j]).sum();
            let expected = if i == k { det } else { 0.0 };
            assert!(
                (product - expected).abs() < 1e-12,
                "row {k} · cofactors of row {i}"
            );
        }
    }
    check_against_differences("det", &a, &g, |p| {
        scalar(&evaluate("det", "primal", json!({ "A": p, "ell": 5 })))
    });
    // One element, and two by two.
    assert_eq!(
        scalar(&evaluate("det", "primal", json!({ "A": [-2.5], "ell": 1 }))),
        -2.5
    );
    let one = json!({ "A": [-2.5], "ell": 1 });
    assert_eq!(floats(&evaluate("det", "gradient", one)["output"]), [1.0]);
    let two = json!({ "A": [1.0, 2.0, 3.0, 4.0], "ell": 2 });
    assert_eq!(scalar(&evaluate("det", "primal", two.clone())), -2.0);
    assert_eq!(
        floats(&evaluate("det", "gradient", two)["output"]),
        [4.0, -3.0, -2.0, 1.0]
    );
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

/// `particle` and `saddle`, nested AD in all four combinations of modes (outer, inner):
/// each agrees with the eval's golden output (GradBench's tolerance is 10⁻⁴), and an
/// unknown combination is an error.
#[test]
fn particle_and_saddle_in_every_combination_of_modes() {
    for function in ["rr", "rf", "fr", "ff"] {
        let w = evaluate(
            "particle",
            function,
            json!({ "w": 0.0, "min_runs": 1, "min_seconds": 0 }),
        )["output"]
            .as_f64()
            .expect("a number");
        assert!((w - 0.2071918746486116).abs() < 1e-8, "{function}: {w}");
        let points = floats(
            &evaluate(
                "saddle",
                function,
                json!({ "start": [1.0, 1.0], "min_runs": 1, "min_seconds": 0 }),
            )["output"],
        );
        assert_eq!(points.len(), 4);
        for p in &points {
            assert!(
                (p - 8.246324826140356e-6).abs() < 1e-10,
                "{function}: {points:?}"
            );
        }
        // Another start: a saddle point at the origin still.
        let points = floats(
            &evaluate(
                "saddle",
                function,
                json!({ "start": [0.5, -0.3], "min_runs": 1, "min_seconds": 0 }),
            )["output"],
        );
        assert!(
            points.iter().all(|p| p.abs() < 1e-4),
            "{function}: {points:?}"
        );
    }
    for module in ["particle", "saddle"] {
        let responses = session(&[json!({
            "id": 1, "kind": "evaluate", "module": module, "function": "rx",
            "input": { "w": 0.0, "start": [1.0, 1.0] },
        })]);
        assert_eq!(responses[0]["success"], false);
        assert!(responses[0]["error"]
            .as_str()
            .expect("an error")
            .contains("rr"));
    }
}

/// A 4 × 4 matrix, row-major.
type Matrix4 = [[f64; 4]; 4];

fn product4(a: &Matrix4, b: &Matrix4) -> Matrix4 {
    let mut c = [[0.0; 4]; 4];
    for i in 0..4 {
        for j in 0..4 {
            c[i][j] = (0..4).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    c
}

fn product3(a: &[[f64; 3]; 3], b: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let mut c = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            c[i][j] = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    c
}

/// A small hand of GradBench's `ht` layout: 22 bones (the wrist, five fingers of four bones
/// each, the forearm), arbitrary transforms, `vertices` vertices with arbitrary weights.
struct TestHand {
    parents: Vec<i64>,
    base_relatives: Vec<Matrix4>,
    inverse_base_absolutes: Vec<Matrix4>,
    base_positions: Vec<[f64; 4]>,
    weights: Vec<Vec<f64>>,
    triangles: Vec<[usize; 3]>,
    is_mirrored: bool,
}

impl TestHand {
    fn new(rng: &mut Lcg, vertices: usize, is_mirrored: bool) -> TestHand {
        let mut parents: Vec<i64> = vec![-1];
        for finger in 0..5 {
            parents.extend([0, 1 + 4 * finger, 2 + 4 * finger, 3 + 4 * finger]);
        }
        parents.push(0);
        let matrix = |rng: &mut Lcg| -> Matrix4 {
            let mut m = [[0.0; 4]; 4];
            for row in &mut m {
                for e in row.iter_mut() {
                    *e = rng.next();
                }
            }
            m
        };
        let base_relatives = (0..22).map(|_| matrix(rng)).collect();
        let inverse_base_absolutes = (0..22).map(|_| matrix(rng)).collect();
        let base_positions = (0..vertices)
            .map(|_| [rng.next(), rng.next(), rng.next(), 1.0 + 0.1 * rng.next()])
            .collect();
        let weights = (0..vertices)
            .map(|_| (0..22).map(|_| 0.5 * (rng.next() + 1.0)).collect())
            .collect();
        let triangles = (0..vertices - 2).map(|v| [v, v + 2, v + 1]).collect();
        TestHand {
            parents,
            base_relatives,
            inverse_base_absolutes,
            base_positions,
            weights,
            triangles,
            is_mirrored,
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "bone_count": 22,
            "bone_names": (0..22).map(|b| format!("bone{b}")).collect::<Vec<_>>(),
            "parents": self.parents,
            "base_relatives": self.base_relatives,
            "inverse_base_absolutes": self.inverse_base_absolutes,
            "base_positions": self.base_positions,
            "weights": self.weights,
            "triangles": self.triangles,
            "is_mirrored": self.is_mirrored,
        })
    }

    /// The errors by ADBench's definition, step by step: θ spread into a 3 × 25 matrix of
    /// pose parameters (global rotation, scale, translation, then one column per bone),
    /// each bone's Euler-angle rotation after its base relative transform, absolutes down
    /// the tree, linear blend skinning, mirroring, the global transform, the errors.
    fn errors(
        &self,
        theta: &[f64],
        us: &[[f64; 2]],
        correspondences: &[usize],
        points: &[[f64; 3]],
    ) -> Vec<f64> {
        let mut pose = [[0.0; 25]; 3];
        for i in 0..3 {
            pose[i][0] = theta[i];
            pose[i][1] = 1.0;
            pose[i][2] = theta[3 + i];
        }
        let (mut i_theta, mut i_pose) = (6, 5);
        for _finger in 0..5 {
            for joint in 2..=4 {
                pose[0][i_pose] = theta[i_theta];
                i_theta += 1;
                if joint == 2 {
                    pose[1][i_pose] = theta[i_theta];
                    i_theta += 1;
                }
                i_pose += 1;
            }
            i_pose += 1;
        }
        let mut absolutes: Vec<Matrix4> = Vec::new();
        let mut transforms = Vec::new();
        for bone in 0..22 {
            let (tx, ty, tz) = (pose[0][bone + 3], pose[2][bone + 3], pose[1][bone + 3]);
            let rx = [
                [1.0, 0.0, 0.0],
                [0.0, tx.cos(), -tx.sin()],
                [0.0, tx.sin(), tx.cos()],
            ];
            let ry = [
                [ty.cos(), 0.0, ty.sin()],
                [0.0, 1.0, 0.0],
                [-ty.sin(), 0.0, ty.cos()],
            ];
            let rz = [
                [tz.cos(), -tz.sin(), 0.0],
                [tz.sin(), tz.cos(), 0.0],
                [0.0, 0.0, 1.0],
            ];
            let r = product3(&product3(&rz, &ry), &rx);
            let mut tr = [[0.0; 4]; 4];
            tr[3][3] = 1.0;
            for i in 0..3 {
                tr[i][..3].copy_from_slice(&r[i]);
            }
            let relative = product4(&self.base_relatives[bone], &tr);
            let absolute = match self.parents[bone] {
                -1 => relative,
                parent => product4(&absolutes[parent as usize], &relative),
            };
            transforms.push(product4(&absolute, &self.inverse_base_absolutes[bone]));
            absolutes.push(absolute);
        }
        let global = {
            let (a, n) = (
                &theta[..3],
                theta[..3].iter().map(|v| v * v).sum::<f64>().sqrt(),
            );
            let (x, y, z) = (a[0] / n, a[1] / n, a[2] / n);
            let (s, c) = (n.sin(), n.cos());
            [
                [
                    x * x + (1.0 - x * x) * c,
                    x * y * (1.0 - c) - z * s,
                    x * z * (1.0 - c) + y * s,
                ],
                [
                    x * y * (1.0 - c) + z * s,
                    y * y + (1.0 - y * y) * c,
                    y * z * (1.0 - c) - x * s,
                ],
                [
                    x * z * (1.0 - c) - y * s,
                    z * y * (1.0 - c) + x * s,
                    z * z + (1.0 - z * z) * c,
                ],
            ]
        };
        let vertex = |v: usize| -> [f64; 3] {
            let mut p = [0.0; 3];
            for (bone, t) in transforms.iter().enumerate() {
                for (i, pi) in p.iter_mut().enumerate() {
                    let moved: f64 = (0..4).map(|k| t[i][k] * self.base_positions[v][k]).sum();
                    *pi += self.weights[v][bone] * moved;
                }
            }
            if self.is_mirrored {
                p[0] = -p[0];
            }
            let mut q = [0.0; 3];
            for i in 0..3 {
                q[i] = (0..3).map(|k| global[i][k] * p[k]).sum::<f64>() + theta[3 + i];
            }
            q
        };
        let mut errors = Vec::new();
        for (i, &c) in correspondences.iter().enumerate() {
            let hand_point = if us.is_empty() {
                vertex(c)
            } else {
                let [a, b, d] = self.triangles[c].map(vertex);
                let u = us[i];
                [0, 1, 2].map(|j| u[0] * a[j] + u[1] * b[j] + (1.0 - u[0] - u[1]) * d[j])
            };
            errors.extend((0..3).map(|j| points[i][j] - hand_point[j]));
        }
        errors
    }
}

#[test]
fn hand_tracking_errors_by_adbench_definition_and_jacobian_against_differences() {
    let mut rng = Lcg(26);
    for (is_mirrored, complicated) in [(false, true), (true, false)] {
        let hand = TestHand::new(&mut rng, 7, is_mirrored);
        let n = 4;
        let theta: Vec<f64> = (0..26).map(|_| rng.next()).collect();
        let correspondences: Vec<usize> = match complicated {
            true => vec![0, 4, 2, 0],
            false => vec![6, 1, 3, 1],
        };
        let points: Vec<[f64; 3]> = (0..n)
            .map(|_| [rng.next(), rng.next(), rng.next()])
            .collect();
        let us: Vec<[f64; 2]> = match complicated {
            true => (0..n)
                .map(|_| [0.5 * (rng.next() + 1.0), 0.3 * (rng.next() + 1.0)])
                .collect(),
            false => Vec::new(),
        };
        let input = |theta: &[f64], us: &[[f64; 2]]| {
            json!({
                "theta": theta,
                "us": us,
                "data": { "model": hand.to_json(), "correspondences": correspondences, "points": points },
                "min_runs": 1,
                "min_seconds": 0,
            })
        };
        let objective = |theta: &[f64], us: &[[f64; 2]]| {
            floats(&evaluate("ht", "objective", input(theta, us))["output"])
        };
        let errors = objective(&theta, &us);
        let expected = hand.errors(&theta, &us, &correspondences, &points);
        assert_eq!(errors.len(), 3 * n);
        for (k, (e, x)) in errors.iter().zip(&expected).enumerate() {
            assert!(
                (e - x).abs() < 1e-12 * (1.0 + x.abs()),
                "error {k}: {e} vs {x}"
            );
        }
        let jacobian: Vec<Vec<f64>> = evaluate("ht", "jacobian", input(&theta, &us))["output"]
            .as_array()
            .expect("rows")
            .iter()
            .map(floats)
            .collect();
        let us_columns = if complicated { 2 } else { 0 };
        assert_eq!(jacobian.len(), 3 * n);
        assert!(jacobian.iter().all(|row| row.len() == us_columns + 26));
        let h = 1e-6;
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6 * (1.0 + b.abs());
        for k in 0..26 {
            let (mut up, mut down) = (theta.clone(), theta.clone());
            up[k] += h;
            down[k] -= h;
            let (eu, ed) = (objective(&up, &us), objective(&down, &us));
            for r in 0..3 * n {
                let difference = (eu[r] - ed[r]) / (2.0 * h);
                let entry = jacobian[r][us_columns + k];
                assert!(
                    close(entry, difference),
                    "∂e{r}/∂θ{k}: {entry} vs {difference}"
                );
            }
        }
        // Column c of row 3i + j: the derivative by point i's own u_c (no other point's u
        // moves it).
        for i in 0..us.len() {
            for c in 0..2 {
                let (mut up, mut down) = (us.clone(), us.clone());
                up[i][c] += h;
                down[i][c] -= h;
                let (eu, ed) = (objective(&theta, &up), objective(&theta, &down));
                for r in 0..3 * n {
                    let difference = (eu[r] - ed[r]) / (2.0 * h);
                    match r / 3 == i {
                        true => assert!(
                            close(jacobian[r][c], difference),
                            "∂e{r}/∂u{i}{c}: {} vs {difference}",
                            jacobian[r][c]
                        ),
                        false => assert_eq!(difference, 0.0),
                    }
                }
            }
        }
    }
}
