// An associated function's generated functions call each other as `Self::f_vjp`, which the
// function's own attribute cannot know: `#[differentiable]` goes on the `impl` block too.
// Without it they call `f_vjp` as beside a free function, which rustc cannot find.
use autodiff::prelude::*;

struct Model;

impl Model {
    #[differentiable]
    fn loss(x: f64) -> f64 {
        x * x
    }
}

fn main() {}
