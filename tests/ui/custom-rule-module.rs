use autodiff::prelude::*;

#[differentiable(vjp = crate, jvp = self)]
fn softplus(x: f64) -> f64 {
    x.exp().ln_1p()
}

fn main() {}
