//! `lstm`: ADBench's LSTM loss (diagonal weights): for each character but the last, the
//! input bits scaled by the input weights run through every layer's cell in turn (each
//! layer's new hidden state the next one's input), the output is scaled and shifted, and
//! the loss is minus the mean of the next character's bits times the output minus
//! ln(Σ exp + 2) (ADBench's log-sum-exp). Written with loops over the layers and bits, as
//! the reference loops, and writes into a copy of the state; `jacobian` is the generated
//! gradient with respect to the main and extra parameters.

use autodiff::ndarray::Array2;
use autodiff::prelude::*;
use serde_json::{json, Value};

use super::{field, matrix, unknown, Evaluated, Failure};

/// Row 2j of `main_params` is layer j's weights, row 2j + 1 its biases, each four blocks of
/// b (forget gate, input gate, output gate, change); rows 2j and 2j + 1 of `state` its
/// hidden state and cell; `extra_params`' rows are the input weights, the output weights
/// and the output biases; `sequence` one row of b bits per character.
#[differentiable(wrt(main_params, extra_params))]
fn lstm(
    main_params: &Array2<f64>,
    extra_params: &Array2<f64>,
    state: &Array2<f64>,
    sequence: &Array2<f64>,
) -> f64 {
    let layers = main_params.nrows() / 2;
    let b = sequence.ncols();
    let c = sequence.nrows();
    let mut state = state.to_owned();
    let mut total = 0.0;
    for t in 0..c - 1 {
        let mut input = &sequence.row(t) * &extra_params.row(0);
        for j in 0..layers {
            for i in 0..b {
                let forget =
                    sigmoid(input[i] * main_params[[2 * j, i]] + main_params[[2 * j + 1, i]]);
                let ingate = sigmoid(
                    state[[2 * j, i]] * main_params[[2 * j, b + i]]
                        + main_params[[2 * j + 1, b + i]],
                );
                let outgate = sigmoid(
                    input[i] * main_params[[2 * j, 2 * b + i]]
                        + main_params[[2 * j + 1, 2 * b + i]],
                );
                let change = (state[[2 * j, i]] * main_params[[2 * j, 3 * b + i]]
                    + main_params[[2 * j + 1, 3 * b + i]])
                .tanh();
                let cell = state[[2 * j + 1, i]] * forget + ingate * change;
                state[[2 * j + 1, i]] = cell;
                state[[2 * j, i]] = outgate * cell.tanh();
            }
            input = state.row(2 * j).to_owned();
        }
        let prediction = &input * &extra_params.row(1) + extra_params.row(2);
        let lse = (prediction.exp().sum() + 2.0).ln();
        total += (&sequence.row(t + 1) * &(prediction - lse)).sum();
    }
    -total / ((c - 1) * b) as f64
}

pub fn evaluate(function: &str, input: &Value) -> Result<Evaluated, Failure> {
    let rows = |name: &str| -> Result<usize, Failure> {
        let value = field(input, name)?;
        value
            .get(0)
            .and_then(Value::as_array)
            .map(Vec::len)
            .ok_or_else(|| format!("\"{name}\" must be a non-empty array of rows"))
    };
    let b = rows("sequence")?;
    let main_params = matrix(field(input, "main_params")?, "main_params", 4 * b)?;
    let extra_params = matrix(field(input, "extra_params")?, "extra_params", b)?;
    let state = matrix(field(input, "state")?, "state", b)?;
    let sequence = matrix(field(input, "sequence")?, "sequence", b)?;
    let layers = main_params.nrows() / 2;
    if main_params.nrows() != 2 * layers || layers == 0 || state.nrows() != 2 * layers {
        return Err(format!(
            "\"main_params\" ({} rows) and \"state\" ({} rows) must have two rows per layer",
            main_params.nrows(),
            state.nrows()
        ));
    }
    if extra_params.nrows() != 3 || sequence.nrows() < 2 {
        return Err("\"extra_params\" must have 3 rows and \"sequence\" at least 2".into());
    }
    let (output, timings) = match function {
        "objective" => {
            let (y, timings) = super::repeat(input, || {
                lstm(&main_params, &extra_params, &state, &sequence)
            })?;
            (json!(y), timings)
        }
        "jacobian" => {
            let ((_, (d_main, d_extra)), timings) = super::repeat(input, || {
                lstm_grad(&main_params, &extra_params, &state, &sequence)
            })?;
            // Both gradients flattened row by row, one after the other.
            let flat: Vec<f64> = d_main.iter().chain(d_extra.iter()).copied().collect();
            (json!(flat), timings)
        }
        other => return Err(unknown("lstm", other, &["objective", "jacobian"])),
    };
    Ok(Evaluated { output, timings })
}
