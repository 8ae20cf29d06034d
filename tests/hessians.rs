//! `#[differentiable(hessian)]`: forward-over-reverse Hessians, symmetric and equal to
//! central finite differences of the generated gradient, on the lecture's seed function, on
//! the Rosenbrock function in n dimensions and on logistic regression.

use autodiff::check::close;
use autodiff::ndarray::{array, Array1, Array2, ArrayView1, Axis};
use autodiff::prelude::*;

/// Column j of the Hessian by central differences of the gradient `grad` (flat in, flat
/// out) at `x`.
fn hessian_by_differences(grad: impl Fn(&[f64]) -> Vec<f64>, x: &[f64]) -> Array2<f64> {
    let n = x.len();
    let mut h = Array2::zeros((n, n));
    for j in 0..n {
        let step = 1e-5 * x[j].abs().max(1.0);
        let (mut up, mut down) = (x.to_vec(), x.to_vec());
        up[j] += step;
        down[j] -= step;
        let (gu, gd) = (grad(&up), grad(&down));
        for i in 0..n {
            h[[i, j]] = (gu[i] - gd[i]) / (2.0 * step);
        }
    }
    h
}

fn assert_hessian(name: &str, exact: &Array2<f64>, differences: &Array2<f64>, tol: f64) {
    let n = exact.nrows();
    for i in 0..n {
        for j in 0..n {
            let (a, b) = (exact[[i, j]], differences[[i, j]]);
            assert!(
                close(a, b, tol),
                "{name}: H[{i}, {j}] = {a}, differences {b}"
            );
            let mirror = exact[[j, i]];
            assert!(
                close(a, mirror, 1e-13),
                "{name}: H[{i}, {j}] = {a} but H[{j}, {i}] = {mirror}"
            );
        }
    }
}

#[differentiable(hessian)]
fn seed(x1: f64, x2: f64) -> f64 {
    x1.ln() + x1 * x2 - x2.sin()
}

#[test]
fn the_seed_function() {
    let (x1, x2) = (2.0, 5.0);
    let (value, gradient, h) = seed_hessian(x1, x2);
    assert_eq!((value, gradient), seed_grad(x1, x2));
    let expected = array![[-1.0 / (x1 * x1), 1.0], [1.0, x2.sin()]];
    assert!((&h - &expected).iter().all(|d| d.abs() < 1e-15), "{h}");
    let differences = hessian_by_differences(
        |v| {
            let (_, (a, b)) = seed_grad(v[0], v[1]);
            vec![a, b]
        },
        &[x1, x2],
    );
    assert_hessian("seed", &h, &differences, 1e-7);
}

/// Σᵢ 100 (xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)², with xᵢ and xᵢ₊₁ picked out by constant selection
/// matrices.
#[differentiable(wrt(x), hessian)]
fn rosenbrock(x: &Array1<f64>, head: &Array2<f64>, tail: &Array2<f64>) -> f64 {
    let xi = head.dot(x);
    let next = tail.dot(x);
    (100.0 * (next - &xi * &xi).powi(2) + (1.0 - xi).powi(2)).sum()
}

/// The textbook Hessian of the Rosenbrock function.
fn rosenbrock_hessian_by_hand(x: &[f64]) -> Array2<f64> {
    let n = x.len();
    let mut h = Array2::zeros((n, n));
    for i in 0..n - 1 {
        h[[i, i]] += 1200.0 * x[i] * x[i] - 400.0 * x[i + 1] + 2.0;
        h[[i + 1, i + 1]] += 200.0;
        h[[i, i + 1]] -= 400.0 * x[i];
        h[[i + 1, i]] -= 400.0 * x[i];
    }
    h
}

#[test]
fn rosenbrock_in_n_dimensions() {
    for n in [2, 3, 6, 10] {
        let head = Array2::from_shape_fn((n - 1, n), |(i, j)| f64::from(u8::from(i == j)));
        let tail = Array2::from_shape_fn((n - 1, n), |(i, j)| f64::from(u8::from(j == i + 1)));
        let x = Array1::from_shape_fn(n, |i| 0.3 + 0.15 * i as f64 * (-1.0_f64).powi(i as i32));
        let (value, gradient, h) = rosenbrock_hessian(&x, &head, &tail);
        assert!(close(value, rosenbrock(&x, &head, &tail), 1e-14));
        let (_, expected_gradient) = rosenbrock_grad(&x, &head, &tail);
        for (a, b) in gradient.iter().zip(&expected_gradient) {
            assert!(close(*a, *b, 1e-14));
        }
        let by_hand = rosenbrock_hessian_by_hand(x.as_slice().unwrap());
        assert!(
            (&h - &by_hand).iter().all(|d| d.abs() < 1e-10),
            "n = {n}: {h}\nvs\n{by_hand}"
        );
        let differences = hessian_by_differences(
            |v| {
                rosenbrock_grad(&Array1::from(v.to_vec()), &head, &tail)
                    .1
                    .to_vec()
            },
            x.as_slice().unwrap(),
        );
        assert_hessian("rosenbrock", &h, &differences, 1e-6);
    }
}

