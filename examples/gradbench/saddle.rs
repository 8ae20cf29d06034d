//! `saddle` (Siskind and Pearlmutter): min over p₁ ∈ ℝ² of max over p₂ ∈ ℝ² of
//! f(p₁, p₂) = (p₁₁² + p₁₂²) − (p₂₁² + p₂₂²), both by gradient descent ([`super::descent`])
//! from the same start; then the argmax at the argmin found.
//!
//! Nested AD: the inner maximization is a `#[differentiable]` function, the descent loop
//! written out, taking ∇_{p₂} f from the generated `objective_grad` (inner reverse, `r`) or
//! two `objective_jvp`s (inner forward, `f`); the outer descent takes the derivative of the
//! whole inner loop in p₁, `max_*_grad` (outer reverse) or two `max_*_jvp`s (outer forward):
//! the functions `rr`, `rf`, `fr`, `ff`, outer mode first. The final argmax uses the outer
//! mode's inner gradient.

use autodiff::prelude::*;
use serde_json::{json, Value};

use super::{field, numbers, unknown, Evaluated, Failure};

#[differentiable(hessian)]
fn objective(p1x: f64, p1y: f64, p2x: f64, p2y: f64) -> f64 {
    (p1x * p1x + p1y * p1y) - (p2x * p2x + p2y * p2y)
}

/// max over p₂ of f(p₁, p₂) by the descent on −f from `(sx, sy)`, ∇_{p₂} f by reverse mode.
#[differentiable(wrt(p1x, p1y))]
fn max_r(p1x: f64, p1y: f64, sx: f64, sy: f64) -> f64 {
    let (mut x, mut y) = (sx, sy);
    let mut fx = -objective(p1x, p1y, x, y);
    let (_, (_, _, gx0, gy0)) = objective_grad(p1x, p1y, x, y);
    let (mut gx, mut gy) = (-gx0, -gy0);
    let mut accepted = 0;
    let mut eta = 1e-5;
    loop {
        if (gx * gx + gy * gy).sqrt() <= 1e-5 {
            break;
        }
        if accepted == 10 {
            eta *= 2.0;
            accepted = 0;
            continue;
        }
        let (nx, ny) = (x - eta * gx, y - eta * gy);
        if ((x - nx) * (x - nx) + (y - ny) * (y - ny)).sqrt() <= 1e-5 {
            break;
        }
        let f_next = -objective(p1x, p1y, nx, ny);
        if f_next < fx {
            x = nx;
            y = ny;
            fx = f_next;
            let (_, (_, _, ngx, ngy)) = objective_grad(p1x, p1y, x, y);
            gx = -ngx;
            gy = -ngy;
            accepted += 1;
        } else {
            eta /= 2.0;
            accepted = 0;
        }
    }
    objective(p1x, p1y, x, y)
}

/// [`max_r`] with ∇_{p₂} f from two tangents (forward mode).
#[differentiable(wrt(p1x, p1y))]
fn max_f(p1x: f64, p1y: f64, sx: f64, sy: f64) -> f64 {
    let (mut x, mut y) = (sx, sy);
    let mut fx = -objective(p1x, p1y, x, y);
    let mut gx = -objective_jvp(p1x, p1y, x, y, 0.0, 0.0, 1.0, 0.0).1;
    let mut gy = -objective_jvp(p1x, p1y, x, y, 0.0, 0.0, 0.0, 1.0).1;
    let mut accepted = 0;
    let mut eta = 1e-5;
    loop {
        if (gx * gx + gy * gy).sqrt() <= 1e-5 {
            break;
        }
        if accepted == 10 {
            eta *= 2.0;
            accepted = 0;
            continue;
        }
        let (nx, ny) = (x - eta * gx, y - eta * gy);
        if ((x - nx) * (x - nx) + (y - ny) * (y - ny)).sqrt() <= 1e-5 {
            break;
        }
        let f_next = -objective(p1x, p1y, nx, ny);
        if f_next < fx {
            x = nx;
            y = ny;
            fx = f_next;
            gx = -objective_jvp(p1x, p1y, x, y, 0.0, 0.0, 1.0, 0.0).1;
            gy = -objective_jvp(p1x, p1y, x, y, 0.0, 0.0, 0.0, 1.0).1;
            accepted += 1;
        } else {
            eta /= 2.0;
            accepted = 0;
        }
    }
    objective(p1x, p1y, x, y)
}

/// The saddle point from `start`: the argmin p₁, then the argmax p₂ at it.
pub fn solve(function: &str, start: [f64; 2]) -> Result<Vec<f64>, Failure> {
    let (outer_reverse, inner_reverse) = match function {
        "rr" => (true, true),
        "rf" => (true, false),
        "fr" => (false, true),
        "ff" => (false, false),
        other => return Err(unknown("saddle", other, &["rr", "rf", "fr", "ff"])),
    };
    let [sx, sy] = start;
    let max = |p: &[f64]| match inner_reverse {
        true => max_r(p[0], p[1], sx, sy),
        false => max_f(p[0], p[1], sx, sy),
    };
    let gradient = |p: &[f64]| match (outer_reverse, inner_reverse) {
        (true, true) => {
            let (_, (dx, dy)) = max_r_grad(p[0], p[1], sx, sy);
            vec![dx, dy]
        }
        (true, false) => {
            let (_, (dx, dy)) = max_f_grad(p[0], p[1], sx, sy);
            vec![dx, dy]
        }
        (false, true) => vec![
            max_r_jvp(p[0], p[1], sx, sy, 1.0, 0.0).1,
            max_r_jvp(p[0], p[1], sx, sy, 0.0, 1.0).1,
        ],
        (false, false) => vec![
            max_f_jvp(p[0], p[1], sx, sy, 1.0, 0.0).1,
            max_f_jvp(p[0], p[1], sx, sy, 0.0, 1.0).1,
        ],
    };
    let p1 = super::descent::argmin(max, gradient, &start);
    // The argmax at p₁: the descent on −f over p₂, ∇_{p₂} f in the outer mode.
    let inner = |p2: &[f64]| -objective(p1[0], p1[1], p2[0], p2[1]);
    let inner_gradient = |p2: &[f64]| match outer_reverse {
        true => {
            let (_, (_, _, gx, gy)) = objective_grad(p1[0], p1[1], p2[0], p2[1]);
            vec![-gx, -gy]
        }
        false => vec![
            -objective_jvp(p1[0], p1[1], p2[0], p2[1], 0.0, 0.0, 1.0, 0.0).1,
            -objective_jvp(p1[0], p1[1], p2[0], p2[1], 0.0, 0.0, 0.0, 1.0).1,
        ],
    };
    let p2 = super::descent::argmin(inner, inner_gradient, &start);
    Ok(vec![p1[0], p1[1], p2[0], p2[1]])
}

pub fn evaluate(function: &str, input: &Value) -> Result<Evaluated, Failure> {
    let start = numbers(field(input, "start")?, "start")?;
    let start: [f64; 2] = start
        .try_into()
        .map_err(|s: Vec<f64>| format!("\"start\" must hold 2 numbers, not {}", s.len()))?;
    solve(function, start)?;
    let (points, timings) = super::repeat(input, || solve(function, start))?;
    Ok(Evaluated {
        output: json!(points?),
        timings,
    })
}
