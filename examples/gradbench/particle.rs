//! `particle` (Siskind and Pearlmutter's charged particle): a particle starting at (0, 8)
//! with velocity (0.75, 0) moves under the force −∇ₓp(x; w) of two unit charges at
//! (10, 10 − w) and (10, 0), p(x; w) = Σ 1/‖x − cᵢ‖, by naive Euler steps of 0.1 until it
//! crosses the x axis; the objective is the square of where it crosses (linearly
//! interpolated), minimized over w by gradient descent ([`super::descent`]).
//!
//! Nested AD: the Euler loop takes ∇ₓp, the generated `potential_grad` (inner reverse, `r`)
//! or two `potential_jvp`s (inner forward, `f`), and the descent takes the derivative of the
//! whole loop in w, `euler_*_grad` (outer reverse) or `euler_*_jvp` (outer forward): the
//! functions `rr`, `rf`, `fr`, `ff`, outer mode first.

use autodiff::prelude::*;
use serde_json::{json, Value};

use super::{field, unknown, Evaluated, Failure};

/// The potential of the two charges at (px, py), the upper one at height 10 − w.
#[differentiable(hessian)]
fn potential(px: f64, py: f64, w: f64) -> f64 {
    let upper = ((px - 10.0) * (px - 10.0) + (py - (10.0 - w)) * (py - (10.0 - w))).sqrt();
    let lower = ((px - 10.0) * (px - 10.0) + py * py).sqrt();
    1.0 / upper + 1.0 / lower
}

/// Euler's method with the force from the generated gradient (inner reverse mode).
#[differentiable]
fn euler_r(w: f64) -> f64 {
    let (mut x, mut y) = (0.0, 8.0);
    let (mut vx, mut vy) = (0.75, 0.0);
    let dt = 0.1;
    loop {
        let (_, (gx, gy, _)) = potential_grad(x, y, w);
        x += dt * vx;
        y += dt * vy;
        if y <= 0.0 {
            break;
        }
        vx -= dt * gx;
        vy -= dt * gy;
    }
    // Where the last step crossed the x axis, interpolated linearly.
    let crossing = x - y / vy * vx;
    crossing * crossing
}

/// Euler's method with the force from two generated tangents (inner forward mode).
#[differentiable]
fn euler_f(w: f64) -> f64 {
    let (mut x, mut y) = (0.0, 8.0);
    let (mut vx, mut vy) = (0.75, 0.0);
    let dt = 0.1;
    loop {
        let (_, gx) = potential_jvp(x, y, w, 1.0, 0.0, 0.0);
        let (_, gy) = potential_jvp(x, y, w, 0.0, 1.0, 0.0);
        x += dt * vx;
        y += dt * vy;
        if y <= 0.0 {
            break;
        }
        vx -= dt * gx;
        vy -= dt * gy;
    }
    // Where the last step crossed the x axis, interpolated linearly.
    let crossing = x - y / vy * vx;
    crossing * crossing
}

/// The argmin over w from `w0`, with the derivative of the Euler loop in `outer` mode.
pub fn solve(function: &str, w0: f64) -> Result<f64, Failure> {
    let objective: fn(f64) -> f64 = match function {
        "rr" | "fr" => euler_r,
        "rf" | "ff" => euler_f,
        other => return Err(unknown("particle", other, &["rr", "rf", "fr", "ff"])),
    };
    let derivative: fn(f64) -> f64 = match function {
        "rr" => |w| euler_r_grad(w).1,
        "rf" => |w| euler_f_grad(w).1,
        "fr" => |w| euler_r_jvp(w, 1.0).1,
        _ => |w| euler_f_jvp(w, 1.0).1,
    };
    let w = super::descent::argmin(|w| objective(w[0]), |w| vec![derivative(w[0])], &[w0]);
    Ok(w[0])
}

pub fn evaluate(function: &str, input: &Value) -> Result<Evaluated, Failure> {
    let w0 = field(input, "w")?
        .as_f64()
        .ok_or_else(|| "\"w\" must be a number".to_string())?;
    solve(function, w0)?;
    let (w, timings) = super::repeat(input, || solve(function, w0))?;
    Ok(Evaluated {
        output: json!(w?),
        timings,
    })
}
