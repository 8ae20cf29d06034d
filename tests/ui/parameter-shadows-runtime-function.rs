// A parameter shadows the runtime's function of the same name, as in any Rust function:
// the original does not compile, and rustc says why.
use autodiff::prelude::*;

#[differentiable]
fn f(sigmoid: f64, x: f64) -> f64 {
    sigmoid(x) * sigmoid
}

fn main() {}
