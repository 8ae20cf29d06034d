use autodiff::ndarray::Array1;
use autodiff::prelude::*;

#[derive(Parameters)]
struct Linear {
    w: Array1<f64>,
    b: f64,
}

#[derive(Parameters)]
struct Stack {
    layers: Vec<Linear>,
}

#[differentiable(hessian)]
fn f(p: &Stack, x: &Array1<f64>) -> f64 {
    let mut acc = 0.0;
    for i in 0..p.layers.len() {
        acc += ((x * &p.layers[i].w).sum() + p.layers[i].b).powi(2);
    }
    acc
}

fn main() {}
