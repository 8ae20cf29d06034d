//! GradBench's protocol (CONTRIBUTING.md, "Protocol"), from the tool's side: JSON lines over
//! stdin and stdout. Each message of the eval gets exactly one response line with its `id`:
//! `start` the tool's name, `define` whether the tool has the module, `evaluate` the
//! function's output and one `evaluate` timing per run, anything else the `id` alone. A line
//! that is not a message gets an error response (with its `id` where it has one), never a
//! panic: the session goes on.

use std::io::{self, BufRead, Write};
use std::time::{Duration, Instant};

use autodiff::ndarray::Array2;
use serde_json::{json, Value};

#[path = "ba.rs"]
mod ba;
#[path = "descent.rs"]
mod descent;
#[path = "det.rs"]
mod det;
#[path = "gmm.rs"]
mod gmm;
#[path = "hello.rs"]
mod hello;
#[path = "ht.rs"]
mod ht;
#[path = "kmeans.rs"]
mod kmeans;
#[path = "llsq.rs"]
mod llsq;
#[path = "lse.rs"]
mod lse;
#[path = "lstm.rs"]
mod lstm;
#[path = "ode.rs"]
mod ode;
#[path = "particle.rs"]
mod particle;
#[path = "saddle.rs"]
mod saddle;

/// The modules this tool implements, as GradBench names them.
pub const MODULES: &[&str] = &[
    "ba", "det", "gmm", "hello", "ht", "kmeans", "llsq", "lse", "lstm", "ode", "particle", "saddle",
];

/// What a function evaluation failed on, reported to the eval as `"error"`.
pub type Failure = String;

/// An evaluated function: its output and how long each run took.
pub struct Evaluated {
    pub output: Value,
    pub timings: Vec<Duration>,
}

/// Answers every message read from `input` on `output`, until `input` ends; `multithreaded`
/// is what the tool reports of itself (GradBench's `--multithreaded`).
pub fn serve(input: impl BufRead, mut output: impl Write, multithreaded: bool) -> io::Result<()> {
    for line in input.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let response = respond(&line, multithreaded);
        serde_json::to_writer(&mut output, &response)?;
        output.write_all(b"\n")?;
        output.flush()?;
    }
    Ok(())
}

/// The response to one line.
pub fn respond(line: &str, multithreaded: bool) -> Value {
    let message: Value = match serde_json::from_str(line) {
        Ok(message) => message,
        Err(e) => return json!({ "id": null, "error": format!("not a JSON message: {e}") }),
    };
    let Some(id) = message.get("id").filter(|id| id.is_number()).cloned() else {
        return json!({ "id": null, "error": "a message needs a numeric \"id\"" });
    };
    let kind = message.get("kind").and_then(Value::as_str);
    let module = message.get("module").and_then(Value::as_str);
    match kind {
        Some("start") => json!({
            "id": id,
            "tool": "autodiff",
            "config": { "multithreaded": multithreaded },
        }),
        Some("define") => match module {
            Some(module) if MODULES.contains(&module) => json!({ "id": id, "success": true }),
            Some(module) => json!({
                "id": id,
                "success": false,
                "error": format!("autodiff has no module \"{module}\" (it has {})", MODULES.join(", ")),
            }),
            None => failure(id, "a define message needs a \"module\"".into()),
        },
        Some("evaluate") => {
            let function = message.get("function").and_then(Value::as_str);
            let input = message.get("input").unwrap_or(&Value::Null);
            match (module, function) {
                (Some(module), Some(function)) => match evaluate(module, function, input) {
                    Ok(evaluated) => {
                        let timings: Vec<Value> = evaluated
                            .timings
                            .iter()
                            .map(|t| json!({ "name": "evaluate", "nanoseconds": t.as_nanos() as u64 }))
                            .collect();
                        json!({
                            "id": id,
                            "success": true,
                            "output": evaluated.output,
                            "timings": timings,
                        })
                    }
                    Err(error) => failure(id, error),
                },
                _ => failure(
                    id,
                    "an evaluate message needs a \"module\" and a \"function\"".into(),
                ),
            }
        }
        // `analysis`, and kinds this version of the protocol does not know: acknowledged.
        _ => json!({ "id": id }),
    }
}

