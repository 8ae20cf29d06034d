//! `ode` (cmpad's `an_ode`): y′₀ = x₀, y′ᵢ = xᵢ yᵢ₋₁ from y(0) = 0, solved to t = 2 by s
//! steps of the classical fourth-order Runge–Kutta method on whole vectors; `gradient` is
//! the gradient of the solution's last element, the generated vector–Jacobian product with
//! the last unit vector. (yᵢ′ = xᵢ yᵢ₋₁ is what cmpad's `an_ode` and GradBench's reference
//! implementation compute, and what the eval validates against; GradBench's README writes the
//! sum Σⱼ₌₁..ᵢ xⱼ yᵢ₋₁.)

use autodiff::ndarray::{concatenate, s, Array1, Axis};
use autodiff::prelude::*;
use serde_json::{json, Value};

use super::{count, field, numbers, unknown, Evaluated, Failure};

/// The right-hand side: (x₀, x₁y₀, x₂y₁, …).
#[differentiable]
fn rhs(x: &Array1<f64>, y: &Array1<f64>) -> Array1<f64> {
    let n = x.len();
    let products = &x.slice(s![1..]) * &y.slice(s![..n - 1]);
    concatenate![Axis(0), x.slice(s![..1]), products.view()]
}

#[differentiable(wrt(x))]
fn ode(x: &Array1<f64>, s: usize) -> Array1<f64> {
    let h = 2.0 / s as f64;
    let mut y = Array1::<f64>::zeros(x.len());
    for _ in 0..s {
        let k1 = rhs(x, &y);
        let k2 = rhs(x, &(&y + &(&k1 * (h / 2.0))));
        let k3 = rhs(x, &(&y + &(&k2 * (h / 2.0))));
        let k4 = rhs(x, &(&y + &(&k3 * h)));
        y = y + (k1 + k2 * 2.0 + k3 * 2.0 + k4) * (h / 6.0);
    }
    y
}

pub fn evaluate(function: &str, input: &Value) -> Result<Evaluated, Failure> {
    let x = Array1::from(numbers(field(input, "x")?, "x")?);
    let s = count(field(input, "s")?, "s")?;
    if x.is_empty() || s == 0 {
        return Err("\"x\" must not be empty and \"s\" must be at least 1".into());
    }
    let (output, timings) = match function {
        "primal" => {
            let (y, timings) = super::repeat(input, || ode(&x, s))?;
            (json!(y.to_vec()), timings)
        }
        "gradient" => {
            let mut last = Array1::zeros(x.len());
            last[x.len() - 1] = 1.0;
            let ((_, g), timings) = super::repeat(input, || ode_vjp(&x, s, last.clone()))?;
            (json!(g.to_vec()), timings)
        }
        other => return Err(unknown("ode", other, &["primal", "gradient"])),
    };
    Ok(Evaluated { output, timings })
}
