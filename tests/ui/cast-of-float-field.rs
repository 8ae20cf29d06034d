use autodiff::ndarray::Array1;
use autodiff::prelude::*;

#[derive(Parameters, Clone)]
struct Layer {
    w: Array1<f64>,
    scale: f64,
    #[parameters(skip)]
    heads: usize,
}

// `p.heads as f64` is a constant (an integer hyperparameter); `p.scale as f64` would drop the
// derivative of a differentiated field, so it is an error.
#[differentiable]
fn f(p: &Layer, x: &Array1<f64>) -> f64 {
    let heads = p.heads as f64;
    let scale = p.scale as f64;
    p.w.dot(x) / heads * scale
}

fn main() {}
