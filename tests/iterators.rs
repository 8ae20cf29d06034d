//! Elementwise closures over several arrays and over iterators of elements, written as in
//! ndarray and std: `Zip::from(&a).and(&b).map_collect(|&a, &b| …)`,
//! `a.iter().map(|&v| …).sum()`, `a.iter().zip(&b).map(|(&x, &y)| …).sum()` and
//! `a.iter().fold(0.0, |acc, &v| acc + …)`. Each is one fused pass per element, value and
//! partials, like `mapv`; the checks are against central differences in both modes.

mod support;

use autodiff::ndarray::{array, Array1, Array2, Zip};
use autodiff::prelude::*;
use support::{check_scalar, flat};

/// Every form, with a captured differentiated scalar `w`.
#[differentiable]
fn every_form(a: &Array1<f64>, b: &Array1<f64>, w: f64) -> f64 {
    let zipped = Zip::from(a)
        .and(b)
        .map_collect(|&x, &y| (x * y * w).sin() + x);
    let dot: f64 = a.iter().zip(b.iter()).map(|(&x, &y)| x * y).sum();
    let squares = a.iter().map(|v| v * v * w).sum::<f64>();
    let folded = a.iter().fold(0.5, |acc, &v| acc + v.exp());
    let by_reference = a.iter().zip(b).map(|(x, y)| x - y).sum::<f64>();
    let three = a
        .iter()
        .zip(b)
        .zip(a)
        .map(|((&x, &y), &z)| x * y * z)
        .sum::<f64>();
    let fold_pairs = a
        .iter()
        .zip(b)
        .fold(0.0, |acc, (x, y)| acc + (x - y).powi(2));
    let fold_chain = a.iter().fold(0.0, |acc, &v| v.exp() + acc - v * w);
    zipped.sum() + dot + squares + folded * by_reference + three + fold_pairs + fold_chain
}

/// Three matrices zipped, one of them twice: its adjoint is the sum of both partials.
#[differentiable]
fn matrices_zipped(m: &Array2<f64>, n: &Array2<f64>) -> f64 {
    Zip::from(m)
        .and(n)
        .and(m)
        .map_collect(|&a, &b, &c| a * b + c.tanh())
        .sum()
}

/// The Huber loss of residuals, with a branch in the closure and a constant threshold.
#[differentiable(wrt(prediction))]
fn huber(prediction: &Array1<f64>, target: &Array1<f64>, delta: f64) -> f64 {
    let n = prediction.len() as f64;
    prediction
        .iter()
        .zip(target)
        .map(|(&p, &t)| {
            let r = (p - t).abs();
            if r <= delta {
                0.5 * r * r
            } else {
                delta * (r - 0.5 * delta)
            }
        })
        .sum::<f64>()
        / n
}

/// A fold starting from a differentiated value, in f32.
#[differentiable]
fn fold_f32(x: &Array1<f32>, start: f32) -> f32 {
    x.iter()
        .fold(start * start, |acc, &v| (v * start).tanh() + acc)
}

#[differentiable(hessian)]
fn zipped_hessian(a: &Array1<f64>, b: &Array1<f64>) -> f64 {
    Zip::from(a).and(b).map_collect(|&x, &y| x * x * y).sum()
        + a.iter().map(|&v| v.sin()).sum::<f64>()
}

/// Closures bound with `let`: called on differentiated values (inlined where called) and
/// passed by name to `mapv`.
#[differentiable]
fn let_closures(x: &Array1<f64>, w: f64) -> f64 {
    let square = |v: f64| v * v;
    let softsign = |t: f64| {
        let a = t.abs();
        t / (1.0 + a)
    };
    softsign(w) * x.mapv(square).sum() + square(w) + x.mapv(softsign).sum()
}

