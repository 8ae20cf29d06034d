use autodiff::ndarray::Array1;
use autodiff::prelude::*;

#[differentiable]
fn squares(w: &Array1<f64>) -> Array1<f64> {
    w * w
}

// `squares` returns an array: its Hessian-vector products do not exist.
#[differentiable(hessian)]
fn f(w: &Array1<f64>) -> f64 {
    squares(w).sum()
}

fn main() {}
