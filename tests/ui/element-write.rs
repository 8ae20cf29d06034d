use autodiff::ndarray::Array1;
use autodiff::prelude::*;

#[differentiable]
fn f(x: &Array1<f64>) -> f64 {
    let mut q = Array1::zeros(x.len());
    for i in 0..x.len() {
        q[i] = x[i] * 2.0;
    }
    q.sum()
}

fn main() {}