#[test]
fn closures_bound_with_let() {
    let parts = |p: &[f64]| (Array1::from(p[..3].to_vec()), p[3]);
    check_scalar(
        "let_closures",
        &[0.3, -1.2, 0.8, 0.6],
        |p| {
            let (x, w) = parts(p);
            let_closures(&x, w)
        },
        |p| {
            let (x, w) = parts(p);
            let (value, (gx, gw)) = let_closures_grad(&x, w);
            let mut g = flat(&gx);
            g.push(gw);
            (value, g)
        },
        |p, t| {
            let ((x, w), (tx, tw)) = (parts(p), parts(t));
            let_closures_jvp(&x, w, tx, tw)
        },
    );
}

/// A `let` closure given a literal beside a differentiated value: the literal takes the
/// parameter's type (`2.0.sin()` had none: "ambiguous numeric type").
#[differentiable]
fn closure_given_literals(x: &Array1<f64>, w: f64) -> f64 {
    let f = |t: f64, s: f64| t.sin() * s;
    f(2.0, w) + f(x[0], 3.0) + x.sum()
}

#[test]
fn closures_given_literals() {
    let parts = |p: &[f64]| (Array1::from(p[..3].to_vec()), p[3]);
    check_scalar(
        "closure_given_literals",
        &[0.5, 1.5, -2.0, 0.7],
        |p| {
            let (x, w) = parts(p);
            closure_given_literals(&x, w)
        },
        |p| {
            let (x, w) = parts(p);
            let (value, (gx, gw)) = closure_given_literals_grad(&x, w);
            let mut g = flat(&gx);
            g.push(gw);
            (value, g)
        },
        |p, t| {
            let ((x, w), (tx, tw)) = (parts(p), parts(t));
            closure_given_literals_jvp(&x, w, tx, tw)
        },
    );
}

#[test]
fn zipped_and_iterated_closures_against_differences() {
    let (a, b) = (array![0.3, -1.2, 0.8], array![0.5, 0.1, -0.4]);
    let parts = |x: &[f64]| {
        (
            Array1::from(x[..3].to_vec()),
            Array1::from(x[3..6].to_vec()),
            x[6],
        )
    };
    let mut at = flat(&a);
    at.extend(flat(&b));
    at.push(0.7);
    check_scalar(
        "every_form",
        &at,
        |x| {
            let (a, b, w) = parts(x);
            every_form(&a, &b, w)
        },
        |x| {
            let (a, b, w) = parts(x);
            let (value, (ga, gb, gw)) = every_form_grad(&a, &b, w);
            let mut g = flat(&ga);
            g.extend(flat(&gb));
            g.push(gw);
            (value, g)
        },
        |x, t| {
            let ((a, b, w), (ta, tb, tw)) = (parts(x), parts(t));
            every_form_jvp(&a, &b, w, ta, tb, tw)
        },
    );

    let m = array![[0.3, -1.2], [0.8, 0.2]];
    let shaped = |x: &[f64]| Array2::from_shape_vec((2, 2), x.to_vec()).expect("2 × 2");
    let mut at = flat(&m);
    at.extend(flat(&m.t().to_owned()));
    check_scalar(
        "matrices_zipped",
        &at,
        |x| matrices_zipped(&shaped(&x[..4]), &shaped(&x[4..])),
        |x| {
            let (value, (gm, gn)) = matrices_zipped_grad(&shaped(&x[..4]), &shaped(&x[4..]));
            let mut g = flat(&gm);
            g.extend(flat(&gn));
            (value, g)
        },
        |x, t| {
            matrices_zipped_jvp(
                &shaped(&x[..4]),
                &shaped(&x[4..]),
                shaped(&t[..4]),
                shaped(&t[4..]),
            )
        },
    );

    let target = array![0.0, 1.0, -2.0, 0.5];
    check_scalar(
        "huber",
        &[0.3, 2.5, -1.9, 0.45],
        |x| huber(&Array1::from(x.to_vec()), &target, 1.0),
        |x| {
            let (value, g) = huber_grad(&Array1::from(x.to_vec()), &target, 1.0);
            (value, flat(&g))
        },
        |x, t| {
            huber_jvp(
                &Array1::from(x.to_vec()),
                &target,
                1.0,
                Array1::from(t.to_vec()),
            )
        },
    );
}

