use autodiff::prelude::*;

#[differentiable(wrt(x))]
fn f(x: f64, out: &mut f64) -> f64 {
    x * 2.0
}

fn main() {}
