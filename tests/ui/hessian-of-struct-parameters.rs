use autodiff::ndarray::Array1;
use autodiff::prelude::*;

#[derive(Parameters)]
struct Linear {
    w: Array1<f64>,
    b: f64,
}

#[differentiable(hessian)]
fn f(p: &Linear, x: &Array1<f64>) -> f64 {
    ((x * &p.w).sum() + p.b).powi(2)
}

fn main() {}
