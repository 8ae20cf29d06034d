//! Functions with array and tuple results: `f_jacobian` against central finite differences,
//! and `f_jvp` / `f_vjp` against the Jacobian and each other (the dot-product test
//! ⟨J·ẋ, ȳ⟩ = ⟨ẋ, Jᵀ·ȳ⟩). The functions are chosen so that both of `f_jacobian`'s sweeps
//! run: fewer inputs than outputs (tangent sweeps) and more (adjoint sweeps).

use autodiff::check::{central_difference, close};
use autodiff::ndarray::{array, Array1, Array2};
use autodiff::prelude::*;
use autodiff::train::Rng;

/// Every leaf of `p`, in order: how `f_jacobian` flattens parameters and results.
fn flat<P: Parameters<Elem = f64>>(p: &P) -> Vec<f64> {
    let mut out = Vec::new();
    p.for_each_leaf(&mut |leaf| out.extend_from_slice(leaf));
    out
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// A derivative product in flat form: (point, direction) → result.
type Product<'a> = &'a dyn Fn(&[f64], &[f64]) -> Vec<f64>;

/// A function of flat inputs, with its generated derivatives in flat form.
struct Case<'a> {
    name: &'a str,
    x: Vec<f64>,
    eval: &'a dyn Fn(&[f64]) -> Vec<f64>,
    jacobian: &'a dyn Fn(&[f64]) -> Array2<f64>,
    /// The result's tangent along a flat input tangent.
    jvp: Product<'a>,
    /// The gradient (flat) for a flat result cotangent.
    vjp: Product<'a>,
}

impl Case<'_> {
    fn check(&self) {
        let name = self.name;
        let jacobian = (self.jacobian)(&self.x);
        let m = (self.eval)(&self.x).len();
        assert_eq!(jacobian.dim(), (m, self.x.len()), "{name}: Jacobian shape");
        for i in 0..m {
            let row = central_difference(|v| (self.eval)(v)[i], &self.x, 1e-6);
            for (j, fd) in row.iter().enumerate() {
                let exact = jacobian[[i, j]];
                assert!(
                    close(exact, *fd, 1e-6),
                    "{name}: J[{i}, {j}] = {exact}, differences {fd}"
                );
            }
        }
        let mut rng = Rng::new(7);
        for _ in 0..3 {
            let tangent: Vec<f64> = (0..self.x.len()).map(|_| rng.normal()).collect();
            let cotangent: Vec<f64> = (0..m).map(|_| rng.normal()).collect();
            let jv = (self.jvp)(&self.x, &tangent);
            let vj = (self.vjp)(&self.x, &cotangent);
            let expect_jv = jacobian.dot(&Array1::from(tangent.clone()));
            let expect_vj = jacobian.t().dot(&Array1::from(cotangent.clone()));
            for (a, b) in jv.iter().zip(&expect_jv).chain(vj.iter().zip(&expect_vj)) {
                assert!(close(*a, *b, 1e-12), "{name}: {a} vs {b} from the Jacobian");
            }
            let (left, right) = (dot(&jv, &cotangent), dot(&tangent, &vj));
            assert!(
                close(left, right, 1e-12),
                "{name}: ⟨Jẋ, ȳ⟩ = {left}, ⟨ẋ, Jᵀȳ⟩ = {right}"
            );
        }
    }
}

#[differentiable]
fn polar(r: f64, theta: f64) -> (f64, f64) {
    (r * theta.cos(), r * theta.sin())
}

#[test]
fn polar_coordinates_have_the_textbook_jacobian() {
    let (r, theta) = (2.0, 0.3);
    let ((x, y), j) = polar_jacobian(r, theta);
    assert_eq!((x, y), polar(r, theta));
    let expected = array![
        [theta.cos(), -r * theta.sin()],
        [theta.sin(), r * theta.cos()]
    ];
    assert!((j - expected).iter().all(|d| d.abs() < 1e-15));
    Case {
        name: "polar",
        x: vec![r, theta],
        eval: &|v| {
            let (a, b) = polar(v[0], v[1]);
            vec![a, b]
        },
        jacobian: &|v| polar_jacobian(v[0], v[1]).1,
        jvp: &|v, t| flat(&polar_jvp(v[0], v[1], t[0], t[1]).1),
        vjp: &|v, c| flat(&polar_vjp(v[0], v[1], (c[0], c[1])).1),
    }
    .check();
}

