//! `kmeans`: the k-means cost f(P, C) = Σᵢ minⱼ ‖Cⱼ − Pᵢ‖², written as k-means code is:
//! each point's nearest centroid found by comparing distances, then the squared distance to
//! that centroid added to the cost, coordinate by coordinate. The distances compared are
//! ‖Cⱼ‖² − 2 Pᵢ·Cⱼ (‖Pᵢ‖² is the same for every j), the products of a block of points with
//! every centroid one matrix product, as JAX's and PyTorch's tools compute them.
//! `cost` is the function itself; `dir` is the Newton direction
//! J·H⁻¹ with respect to the centroids, J the gradient and H the Hessian, which is diagonal
//! (each centroid's coordinates interact with no other: H = 2 · |points nearest Cⱼ| on Cⱼ's
//! coordinates). So its diagonal is H·1, and the generated `kmeans_hvp` along a matrix of
//! ones gives the gradient and that diagonal in one forward-over-reverse sweep.
//!
//! The search only compares distances, so no derivative flows through it: the generated
//! code runs it as the cost does, on real numbers (the products too), with nothing recorded,
//! and differentiates one distance per point. Written as the formula reads, `closest =
//! closest.min(distance)` summed, every distance is differentiated and swept back (the
//! `min` sends a zero adjoint to all but one): 3–8× slower (BENCHMARKS.md, "GradBench:
//! PyTorch and JAX beside us").

use autodiff::ndarray::{s, Array2, Axis};
use autodiff::prelude::*;
use serde_json::{json, Value};

use super::{field, numbers, unknown, Evaluated, Failure};

#[differentiable(hessian, wrt(centroids))]
fn kmeans(points: &Array2<f64>, centroids: &Array2<f64>) -> f64 {
    let (n, k, d) = (points.nrows(), centroids.nrows(), points.ncols());
    // ‖cⱼ − pᵢ‖² = ‖cⱼ‖² − 2 pᵢ·cⱼ + ‖pᵢ‖², the last the same for every j: the products of
    // a block of points with every centroid in one matrix product, small enough to stay in
    // cache.
    let squares = (centroids * centroids).sum_axis(Axis(1));
    let mut cost = 0.0;
    for start in (0..n).step_by(BLOCK) {
        let block = points.slice(s![start..n.min(start + BLOCK), ..]);
        let products = block.dot(&centroids.t());
        for i in 0..block.nrows() {
            let mut nearest = 0;
            let mut closest = f64::INFINITY;
            for j in 0..k {
                let distance = squares[j] - 2.0 * products[[i, j]];
                if distance < closest {
                    closest = distance;
                    nearest = j;
                }
            }
            for l in 0..d {
                let d = centroids[[nearest, l]] - block[[i, l]];
                cost += d * d;
            }
        }
    }
    cost
}

/// Points per matrix product: 256 × 1 000 products are 2 MB.
const BLOCK: usize = 256;

/// J·H⁻¹: the gradient over the Hessian's diagonal, element by element.
fn direction(points: &Array2<f64>, centroids: &Array2<f64>) -> Array2<f64> {
    let (_, gradient, diagonal) = kmeans_hvp(points, centroids, autodiff::ones_like(centroids));
    gradient / diagonal
}

/// A JSON array of rows of one length, as a matrix.
fn matrix(value: &Value, name: &str) -> Result<Array2<f64>, Failure> {
    let rows = value
        .as_array()
        .ok_or_else(|| format!("\"{name}\" must be an array of rows"))?;
    let rows: Vec<Vec<f64>> = rows
        .iter()
        .map(|row| numbers(row, name))
        .collect::<Result<_, _>>()?;
    let width = rows.first().map_or(0, Vec::len);
    if let Some(row) = rows.iter().find(|row| row.len() != width) {
        return Err(format!(
            "the rows of \"{name}\" must have one length: {width} and {}",
            row.len()
        ));
    }
    let flat = rows.concat();
    Array2::from_shape_vec((rows.len(), width), flat).map_err(|e| e.to_string())
}

fn rows(m: &Array2<f64>) -> Value {
    json!(m.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>())
}

pub fn evaluate(function: &str, input: &Value) -> Result<Evaluated, Failure> {
    let points = matrix(field(input, "points")?, "points")?;
    let centroids = matrix(field(input, "centroids")?, "centroids")?;
    if centroids.nrows() == 0 || points.ncols() != centroids.ncols() {
        return Err(format!(
            "points of dimension {} and {} centroids of dimension {}: there must be a centroid, of the points' dimension",
            points.ncols(),
            centroids.nrows(),
            centroids.ncols()
        ));
    }
    let (output, timings) = match function {
        "cost" => {
            let (y, timings) = super::repeat(input, || kmeans(&points, &centroids))?;
            (json!(y), timings)
        }
        "dir" => {
            let (dir, timings) = super::repeat(input, || direction(&points, &centroids))?;
            (rows(&dir), timings)
        }
        other => return Err(unknown("kmeans", other, &["cost", "dir"])),
    };
    Ok(Evaluated { output, timings })
}
