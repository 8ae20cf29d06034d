//! `gmm`: the log posterior of a Gaussian mixture with a Wishart prior on its precision
//! matrices, written from the "Implementation" section of GradBench's specification with
//! loops: βᵢₖ = αₖ − ½‖Qₖ(xᵢ − μₖ)‖² + Σⱼ qₖⱼ, each row of Qₖ(xᵢ − μₖ) summed along Qₖ's row
//! (exp qₖᵣ on the diagonal, lₖ below it column by column), a streaming log-sum-exp over the
//! components of each point; `jacobian` is the generated gradient with respect to α, μ, q
//! and l.

use std::f64::consts::PI;

use autodiff::ndarray::{Array1, Array2};
use autodiff::prelude::*;
use serde_json::{json, Value};

use super::{count, field, matrix, numbers, unknown, Evaluated, Failure};

/// ln Γ_p(a), the multivariate gamma function: ¼p(p − 1) ln π + Σⱼ₌₁..ₚ ln Γ(a + (1 − j)/2).
fn ln_multigamma(a: f64, p: usize) -> f64 {
    let mut out = 0.25 * (p * (p - 1)) as f64 * PI.ln();
    for j in 1..=p {
        out += ln_gamma(a + 0.5 * (1.0 - j as f64));
    }
    out
}

#[differentiable(wrt(alpha, mu, q, l))]
fn gmm(
    alpha: &Array1<f64>,
    mu: &Array2<f64>,
    q: &Array2<f64>,
    l: &Array2<f64>,
    x: &Array2<f64>,
    m: usize,
    gamma: f64,
) -> f64 {
    let n = x.nrows();
    let d = x.ncols();
    let k = alpha.len();
    let diagonals = q.exp();

    // Σᵢ logsumexp(βᵢ), each by a streaming log-sum-exp: the largest term so far and
    // Σ exp(term − largest).
    let mut log_likelihood = 0.0;
    for i in 0..n {
        let mut largest = 0.0;
        let mut sum = 0.0;
        for c in 0..k {
            let mut beta = alpha[c];
            let mut sqnorm = 0.0;
            for r in 0..d {
                beta += q[[c, r]];
                // Row r of Qₖ: l at (r, col) for col < r, then exp qₖᵣ; column col of the
                // strictly lower part starts at col(2d − col − 1)/2 in lₖ.
                let mut z = diagonals[[c, r]] * (x[[i, r]] - mu[[c, r]]);
                for col in 0..r {
                    let index = col * (2 * d - col - 1) / 2 + r - col - 1;
                    z += l[[c, index]] * (x[[i, col]] - mu[[c, col]]);
                }
                sqnorm += z * z;
            }
            beta -= 0.5 * sqnorm;
            if c == 0 {
                largest = beta;
                sum = 1.0;
            } else if beta > largest {
                sum = sum * (largest - beta).exp() + 1.0;
                largest = beta;
            } else {
                sum += (beta - largest).exp();
            }
        }
        log_likelihood += largest + sum.ln();
    }

    let mut largest = alpha[0];
    for c in 1..k {
        largest = largest.max(alpha[c]);
    }
    let mut sum = 0.0;
    for c in 0..k {
        sum += (alpha[c] - largest).exp();
    }
    let lse_alpha = largest + sum.ln();

    // The Wishart prior with V = I/γ² and n = D + m + 1 degrees of freedom:
    // K(nD ln(γ/√2) − ln Γ_D(n/2)) − ½γ² Σₖ ‖Qₖ‖²_F + m Σₖ Σⱼ qₖⱼ.
    let nu = d + m + 1;
    let mut log_prior = k as f64
        * (nu as f64 * d as f64 * (gamma / 2f64.sqrt()).ln() - ln_multigamma(0.5 * nu as f64, d));
    for c in 0..k {
        for j in 0..d {
            log_prior +=
                -0.5 * gamma * gamma * diagonals[[c, j]] * diagonals[[c, j]] + m as f64 * q[[c, j]];
        }
        for j in 0..l.ncols() {
            log_prior += -0.5 * gamma * gamma * l[[c, j]] * l[[c, j]];
        }
    }

    log_likelihood - n as f64 * (0.5 * d as f64 * (2.0 * PI).ln() + lse_alpha) + log_prior
}

pub fn evaluate(function: &str, input: &Value) -> Result<Evaluated, Failure> {
    let (d, k, n) = (
        count(field(input, "d")?, "d")?,
        count(field(input, "k")?, "k")?,
        count(field(input, "n")?, "n")?,
    );
    if d == 0 || k == 0 {
        return Err("\"d\" and \"k\" must be at least 1".into());
    }
    let alpha = Array1::from(numbers(field(input, "alpha")?, "alpha")?);
    let mu = matrix(field(input, "mu")?, "mu", d)?;
    let q = matrix(field(input, "q")?, "q", d)?;
    let l = matrix(field(input, "l")?, "l", d * (d - 1) / 2)?;
    let x = matrix(field(input, "x")?, "x", d)?;
    let m = count(field(input, "m")?, "m")?;
    let gamma = field(input, "gamma")?
        .as_f64()
        .ok_or("\"gamma\" must be a number")?;
    for (name, rows, expected) in [
        ("alpha", alpha.len(), k),
        ("mu", mu.nrows(), k),
        ("q", q.nrows(), k),
        ("l", l.nrows(), k),
        ("x", x.nrows(), n),
    ] {
        if rows != expected {
            return Err(format!("\"{name}\" has {rows} rows, not {expected}"));
        }
    }
    let (output, timings) = match function {
        "objective" => {
            let (y, timings) = super::repeat(input, || gmm(&alpha, &mu, &q, &l, &x, m, gamma))?;
            (json!(y), timings)
        }
        "jacobian" => {
            let ((_, (da, dmu, dq, dl)), timings) =
                super::repeat(input, || gmm_grad(&alpha, &mu, &q, &l, &x, m, gamma))?;
            let rows = |a: &Array2<f64>| -> Vec<Vec<f64>> {
                a.outer_iter().map(|row| row.to_vec()).collect()
            };
            (
                json!({ "alpha": da.to_vec(), "mu": rows(&dmu), "q": rows(&dq), "l": rows(&dl) }),
                timings,
            )
        }
        other => return Err(unknown("gmm", other, &["objective", "jacobian"])),
    };
    Ok(Evaluated { output, timings })
}
