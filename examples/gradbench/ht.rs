//! `ht` (ADBench's hand tracking): a skinned hand model posed by 26 parameters θ (global
//! rotation as axis times angle, global translation, then four angles per finger) and the
//! error between each observed point and the hand point it corresponds to: a vertex of the
//! posed model, or (the "complicated" variant, with `us`) a point of a triangle given by
//! its barycentric coordinates u₀, u₁, 1 − u₀ − u₁. Each bone's pose is its base relative
//! transform times the rotation of its Euler angles, chained from parent to child; each
//! vertex is the sum of its bones' posed transforms (times their inverse base absolutes)
//! applied to its base position, weighted by the skinning weights.
//!
//! `objective` is the 3N errors (point by point, x y z); `jacobian` their 3N × (2 + 26)
//! Jacobian (without `us`, 3N × 26), the columns ∂/∂u₀ and ∂/∂u₁ of each row's own point
//! first, then ∂/∂θ. Every column is a forward sweep of the generated
//! `hand_objective_jvp`: one per θ along a basis vector, and one per barycentric
//! coordinate along every point's u₀ (u₁) at once. Point i's errors depend on its own u
//! alone, so that one sweep gives each row's derivative by its own u₀ (u₁): the Jacobian's
//! block-diagonal part, compressed by seeding every block together.

use autodiff::ndarray::{s, Array1, Array2, Array3, ArrayView1, ArrayView2, Axis};
use autodiff::prelude::*;
use serde_json::{json, Value};

use super::{count, field, matrix, numbers, unknown, Evaluated, Failure};

/// The hand model: constants of the objective.
struct Model {
    /// Each bone's parent (before it), −1 for the root.
    parents: Vec<i64>,
    /// Each bone's 4 × 4 transform relative to its parent in the base pose (bones × 4 × 4).
    base_relatives: Array3<f64>,
    /// The inverse of each bone's absolute transform in the base pose (bones × 4 × 4).
    inverse_base_absolutes: Array3<f64>,
    /// Each vertex's skinning weight of each bone (vertices × bones).
    weights: Array2<f64>,
    /// Each vertex's base coordinate j under the three entries of a transform's column j
    /// (vertices × 12): a blended transform times this, its entries summed by
    /// `column_sums`, is the vertex skinned.
    repeated_bases: Array2<f64>,
    /// The 12 × 3 matrix summing a row of 12 (a transform's columns) into its 3 rows.
    column_sums: Array2<f64>,
    /// Each triangle's three vertices.
    triangles: Vec<[usize; 3]>,
    /// Whether the model is of a left hand, mirrored in x.
    is_mirrored: bool,
}

/// A 4 × 4 homogeneous rotation by Euler angles: about z by `z`, after y by `y`, after x by
/// `x` (R = R_z R_y R_x).
#[differentiable]
fn euler_rotation(x: f64, y: f64, z: f64) -> Array2<f64> {
    let mut rx = Array2::<f64>::eye(4);
    rx[[1, 1]] = x.cos();
    rx[[1, 2]] = -x.sin();
    rx[[2, 1]] = x.sin();
    rx[[2, 2]] = x.cos();
    let mut ry = Array2::<f64>::eye(4);
    ry[[0, 0]] = y.cos();
    ry[[0, 2]] = y.sin();
    ry[[2, 0]] = -y.sin();
    ry[[2, 2]] = y.cos();
    let mut rz = Array2::<f64>::eye(4);
    rz[[0, 0]] = z.cos();
    rz[[0, 1]] = -z.sin();
    rz[[1, 0]] = z.sin();
    rz[[1, 1]] = z.cos();
    rz.dot(&ry).dot(&rx)
}

