// In a trait's `impl` the generated functions cannot be added beside the function: a trait
// impl holds only the trait's items. Put the function in an inherent `impl` or outside.
use autodiff::prelude::*;

trait Loss {
    fn loss(x: f64) -> f64;
}

struct Model;

impl Loss for Model {
    #[differentiable]
    fn loss(x: f64) -> f64 {
        x * x
    }
}

fn main() {}
