use autodiff::ndarray::Array1;
use autodiff::prelude::*;

#[differentiable]
fn f(x: &Array1<f64>, __autodiff_index0: f64) -> f64 {
    let mut s = 0.0;
    for &v in x.iter() {
        s += v * __autodiff_index0;
    }
    s
}

fn main() {}
