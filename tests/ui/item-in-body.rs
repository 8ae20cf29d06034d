use autodiff::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    struct Scale(f64);
    x * 2.0
}

fn main() {}
