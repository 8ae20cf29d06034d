use autodiff::prelude::*;

#[differentiable]
fn cube(t: f64) -> f64 {
    t * t * t
}

// Differentiating `cube_jvp`'s tangent needs `cube`'s second derivatives too.
#[differentiable]
fn f(x: f64) -> f64 {
    cube_jvp(x, 1.0).1 * x
}

fn main() {}
