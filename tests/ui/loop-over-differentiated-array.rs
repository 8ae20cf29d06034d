use autodiff::ndarray::Array1;
use autodiff::prelude::*;

#[differentiable]
fn f(x: &Array1<f64>) -> f64 {
    let mut acc = 0.0;
    for w in x.windows(2) {
        acc += w.sum();
    }
    acc
}

fn main() {}
