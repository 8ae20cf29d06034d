//! `gmm`: the log posterior of a Gaussian mixture with a Wishart prior on its precision
//! matrices, written on whole arrays from the "Implementation" section of GradBench's
//! specification, as its JAX and PyTorch tools are: βᵢₖ = αₖ − ½‖Qₖ(xᵢ − μₖ)‖² + Σⱼ qₖⱼ for
//! every point and component at once (one matrix product X·W with W = [Q₁ᵀ … Q_Kᵀ], written
//! element by element from q and l), then a max-shifted log-sum-exp of each row of β;
//! `jacobian` is the generated gradient with respect to α, μ, q and l.
//!
//! The same objective written with loops over points, components and the rows of Qₖ, as
//! ADBench's C++ reference is, is `examples/common/gmm.rs`'s `gmm_loops` (benchmarked in
//! `benches/gmm_loops.rs`): 2–15× slower here, since each of its N·K·D²/2 multiply-adds
//! is recorded and swept back one by one.

use std::f64::consts::PI;

use autodiff::ndarray::{Array1, Array2, Axis};
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
    // Every Qₖᵀ side by side: w[[col, c·D + row]] = Qₖ[row, col].
    let mut w = Array2::<f64>::zeros((d, k * d));
    for c in 0..k {
        let mut index = 0;
        for col in 0..d {
            w[[col, c * d + col]] = diagonals[[c, col]];
            for row in col + 1..d {
                w[[col, c * d + row]] = l[[c, index]];
                index += 1;
            }
        }
    }
    // μₖ repeated down block k's columns, so that summing (W ⊙ that) over rows gives Qₖμₖ.
    let spread = mu
        .t()
        .insert_axis(Axis(2))
        .broadcast((d, k, d))
        .unwrap()
        .to_shape((d, k * d))
        .unwrap()
        .to_owned();
    let qmu = (&w * &spread).sum_axis(Axis(0));
    // Row i, block k of X·W − (Q₁μ₁, …, Q_Kμ_K) is Qₖ(xᵢ − μₖ); its squares summed by block.
    let centered = x.dot(&w) - &qmu;
    let sqnorms = (&centered * &centered)
        .into_shape_with_order((n, k, d))
        .unwrap()
        .sum_axis(Axis(2));
    let sum_qs = q.sum_axis(Axis(1));
    let beta = &(alpha + &sum_qs) - &(sqnorms * 0.5);
    // Σᵢ logsumexp(βᵢ), each row shifted by its largest term.
    let largest = amax_axis(&beta, Axis(1));
    let shifted = &beta - &largest.view().insert_axis(Axis(1));
    let log_likelihood = (largest + shifted.exp().sum_axis(Axis(1)).ln()).sum();

    // The Wishart prior with V = I/γ² and n = D + m + 1 degrees of freedom:
    // K(nD ln(γ/√2) − ln Γ_D(n/2)) − ½γ² Σₖ ‖Qₖ‖²_F + m Σₖ Σⱼ qₖⱼ.
    let nu = d + m + 1;
    let log_prior = k as f64
        * (nu as f64 * d as f64 * (gamma / 2f64.sqrt()).ln() - ln_multigamma(0.5 * nu as f64, d))
        - 0.5 * gamma * gamma * ((&diagonals * &diagonals).sum() + (l * l).sum())
        + m as f64 * sum_qs.sum();
    log_likelihood - n as f64 * (0.5 * d as f64 * (2.0 * PI).ln() + logsumexp(alpha)) + log_prior
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
