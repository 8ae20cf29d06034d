use autodiff::ndarray::Array1;
use autodiff::prelude::*;

#[derive(Parameters)]
struct Model {
    w: Array1<f64>,
}

#[differentiable]
fn whole_struct(p: &Model) -> f64 {
    let q = p;
    q.w.sum()
}

#[differentiable]
fn field_of_a_value(p: &Model) -> f64 {
    let s = p.w.sum();
    (s, 1.0).0
}

fn main() {}
