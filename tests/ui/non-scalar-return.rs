use autodiff::prelude::*;

#[differentiable]
fn f(x: f64, y: f64) -> Vec<f64> {
    vec![x * y, x + y]
}

fn main() {
    let _ = f_vjp(1.0, 2.0, vec![1.0, 1.0]);
}
