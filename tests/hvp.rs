//! `f_hvp` and `f_hessian_diagonal`, generated with `f_hessian` by
//! `#[differentiable(hessian)]`: the Hessian-vector product against the dense Hessian times
//! v and against central differences of the gradient along v, the diagonal against the
//! dense Hessian's; in f64 and f32, over scalars, arrays and structs of parameters, through
//! loops, branches and elementwise closures; and the diagonal of a separable function as one
//! product with a vector of ones.

use autodiff::check::close;
use autodiff::ndarray::{array, Array1, Array2, ArrayView2};
use autodiff::prelude::*;

/// A gradient-shaped value (a float, an array, a struct or a tuple of them) as a flat vector,
/// in the Hessian's order.
fn flat<P: Parameters>(p: &P) -> Vec<f64>
where
    P::Elem: Into<f64>,
{
    let mut out = Vec::new();
    p.for_each_leaf(&mut |leaf| out.extend(leaf.iter().map(|&x| x.into())));
    out
}

/// H·v of the dense Hessian.
fn times(h: &Array2<f64>, v: &[f64]) -> Vec<f64> {
    h.dot(&Array1::from(v.to_vec())).to_vec()
}

/// ∇f(x + εv) − ∇f(x − εv) over 2ε: the directional derivative of the gradient.
fn gradient_difference(grad: impl Fn(&[f64]) -> Vec<f64>, x: &[f64], v: &[f64]) -> Vec<f64> {
    let scale = x.iter().fold(1.0_f64, |m, xi| m.max(xi.abs()));
    let step = 1e-5 * scale;
    let up: Vec<f64> = x.iter().zip(v).map(|(xi, vi)| xi + step * vi).collect();
    let down: Vec<f64> = x.iter().zip(v).map(|(xi, vi)| xi - step * vi).collect();
    let (gu, gd) = (grad(&up), grad(&down));
    gu.iter()
        .zip(&gd)
        .map(|(a, b)| (a - b) / (2.0 * step))
        .collect()
}

fn assert_close(name: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{name}: lengths");
    for (k, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(close(*a, *b, tol), "{name}[{k}]: {a} against {b}");
    }
}

/// The diagonal of a dense matrix.
fn diagonal(h: &Array2<f64>) -> Vec<f64> {
    h.diag().to_vec()
}

#[differentiable(hessian)]
fn seed(x1: f64, x2: f64) -> f64 {
    x1.ln() + x1 * x2 - x2.sin()
}

#[test]
fn scalars() {
    let (x1, x2) = (2.0, 5.0);
    let (value, gradient, h) = seed_hessian(x1, x2);
    for v in [[1.0, 0.0], [0.0, 1.0], [0.3, -2.0]] {
        let (hv_value, hv_gradient, (a, b)) = seed_hvp(x1, x2, v[0], v[1]);
        assert_eq!((hv_value, hv_gradient), (value, gradient));
        assert_close("seed H·v", &[a, b], &times(&h, &v), 1e-15);
        let differences = gradient_difference(
            |p| {
                let (_, (a, b)) = seed_grad(p[0], p[1]);
                vec![a, b]
            },
            &[x1, x2],
            &v,
        );
        assert_close("seed H·v by differences", &[a, b], &differences, 1e-7);
    }
    let (d_value, d_gradient, (d1, d2)) = seed_hessian_diagonal(x1, x2);
    assert_eq!((d_value, d_gradient), (value, gradient));
    assert_eq!(vec![d1, d2], diagonal(&h));
}

/// Rosenbrock's function in n dimensions, with loops over the array.
#[differentiable(hessian)]
fn rosenbrock(x: &Array1<f64>) -> f64 {
    let mut sum = 0.0;
    for i in 0..x.len() - 1 {
        sum += 100.0 * (x[i + 1] - x[i] * x[i]).powi(2) + (1.0 - x[i]).powi(2);
    }
    sum
}

