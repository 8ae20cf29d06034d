use autodiff::ndarray::Array1;
use autodiff::prelude::*;

#[differentiable]
fn f(x: &Array1<f64>, y: &Array1<f64>) -> f64 {
    x.mapv(|v| v * y[0]).sum()
}

fn main() {}
