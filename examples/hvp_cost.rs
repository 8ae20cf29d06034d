//! What the second-order functions cost, against the gradient: `f_hvp` (one
//! forward-over-reverse sweep), `f_hessian_diagonal` and `f_hessian` (n sweeps each), on
//! Rosenbrock's function in n dimensions, on k-means' cost (whose Hessian is diagonal:
//! `f_hvp` along ones is it), and on a two-layer network's squared output (matrix products
//! on dual numbers). Minimum wall time of repeated calls; run it with `RAYON_NUM_THREADS=1`
//! for one thread.
//!
//! ```sh
//! RAYON_NUM_THREADS=1 cargo run --release --example hvp_cost
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use autodiff::ndarray::{Array1, Array2};
use autodiff::prelude::*;

#[differentiable(hessian)]
fn rosenbrock(x: &Array1<f64>) -> f64 {
    let mut sum = 0.0;
    for i in 0..x.len() - 1 {
        sum += 100.0 * (x[i + 1] - x[i] * x[i]).powi(2) + (1.0 - x[i]).powi(2);
    }
    sum
}

#[differentiable(hessian, wrt(centroids))]
fn kmeans(points: &Array2<f64>, centroids: &Array2<f64>) -> f64 {
    let (n, k, d) = (points.nrows(), centroids.nrows(), points.ncols());
    let mut cost = 0.0;
    for i in 0..n {
        let mut closest = f64::INFINITY;
        for j in 0..k {
            let mut distance = 0.0;
            for l in 0..d {
                let e = centroids[[j, l]] - points[[i, l]];
                distance += e * e;
            }
            closest = closest.min(distance);
        }
        cost += closest;
    }
    cost
}

/// A two-layer network's squared output, summed: its Hessian's sweeps multiply matrices of
/// dual numbers.
#[differentiable(hessian, wrt(w1, w2))]
fn network(w1: &Array2<f64>, w2: &Array2<f64>, x: &Array2<f64>) -> f64 {
    let y = x.dot(w1).tanh().dot(w2);
    (&y * &y).sum()
}

/// The minimum time of `f` over repeated calls, for at least 0.3 s and 3 calls.
fn time<T>(mut f: impl FnMut() -> T) -> Duration {
    let (mut best, mut total, mut runs) = (Duration::MAX, Duration::ZERO, 0);
    while runs < 3 || total < Duration::from_millis(300) {
        let start = Instant::now();
        black_box(f());
        let took = start.elapsed();
        best = best.min(took);
        total += took;
        runs += 1;
    }
    best
}

fn row(name: &str, t: Duration, base: Duration) {
    println!(
        "  {name:<22} {:>12.3} µs  {:>7.2} × the gradient",
        t.as_secs_f64() * 1e6,
        t.as_secs_f64() / base.as_secs_f64()
    );
}

fn main() {
    for n in [10, 100, 1000] {
        let x = Array1::from_shape_fn(n, |i| 0.5 + 0.01 * i as f64);
        let v = Array1::from_shape_fn(n, |i| 1.0 - 0.002 * i as f64);
        println!("rosenbrock, n = {n}");
        let grad = time(|| rosenbrock_grad(&x));
        row("f (the original)", time(|| rosenbrock(&x)), grad);
        row("f_grad", grad, grad);
        row("f_hvp", time(|| rosenbrock_hvp(&x, v.clone())), grad);
        row(
            "f_hessian_diagonal",
            time(|| rosenbrock_hessian_diagonal(&x)),
            grad,
        );
        row("f_hessian", time(|| rosenbrock_hessian(&x)), grad);
    }
    // GradBench's kind of input: uniform points, the last k of them the centroids.
    let mut state = 31337_u64;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for (k, n, d) in [(10, 1000, 8), (100, 1000, 16)] {
        let points = Array2::from_shape_simple_fn((n, d), &mut uniform);
        let centroids = points.slice(autodiff::ndarray::s![n - k.., ..]).to_owned();
        println!("kmeans, k = {k}, n = {n}, d = {d}");
        let grad = time(|| kmeans_grad(&points, &centroids));
        row(
            "f (the original)",
            time(|| kmeans(&points, &centroids)),
            grad,
        );
        row("f_grad", grad, grad);
        let ones = autodiff::ones_like(&centroids);
        row(
            "f_hvp (ones: diag H)",
            time(|| kmeans_hvp(&points, &centroids, ones.clone())),
            grad,
        );
        if k * d <= 160 {
            row(
                "f_hessian_diagonal",
                time(|| kmeans_hessian_diagonal(&points, &centroids)),
                grad,
            );
        }
    }
    for (n, h) in [(256, 64), (1024, 128)] {
        let mut matrix = |rows, cols, scale: f64| {
            Array2::from_shape_simple_fn((rows, cols), || scale * (uniform() - 0.5))
        };
        let (x, w1, w2) = (matrix(n, h, 1.0), matrix(h, h, 0.3), matrix(h, 10, 0.3));
        let (v1, v2) = (matrix(h, h, 1.0), matrix(h, 10, 1.0));
        println!("network, {n} × {h} inputs, {h} hidden, 10 outputs");
        let grad = time(|| network_grad(&w1, &w2, &x));
        row("f (the original)", time(|| network(&w1, &w2, &x)), grad);
        row("f_grad", grad, grad);
        row(
            "f_hvp",
            time(|| network_hvp(&w1, &w2, &x, v1.clone(), v2.clone())),
            grad,
        );
    }
}
