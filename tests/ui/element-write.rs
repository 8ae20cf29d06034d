use autodiff::ndarray::Array2;
use autodiff::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    let mut q = Array2::<f64>::zeros((2, 2));
    q.row_mut(0)[1] = x;
    q.sum()
}

fn main() {}
