//! `llsq` (cmpad's `llsq_obj`): y(x) = ½ Σᵢ (sᵢ − Σⱼ xⱼ tᵢʲ)², tᵢ = −1 + 2i/(n − 1),
//! sᵢ = sign tᵢ, written as the specification loops; `gradient` is the generated gradient.

use autodiff::ndarray::Array1;
use autodiff::prelude::*;
use serde_json::{json, Value};

use super::{count, field, numbers, unknown, Evaluated, Failure};

#[differentiable(wrt(x))]
fn llsq(x: &Array1<f64>, n: usize) -> f64 {
    let mut sum = 0.0;
    for i in 0..n {
        let t = -1.0 + (i as f64) * 2.0 / ((n - 1) as f64);
        let s = if t > 0.0 {
            1.0
        } else if t < 0.0 {
            -1.0
        } else {
            0.0
        };
        let mut residual = s;
        let mut power = 1.0;
        for j in 0..x.len() {
            residual -= x[j] * power;
            power *= t;
        }
        // Halved per term (not `sum / 2.0` at the end): a loop summed straight into the
        // result runs each iteration's adjoint in the forward sweep, with no record.
        sum += 0.5 * residual * residual;
    }
    sum
}

pub fn evaluate(function: &str, input: &Value) -> Result<Evaluated, Failure> {
    let x = Array1::from(numbers(field(input, "x")?, "x")?);
    let n = count(field(input, "n")?, "n")?;
    if n < 2 {
        return Err(format!(
            "\"n\" must be at least 2 (tᵢ divides by n − 1), not {n}"
        ));
    }
    let (output, timings) = match function {
        "primal" => {
            let (y, timings) = super::repeat(input, || llsq(&x, n))?;
            (json!(y), timings)
        }
        "gradient" => {
            let ((_, g), timings) = super::repeat(input, || llsq_grad(&x, n))?;
            (json!(g.to_vec()), timings)
        }
        other => return Err(unknown("llsq", other, &["primal", "gradient"])),
    };
    Ok(Evaluated { output, timings })
}