fn failure(id: Value, error: Failure) -> Value {
    json!({ "id": id, "success": false, "error": error })
}

fn evaluate(module: &str, function: &str, input: &Value) -> Result<Evaluated, Failure> {
    match module {
        "ba" => ba::evaluate(function, input),
        "det" => det::evaluate(function, input),
        "gmm" => gmm::evaluate(function, input),
        "hello" => hello::evaluate(function, input),
        "ht" => ht::evaluate(function, input),
        "kmeans" => kmeans::evaluate(function, input),
        "llsq" => llsq::evaluate(function, input),
        "lse" => lse::evaluate(function, input),
        "lstm" => lstm::evaluate(function, input),
        "ode" => ode::evaluate(function, input),
        "particle" => particle::evaluate(function, input),
        "saddle" => saddle::evaluate(function, input),
        other => Err(format!("autodiff has no module \"{other}\"")),
    }
}

/// Runs `f` at least `min_runs` times and until `min_seconds` have passed (the input's
/// `Runs` fields; once if it has none), timing each run; the last run's result.
pub fn repeat<T>(input: &Value, mut f: impl FnMut() -> T) -> Result<(T, Vec<Duration>), Failure> {
    let min_runs = match input.get("min_runs") {
        None => 1,
        Some(runs) => runs
            .as_u64()
            .ok_or_else(|| format!("\"min_runs\" must be a count, not {runs}"))?,
    };
    let min_seconds = match input.get("min_seconds") {
        None => 0.0,
        Some(seconds) => seconds
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .ok_or_else(|| {
                format!("\"min_seconds\" must be a duration in seconds, not {seconds}")
            })?,
    };
    let mut timings = Vec::new();
    let mut total = Duration::ZERO;
    loop {
        let start = Instant::now();
        let result = std::hint::black_box(f());
        let took = start.elapsed();
        timings.push(took);
        total += took;
        if timings.len() as u64 >= min_runs.max(1) && total.as_secs_f64() >= min_seconds {
            return Ok((result, timings));
        }
    }
}

/// The field `name` of an input object.
pub fn field<'v>(input: &'v Value, name: &str) -> Result<&'v Value, Failure> {
    input
        .as_object()
        .ok_or_else(|| format!("the input must be an object, not {input}"))?
        .get(name)
        .ok_or_else(|| format!("the input has no \"{name}\""))
}

/// A JSON array of numbers.
pub fn numbers(value: &Value, name: &str) -> Result<Vec<f64>, Failure> {
    let items = value
        .as_array()
        .ok_or_else(|| format!("\"{name}\" must be an array of numbers"))?;
    items
        .iter()
        .map(|v| {
            v.as_f64()
                .ok_or_else(|| format!("\"{name}\" holds {v}, not a number"))
        })
        .collect()
}

/// A JSON array of `columns`-number rows, as a matrix (rows × `columns`).
pub fn matrix(value: &Value, name: &str, columns: usize) -> Result<Array2<f64>, Failure> {
    let rows = value
        .as_array()
        .ok_or_else(|| format!("\"{name}\" must be an array of rows"))?;
    let mut elements = Vec::with_capacity(rows.len() * columns);
    for (i, row) in rows.iter().enumerate() {
        let row = numbers(row, name)?;
        if row.len() != columns {
            return Err(format!(
                "row {i} of \"{name}\" has {} numbers, not {columns}",
                row.len()
            ));
        }
        elements.extend(row);
    }
    Array2::from_shape_vec((rows.len(), columns), elements).map_err(|e| format!("\"{name}\": {e}"))
}

/// A JSON count.
pub fn count(value: &Value, name: &str) -> Result<usize, Failure> {
    value
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| format!("\"{name}\" must be a count, not {value}"))
}

/// An unknown function of `module`.
pub fn unknown(module: &str, function: &str, known: &[&str]) -> Failure {
    format!(
        "the module \"{module}\" has no function \"{function}\" (it has {})",
        known.join(", ")
    )
}