/// Logistic regression: H = Xᵀ diag(σ(1 − σ)) X / N over (w, b).
#[differentiable(wrt(w, b), hessian)]
fn logistic(x: &Array2<f64>, w: &Array1<f64>, b: f64, y: &Array1<f64>) -> f64 {
    bce_with_logits(&(x.dot(w) + b), y)
}

#[test]
fn logistic_regression_over_an_array_and_a_scalar() {
    let x = array![[0.5, -1.0], [1.5, 0.3], [-0.2, 0.8], [1.0, 1.0]];
    let y = array![1.0, 0.0, 1.0, 0.0];
    let (w, b) = (array![0.3, -0.6], 0.1);
    let (_, (gw, gb), h) = logistic_hessian(&x, &w, b, &y);
    let (_, (ew, eb)) = logistic_grad(&x, &w, b, &y);
    assert!(gw.iter().zip(&ew).all(|(a, b)| close(*a, *b, 1e-15)) && close(gb, eb, 1e-15));
    // With a column of ones for b: Xᵀ diag(σ(1 − σ)) X / N.
    let ones = Array2::from_shape_fn((4, 3), |(i, j)| if j < 2 { x[[i, j]] } else { 1.0 });
    let p = (x.dot(&w) + b).mapv(|z| 1.0 / (1.0 + (-z).exp()));
    let weights = Array2::from_diag(&(&p * &(1.0 - &p)));
    let expected = ones.t().dot(&weights).dot(&ones) / 4.0;
    assert!(
        (&h - &expected).iter().all(|d| d.abs() < 1e-14),
        "{h}\nvs\n{expected}"
    );
    let differences = hessian_by_differences(
        |v| {
            let (_, (gw, gb)) = logistic_grad(&x, &array![v[0], v[1]], v[2], &y);
            vec![gw[0], gw[1], gb]
        },
        &[w[0], w[1], b],
    );
    assert_hessian("logistic", &h, &differences, 1e-7);
}

/// Sixteen differentiated parameters, each its own argument: the gradient is a 16-tuple.
#[allow(clippy::too_many_arguments)]
#[differentiable(hessian)]
fn sixteen(
    a: f64,
    b: f64,
    c: f64,
    d: f64,
    e: f64,
    f: f64,
    g: f64,
    h: f64,
    i: f64,
    j: f64,
    k: f64,
    l: f64,
    m: f64,
    n: f64,
    o: f64,
    p: f64,
) -> f64 {
    a * b + (c * d).sin() + e * f * g + h.exp() * i + j * k * l * m + (n - o).powi(2) * p
}

/// Ten arguments and a pair result: a 2 × 10 Jacobian.
#[allow(clippy::too_many_arguments)]
#[differentiable]
fn ten_to_two(
    a: f64,
    b: f64,
    c: f64,
    d: f64,
    e: f64,
    f: f64,
    g: f64,
    h: f64,
    i: f64,
    j: f64,
) -> (f64, f64) {
    (a * b + c * d + e * f, g * h + i * j * a)
}

#[test]
fn many_parameters_each_an_argument() {
    let x: Vec<f64> = (1..=16).map(|k| 0.1 * k as f64).collect();
    let grad = |x: &[f64]| -> Vec<f64> {
        let g = sixteen_grad(
            x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8], x[9], x[10], x[11], x[12], x[13],
            x[14], x[15],
        )
        .1;
        vec![
            g.0, g.1, g.2, g.3, g.4, g.5, g.6, g.7, g.8, g.9, g.10, g.11, g.12, g.13, g.14, g.15,
        ]
    };
    let (value, gradient, hessian) = sixteen_hessian(
        x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8], x[9], x[10], x[11], x[12], x[13],
        x[14], x[15],
    );
    assert_eq!(
        value,
        sixteen_grad(
            x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8], x[9], x[10], x[11], x[12], x[13],
            x[14], x[15]
        )
        .0
    );
    assert_eq!(gradient.15, grad(&x)[15]);
    assert_hessian("sixteen", &hessian, &hessian_by_differences(grad, &x), 1e-6);

    let (_, jacobian) = ten_to_two_jacobian(1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0);
    let expected = array![
        [2.0, 1.0, 4.0, 3.0, 6.0, 5.0, 0.0, 0.0, 0.0, 0.0],
        [90.0, 0.0, 0.0, 0.0, 0.0, 0.0, 8.0, 7.0, 10.0, 9.0]
    ];
    assert_eq!(jacobian, expected);
}