#[test]
fn arrays_through_loops() {
    let x = array![-1.2, 1.0, 0.4, 2.0, -0.5];
    let v = array![0.5, -1.0, 2.0, 0.25, 1.5];
    let (value, gradient, h) = rosenbrock_hessian(&x);
    let (hv_value, hv_gradient, hv) = rosenbrock_hvp(&x, v.clone());
    assert_eq!((hv_value, &hv_gradient), (value, &gradient));
    assert_close(
        "rosenbrock H·v",
        &hv.to_vec(),
        &times(&h, &v.to_vec()),
        1e-13,
    );
    let differences = gradient_difference(
        |p| rosenbrock_grad(&Array1::from(p.to_vec())).1.to_vec(),
        x.as_slice().unwrap(),
        v.as_slice().unwrap(),
    );
    assert_close(
        "rosenbrock H·v by differences",
        &hv.to_vec(),
        &differences,
        1e-6,
    );
    let (_, d_gradient, d) = rosenbrock_hessian_diagonal(&x);
    assert_eq!(d_gradient, gradient);
    assert_eq!(d.to_vec(), diagonal(&h));
}

/// An array and a scalar, a branch per element and an elementwise closure: the gradient and
/// H·v are pairs.
#[differentiable(wrt(w, b), hessian)]
fn piecewise(w: &Array1<f64>, b: f64, data: &Array1<f64>) -> f64 {
    let mut total = 0.0;
    for i in 0..w.len() {
        let z = w[i] * data[i] + b;
        if z > 0.0 {
            total += z.ln_1p() * b;
        } else {
            total += z * z * w[i];
        }
    }
    total + w.mapv(|v| (v * b).tanh()).sum()
}

#[test]
fn an_array_and_a_scalar_through_branches() {
    let (w, b, data) = (array![0.3, -0.8, 1.1], 0.4, array![2.0, 1.5, -0.7]);
    let (vw, vb) = (array![1.0, -0.5, 0.25], -1.5);
    let (value, gradient, h) = piecewise_hessian(&w, b, &data);
    let (hv_value, hv_gradient, (hw, hb)) = piecewise_hvp(&w, b, &data, vw.clone(), vb);
    assert_eq!((hv_value, &hv_gradient), (value, &gradient));
    let v: Vec<f64> = vw.iter().copied().chain([vb]).collect();
    let hv: Vec<f64> = hw.iter().copied().chain([hb]).collect();
    assert_close("piecewise H·v", &hv, &times(&h, &v), 1e-14);
    let point: Vec<f64> = w.iter().copied().chain([b]).collect();
    let differences = gradient_difference(
        |p| {
            let (_, (gw, gb)) = piecewise_grad(&Array1::from(p[..3].to_vec()), p[3], &data);
            gw.iter().copied().chain([gb]).collect()
        },
        &point,
        &v,
    );
    assert_close("piecewise H·v by differences", &hv, &differences, 1e-6);
    let (_, _, (dw, db)) = piecewise_hessian_diagonal(&w, b, &data);
    let d: Vec<f64> = dw.iter().copied().chain([db]).collect();
    assert_eq!(d, diagonal(&h));
}

/// In f32: the sweeps run on `Dual<f32>`.
#[differentiable(hessian)]
fn single(x: &Array1<f32>, s: f32) -> f32 {
    (x.mapv(|v| (v * s).sin()) * x).sum() + s.exp()
}

#[test]
fn single_precision() {
    let (x, s) = (array![0.5_f32, -1.0, 2.0], 0.7_f32);
    let (vx, vs) = (array![1.0_f32, 0.5, -0.25], 2.0_f32);
    let (value, gradient, h) = single_hessian(&x, s);
    let (hv_value, hv_gradient, hv) = single_hvp(&x, s, vx.clone(), vs);
    assert_eq!((hv_value, &hv_gradient), (value, &gradient));
    let h = h.mapv(f64::from);
    let v: Vec<f64> = vx.iter().chain([&vs]).map(|&e| e.into()).collect();
    assert_close("f32 H·v", &flat(&hv), &times(&h, &v), 1e-5);
    // Differences in f64 of the f32 gradient would be noise: of the same function in f64.
    let differences = gradient_difference(
        |p| {
            let (x, s) = (Array1::from(p[..3].to_vec()), p[3]);
            let g_x = (&x * s).mapv(f64::sin) + (&x * s).mapv(f64::cos) * s * &x;
            let g_s = (&x * &x * (&x * s).mapv(f64::cos)).sum() + s.exp();
            g_x.iter().copied().chain([g_s]).collect()
        },
        &[0.5, -1.0, 2.0, 0.7],
        &v,
    );
    assert_close("f32 H·v by differences", &flat(&hv), &differences, 1e-4);
    let (_, _, d) = single_hessian_diagonal(&x, s);
    assert_close("f32 diagonal", &flat(&d), &diagonal(&h), 0.0);
}

