use autodiff::ndarray::{array, Array1};
use autodiff::prelude::*;

#[differentiable]
fn f(x: f64, y: f64) -> f64 {
    let v: Array1<f64> = array![x * 2.0, y];
    v.sum()
}

fn main() {}
