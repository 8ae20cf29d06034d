//! `f_grad` from `#[differentiable]` against a hand-written analytic gradient of the same
//! function (the target: ≤ 1.05× its time) and against central finite differences.
//!
//! ```text
//! cargo bench --bench scalar
//! ```

use std::hint::black_box;
use std::time::Duration;

use autodiff::prelude::*;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

/// Central differences without allocation: the value and 2 evaluations per input.
fn finite_differences(f: impl Fn(f64, f64) -> f64, x: f64, y: f64) -> (f64, (f64, f64)) {
    const H: f64 = 1e-6;
    let dx = (f(x + H, y) - f(x - H, y)) / (2.0 * H);
    let dy = (f(x, y + H) - f(x, y - H)) / (2.0 * H);
    (f(x, y), (dx, dy))
}

// --- Seed 1 (lecture 001): f(x₁, x₂) = ln x₁ + x₁x₂ − sin x₂ -------------------------------

#[differentiable]
fn seed(x1: f64, x2: f64) -> f64 {
    x1.ln() + x1 * x2 - x2.sin()
}

fn seed_by_hand(x1: f64, x2: f64) -> (f64, (f64, f64)) {
    let (sin, cos) = x2.sin_cos();
    (x1.ln() + x1 * x2 - sin, (1.0 / x1 + x2, x1 - cos))
}

// --- Seed 2 (lecture 004): z(x, y) = x² e^(x + cos y) ---------------------------------------

#[differentiable]
fn blocks(x: f64, y: f64) -> f64 {
    x.powi(2) * (x + y.cos()).exp()
}

fn blocks_by_hand(x: f64, y: f64) -> (f64, (f64, f64)) {
    let d = (x + y.cos()).exp();
    let z = x * x * d;
    (z, (2.0 * x * d + z, -z * y.sin()))
}

// --- A larger function: 16 steps of a scalar recurrent cell, 111 operations -----------------

macro_rules! recurrent {
    ($($w:literal, $u:literal, $v:literal, $b:literal;)+) => {
        const CELLS: &[(f64, f64, f64, f64)] = &[$(($w, $u, $v, $b)),+];

        /// h ← tanh(w·h + u·x + v·y + b), sixteen times, written out.
        #[differentiable]
        fn recurrent(x: f64, y: f64) -> f64 {
            let h = 0.0;
            $(let h = ($w * h + $u * x + $v * y + $b).tanh();)+
            h
        }
    };
}

recurrent! {
    0.9, 0.5, -0.3, 0.1;   -1.1, 0.2, 0.4, -0.2;  0.7, -0.6, 0.1, 0.05;  1.2, 0.3, -0.5, 0.0;
    -0.8, 0.4, 0.2, 0.15;  0.6, -0.1, 0.7, -0.1;  1.0, 0.25, -0.2, 0.2;  -0.5, 0.6, 0.3, -0.05;
    0.8, -0.4, 0.1, 0.1;   1.1, 0.1, -0.6, 0.0;   -0.9, 0.5, 0.2, -0.15; 0.4, -0.3, 0.5, 0.2;
    1.3, 0.2, -0.1, -0.1;  -0.7, 0.3, 0.4, 0.05;  0.95, -0.2, 0.3, 0.0;  0.6, 0.4, -0.4, 0.1;
}

/// The backpropagation a careful person writes: store the states, then walk back.
fn recurrent_by_hand(x: f64, y: f64) -> (f64, (f64, f64)) {
    let mut h = [0.0; 17];
    for (k, &(w, u, v, b)) in CELLS.iter().enumerate() {
        h[k + 1] = (w * h[k] + u * x + v * y + b).tanh();
    }
    let (mut adjoint, mut dx, mut dy) = (1.0, 0.0, 0.0);
    for (k, &(w, u, v, _)) in CELLS.iter().enumerate().rev() {
        let pre = adjoint * (1.0 - h[k + 1] * h[k + 1]);
        dx += pre * u;
        dy += pre * v;
        adjoint = pre * w;
    }
    (h[16], (dx, dy))
}

/// The same cell written as a loop over its weights, as a user would: the forward sweep
/// records each step's values on a tape, the adjoint sweep walks it back.
#[differentiable(wrt(x, y))]
fn recurrent_loop(x: f64, y: f64, cells: &[(f64, f64, f64, f64)]) -> f64 {
    let mut h = 0.0;
    for &(w, u, v, b) in cells {
        h = (w * h + u * x + v * y + b).tanh();
    }
    h
}

/// Times each way of computing the gradient over the same 256 points near `center`, so that
/// per-call overheads do not dominate functions of a few nanoseconds.
fn compare(
    c: &mut Criterion,
    name: &str,
    center: (f64, f64),
    f: impl Fn(f64, f64) -> f64 + Copy,
    generated: impl Fn(f64, f64) -> (f64, (f64, f64)),
    by_hand: impl Fn(f64, f64) -> (f64, (f64, f64)),
) {
    let points: Vec<(f64, f64)> = (0..256)
        .map(|i| {
            let t = f64::from(i) / 256.0;
            (center.0 + 0.1 * t, center.1 - 0.1 * t)
        })
        .collect();
    for &(x, y) in &points {
        let (a, b) = (generated(x, y), by_hand(x, y));
        let agree = |p: f64, q: f64| (p - q).abs() <= 1e-12 * p.abs().max(1.0);
        assert!(
            agree(a.1 .0, b.1 .0) && agree(a.1 .1, b.1 .1),
            "{name}: {a:?} vs {b:?}"
        );
    }
    let sweep = |gradient: &dyn Fn(f64, f64) -> (f64, (f64, f64))| {
        black_box(&points)
            .iter()
            .map(|&(x, y)| {
                let (value, (dx, dy)) = gradient(x, y);
                value + dx + dy
            })
            .sum::<f64>()
    };

    let mut group = c.benchmark_group(name);
    group.bench_function(BenchmarkId::from_parameter("generated"), |bench| {
        bench.iter(|| sweep(&|x, y| generated(x, y)))
    });
    group.bench_function(BenchmarkId::from_parameter("by_hand"), |bench| {
        bench.iter(|| sweep(&|x, y| by_hand(x, y)))
    });
    group.bench_function(BenchmarkId::from_parameter("finite_differences"), |bench| {
        bench.iter(|| sweep(&|x, y| finite_differences(f, x, y)))
    });
    group.finish();
}

fn scalar(c: &mut Criterion) {
    compare(c, "seed", (2.0, 5.0), seed, seed_grad, seed_by_hand);
    compare(
        c,
        "blocks",
        (2.0, std::f64::consts::FRAC_PI_2),
        blocks,
        blocks_grad,
        blocks_by_hand,
    );
    compare(
        c,
        "recurrent_111_ops",
        (0.3, -0.7),
        recurrent,
        recurrent_grad,
        recurrent_by_hand,
    );
    compare(
        c,
        "recurrent_loop",
        (0.3, -0.7),
        |x, y| recurrent_loop(x, y, CELLS),
        |x, y| recurrent_loop_grad(x, y, CELLS),
        recurrent_by_hand,
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = scalar
}
criterion_main!(benches);
