use autodiff::ndarray::Array1;
use autodiff::prelude::*;

#[differentiable]
fn f(x: &Array1<f64>) -> f64 {
    let square = |v: f64| v * v;
    x.mapv(square).sum()
}

fn main() {}