/// The special functions, `clamp` with constant bounds (lifted to duals with the values) and
/// the piecewise-constant methods, in one Hessian.
#[differentiable(wrt(x, y), hessian)]
fn special_functions(x: f64, y: f64, c: f64) -> f64 {
    erf(x * y)
        + ln_gamma(y) * erfc(x)
        + digamma(y + x * x)
        + (x * y).clamp(-c, c) * x
        + (y * 3.0).clamp(0.5, 10.0) * x
        + x.floor() * y * y
        + x.fract() * x.signum()
}

/// The array functions: norm, maxima, outer product, trace, and the matrix functions.
#[differentiable(wrt(v), hessian)]
fn array_functions(v: &Array1<f64>, m: &Array2<f64>) -> f64 {
    let p = outer(v, v);
    let q = &p + m;
    norm(v).powi(3)
        + amax(&(v * v)) * amin(v)
        + (amax_axis(&p, Axis(0)) * v).sum()
        + trace(p.dot(m))
        + det(&q)
        + inv(&q).sum()
        + solve(&q, v).sum()
        + v.var(1.0) * v.std(0.0)
        + (p.var_axis(Axis(1), 0.0) * p.std_axis(Axis(0), 1.0)).sum()
}

#[test]
fn special_and_array_functions() {
    let (x, y, c) = (0.7, 1.3, 0.8);
    let (value, gradient, h) = special_functions_hessian(x, y, c);
    assert_eq!((value, gradient), special_functions_grad(x, y, c));
    let differences = hessian_by_differences(
        |v| {
            let (_, (a, b)) = special_functions_grad(v[0], v[1], c);
            vec![a, b]
        },
        &[x, y],
    );
    assert_hessian("special functions", &h, &differences, 1e-6);

    let v = array![0.3, -1.2, 0.8];
    let m = array![[1.0, 0.5, -0.2], [0.1, 2.0, 0.3], [-0.4, 0.6, 1.5]];
    let (value, gradient, h) = array_functions_hessian(&v, &m);
    let (value_g, gradient_g) = array_functions_grad(&v, &m);
    assert!(close(value, value_g, 1e-15));
    for (a, b) in gradient.iter().zip(&gradient_g) {
        assert!(close(*a, *b, 1e-14));
    }
    let differences = hessian_by_differences(
        |w| {
            array_functions_grad(&Array1::from(w.to_vec()), &m)
                .1
                .to_vec()
        },
        v.as_slice().unwrap(),
    );
    assert_hessian("array functions", &h, &differences, 1e-6);
}

/// Elementwise closures: the per-element derivative computed on dual numbers gives the
/// second derivatives, a captured scalar's mixed ones included.
#[differentiable(hessian)]
fn mapped(x: &Array1<f64>, w: f64) -> f64 {
    let a = 0.5;
    x.mapv(|v| {
        let t = (a * v).tanh();
        t * w + v * v * w.sin()
    })
    .sum()
        + x.map(|&v| v.exp()).sum()
        + x.map(|v| if *v > 0.0 { v.sin() * w } else { *v * *v })
            .sum()
}

#[test]
fn elementwise_closures() {
    let point = [0.3, -1.2, 0.7, 0.9];
    let split = |v: &[f64]| (Array1::from(v[..3].to_vec()), v[3]);
    let (x, w) = split(&point);
    let (value, gradient, h) = mapped_hessian(&x, w);
    assert_eq!((value, gradient), mapped_grad(&x, w));
    let differences = hessian_by_differences(
        |v| {
            let (x, w) = split(v);
            let (_, (gx, gw)) = mapped_grad(&x, w);
            gx.iter().copied().chain([gw]).collect()
        },
        &point,
    );
    assert_hessian("mapped", &h, &differences, 1e-6);
}

#[differentiable(hessian)]
fn log_one_plus_exp(t: f64) -> f64 {
    (1.0 + t.exp()).ln()
}

#[differentiable(hessian)]
fn pair(x: f64, y: f64) -> f64 {
    x * y.sin() + x.powi(3) * y
}

#[differentiable(hessian, wrt(w))]
fn quadratic(w: &Array1<f64>, a: &Array2<f64>) -> f64 {
    0.5 * w.dot(&a.dot(w)) + w.mapv(f64::cos).sum()
}

