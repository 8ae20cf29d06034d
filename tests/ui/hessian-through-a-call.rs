use autodiff::prelude::*;

#[differentiable]
fn square(t: f64) -> f64 {
    t * t
}

#[differentiable(hessian)]
fn f(x: f64) -> f64 {
    square(x) + x
}

fn main() {}