/// A dense layer: more inputs (w, x, b: 17) than outputs (3), so `f_jacobian` sweeps rows.
#[differentiable]
fn layer(w: &Array2<f64>, x: &Array1<f64>, b: f64) -> Array1<f64> {
    (w.dot(x) + b).tanh()
}

fn unpack_layer(v: &[f64]) -> (Array2<f64>, Array1<f64>, f64) {
    let w = Array2::from_shape_vec((3, 4), v[..12].to_vec()).unwrap();
    (w, Array1::from(v[12..16].to_vec()), v[16])
}

#[test]
fn dense_layer() {
    let mut rng = Rng::new(1);
    Case {
        name: "layer",
        x: (0..17).map(|_| 0.5 * rng.normal()).collect(),
        eval: &|v| {
            let (w, x, b) = unpack_layer(v);
            layer(&w, &x, b).to_vec()
        },
        jacobian: &|v| {
            let (w, x, b) = unpack_layer(v);
            layer_jacobian(&w, &x, b).1
        },
        jvp: &|v, t| {
            let (w, x, b) = unpack_layer(v);
            let (tw, tx, tb) = unpack_layer(t);
            layer_jvp(&w, &x, b, tw, tx, tb).1.to_vec()
        },
        vjp: &|v, c| {
            let (w, x, b) = unpack_layer(v);
            flat(&layer_vjp(&w, &x, b, Array1::from(c.to_vec())).1)
        },
    }
    .check();
}

/// Fewer inputs (4) than outputs (5 × 4 + 1), a matrix and a scalar in a tuple, the input
/// returned as it is, and a constant: `f_jacobian` sweeps columns.
#[differentiable(wrt(u))]
fn spread(u: &Array1<f64>, c: &Array2<f64>) -> (Array2<f64>, f64, Array1<f64>, f64) {
    let scaled = (u * c).sin();
    (scaled, u.sum().exp(), u.clone(), 2.0)
}

fn spread_flat(v: &[f64], c: &Array2<f64>) -> Vec<f64> {
    flat(&spread(&Array1::from(v.to_vec()), c))
}

#[test]
fn tuple_of_matrix_scalar_and_input() {
    let c = Array2::from_shape_fn((5, 4), |(i, j)| 0.3 * i as f64 - 0.2 * j as f64);
    let x = vec![0.4, -0.7, 1.1, 0.2];
    let (value, j) = spread_jacobian(&Array1::from(x.clone()), &c);
    assert_eq!(flat(&value), spread_flat(&x, &c));
    assert_eq!(j.dim(), (20 + 1 + 4 + 1, 4));
    // The input's own rows are the identity; the constant's row is zero.
    assert_eq!(j.slice(autodiff::ndarray::s![21..25, ..]), Array2::eye(4));
    assert!(j.row(25).iter().all(|&d| d == 0.0));
    Case {
        name: "spread",
        x,
        eval: &|v| spread_flat(v, &c),
        jacobian: &|v| spread_jacobian(&Array1::from(v.to_vec()), &c).1,
        jvp: &|v, t| flat(&spread_jvp(&Array1::from(v.to_vec()), &c, Array1::from(t.to_vec())).1),
        vjp: &|v, ct| {
            let cotangent = (
                Array2::from_shape_vec((5, 4), ct[..20].to_vec()).unwrap(),
                ct[20],
                Array1::from(ct[21..25].to_vec()),
                ct[25],
            );
            spread_vjp(&Array1::from(v.to_vec()), &c, cotangent)
                .1
                .to_vec()
        },
    }
    .check();
}

/// The same value twice: its cotangents add up.
#[differentiable]
fn twice(x: f64) -> (f64, f64) {
    let y = x * x;
    (y, y)
}

#[test]
fn a_value_returned_twice_sums_its_cotangents() {
    assert_eq!(twice_vjp(3.0, (1.0, 10.0)), ((9.0, 9.0), 66.0));
    assert_eq!(twice_jvp(3.0, 1.0), ((9.0, 9.0), (6.0, 6.0)));
    assert_eq!(twice_jacobian(3.0).1, array![[6.0], [6.0]]);
}