/// The 3 × 3 rotation about the axis of (r₀, r₁, r₂) by its length (Rodrigues' formula);
/// the identity for an angle below 10⁻⁴.
#[differentiable]
fn axis_angle_rotation(r0: f64, r1: f64, r2: f64) -> Array2<f64> {
    let mut rotation = Array2::<f64>::eye(3);
    let angle = (r0 * r0 + r1 * r1 + r2 * r2).sqrt();
    if angle >= 1e-4 {
        let (x, y, z) = (r0 / angle, r1 / angle, r2 / angle);
        let (s, c) = (angle.sin(), angle.cos());
        rotation[[0, 0]] = x * x + (1.0 - x * x) * c;
        rotation[[0, 1]] = x * y * (1.0 - c) - z * s;
        rotation[[0, 2]] = x * z * (1.0 - c) + y * s;
        rotation[[1, 0]] = x * y * (1.0 - c) + z * s;
        rotation[[1, 1]] = y * y + (1.0 - y * y) * c;
        rotation[[1, 2]] = y * z * (1.0 - c) - x * s;
        rotation[[2, 0]] = x * z * (1.0 - c) - y * s;
        rotation[[2, 1]] = y * z * (1.0 - c) + x * s;
        rotation[[2, 2]] = z * z + (1.0 - z * z) * c;
    }
    rotation
}

/// The errors between the observed `points` (N × 3) and the posed hand's points, point by
/// point: a vertex, or with `us` (N × 2, not empty) the point of a triangle at barycentric
/// coordinates (u₀, u₁, 1 − u₀ − u₁); `corners` are where the coordinates of each point's
/// vertex (of each of its triangle's corners) lie in the positions ([`Model::corners`]).
/// θ: global rotation (3), translation (3), then each of five fingers' first joint's bend
/// and spread and its second and third joints' bends.
#[differentiable(wrt(theta, us))]
fn hand_objective(
    theta: ArrayView1<f64>,
    us: ArrayView2<f64>,
    model: &Model,
    corners: &[Vec<usize>],
    points: &Array2<f64>,
) -> Array1<f64> {
    let bones = model.parents.len();
    // Each bone's Euler angles (x, z, y). Bone 0 is the wrist (the root), bone 21 the
    // forearm, finger f bones 1 + 4f to 4 + 4f: its first bone and the wrist and forearm
    // keep their base pose, its second bends and spreads, its third and fourth bend.
    let mut pose = Array2::<f64>::zeros((bones, 3));
    for finger in 0..5 {
        let (bone, first) = (2 + 4 * finger, 6 + 4 * finger);
        pose[[bone, 0]] = theta[first];
        pose[[bone, 1]] = theta[first + 1];
        pose[[bone + 1, 0]] = theta[first + 2];
        pose[[bone + 2, 0]] = theta[first + 3];
    }
    // Posed absolute transforms, parent before child, and each bone's transform from the
    // base pose to the posed one: its top three rows (the bottom one does not reach the
    // positions), a row of 12 per bone, column by column.
    let mut absolutes = Array3::<f64>::zeros((bones, 4, 4));
    let mut transforms = Array2::<f64>::zeros((bones, 12));
    for bone in 0..bones {
        let rotation = euler_rotation(pose[[bone, 0]], pose[[bone, 2]], pose[[bone, 1]]);
        let relative = model
            .base_relatives
            .index_axis(Axis(0), bone)
            .dot(&rotation);
        let absolute = if model.parents[bone] < 0 {
            relative
        } else {
            let parent = model.parents[bone] as usize;
            absolutes.index_axis(Axis(0), parent).dot(&relative)
        };
        let transform = absolute.dot(&model.inverse_base_absolutes.index_axis(Axis(0), bone));
        for column in 0..4 {
            for row in 0..4 {
                absolutes[[bone, row, column]] = absolute[[row, column]];
                if row < 3 {
                    transforms[[bone, 3 * column + row]] = transform[[row, column]];
                }
            }
        }
    }
    // Each vertex's transform, its bones' blended by the skinning weights (vertices × 12),
    // applied to its homogeneous base position: each entry times its column's base
    // coordinate, then each row's three sums, mirrored for a left hand and rotated by the
    // global rotation in the same product, then translated (vertices × 3).
    let blended = model.weights.view().dot(&transforms) * &model.repeated_bases;
    let mut mirror = Array2::<f64>::eye(3);
    if model.is_mirrored {
        mirror[[0, 0]] = -1.0;
    }
    let global = axis_angle_rotation(theta[0], theta[1], theta[2]).dot(&mirror);
    let positions = blended.dot(&model.column_sums.dot(&global.t())) + theta.slice(s![3..6]);
    // The errors, point by point (x y z): the observed coordinate minus the hand point's,
    // read from the positions' elements (with `us`, the corners' weighted by u₀, u₁, 1 − u₀ − u₁).
    let (coordinates, n) = (positions.flatten(), points.nrows());
    let mut errors = Array1::<f64>::zeros(3 * n);
    if us.nrows() == 0 {
        for i in 0..n {
            for r in 0..3 {
                let k = 3 * i + r;
                errors[k] = points[[i, r]] - coordinates[corners[0][k]];
            }
        }
    } else {
        for i in 0..n {
            let (u0, u1) = (us[[i, 0]], us[[i, 1]]);
            let u2 = 1.0 - u0 - u1;
            for r in 0..3 {
                let k = 3 * i + r;
                let hand = u0 * coordinates[corners[0][k]]
                    + u1 * coordinates[corners[1][k]]
                    + u2 * coordinates[corners[2][k]];
                errors[k] = points[[i, r]] - hand;
            }
        }
    }
    errors
}

