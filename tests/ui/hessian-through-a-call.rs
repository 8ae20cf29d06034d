use autodiff::prelude::*;

#[differentiable]
fn square(t: f64) -> f64 {
    t * t
}

// `square` has no `hessian`: `f`'s Hessian cannot go through it.
#[differentiable(hessian)]
fn f(x: f64) -> f64 {
    square(x) + x
}

fn main() {}