/// Calls of differentiable functions: of an array's function with a constant argument,
/// in a loop summed into the result, in a loop carrying a product, in a branch, with a
/// literal passed to a differentiated parameter.
#[differentiable(hessian, wrt(w, s))]
fn calling(w: &Array1<f64>, s: f64, a: &Array2<f64>) -> f64 {
    let mut total = quadratic(&(w * s), a);
    for i in 0..w.len() {
        total += log_one_plus_exp(w[i] * s) * pair(w[i], s);
    }
    let mut product = 1.0;
    for i in 0..w.len() {
        product *= log_one_plus_exp(w[i] - s);
    }
    if s > 0.0 {
        total += pair(s, 2.0);
    } else {
        total -= log_one_plus_exp(s);
    }
    total + product
}

#[test]
fn calls_of_functions_with_hessian() {
    let a = array![[2.0, 0.5, 0.1], [0.5, 1.0, -0.3], [0.1, -0.3, 3.0]];
    for (w, s) in [
        (array![0.3, -0.7, 1.1], 0.8),
        (array![-0.2, 0.4, 0.9], -0.6),
    ] {
        let (value, (gw, gs), h) = calling_hessian(&w, s, &a);
        let (v, (dw, ds)) = calling_grad(&w, s, &a);
        assert!(close(value, calling(&w, s, &a), 1e-14) && close(value, v, 1e-14));
        let mut flat = dw.to_vec();
        flat.push(ds);
        let gradient: Vec<f64> = gw.iter().copied().chain([gs]).collect();
        for (x, y) in gradient.iter().zip(&flat) {
            assert!(
                close(*x, *y, 1e-13),
                "gradient {gradient:?} against {flat:?}"
            );
        }
        let grad = |x: &[f64]| {
            let (_, (dw, ds)) = calling_grad(&Array1::from(x[..3].to_vec()), x[3], &a);
            dw.iter().copied().chain([ds]).collect()
        };
        let x: Vec<f64> = w.iter().copied().chain([s]).collect();
        assert_hessian("calling", &h, &hessian_by_differences(grad, &x), 1e-6);
        // H·v in one sweep, against the dense Hessian.
        let (dw, ds) = (array![0.5, -1.0, 2.0], 0.25);
        let (_, _, (hw, hs)) = calling_hvp(&w, s, &a, dw.clone(), ds);
        let v: Vec<f64> = dw.iter().copied().chain([ds]).collect();
        let hv: Vec<f64> = hw.iter().copied().chain([hs]).collect();
        for (i, row) in h.rows().into_iter().enumerate() {
            let expected: f64 = row.iter().zip(&v).map(|(a, b)| a * b).sum();
            assert!(
                close(hv[i], expected, 1e-12),
                "H·v[{i}] = {}, H v = {expected}",
                hv[i]
            );
        }
    }
}

#[differentiable(hessian)]
fn sines(w: ArrayView1<f64>) -> f64 {
    w.mapv(f64::sin).sum()
}

#[derive(Parameters, Clone)]
struct Line {
    w: Array1<f64>,
    b: f64,
}

#[differentiable(hessian)]
fn predict(p: &Line, x: &Array1<f64>) -> f64 {
    p.w.dot(x) + p.b
}

/// A call whose value is only compared, its argument a view of a parameter (computed on
/// real numbers in the Hessian's sweep, the view kept: it was E0308), and a struct of
/// parameters passed as a constant to a function that differentiates it.
#[differentiable(hessian, wrt(x))]
fn compared_and_constant(x: &Array1<f64>, line: &Line) -> f64 {
    let e = sines(x.view());
    let fit = predict(line, x).powi(2);
    if e > 0.0 {
        fit * x.dot(x)
    } else {
        fit - x.sum()
    }
}

#[test]
fn calls_compared_or_given_constants() {
    let line = Line {
        w: array![0.5, -1.5, 0.25],
        b: 0.3,
    };
    for x in [array![0.4, 0.9, -0.2], array![-0.8, -0.3, -1.1]] {
        let (_, g, h) = compared_and_constant_hessian(&x, &line);
        let (_, dx) = compared_and_constant_grad(&x, &line);
        assert!(g.iter().zip(&dx).all(|(a, b)| close(*a, *b, 1e-13)));
        let grad = |v: &[f64]| {
            compared_and_constant_grad(&Array1::from(v.to_vec()), &line)
                .1
                .to_vec()
        };
        assert_hessian(
            "compared_and_constant",
            &h,
            &hessian_by_differences(grad, &x.to_vec()),
            1e-6,
        );
    }
}