#[derive(Parameters, Clone, Debug, PartialEq)]
struct Quadratic {
    a: Array2<f64>,
    c: f64,
    #[parameters(skip)]
    scale: f64,
}

/// A struct of parameters with a hyperparameter: its tangent is the struct's type, the
/// hyperparameter's part ignored (zero).
#[differentiable(hessian, wrt(p))]
fn energy(p: &Quadratic, v: &Array1<f64>) -> f64 {
    let av = p.a.dot(v);
    (&av * &av).sum() * p.c * p.scale + p.c.powi(3)
}

#[test]
fn structs_of_parameters() {
    let p = Quadratic {
        a: array![[1.0, 2.0], [-0.5, 0.3]],
        c: 0.8,
        scale: 1.5,
    };
    let x = array![0.7, -1.1];
    let direction = Quadratic {
        a: array![[0.5, -1.0], [2.0, 0.25]],
        c: -0.75,
        scale: 1e6, // not a leaf: no part of the direction
    };
    let (value, gradient, h) = energy_hessian(&p, &x);
    let (hv_value, hv_gradient, hv) = energy_hvp(&p, &x, direction.clone());
    assert_eq!((hv_value, &hv_gradient), (value, &gradient));
    assert_eq!(hv.scale, p.scale, "a hyperparameter keeps its value");
    assert_close(
        "struct H·v",
        &flat(&hv),
        &times(&h, &flat(&direction)),
        1e-14,
    );
    let differences = gradient_difference(
        |q| {
            let moved = Quadratic {
                a: Array2::from_shape_vec((2, 2), q[..4].to_vec()).unwrap(),
                c: q[4],
                scale: p.scale,
            };
            flat(&energy_grad(&moved, &x).1)
        },
        &flat(&p),
        &flat(&direction),
    );
    assert_close("struct H·v by differences", &flat(&hv), &differences, 1e-6);
    let (_, _, d) = energy_hessian_diagonal(&p, &x);
    assert_eq!(d.scale, p.scale);
    assert_eq!(flat(&d), diagonal(&h));
}

/// k-means' cost Σᵢ minⱼ ‖pᵢ − cⱼ‖²: separable in the centroids' coordinates, so its Hessian
/// is diagonal and H·1 is that diagonal.
/// A two-layer network: its sweeps on dual numbers multiply dual matrices, large enough here
/// (20 × 16 by 16 × 16) to run as three float products.
#[differentiable(hessian, wrt(w1, w2))]
fn network(w1: &Array2<f64>, w2: &Array2<f64>, x: &Array2<f64>) -> f64 {
    let y = x.dot(w1).tanh().dot(w2);
    (&y * &y).sum()
}

#[test]
fn matrix_products_on_dual_numbers() {
    let entries = |rows: usize, cols: usize, seed: usize, scale: f64| {
        Array2::from_shape_fn((rows, cols), |(i, j)| {
            scale * (((i * 37 + j * 11 + seed) % 29) as f64 / 14.0 - 1.0)
        })
    };
    let (x, w1, w2) = (
        entries(20, 16, 1, 1.0),
        entries(16, 16, 2, 0.3),
        entries(16, 3, 3, 0.3),
    );
    let (v1, v2) = (entries(16, 16, 4, 1.0), entries(16, 3, 5, 1.0));
    let split = |p: &[f64]| {
        (
            Array2::from_shape_vec((16, 16), p[..256].to_vec()).unwrap(),
            Array2::from_shape_vec((16, 3), p[256..].to_vec()).unwrap(),
        )
    };
    let point = flat(&(w1.clone(), w2.clone()));
    let direction = flat(&(v1.clone(), v2.clone()));
    let (_, gradient, hv) = network_hvp(&w1, &w2, &x, v1, v2);
    let grad = |p: &[f64]| {
        let (w1, w2) = split(p);
        flat(&network_grad(&w1, &w2, &x).1)
    };
    assert_close("gradient", &flat(&gradient), &grad(&point), 1e-12);
    let differences = gradient_difference(grad, &point, &direction);
    assert_close("H·v", &flat(&hv), &differences, 1e-6);
    let (_, _, hessian) = network_hessian(&w1, &w2, &x);
    assert_close(
        "H·v, dense",
        &flat(&hv),
        &times(&hessian, &direction),
        1e-10,
    );
}

