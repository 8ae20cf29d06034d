use autodiff::ndarray::Array1;
use autodiff::prelude::*;

#[differentiable]
fn f(b: &Array1<f64>) -> f64 {
    b.broadcast((3, 4)).map_or(0.0, |m| m.sum())
}

fn main() {}
