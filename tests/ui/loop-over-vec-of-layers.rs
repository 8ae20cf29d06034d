use autodiff::ndarray::{Array1, Array2};
use autodiff::prelude::*;

#[derive(Parameters)]
struct Dense {
    w: Array2<f64>,
    b: Array1<f64>,
}

#[derive(Parameters)]
struct Mlp {
    layers: Vec<Dense>,
}

#[differentiable(wrt(p))]
fn skip_first(p: &Mlp, x: &Array2<f64>) -> f64 {
    let mut h = x.clone();
    for layer in p.layers.iter().skip(1) {
        h = (h.dot(&layer.w) + &layer.b).tanh();
    }
    h.sum()
}

fn main() {}
