use autodiff::ndarray::Array1;
use autodiff::prelude::*;

#[differentiable]
fn f(x: &Array1<f64>) -> f64 {
    let largest = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let smallest = x.iter().fold(f64::INFINITY, |m, &v| m.min(v));
    let peak = x.fold(0.0, |m, &v| f64::max(m, v));
    largest - smallest + peak
}

fn main() {}
