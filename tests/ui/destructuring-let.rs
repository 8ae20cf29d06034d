use autodiff::prelude::*;

#[differentiable]
fn f(x: f64, y: f64) -> f64 {
    let [a, b] = [x, y];
    a * b
}

fn pair(x: f64) -> (f64, f64) {
    (x, x)
}

#[differentiable]
fn g(x: f64, y: f64) -> f64 {
    let (a, b) = if x > 0.0 { (x, y) } else { pair(y) };
    a * b
}

fn main() {}
