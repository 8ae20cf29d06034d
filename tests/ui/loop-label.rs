use autodiff::prelude::*;

#[differentiable]
fn f(x: f64, n: usize) -> f64 {
    let mut y = x;
    'outer: for _ in 0..n {
        for _ in 0..n {
            y = y.sin();
            if y < 0.1 {
                break 'outer;
            }
        }
    }
    y
}

fn main() {}
