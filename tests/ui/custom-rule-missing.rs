use autodiff::prelude::*;

fn clipped_vjp_rule(x: f64, cotangent: f64) -> (f64, f64) {
    (clipped(x), cotangent)
}

// A reverse-mode rule only: forward mode has none.
#[differentiable(vjp = clipped_vjp_rule)]
fn clipped(x: f64) -> f64 {
    x.clamp(-1.0, 1.0)
}

fn main() {}
