use autodiff::prelude::*;

#[differentiable(wrt(x))]
fn scaled(x: f64, scale: f64) -> f64 {
    x * scale
}

#[differentiable]
fn f(x: f64, y: f64) -> f64 {
    // `scaled` treats its second argument as a constant, but `y` is differentiated here.
    scaled(x, y) + y
}

fn main() {}
