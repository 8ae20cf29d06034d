//! The gradient-descent solver the `particle` and `saddle` evals prescribe (GradBench's
//! shared C++ solver, as its eval READMEs describe it): from a start, step against the
//! gradient with a step size η = 10⁻⁵ that doubles after ten accepted steps in a row and
//! halves on a step that does not decrease the objective; stop when the gradient's norm or
//! the step's length is at most 10⁻⁵. Plain Rust over the objective and gradient it is given
//! (the derivatives are the generated ones): it is the same algorithm in every tool, so that
//! the evals compare the derivatives.

/// Σ vᵢ², then its root: the gradient's norm, or a step's length.
fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// The argmin of `objective` from `start`, `gradient` its gradient.
pub fn argmin(
    objective: impl Fn(&[f64]) -> f64,
    gradient: impl Fn(&[f64]) -> Vec<f64>,
    start: &[f64],
) -> Vec<f64> {
    let mut x = start.to_vec();
    let mut fx = objective(&x);
    let mut gx = gradient(&x);
    let (mut accepted, mut eta) = (0, 1e-5);
    loop {
        if norm(&gx) <= 1e-5 {
            return x;
        }
        if accepted == 10 {
            eta *= 2.0;
            accepted = 0;
            continue;
        }
        let next: Vec<f64> = x.iter().zip(&gx).map(|(x, g)| x - eta * g).collect();
        let step: Vec<f64> = x.iter().zip(&next).map(|(a, b)| a - b).collect();
        if norm(&step) <= 1e-5 {
            return x;
        }
        let f_next = objective(&next);
        if f_next < fx {
            x = next;
            fx = f_next;
            gx = gradient(&x);
            accepted += 1;
        } else {
            eta /= 2.0;
            accepted = 0;
        }
    }
}
