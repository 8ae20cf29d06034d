use autodiff::ndarray::Array1;
use autodiff::prelude::*;

#[derive(Parameters)]
struct Model {
    w: Array1<f64>,
}

#[differentiable(wrt(p))]
fn whole_struct(p: &Model) -> f64 {
    let q = p;
    q.w.sum()
}

#[differentiable]
fn field_of_a_value(p: &Model) -> f64 {
    let s = p.w.sum();
    (s, 1.0).0
}

/// Never reads a field: `p` stays a constant, and nothing is left to differentiate.
#[differentiable]
fn no_field_read(p: &Model) -> f64 {
    let q = p;
    q.w.sum()
}

fn main() {}
