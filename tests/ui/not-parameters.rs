use autodiff::ndarray::Array1;
use autodiff::prelude::*;

struct Data {
    x: Array1<f64>,
}

#[differentiable]
fn loss(w: &Array1<f64>, data: &Data) -> f64 {
    (w * &data.x).sum()
}

#[derive(Parameters)]
enum NotAStruct {
    A(f64),
}

fn main() {}
