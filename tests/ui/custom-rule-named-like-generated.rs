use autodiff::prelude::*;

fn clipped_jvp_rule(x: f64, x_tangent: f64) -> (f64, f64) {
    (clipped(x), x_tangent)
}

// `clipped_vjp` is what the attribute generates; the rule needs a name of its own.
#[differentiable(vjp = clipped_vjp, jvp = clipped_jvp_rule)]
fn clipped(x: f64) -> f64 {
    x.clamp(-1.0, 1.0)
}

fn main() {}
