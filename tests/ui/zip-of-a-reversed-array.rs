use autodiff::ndarray::Array1;
use autodiff::prelude::*;

#[differentiable]
fn f(x: &Array1<f64>, y: &Array1<f64>) -> f64 {
    let mut s = 0.0;
    for (&a, &b) in x.iter().rev().zip(y.iter()) {
        s += a * b;
    }
    s
}

fn main() {}