impl Model {
    /// Where the coordinates of each corresponding point lie in the positions flattened
    /// (vertices × 3, row-major), three per point: of vertex `correspondences[i]`, or with
    /// `triangles` of each corner of triangle `correspondences[i]` (three lists).
    fn corners(&self, correspondences: &[usize], triangles: bool) -> Vec<Vec<usize>> {
        match triangles {
            false => vec![self.coordinates(correspondences, None)],
            true => (0..3)
                .map(|k| self.coordinates(correspondences, Some(k)))
                .collect(),
        }
    }

    /// [`Model::corners`]' list of vertices, or of the k-th corners (`Some(k)`).
    fn coordinates(&self, correspondences: &[usize], corner: Option<usize>) -> Vec<usize> {
        let mut indices = Vec::with_capacity(3 * correspondences.len());
        for &c in correspondences {
            let vertex = match corner {
                None => c,
                Some(k) => self.triangles[c][k],
            };
            indices.extend([3 * vertex, 3 * vertex + 1, 3 * vertex + 2]);
        }
        indices
    }
}

/// One instance: the model, the correspondences and points, θ and the us.
struct Problem {
    model: Model,
    correspondences: Vec<usize>,
    points: Array2<f64>,
    theta: Array1<f64>,
    us: Array2<f64>,
}

/// A JSON array of `n` × `n` matrices, as one array (count × n × n).
fn matrices(value: &Value, name: &str, n: usize) -> Result<Array3<f64>, Failure> {
    let items = value
        .as_array()
        .ok_or_else(|| format!("\"{name}\" must be an array of matrices"))?;
    let mut all = Array3::zeros((items.len(), n, n));
    for (i, item) in items.iter().enumerate() {
        all.index_axis_mut(Axis(0), i)
            .assign(&matrix(item, name, n)?);
    }
    Ok(all)
}

/// A JSON array of counts.
fn counts(value: &Value, name: &str) -> Result<Vec<usize>, Failure> {
    value
        .as_array()
        .ok_or_else(|| format!("\"{name}\" must be an array of counts"))?
        .iter()
        .map(|v| count(v, name))
        .collect()
}