#[differentiable(hessian, wrt(centroids))]
fn kmeans(points: &Array2<f64>, centroids: &Array2<f64>) -> f64 {
    let mut cost = 0.0;
    for i in 0..points.nrows() {
        let mut closest = f64::INFINITY;
        for j in 0..centroids.nrows() {
            let mut distance = 0.0;
            for l in 0..points.ncols() {
                let d = points[[i, l]] - centroids[[j, l]];
                distance += d * d;
            }
            closest = closest.min(distance);
        }
        cost += closest;
    }
    cost
}

#[test]
fn a_separable_function_s_diagonal_in_one_product() {
    let points = array![[0.0, 0.1], [0.2, 0.9], [1.0, 1.1], [0.9, 0.8], [0.1, -0.2]];
    let centroids = array![[0.0, 0.0], [1.0, 1.0]];
    let (_, gradient, h) = kmeans_hessian(&points, &centroids);
    let (_, hv_gradient, ones_product) =
        kmeans_hvp(&points, &centroids, autodiff::ones_like(&centroids));
    let (_, d_gradient, d) = kmeans_hessian_diagonal(&points, &centroids);
    assert_eq!((&hv_gradient, &d_gradient), (&gradient, &gradient));
    // H = 2 · (points per centroid) · I: 2 points nearest the first centroid, 3 the second.
    assert_eq!(diagonal(&h), vec![4.0, 4.0, 6.0, 6.0]);
    assert_eq!(h.sum(), 20.0, "diagonal");
    assert_eq!(flat(&ones_product), diagonal(&h));
    assert_eq!(flat(&d), diagonal(&h));
}

/// A search whose distances are only compared, which `f_hvp`'s sweep runs on real numbers,
/// beside values on duals: a float parameter read both by the comparison (`distance * scale`)
/// and by the result, and a difference both compared and differentiated (`shifted`).
#[differentiable(hessian, wrt(centroids, scale))]
fn nearest_scaled(points: &Array2<f64>, centroids: &Array2<f64>, scale: f64) -> f64 {
    let mut cost = 0.0;
    for i in 0..points.nrows() {
        let mut nearest = 0;
        let mut closest = f64::INFINITY;
        for j in 0..centroids.nrows() {
            let mut distance = 0.0;
            for l in 0..points.ncols() {
                let d = centroids[[j, l]] - points[[i, l]];
                distance += d * d;
            }
            if distance * scale < closest {
                closest = distance * scale;
                nearest = j;
            }
        }
        let shifted = centroids[[nearest, 0]] - points[[i, 0]];
        cost += if shifted > 0.0 {
            scale * shifted.powi(3)
        } else {
            shifted.sin() * centroids[[nearest, 1]]
        };
    }
    cost
}

#[test]
fn a_search_on_real_numbers_beside_values_on_duals() {
    let points = array![[0.0, 0.1], [0.2, 0.9], [1.0, 1.1], [0.9, 0.8], [0.1, -0.2]];
    let centroids = array![[0.3, 0.2], [1.2, 0.7], [0.05, 0.6]];
    let (scale, v_scale) = (1.7, -0.6);
    let v_centroids = array![[1.0, -0.5], [0.25, 2.0], [-1.5, 0.75]];
    let (value, gradient) = nearest_scaled_grad(&points, &centroids, scale);
    let (hv_value, hv_gradient, (hc, hs)) =
        nearest_scaled_hvp(&points, &centroids, scale, v_centroids.clone(), v_scale);
    assert_eq!(hv_value, value);
    assert_close("gradient", &flat(&hv_gradient), &flat(&gradient), 1e-15);
    let v: Vec<f64> = v_centroids.iter().copied().chain([v_scale]).collect();
    let hv: Vec<f64> = hc.iter().copied().chain([hs]).collect();
    let point: Vec<f64> = centroids.iter().copied().chain([scale]).collect();
    let grad = |p: &[f64]| {
        let centroids = Array2::from_shape_vec((3, 2), p[..6].to_vec()).unwrap();
        let (_, (gc, gs)) = nearest_scaled_grad(&points, &centroids, p[6]);
        gc.iter().copied().chain([gs]).collect()
    };
    assert_close(
        "H·v by differences",
        &hv,
        &gradient_difference(grad, &point, &v),
        1e-6,
    );
    let (_, _, h) = nearest_scaled_hessian(&points, &centroids, scale);
    assert_close("H·v, dense", &hv, &times(&h, &v), 1e-12);
    let (_, _, (dc, ds)) = nearest_scaled_hessian_diagonal(&points, &centroids, scale);
    let d: Vec<f64> = dc.iter().copied().chain([ds]).collect();
    assert_eq!(d, diagonal(&h));
}

