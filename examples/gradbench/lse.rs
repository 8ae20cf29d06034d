//! `lse`: LogSumExp by the max trick, a + ln Σ exp(xᵢ − a), written on the whole array as
//! GradBench's JAX and PyTorch tools write it (the maximum, x − a, its exponentials, their
//! sum); `gradient` is the generated gradient (the softmax of x).

use autodiff::ndarray::Array1;
use autodiff::prelude::*;
use serde_json::{json, Value};

use super::{field, numbers, unknown, Evaluated, Failure};

#[differentiable]
fn lse(x: &Array1<f64>) -> f64 {
    let a = amax(x);
    a + (x - a).exp().sum().ln()
}

pub fn evaluate(function: &str, input: &Value) -> Result<Evaluated, Failure> {
    let x = Array1::from(numbers(field(input, "x")?, "x")?);
    if x.is_empty() {
        return Err("\"x\" must not be empty".into());
    }
    let (output, timings) = match function {
        "primal" => {
            let (y, timings) = super::repeat(input, || lse(&x))?;
            (json!(y), timings)
        }
        "gradient" => {
            let ((_, g), timings) = super::repeat(input, || lse_grad(&x))?;
            (json!(g.to_vec()), timings)
        }
        other => return Err(unknown("lse", other, &["primal", "gradient"])),
    };
    Ok(Evaluated { output, timings })
}
