use autodiff::ndarray::Array1;
use autodiff::prelude::*;

#[differentiable]
fn f(a: &Array1<f64>) -> f64 {
    a.mean().unwrap_or(0.0)
}

fn main() {}
