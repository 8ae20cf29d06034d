use autodiff::ndarray::{Array1, Array2};
use autodiff::prelude::*;

#[differentiable]
fn f(x: &Array1<f64>, w: f64) -> f64 {
    let filled = Array1::from_elem(x.len(), w);
    let diagonal = Array2::from_diag(x);
    let spelled_out = autodiff::ndarray::Array1::from_elem(2, x[0]);
    (x * &filled).sum() + diagonal.sum() + spelled_out.sum()
}

fn main() {}
