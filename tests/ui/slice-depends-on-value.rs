use autodiff::ndarray::{s, Array1};
use autodiff::prelude::*;

fn count(x: &Array1<f64>) -> usize {
    x.iter().filter(|v| **v > 0.0).count()
}

#[differentiable]
fn f(x: &Array1<f64>) -> f64 {
    x.slice(s![..count(x)]).sum()
}

fn main() {}
