//! `ba` (ADBench's bundle adjustment): the reprojection error of each of p observations of
//! a point by a camera (Rodrigues rotation, perspective division, radial distortion, focal
//! length and principal point, scaled by the observation's weight) and each weight's
//! error 1 − w². The input is one camera, point, weight and feature, duplicated: n cameras,
//! m points, observation i seeing camera i mod n and point i mod m. `objective` evaluates
//! every observation; `jacobian` assembles the sparse Jacobian (3p rows, 11n + 3m + p
//! columns, compressed rows) from each observation's 2 × 15 block, the generated
//! `reprojection_error_jacobian`, and each weight's derivative, the generated
//! `weight_error_grad`.

use autodiff::ndarray::{Array1, Array2, ArrayView1};
use autodiff::prelude::*;
use serde_json::{json, Value};

use super::{count, field, numbers, unknown, Evaluated, Failure};

/// A camera's parameters: rotation (axis times angle), centre, focal length, principal
/// point, two radial distortion coefficients.
const CAMERA: usize = 11;

/// The weighted reprojection error of a point `x` seen by camera `cam` at `feature`.
#[differentiable(wrt(cam, x, w))]
fn reprojection_error(
    cam: ArrayView1<f64>,
    x: ArrayView1<f64>,
    w: f64,
    feature: ArrayView1<f64>,
) -> (f64, f64) {
    // The point relative to the camera centre, rotated by Rodrigues' formula (to first
    // order where the rotation is zero).
    let (p0, p1, p2) = (x[0] - cam[3], x[1] - cam[4], x[2] - cam[5]);
    let (r0, r1, r2) = (cam[0], cam[1], cam[2]);
    let sqtheta = r0 * r0 + r1 * r1 + r2 * r2;
    let (q0, q1, q2) = if sqtheta != 0.0 {
        let theta = sqtheta.sqrt();
        let (c, s) = (theta.cos(), theta.sin());
        let (k0, k1, k2) = (r0 / theta, r1 / theta, r2 / theta);
        let along = (k0 * p0 + k1 * p1 + k2 * p2) * (1.0 - c);
        (
            p0 * c + (k1 * p2 - k2 * p1) * s + k0 * along,
            p1 * c + (k2 * p0 - k0 * p2) * s + k1 * along,
            p2 * c + (k0 * p1 - k1 * p0) * s + k2 * along,
        )
    } else {
        (
            p0 + (r1 * p2 - r2 * p1),
            p1 + (r2 * p0 - r0 * p2),
            p2 + (r0 * p1 - r1 * p0),
        )
    };
    // Projected, radially distorted, scaled and shifted to pixels.
    let (u, v) = (q0 / q2, q1 / q2);
    let rsq = u * u + v * v;
    let distortion = 1.0 + cam[9] * rsq + cam[10] * rsq * rsq;
    let x_pixel = u * distortion * cam[6] + cam[7];
    let y_pixel = v * distortion * cam[6] + cam[8];
    (w * (x_pixel - feature[0]), w * (y_pixel - feature[1]))
}

/// How far a weight is from one.
#[differentiable]
fn weight_error(w: f64) -> f64 {
    1.0 - w * w
}

/// An observation's camera, point, weight and feature.
type Observation<'a> = (
    ArrayView1<'a, f64>,
    ArrayView1<'a, f64>,
    f64,
    ArrayView1<'a, f64>,
);

/// The duplicated problem.
struct Problem {
    cameras: Array2<f64>,
    points: Array2<f64>,
    weights: Array1<f64>,
    features: Array2<f64>,
    /// Observation i's camera and point.
    observations: Vec<(usize, usize)>,
}

impl Problem {
    fn parse(input: &Value) -> Result<Problem, Failure> {
        let (n, m, p) = (
            count(field(input, "n")?, "n")?,
            count(field(input, "m")?, "m")?,
            count(field(input, "p")?, "p")?,
        );
        if n == 0 || m == 0 || p == 0 {
            return Err(format!(
                "\"n\", \"m\" and \"p\" must be positive, not {n}, {m}, {p}"
            ));
        }
        let vector = |name: &str, len: usize| -> Result<Vec<f64>, Failure> {
            let values = numbers(field(input, name)?, name)?;
            match values.len() == len {
                true => Ok(values),
                false => Err(format!(
                    "\"{name}\" must hold {len} numbers, not {}",
                    values.len()
                )),
            }
        };
        let (camera, point, feature) =
            (vector("cam", CAMERA)?, vector("x", 3)?, vector("feat", 2)?);
        let weight = field(input, "w")?
            .as_f64()
            .ok_or("\"w\" must be a number")?;
        let repeated =
            |row: &[f64], times: usize| Array2::from_shape_fn((times, row.len()), |(_, j)| row[j]);
        Ok(Problem {
            cameras: repeated(&camera, n),
            points: repeated(&point, m),
            weights: Array1::from_elem(p, weight),
            features: repeated(&feature, p),
            observations: (0..p).map(|i| (i % n, i % m)).collect(),
        })
    }

