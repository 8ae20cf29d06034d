// Generated functions are items beside the original: a function of the user's with one of
// their names in the same module is defined twice (in another module it is not).
use autodiff::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    x * x
}

fn f_grad(x: f64) -> f64 {
    2.0 * x
}

fn main() {}
