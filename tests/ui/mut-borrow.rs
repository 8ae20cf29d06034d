use autodiff::ndarray::Array1;
use autodiff::prelude::*;

#[differentiable]
fn f(a: &Array1<f64>) -> f64 {
    let mut b = a * 2.0;
    (&mut b).sum()
}

fn main() {}
