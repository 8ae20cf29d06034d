use autodiff::prelude::*;

#[differentiable]
fn square(t: f64) -> f64 {
    t * t
}

// Differentiating `square_grad` needs `square`'s second derivatives.
#[differentiable]
fn f(x: f64) -> f64 {
    let (_, slope) = square_grad(x);
    x * slope
}

fn main() {}
