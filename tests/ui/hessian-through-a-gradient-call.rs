use autodiff::prelude::*;

#[differentiable(hessian)]
fn square(t: f64) -> f64 {
    t * t
}

// Third derivatives through another function's gradient are not generated.
#[differentiable(hessian)]
fn f(x: f64) -> f64 {
    square_grad(x).1 * x
}

fn main() {}
