use autodiff::ndarray::Array1;
use autodiff::prelude::*;

#[differentiable]
fn f(x: &Array1<f64>) -> f64 {
    let z = x * 2.0;
    x.mapv(|v| v * z[0]).sum()
}

fn main() {}
