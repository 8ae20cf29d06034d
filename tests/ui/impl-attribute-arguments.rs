// On an `impl` block, #[differentiable] takes no arguments; each function carries its own.
// A trait's `impl` cannot hold the generated functions.
use autodiff::prelude::*;

struct Model;

#[differentiable(wrt(x))]
impl Model {
    #[differentiable]
    fn loss(x: f64) -> f64 {
        x * x
    }
}

trait Loss {
    fn loss(x: f64) -> f64;
}

struct Other;

#[differentiable]
impl Loss for Other {
    #[differentiable]
    fn loss(x: f64) -> f64 {
        x * x
    }
}

fn main() {}
