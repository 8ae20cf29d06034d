use autodiff::prelude::*;

#[differentiable]
fn f(x: f64) -> f64 {
    // A `let` closure is inlined where it is called, but not one that returns early.
    let magnitude = |t: f64| {
        if t > 0.0 {
            return t;
        }
        -t
    };
    magnitude(x)
}

fn main() {}
