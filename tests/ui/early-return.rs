use autodiff::prelude::*;

#[differentiable]
fn f(x: f64) -> (f64, f64) {
    if x < 0.0 {
        return (0.0, x);
    }
    (x, x * x)
}

fn main() {}
