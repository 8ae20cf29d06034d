//! The seed function of the lectures, f(x₁, x₂) = ln x₁ + x₁x₂ − sin x₂, its gradient from
//! `#[differentiable]`, and the central finite-difference estimate beside it.
//!
//! ```text
//! cargo run --release --example quickstart
//! ```

use autodiff::check::central_difference;
use autodiff::prelude::*;

#[differentiable]
fn f(x1: f64, x2: f64) -> f64 {
    x1.ln() + x1 * x2 - x2.sin()
}

fn main() {
    let (x1, x2) = (2.0, 5.0);
    let (y, (d1, d2)) = f_grad(x1, x2);
    let numeric = central_difference(|x| f(x[0], x[1]), &[x1, x2], 1e-6);

    println!("f(x1, x2) = ln x1 + x1*x2 - sin x2   at (x1, x2) = ({x1}, {x2})");
    println!();
    println!("value     f          = {y:.12}");
    println!(
        "                       {:>18}   {:>18}",
        "f_grad (reverse)", "finite differences"
    );
    println!("gradient  df/dx1     = {d1:>18.12}   {:>18.12}", numeric[0]);
    println!("          df/dx2     = {d2:>18.12}   {:>18.12}", numeric[1]);
}
