// Every problem of a function is reported in one compile, and callers of the generated
// gradient see no further errors.
use autodiff::prelude::*;

#[differentiable]
fn f(x: f64, y: f64) -> f64 {
    let a = x.rem_euclid(2.0);
    let b = if y > 0.0 { y } else { 0.0 };
    let c = x as f32;
    a * b + y % 3.0
}

fn main() {
    let (value, (dx, dy)) = f_grad(1.0, 2.0);
    let _ = value + dx + dy;
}
