use autodiff::ndarray::Array1;
use autodiff::prelude::*;

#[derive(Parameters, Clone)]
struct Line {
    w: Array1<f64>,
    b: f64,
}

#[differentiable(hessian)]
fn predict(p: &Line, x: &Array1<f64>) -> f64 {
    p.w.dot(x) + p.b
}

// The struct passed on whole: its Hessian through the call is not generated yet.
#[differentiable(hessian, wrt(p))]
fn loss(p: &Line, x: &Array1<f64>) -> f64 {
    predict(p, x).powi(2)
}

fn main() {}