/// The same search over centroids passed as a view, and owned, which the sweep reads as
/// passed too.
#[differentiable(hessian, wrt(centroids))]
fn nearest_owned(points: &Array2<f64>, centroids: Array2<f64>) -> f64 {
    let mut cost = 0.0;
    for i in 0..points.nrows() {
        let mut nearest = 0;
        let mut closest = f64::INFINITY;
        for j in 0..centroids.nrows() {
            let distance = (centroids[[j, 0]] - points[[i, 0]]).powi(2)
                + (centroids[[j, 1]] - points[[i, 1]]).powi(2);
            if distance < closest {
                closest = distance;
                nearest = j;
            }
        }
        let d = &centroids.row(nearest) - &points.row(i);
        cost += d.dot(&d).sqrt();
    }
    cost
}

#[differentiable(hessian, wrt(centroids))]
fn nearest_in_view(points: &Array2<f64>, centroids: ArrayView2<f64>) -> f64 {
    let mut cost = 0.0;
    for i in 0..points.nrows() {
        let mut nearest = 0;
        let mut closest = f64::INFINITY;
        for j in 0..centroids.nrows() {
            let d = &centroids.row(j) - &points.row(i);
            let distance = d.dot(&d);
            if distance < closest {
                closest = distance;
                nearest = j;
            }
        }
        let d = &centroids.row(nearest) - &points.row(i);
        cost += d.dot(&d).sqrt();
    }
    cost
}

#[test]
fn a_search_over_a_view_and_an_owned_array() {
    let points = array![[0.0, 0.1], [0.2, 0.9], [1.0, 1.1], [0.9, 0.8], [0.1, -0.2]];
    let centroids = array![[0.3, 0.2], [1.2, 0.7], [0.05, 0.6]];
    let v = array![[1.0, -0.5], [0.25, 2.0], [-1.5, 0.75]];
    let (value, gradient) = nearest_in_view_grad(&points, centroids.view());
    let (hv_value, hv_gradient, hv) = nearest_in_view_hvp(&points, centroids.view(), v.clone());
    assert_eq!(hv_value, value);
    assert_close("gradient", &flat(&hv_gradient), &flat(&gradient), 1e-15);
    let grad = |p: &[f64]| {
        let centroids = Array2::from_shape_vec((3, 2), p.to_vec()).unwrap();
        flat(&nearest_in_view_grad(&points, centroids.view()).1)
    };
    let point: Vec<f64> = centroids.iter().copied().collect();
    let direction: Vec<f64> = v.iter().copied().collect();
    let differences = gradient_difference(grad, &point, &direction);
    assert_close("H·v by differences", &flat(&hv), &differences, 1e-6);
    let (_, owned_gradient, owned_hv) = nearest_owned_hvp(&points, centroids.clone(), v);
    assert_close(
        "owned: gradient",
        &flat(&owned_gradient),
        &flat(&gradient),
        1e-14,
    );
    assert_close("owned: H·v", &flat(&owned_hv), &flat(&hv), 1e-12);
}

/// A condition on a closure capturing a differentiated float: computed on real numbers, the
/// closure captures the float as passed (seed 233 of the random programs: a reference to it
/// was captured, E0277).
#[differentiable(hessian)]
fn branch_on_a_closure(x: &Array1<f64>, s: f64) -> f64 {
    let m = x.mapv(|v| (v + s).sin()).sum();
    if m > 0.0 {
        (x * s).sum()
    } else {
        (x * x).sum() * s
    }
}

