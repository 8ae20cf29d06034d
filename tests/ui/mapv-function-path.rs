use autodiff::ndarray::Array1;
use autodiff::prelude::*;

fn cube(v: f64) -> f64 {
    v * v * v
}

#[differentiable]
fn f(x: &Array1<f64>) -> f64 {
    x.mapv(cube).sum()
}

fn main() {}
