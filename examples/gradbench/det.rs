//! `det` (cmpad's `det_by_minor`): the determinant by expansion by minors along the first
//! row, recursively, each minor named by its first row and the set of columns already
//! removed (a bit set); `gradient` is the generated gradient.

use autodiff::ndarray::Array2;
use autodiff::prelude::*;
use serde_json::{json, Value};

use super::{count, field, numbers, unknown, Evaluated, Failure};

/// The determinant of the minor of `a` made of rows `row..` and the columns not in `removed`,
/// expanded along its first row; a 2 × 2 minor's last row is read where it is expanded.
///
/// Written as one loop summed into the result (no early return around it): the generated
/// gradient runs each recursive call's adjoint where the call is made, its cotangent
/// (`sign · a[row, col]` times the caller's) known there, adding into the caller's gradient
/// in place — one run of each minor, not its primal and then its vjp.
#[differentiable(wrt(a))]
fn det_of_minor(a: &Array2<f64>, row: usize, removed: u64) -> f64 {
    let n = a.nrows();
    let mut det = if n == 1 { a[[0, 0]] } else { 0.0 };
    let mut sign = 1.0;
    for col in 0..n {
        if n > 1 && removed & (1 << col) == 0 {
            let rest = removed | (1 << col);
            if row + 2 == n {
                // The one column left in the last row.
                let last = (!rest).trailing_zeros() as usize;
                det += sign * a[[row, col]] * a[[row + 1, last]];
            } else {
                det += sign * a[[row, col]] * det_of_minor(a, row + 1, rest);
            }
            sign = -sign;
        }
    }
    det
}

#[differentiable]
fn det_by_minor(a: &Array2<f64>) -> f64 {
    det_of_minor(a, 0, 0)
}

pub fn evaluate(function: &str, input: &Value) -> Result<Evaluated, Failure> {
    let elements = numbers(field(input, "A")?, "A")?;
    let ell = count(field(input, "ell")?, "ell")?;
    if ell == 0 || ell > 64 || elements.len() != ell * ell {
        return Err(format!(
            "\"A\" must hold ell² numbers for 1 ≤ ell ≤ 64, not {} for ell = {ell}",
            elements.len()
        ));
    }
    let a = Array2::from_shape_vec((ell, ell), elements).map_err(|e| e.to_string())?;
    let (output, timings) = match function {
        "primal" => {
            let (y, timings) = super::repeat(input, || det_by_minor(&a))?;
            (json!(y), timings)
        }
        "gradient" => {
            let ((_, g), timings) = super::repeat(input, || det_by_minor_grad(&a))?;
            (json!(g.iter().copied().collect::<Vec<f64>>()), timings)
        }
        other => return Err(unknown("det", other, &["primal", "gradient"])),
    };
    Ok(Evaluated { output, timings })
}
