//! Numerical derivatives, the lectures' "100 % numerical" baseline: slow, but independent of
//! any derivative rule, so they check the generated gradients.

/// The gradient of `f` at `x` by central finite differences,
/// ∂f/∂xᵢ ≈ (f(x + hᵢeᵢ) − f(x − hᵢeᵢ)) / 2hᵢ, with the step scaled to each coordinate,
/// hᵢ = h·max(1, |xᵢ|). Costs 2n evaluations of `f`.
///
/// ```
/// use autodiff_runtime::check::central_difference;
/// let g = central_difference(|v| v[0] * v[0] * v[1], &[3.0, 2.0], 1e-5);
/// assert!((g[0] - 12.0).abs() < 1e-6 && (g[1] - 9.0).abs() < 1e-6);
/// ```
pub fn central_difference(f: impl Fn(&[f64]) -> f64, x: &[f64], h: f64) -> Vec<f64> {
    let mut point = x.to_vec();
    (0..x.len())
        .map(|i| {
            let step = h * x[i].abs().max(1.0);
            point[i] = x[i] + step;
            let up = f(&point);
            point[i] = x[i] - step;
            let down = f(&point);
            point[i] = x[i];
            (up - down) / (2.0 * step)
        })
        .collect()
}

/// Whether `a` and `b` agree to within `tol`, relative to their size once that exceeds 1.
///
/// ```
/// use autodiff_runtime::check::close;
/// assert!(close(1000.0, 1000.001, 1e-5));
/// assert!(!close(1.0, 1.1, 1e-5));
/// ```
pub fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1.0)
}
