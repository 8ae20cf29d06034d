use autodiff::prelude::*;

// `scale` reads `w`, bound again before the call: Rust's closure keeps the first `w`,
// an inlined body would read the second.
#[differentiable]
fn f(w: f64, x: f64) -> f64 {
    let scale = move |t: f64| w * t;
    let w = w * 2.0;
    scale(x) + w
}

// A closure reading a differentiated value, used other than by a call.
#[differentiable]
fn g(w: f64, x: f64) -> f64 {
    let scale = |t: f64| w * t;
    apply(scale, x)
}

fn apply(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    f(x)
}

fn main() {}
