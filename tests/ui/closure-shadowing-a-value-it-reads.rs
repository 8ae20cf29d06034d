use autodiff::prelude::*;

// The body reads the parameter `w` before its own `let w` hides it: the closure reads a
// differentiated value, so it is rejected like any such `let` closure (it was taken for a
// constant, and `f_grad` gave ∂/∂w = 0).
#[differentiable]
fn f(w: f64) -> f64 {
    let square_of_scaled = |t: f64| {
        let u = t * w;
        let w = u * u;
        w
    };
    square_of_scaled(2.0) + w
}

fn main() {}