#[test]
fn a_condition_on_a_closure_capturing_a_float() {
    for (x, s) in [(array![0.3, 0.2], 0.5), (array![-2.0, -1.5], 0.1)] {
        let (value, (gx, gs)) = branch_on_a_closure_grad(&x, s);
        let (_, (hx, hs), _) = branch_on_a_closure_hvp(&x, s, array![1.0, 0.0], 0.0);
        assert_eq!(value, branch_on_a_closure(&x, s));
        assert_close("gradient", &flat(&(hx, hs)), &flat(&(gx, gs)), 1e-15);
    }
}

/// A sum read after its loop, whose adjoint the Hessian's sweep runs beside its forward
/// code from one and scales; inside it, a loop adding to it (fused too).
#[differentiable(hessian)]
fn log_of_mean(x: &Array1<f64>, s: f64) -> f64 {
    let mut total = 0.0;
    for i in 0..x.len() {
        total += (x[i] * s).sin() * x[i];
        for j in 0..i {
            total += x[i] * x[j] * s;
        }
    }
    (total / x.len() as f64 + 3.0).ln() * s
}

#[test]
fn a_scaled_sum_through_the_hessians_sweep() {
    let (x, s) = (array![0.3, -0.8, 1.1, 0.4], 0.7);
    let v = [1.0, -0.5, 0.25, 2.0, -1.5];
    let (value, (gx, gs)) = log_of_mean_grad(&x, s);
    let (hv_value, (hx, hs), (px, ps)) =
        log_of_mean_hvp(&x, s, Array1::from(v[..4].to_vec()), v[4]);
    assert_eq!(hv_value, value);
    let gradient: Vec<f64> = gx.iter().copied().chain([gs]).collect();
    assert_close("gradient", &flat(&(hx, hs)), &gradient, 1e-14);
    let point: Vec<f64> = x.iter().copied().chain([s]).collect();
    let grad = |p: &[f64]| {
        let (_, (gx, gs)) = log_of_mean_grad(&Array1::from(p[..4].to_vec()), p[4]);
        gx.iter().copied().chain([gs]).collect()
    };
    let hv: Vec<f64> = px.iter().copied().chain([ps]).collect();
    assert_close(
        "H·v by differences",
        &hv,
        &gradient_difference(grad, &point, &v),
        1e-6,
    );
    let (_, _, h) = log_of_mean_hessian(&x, s);
    assert_close("H·v, dense", &hv, &times(&h, &v), 1e-12);
}

#[test]
fn h_times_ones_is_not_the_diagonal_of_a_coupled_function() {
    // The seed function couples x1 and x2 (H[0, 1] = 1): H·1 is the rows' sums.
    let (_, _, h) = seed_hessian(2.0, 5.0);
    let (_, _, (a, b)) = seed_hvp(2.0, 5.0, 1.0, 1.0);
    let (_, _, (d1, d2)) = seed_hessian_diagonal(2.0, 5.0);
    assert_close("H·1", &[a, b], &[h.row(0).sum(), h.row(1).sum()], 1e-15);
    assert!((a - d1).abs() > 0.5 && (b - d2).abs() > 0.5);
}

/// A function of an empty array: one sweep still gives the value and gradient.
#[test]
fn empty_arrays() {
    #[differentiable(hessian)]
    fn total(x: &Array1<f64>) -> f64 {
        x.mapv(|v| v * v).sum() + 1.0
    }
    let empty = Array1::<f64>::zeros(0);
    let (value, gradient, d) = total_hessian_diagonal(&empty);
    assert_eq!((value, gradient.len(), d.len()), (1.0, 0, 0));
    let (value, gradient, hv) = total_hvp(&empty, Array1::zeros(0));
    assert_eq!((value, gradient.len(), hv.len()), (1.0, 0, 0));
}

#[test]
#[should_panic(expected = "seeded with a tangent of shape [2]")]
fn a_direction_of_another_shape_panics() {
    let _ = rosenbrock_hvp(&array![1.0, 2.0, 3.0], array![1.0, 0.0]);
}
