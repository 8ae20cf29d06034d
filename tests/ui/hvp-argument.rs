use autodiff::prelude::*;

// `f_hvp` comes with `hessian`; there is no `hvp` argument.
#[differentiable(hvp)]
fn f(x: f64, y: f64) -> f64 {
    x * x * y
}

fn main() {}
