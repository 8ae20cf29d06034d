//! One training epoch of the digits network (64 → 64 tanh → 10, softmax cross-entropy, Adam,
//! shuffled minibatches of 32 over 1438 examples): generated gradients against the same
//! backpropagation written by hand, both stepping with the same optimizer.
//!
//! `cargo bench --bench epoch`; the figures in BENCHMARKS.md come from this file.

#[path = "../examples/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::Duration;

use autodiff::ndarray::{Array2, Axis};
use autodiff::optim::{Adam, Optimizer};
use autodiff::train::{Mode, Rng};
use criterion::{criterion_group, criterion_main, Criterion};

use common::fit::{split, Split};
use common::models::{softmax_mlp_loss_grad, SoftmaxMlp};

/// The lecture's matrix formulas for this network, with ndarray: ∂L/∂z = (softmax(z) − onehot)/N,
/// ∂L/∂W² = hᵀ ∂L/∂z, ∂L/∂h = ∂L/∂z W²ᵀ, ∂L/∂u = ∂L/∂h ⊙ (1 − h²), ∂L/∂W¹ = Xᵀ ∂L/∂u.
fn by_hand(p: &SoftmaxMlp, x: &Array2<f64>, labels: &[usize]) -> (f64, SoftmaxMlp) {
    let n = x.nrows() as f64;
    let mut h = x.dot(&p.w1) + &p.b1;
    h.mapv_inplace(f64::tanh);
    let mut dz = h.dot(&p.w2) + &p.b2;
    let mut loss = 0.0;
    for (mut row, &label) in dz.rows_mut().into_iter().zip(labels) {
        let max = row.fold(f64::NEG_INFINITY, |m, &v| m.max(v));
        row.mapv_inplace(|v| (v - max).exp());
        let sum = row.sum();
        loss -= (row[label] / sum).ln();
        row.mapv_inplace(|e| e / sum / n);
        row[label] -= 1.0 / n;
    }
    let dw2 = h.t().dot(&dz);
    let db2 = dz.sum_axis(Axis(0));
    let mut du = dz.dot(&p.w2.t());
    du.zip_mut_with(&h, |d, &h| *d *= 1.0 - h * h);
    let dw1 = x.t().dot(&du);
    let db1 = du.sum_axis(Axis(0));
    (
        loss / n,
        SoftmaxMlp {
            w1: dw1,
            b1: db1,
            w2: dw2,
            b2: db2,
        },
    )
}

type LossGrad = fn(&SoftmaxMlp, &Array2<f64>, &[usize]) -> (f64, SoftmaxMlp);

/// One epoch from the same start: the same shuffles, the same steps.
fn epoch(data: &Split, labels: &[usize], loss_grad: LossGrad) -> SoftmaxMlp {
    let mut model = SoftmaxMlp::new(64, 64, 10, &mut Rng::new(1));
    let mut adam = Adam::new(0.01);
    let mut rng = Rng::new(2);
    for batch in Mode::Minibatch(32).batches(labels.len(), &mut rng) {
        let x = data.x_train.select(Axis(0), &batch);
        let y: Vec<usize> = batch.iter().map(|&i| labels[i]).collect();
        let (_, grad) = loss_grad(&model, &x, &y);
        adam.step(&mut model, &grad);
    }
    model
}

fn bench(c: &mut Criterion) {
    let data = split(&common::datasets::digits(), 0.2, 42);
    let labels: Vec<usize> = data.y_train.iter().map(|&y| y as usize).collect();
    let generated: LossGrad = softmax_mlp_loss_grad;
    // Both train the same network.
    let (a, b) = (
        epoch(&data, &labels, generated),
        epoch(&data, &labels, by_hand),
    );
    let close = (&a.w1 - &b.w1).iter().all(|d| d.abs() < 1e-9);
    assert!(close, "the two epochs diverged");

    let mut group = c.benchmark_group("digits_epoch");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3));
    group.bench_function("generated", |bench| {
        bench.iter(|| black_box(epoch(&data, &labels, generated)))
    });
    group.bench_function("by_hand", |bench| {
        bench.iter(|| black_box(epoch(&data, &labels, by_hand)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