    /// Observation i's camera, point, weight and feature.
    fn observation(&self, i: usize) -> Observation<'_> {
        let (camera, point) = self.observations[i];
        let (cameras, points) = (self.cameras.row(camera), self.points.row(point));
        (cameras, points, self.weights[i], self.features.row(i))
    }

    /// Every observation's reprojection error and every weight's error.
    fn objective(&self) -> (Vec<f64>, Vec<f64>) {
        let mut reprojection = Vec::with_capacity(2 * self.observations.len());
        for i in 0..self.observations.len() {
            let (cam, x, w, feature) = self.observation(i);
            let (ex, ey) = reprojection_error(cam, x, w, feature);
            reprojection.extend([ex, ey]);
        }
        let weights = self.weights.iter().map(|&w| weight_error(w)).collect();
        (reprojection, weights)
    }

    /// The sparse Jacobian of the errors (reprojection errors' rows first, then the
    /// weights'), in compressed rows.
    fn jacobian(&self) -> Sparse {
        let (n, m, p) = (
            self.cameras.nrows(),
            self.points.nrows(),
            self.observations.len(),
        );
        let block = CAMERA + 3 + 1;
        let mut sparse = Sparse {
            rows: Vec::with_capacity(3 * p + 1),
            cols: Vec::with_capacity(2 * block * p + p),
            vals: Vec::with_capacity(2 * block * p + p),
        };
        sparse.rows.push(0);
        let (point_columns, weight_columns) = (CAMERA * n, CAMERA * n + 3 * m);
        for (i, &(camera, point)) in self.observations.iter().enumerate() {
            let (cam, x, w, feature) = self.observation(i);
            let (_, j) = reprojection_error_jacobian(cam, x, w, feature);
            // J's columns: the camera's 11 parameters, the point's 3, the weight.
            for row in j.rows() {
                let columns = (0..CAMERA)
                    .map(|k| CAMERA * camera + k)
                    .chain((0..3).map(|k| point_columns + 3 * point + k))
                    .chain([weight_columns + i]);
                sparse.cols.extend(columns);
                sparse.vals.extend(row.iter());
                sparse.rows.push(sparse.cols.len());
            }
        }
        for (i, &w) in self.weights.iter().enumerate() {
            let (_, dw) = weight_error_grad(w);
            sparse.cols.push(weight_columns + i);
            sparse.vals.push(dw);
            sparse.rows.push(sparse.cols.len());
        }
        sparse
    }
}

/// A matrix in compressed rows: row r's entries are `cols[rows[r]..rows[r + 1]]` and the
/// same range of `vals`.
struct Sparse {
    rows: Vec<usize>,
    cols: Vec<usize>,
    vals: Vec<f64>,
}

impl Sparse {
    /// What the eval compares, undoing the duplication: the first 30 entries of each list
    /// (two observations' blocks) and the last.
    fn summary(&self) -> Value {
        fn ends<T: Copy>(list: &[T]) -> Vec<T> {
            let mut kept = list[..list.len().min(30)].to_vec();
            kept.extend(list.last());
            kept
        }
        json!({ "rows": ends(&self.rows), "cols": ends(&self.cols), "vals": ends(&self.vals) })
    }
}

pub fn evaluate(function: &str, input: &Value) -> Result<Evaluated, Failure> {
    let problem = Problem::parse(input)?;
    let (output, timings) = match function {
        "objective" => {
            let ((reprojection, weights), timings) = super::repeat(input, || problem.objective())?;
            let output = json!({
                "reproj_error": { "elements": reprojection[..2], "repeated": reprojection.len() / 2 },
                "w_err": { "element": weights[0], "repeated": weights.len() },
            });
            (output, timings)
        }
        "jacobian" => {
            let (sparse, timings) = super::repeat(input, || problem.jacobian())?;
            (sparse.summary(), timings)
        }
        other => return Err(unknown("ba", other, &["objective", "jacobian"])),
    };
    Ok(Evaluated { output, timings })
}
