//! The lectures' three-layer network (tanh, sigmoid, sigmoid, mean binary cross-entropy):
//! one value-and-gradient by the generated `network_grad` against the same backpropagation
//! written by hand with ndarray, at batch sizes 32 to 1024 and hidden widths 16 to 512.
//!
//! `cargo bench --bench mlp`; the table in BENCHMARKS.md comes from this file. Set
//! `MLP_BENCH_QUICK=1` for the two sizes of the peer comparison only.

use std::hint::black_box;
use std::time::Duration;

use autodiff::ndarray::{Array, Array1, Array2, Axis, Dimension, ShapeBuilder};
use autodiff::prelude::*;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

#[differentiable(wrt(w1, b1, w2, b2, u, c))]
#[allow(clippy::too_many_arguments)]
fn network(
    x: &Array2<f64>,
    y: &Array2<f64>,
    w1: &Array2<f64>,
    b1: &Array1<f64>,
    w2: &Array2<f64>,
    b2: &Array1<f64>,
    u: &Array2<f64>,
    c: &Array1<f64>,
) -> f64 {
    let h1 = (x.dot(w1) + b1).tanh();
    let h2 = sigmoid(h1.dot(w2) + b2);
    let y_hat = sigmoid(h2.dot(u) + c);
    bce(&y_hat, y)
}

type Grads = (
    Array2<f64>,
    Array1<f64>,
    Array2<f64>,
    Array1<f64>,
    Array2<f64>,
    Array1<f64>,
);

/// The lecture's matrix formulas, written as a careful person writes them with ndarray:
/// elementwise work in place, products with `dot`, bias gradients with `sum_axis`.
#[allow(clippy::too_many_arguments)]
fn by_hand(
    x: &Array2<f64>,
    y: &Array2<f64>,
    w1: &Array2<f64>,
    b1: &Array1<f64>,
    w2: &Array2<f64>,
    b2: &Array1<f64>,
    u: &Array2<f64>,
    c: &Array1<f64>,
) -> (f64, Grads) {
    let n = x.nrows() as f64;
    let mut h1 = x.dot(w1) + b1;
    h1.mapv_inplace(f64::tanh);
    let mut h2 = h1.dot(w2) + b2;
    h2.mapv_inplace(sigmoid);
    let mut y_hat = h2.dot(u) + c;
    y_hat.mapv_inplace(sigmoid);
    let loss = -y_hat
        .iter()
        .zip(y)
        .map(|(&p, &t)| t * p.ln() + (1.0 - t) * (-p).ln_1p())
        .sum::<f64>()
        / n;

    let mut d3 = y_hat;
    d3.zip_mut_with(y, |d, &t| *d = (*d - t) / n);
    let du = h2.t().dot(&d3);
    let dc = d3.sum_axis(Axis(0));
    let mut d2 = d3.dot(&u.t());
    d2.zip_mut_with(&h2, |d, &h| *d *= h * (1.0 - h));
    let dw2 = h1.t().dot(&d2);
    let db2 = d2.sum_axis(Axis(0));
    let mut d1 = d2.dot(&w2.t());
    d1.zip_mut_with(&h1, |d, &h| *d *= 1.0 - h * h);
    let dw1 = x.t().dot(&d1);
    let db1 = d1.sum_axis(Axis(0));
    (loss, (dw1, db1, dw2, db2, du, dc))
}

fn data<D: Dimension>(shape: impl ShapeBuilder<Dim = D>, seed: u64) -> Array<f64, D> {
    let mut state = seed;
    Array::from_shape_simple_fn(shape, || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    })
}

struct Problem {
    x: Array2<f64>,
    y: Array2<f64>,
    w1: Array2<f64>,
    b1: Array1<f64>,
    w2: Array2<f64>,
    b2: Array1<f64>,
    u: Array2<f64>,
    c: Array1<f64>,
}

fn problem(n: usize, d: usize, h1: usize, h2: usize) -> Problem {
    Problem {
        x: data((n, d), 1),
        y: data((n, 1), 2).mapv(|v| f64::from(v > 0.0)),
        w1: data((d, h1), 3),
        b1: data(h1, 4),
        w2: data((h1, h2), 5),
        b2: data(h2, 6),
        u: data((h2, 1), 7),
        c: data(1, 8),
    }
}

/// (batch, features, first hidden, second hidden): the peers' two sizes, then the grid.
fn sizes() -> Vec<(usize, usize, usize, usize)> {
    let mut sizes = vec![(256, 30, 64, 32), (1024, 64, 256, 128)];
    if std::env::var_os("MLP_BENCH_QUICK").is_none() {
        for n in [32, 256, 1024] {
            for h in [16, 64, 512] {
                if !sizes.contains(&(n, 30, h, h / 2)) {
                    sizes.push((n, 30, h, h / 2));
                }
            }
        }
    }
    sizes
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("mlp_value_and_grad");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    for (n, d, h1, h2) in sizes() {
        let p = problem(n, d, h1, h2);
        // Same numbers from both, so the comparison is of equals.
        let (generated, by) = (
            network_grad(&p.x, &p.y, &p.w1, &p.b1, &p.w2, &p.b2, &p.u, &p.c),
            by_hand(&p.x, &p.y, &p.w1, &p.b1, &p.w2, &p.b2, &p.u, &p.c),
        );
        assert!((generated.0 - by.0).abs() < 1e-9);
        assert!((&generated.1 .0 - &by.1 .0).iter().all(|e| e.abs() < 1e-9));
        let id = format!("N={n} D={d} H={h1}x{h2}");
        group.bench_function(BenchmarkId::new("generated", &id), |b| {
            b.iter(|| {
                black_box(network_grad(
                    &p.x, &p.y, &p.w1, &p.b1, &p.w2, &p.b2, &p.u, &p.c,
                ))
            })
        });
        group.bench_function(BenchmarkId::new("by_hand", &id), |b| {
            b.iter(|| black_box(by_hand(&p.x, &p.y, &p.w1, &p.b1, &p.w2, &p.b2, &p.u, &p.c)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