#[test]
fn fold_in_f32_and_a_hessian() {
    let x = array![0.5_f32, -1.0, 2.0];
    let (value, (gx, gs)) = fold_f32_grad(&x, 0.3);
    assert_eq!(value, fold_f32(&x, 0.3));
    let h = 1e-2_f32;
    let fd = (fold_f32(&x, 0.3 + h) - fold_f32(&x, 0.3 - h)) / (2.0 * h);
    assert!((gs - fd).abs() < 1e-3, "{gs} vs {fd}");
    let expected: Array1<f32> = x.mapv(|_| 0.0) + 0.3 * (&x * 0.3).mapv(|u| 1.0 - u.tanh().powi(2));
    assert!(
        gx.iter().zip(&expected).all(|(a, b)| (a - b).abs() < 1e-6),
        "{gx} vs {expected}"
    );

    let (a, b) = (array![0.3, -1.2], array![0.5, 0.1]);
    let (_, gradient, hessian) = zipped_hessian_hessian(&a, &b);
    let (_, (ga, gb)) = zipped_hessian_grad(&a, &b);
    assert_eq!(flat(&gradient.0), flat(&ga));
    assert_eq!(flat(&gradient.1), flat(&gb));
    // ∂²/∂aᵢ² = 2bᵢ − sin aᵢ, ∂²/∂aᵢ∂bᵢ = 2aᵢ, ∂²/∂bᵢ² = 0, nothing across i.
    let expected = array![
        [2.0 * b[0] - a[0].sin(), 0.0, 2.0 * a[0], 0.0],
        [0.0, 2.0 * b[1] - a[1].sin(), 0.0, 2.0 * a[1]],
        [2.0 * a[0], 0.0, 0.0, 0.0],
        [0.0, 2.0 * a[1], 0.0, 0.0],
    ];
    for (h, e) in hessian.iter().zip(&expected) {
        assert!((h - e).abs() < 1e-12, "{hessian} vs {expected}");
    }
}

/// Iterating constant data held in slices (no `autodiff_arg` for `[f64]`: the
/// generated code failed to compile, E0599).
#[differentiable]
fn over_constant_slices(x: &[f64], y: &[f64], w: f64) -> f64 {
    x.iter().map(|v| (v * w).sin()).sum::<f64>()
        + x.iter()
            .zip(y.iter())
            .map(|(a, b)| a * b * w * w)
            .sum::<f64>()
}

#[test]
fn iterators_over_constant_slices() {
    let (x, y) = ([0.5, 1.5, -2.0], vec![0.25, -1.0, 3.0]);
    check_scalar(
        "over_constant_slices",
        &[0.3],
        |p| over_constant_slices(&x, &y, p[0]),
        |p| {
            let (value, g) = over_constant_slices_grad(&x, &y, p[0]);
            (value, vec![g])
        },
        |p, t| over_constant_slices_jvp(&x, &y, p[0], t[0]),
    );
}

/// A sum over an iterator of the elements themselves, `x.iter().sum::<f64>()` (was "unknown
/// method `iter`"), also through `.copied()` and `.cloned()`.
#[differentiable]
fn iterator_sums(x: &Array1<f64>, w: f64) -> f64 {
    let total: f64 = x.iter().sum();
    total * w
        + x.iter().copied().sum::<f64>().powi(2)
        + x.mapv(f64::sin).iter().cloned().sum::<f64>()
}

#[test]
fn sums_of_iterated_elements() {
    let parts = |p: &[f64]| (Array1::from(p[..3].to_vec()), p[3]);
    check_scalar(
        "iterator_sums",
        &[0.5, 1.5, -2.0, 0.7],
        |p| {
            let (x, w) = parts(p);
            iterator_sums(&x, w)
        },
        |p| {
            let (x, w) = parts(p);
            let (value, (gx, gw)) = iterator_sums_grad(&x, w);
            let mut g = flat(&gx);
            g.push(gw);
            (value, g)
        },
        |p, t| {
            let ((x, w), (tx, tw)) = (parts(p), parts(t));
            iterator_sums_jvp(&x, w, tx, tw)
        },
    );
}

