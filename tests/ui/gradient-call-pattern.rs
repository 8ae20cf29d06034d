use autodiff::prelude::*;

#[differentiable(hessian)]
fn square(t: f64) -> f64 {
    t * t
}

#[differentiable]
fn f(x: f64) -> f64 {
    // A gradient is bound to names, not matched by reference.
    let (_, ref slope) = square_grad(x);
    x * *slope
}

fn main() {}