impl Problem {
    fn parse(input: &Value) -> Result<Problem, Failure> {
        let data = field(input, "data")?;
        let model = field(data, "model")?;
        let parents = field(model, "parents")?
            .as_array()
            .ok_or("\"parents\" must be an array of integers")?
            .iter()
            .map(|p| p.as_i64().ok_or("\"parents\" must hold integers"))
            .collect::<Result<Vec<i64>, _>>()?;
        let bones = parents.len();
        if bones < 22 {
            return Err(format!("the hand needs 22 bones, not {bones}"));
        }
        if (0..bones).any(|b| parents[b] >= b as i64) {
            return Err("each bone's parent must come before it".into());
        }
        let base_relatives = matrices(field(model, "base_relatives")?, "base_relatives", 4)?;
        let inverse_base_absolutes = matrices(
            field(model, "inverse_base_absolutes")?,
            "inverse_base_absolutes",
            4,
        )?;
        let base_positions = matrix(field(model, "base_positions")?, "base_positions", 4)?;
        let weights = matrix(field(model, "weights")?, "weights", bones)?;
        if base_relatives.dim().0 != bones || inverse_base_absolutes.dim().0 != bones {
            return Err(format!("the model needs {bones} transforms of each kind"));
        }
        if weights.nrows() != base_positions.nrows() {
            return Err("\"weights\" needs a row per vertex".into());
        }
        let vertices = base_positions.nrows();
        let triangles = field(model, "triangles")?
            .as_array()
            .ok_or("\"triangles\" must be an array")?
            .iter()
            .map(|t| match counts(t, "triangles")?.as_slice() {
                &[a, b, c] if a.max(b).max(c) < vertices => Ok([a, b, c]),
                _ => Err(format!("a triangle is three vertices, not {t}")),
            })
            .collect::<Result<Vec<_>, Failure>>()?;
        let is_mirrored = field(model, "is_mirrored")?
            .as_bool()
            .ok_or("\"is_mirrored\" must be a boolean")?;
        let correspondences = counts(field(data, "correspondences")?, "correspondences")?;
        let points = matrix(field(data, "points")?, "points", 3)?;
        let theta = Array1::from(numbers(field(input, "theta")?, "theta")?);
        let us = matrix(field(input, "us")?, "us", 2)?;
        if theta.len() != 26 {
            return Err(format!(
                "\"theta\" must hold 26 numbers, not {}",
                theta.len()
            ));
        }
        if points.nrows() != correspondences.len() {
            return Err("\"points\" needs a row per correspondence".into());
        }
        let targets = match us.nrows() {
            0 => vertices,
            n if n == correspondences.len() => triangles.len(),
            _ => return Err("\"us\" needs a row per correspondence, or none".into()),
        };
        if correspondences.iter().any(|&c| c >= targets) {
            return Err(format!("a correspondence is beyond the model's {targets}"));
        }
        Ok(Problem {
            model: Model {
                parents,
                base_relatives,
                inverse_base_absolutes,
                weights,
                repeated_bases: Array2::from_shape_fn((vertices, 12), |(v, entry)| {
                    base_positions[[v, entry / 3]]
                }),
                column_sums: Array2::from_shape_fn((12, 3), |(entry, row)| {
                    f64::from(u8::from(entry % 3 == row))
                }),
                triangles,
                is_mirrored,
            },
            correspondences,
            points,
            theta,
            us,
        })
    }

    /// The corners of the points' coordinates ([`Model::corners`]).
    fn corners(&self) -> Vec<Vec<usize>> {
        self.model
            .corners(&self.correspondences, self.us.nrows() > 0)
    }

    fn objective(&self) -> Array1<f64> {
        hand_objective(
            self.theta.view(),
            self.us.view(),
            &self.model,
            &self.corners(),
            &self.points,
        )
    }

    /// The Jacobian, column by column: a forward sweep along each u coordinate of every
    /// point at once (each row depends on its own point's alone), then along each θ.
    fn jacobian(&self) -> Array2<f64> {
        let us_columns = if self.us.nrows() == 0 { 0 } else { 2 };
        let columns = us_columns + self.theta.len();
        // Built column by column, each a row of this array: the Jacobian is its transpose.
        let mut transposed = Array2::zeros((columns, 3 * self.correspondences.len()));
        let corners = self.corners();
        for column in 0..columns {
            let mut theta_tangent = Array1::zeros(self.theta.len());
            let mut us_tangent = Array2::zeros(self.us.dim());
            if column < us_columns {
                us_tangent.column_mut(column).fill(1.0);
            } else {
                theta_tangent[column - us_columns] = 1.0;
            }
            let (_, derivative) = hand_objective_jvp(
                self.theta.view(),
                self.us.view(),
                &self.model,
                &corners,
                &self.points,
                theta_tangent,
                us_tangent,
            );
            transposed.row_mut(column).assign(&derivative);
        }
        transposed.reversed_axes()
    }
}

pub fn evaluate(function: &str, input: &Value) -> Result<Evaluated, Failure> {
    let problem = Problem::parse(input)?;
    let (output, timings) = match function {
        "objective" => {
            let (errors, timings) = super::repeat(input, || problem.objective())?;
            (json!(errors.to_vec()), timings)
        }
        "jacobian" => {
            let (jacobian, timings) = super::repeat(input, || problem.jacobian())?;
            let rows: Vec<Vec<f64>> = jacobian.rows().into_iter().map(|r| r.to_vec()).collect();
            (json!(rows), timings)
        }
        other => return Err(unknown("ht", other, &["objective", "jacobian"])),
    };
    Ok(Evaluated { output, timings })
}
