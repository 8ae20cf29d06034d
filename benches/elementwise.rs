//! An elementwise closure, fused: the gradient of Σ GELU(x) over 10⁶ elements written with
//! `x.mapv(|v| …)` (one pass computing each element's value and derivative, one pass for the
//! pullback), against the same function written as separate array operations (a pass and an
//! array per primitive, forward and backward) and against a hand-written loop computing the
//! value and the derivative in one pass.
//!
//! ```text
//! cargo bench --bench elementwise
//! ```

use std::f64::consts::PI;
use std::hint::black_box;
use std::time::Duration;

use autodiff::ndarray::Array1;
use autodiff::prelude::*;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

const A: f64 = 0.044_715;

/// GELU, tanh approximation, as a closure.
#[differentiable]
fn gelu_mapv(x: &Array1<f64>) -> f64 {
    let c = (2.0 / PI).sqrt();
    x.mapv(|v| 0.5 * v * (1.0 + (c * (v + A * v * v * v)).tanh()))
        .sum()
}

/// The same, one array operation per primitive.
#[differentiable]
fn gelu_arrays(x: &Array1<f64>) -> f64 {
    let c = (2.0 / PI).sqrt();
    let cube = x * x * x;
    let inner = (x + &cube * A) * c;
    let t = inner.tanh();
    (x * (t + 1.0) * 0.5).sum()
}

/// By hand: value and derivative of each element in one loop.
fn gelu_by_hand(x: &Array1<f64>) -> (f64, Array1<f64>) {
    let c = (2.0 / PI).sqrt();
    let mut sum = 0.0;
    let mut grad = Array1::zeros(x.len());
    for (g, &v) in grad.iter_mut().zip(x) {
        let t = (c * (v + A * v * v * v)).tanh();
        sum += 0.5 * v * (1.0 + t);
        *g = 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * c * (1.0 + 3.0 * A * v * v);
    }
    (sum, grad)
}

fn bench(c: &mut Criterion) {
    let n = 1_000_000;
    let x = Array1::from_shape_fn(n, |i| (i as f64 / n as f64 - 0.5) * 8.0);
    // The three agree.
    let (value, grad) = gelu_by_hand(&x);
    for (v, g) in [gelu_mapv_grad(&x), gelu_arrays_grad(&x)] {
        assert!((v - value).abs() < 1e-6 * value.abs());
        assert!(g.iter().zip(&grad).all(|(a, b)| (a - b).abs() < 1e-9));
    }
    let mut group = c.benchmark_group("gelu_grad_1e6");
    group.bench_function(BenchmarkId::from_parameter("mapv_fused"), |b| {
        b.iter(|| gelu_mapv_grad(black_box(&x)))
    });
    group.bench_function(BenchmarkId::from_parameter("array_ops"), |b| {
        b.iter(|| gelu_arrays_grad(black_box(&x)))
    });
    group.bench_function(BenchmarkId::from_parameter("by_hand"), |b| {
        b.iter(|| gelu_by_hand(black_box(&x)))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
