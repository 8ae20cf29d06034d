use autodiff::prelude::*;

#[differentiable]
fn rk4_step(y: f64, k: f64, h: f64) -> f64 {
    let f = |t: f64, y: f64| -k * y + t.sin();
    let k1 = f(0.0, y);
    let k2 = f(h / 2.0, y + h / 2.0 * k1);
    y + h * k2
}

fn main() {}