/// A `let` closure given the differentiated values it needs as parameters (as the error for
/// one reading them says to write it): Runge–Kutta steps of y' = −k·y + sin t.
#[differentiable]
fn rk4_steps(y0: f64, k: f64, h: f64) -> f64 {
    let f = |t: f64, y: f64, k: f64| -k * y + t.sin();
    let mut y = y0;
    let mut t = 0.0;
    for _ in 0..10 {
        let k1 = f(t, y, k);
        let k2 = f(t + h / 2.0, y + h / 2.0 * k1, k);
        let k3 = f(t + h / 2.0, y + h / 2.0 * k2, k);
        let k4 = f(t + h, y + h * k3, k);
        y += h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
        t += h;
    }
    y
}

#[test]
fn a_let_closure_given_values_as_parameters() {
    check_scalar(
        "rk4_steps",
        &[1.0, 0.5, 0.1],
        |p| rk4_steps(p[0], p[1], p[2]),
        |p| {
            let (value, (a, b, c)) = rk4_steps_grad(p[0], p[1], p[2]);
            (value, vec![a, b, c])
        },
        |p, t| rk4_steps_jvp(p[0], p[1], p[2], t[0], t[1], t[2]),
    );
}

/// Constant slices iterated in a function with `hessian` (their dual numbers were missing:
/// E0599 `autodiff_lift`).
#[differentiable(hessian)]
fn slice_curvature(w: f64, c: &[f64]) -> f64 {
    c.iter().map(|v| (v * w).sin()).sum::<f64>()
}

#[test]
fn constant_slices_in_a_hessian() {
    let c = [0.5, -1.5, 2.0];
    let (w, h) = (0.3, 1e-5);
    let (_, _, hessian) = slice_curvature_hessian(w, &c);
    let expected: f64 = c.iter().map(|v| -v * v * (v * w).sin()).sum();
    let differences =
        (slice_curvature_grad(w + h, &c).1 - slice_curvature_grad(w - h, &c).1) / (2.0 * h);
    assert!(
        (hessian[[0, 0]] - expected).abs() < 1e-12,
        "{hessian} vs {expected}"
    );
    assert!((differences - expected).abs() < 1e-8);
}

/// Elements taken by value (`.copied()`, `.cloned()`) in folds, maps and zips: the same
/// elements (a fold or a zip of them was "unknown method `copied`").
#[differentiable]
fn elements_by_value(x: &Array1<f64>, y: &Array1<f64>, w: f64) -> f64 {
    let folded = x.iter().copied().fold(0.5, |acc, v| acc + v * w);
    let mapped = x.iter().cloned().map(|v| (v * w).sin()).sum::<f64>();
    let zipped = x
        .iter()
        .copied()
        .zip(y.iter().copied())
        .map(|(p, q)| p * q * w)
        .sum::<f64>();
    folded + mapped + zipped
}

#[test]
fn iterated_elements_by_value() {
    let parts = |p: &[f64]| {
        (
            Array1::from(p[..3].to_vec()),
            Array1::from(p[3..6].to_vec()),
            p[6],
        )
    };
    check_scalar(
        "elements_by_value",
        &[0.5, -1.0, 2.0, 1.5, 0.25, -0.5, 0.7],
        |p| {
            let (x, y, w) = parts(p);
            elements_by_value(&x, &y, w)
        },
        |p| {
            let (x, y, w) = parts(p);
            let (value, (gx, gy, gw)) = elements_by_value_grad(&x, &y, w);
            let mut g: Vec<f64> = gx.iter().chain(&gy).copied().collect();
            g.push(gw);
            (value, g)
        },
        |p, t| {
            let ((x, y, w), (tx, ty, tw)) = (parts(p), parts(t));
            elements_by_value_jvp(&x, &y, w, tx, ty, tw)
        },
    );
}
