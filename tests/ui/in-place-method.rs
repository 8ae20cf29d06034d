use autodiff::ndarray::{s, Array1, Array2, Axis};
use autodiff::prelude::*;

#[differentiable]
fn rows(x: &Array1<f64>) -> f64 {
    let mut y = Array2::<f64>::zeros((2, x.len()));
    y.row_mut(0).assign(x);
    y.slice_mut(s![1, ..]).assign(&(x * 2.0));
    y.index_axis_mut(Axis(0), 1).fill(1.0);
    y.sum()
}

#[differentiable]
fn euler_step(x: &Array1<f64>, h: f64) -> f64 {
    let mut y = x.clone();
    y.scaled_add(h, x);
    y.sum()
}

fn main() {}
