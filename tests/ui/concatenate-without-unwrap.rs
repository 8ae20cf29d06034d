use autodiff::ndarray::{concatenate, Array1, Axis};
use autodiff::prelude::*;

#[differentiable]
fn f(a: &Array1<f64>, b: &Array1<f64>) -> f64 {
    let _joined = concatenate(Axis(0), &[a.view(), b.view()]);
    a.sum()
}

fn main() {}
