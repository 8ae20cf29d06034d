use autodiff::prelude::*;

// `scale` reads `k`, bound again before the call: Rust's closure keeps the first `k`,
// an inlined body would read the second.
#[differentiable]
fn f(x: f64) -> f64 {
    let k = 2.0;
    let scale = |t: f64| t * k;
    let k = 5.0;
    scale(x) + k * x
}

// The same through `mapv`, which takes the closure by name.
#[differentiable]
fn g(x: &autodiff::ndarray::Array1<f64>) -> f64 {
    let w = 2.0;
    let scale = |v: f64| v * w;
    let w = 3.0;
    x.mapv(scale).sum() * w
}

fn main() {}
