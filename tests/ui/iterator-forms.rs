use autodiff::ndarray::Array1;
use autodiff::prelude::*;

#[differentiable]
fn f(a: &Array1<f64>, b: &Array1<f64>) -> f64 {
    // A fold that is not a sum.
    let p = a.iter().fold(1.0, |acc, &v| acc * v);
    // Zipped elements bound to one name, not taken apart.
    let d = a.iter().zip(b).map(|pair| pair.0 * pair.1).sum::<f64>();
    p + d
}

fn main() {}
