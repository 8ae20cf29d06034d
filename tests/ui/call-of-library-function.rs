use autodiff::prelude::*;

// `libm::erf` is autodiff's own `erf`; `erff` and `tgamma` have no rule.
#[differentiable]
fn f(x: f64) -> f64 {
    libm::erff(x) + libm::tgamma(x) + std::f64::consts::PI * x
}

fn main() {}
