//! Realistic functions, written the ordinary way (as in ndarray, as a user's first draft),
//! differentiated in both modes and checked against central differences: the functions
//! issue 14 collected from optimization, statistics, ML layers and finance.

mod support;

use autodiff::ndarray::{array, Array1, Array2, Axis};
use autodiff::prelude::*;
use support::{check_scalar, flat};

/// The price of a European call (Black–Scholes), the normal CDF written with `erf`.
#[differentiable(wrt(spot, volatility, rate))]
fn black_scholes_call(spot: f64, strike: f64, volatility: f64, rate: f64, years: f64) -> f64 {
    let normal_cdf = |x: f64| 0.5 * (1.0 + erf(x / std::f64::consts::SQRT_2));
    let sqrt_t = years.sqrt();
    let d1 = ((spot / strike).ln() + (rate + 0.5 * volatility * volatility) * years)
        / (volatility * sqrt_t);
    let d2 = d1 - volatility * sqrt_t;
    spot * normal_cdf(d1) - strike * (-rate * years).exp() * normal_cdf(d2)
}

/// The Huber loss of a linear model's residuals, the piecewise loss in a `mapv` closure.
#[differentiable(wrt(w, b))]
fn huber_regression(w: &Array1<f64>, b: f64, x: &Array2<f64>, y: &Array1<f64>) -> f64 {
    let delta = 1.0;
    let residual = x.dot(w) + b - y;
    residual
        .mapv(|r| {
            if r.abs() <= delta {
                0.5 * r * r
            } else {
                delta * (r.abs() - 0.5 * delta)
            }
        })
        .mean()
        .unwrap()
}

/// Scaled dot-product attention, `softmax(q kᵀ / √d) v`, reduced with fixed weights.
#[differentiable(wrt(q, k, v))]
fn attention(q: &Array2<f64>, k: &Array2<f64>, v: &Array2<f64>, weights: &Array2<f64>) -> f64 {
    let d = q.ncols() as f64;
    let scores = q.dot(&k.t()) / d.sqrt();
    let attended = softmax(&scores, Axis(1)).dot(v);
    (attended * weights).sum()
}

/// Gaussian negative log-likelihood of data under a mean and a log standard deviation, with
/// the sample statistics written as ndarray reductions.
#[differentiable(wrt(mu, log_sigma))]
fn gaussian_nll(data: &Array1<f64>, mu: f64, log_sigma: f64) -> f64 {
    let n = data.len() as f64;
    let sigma = log_sigma.exp();
    let z = data
        .iter()
        .map(|&x| ((x - mu) / sigma).powi(2))
        .sum::<f64>();
    0.5 * z + n * log_sigma + 0.5 * n * (2.0 * std::f64::consts::PI).ln()
}

/// Batch normalization of a layer's pre-activations with sample statistics along the batch.
#[differentiable(wrt(x, gamma))]
fn standardized(x: &Array2<f64>, gamma: &Array1<f64>) -> f64 {
    let mean = x.mean_axis(Axis(0)).unwrap();
    let std = (x.var_axis(Axis(0), 0.0) + 1e-5).sqrt();
    (((x - &mean) / &std * gamma).tanh()).sum()
}

#[test]
fn black_scholes_greeks() {
    let (strike, years) = (100.0, 0.5);
    check_scalar(
        "black_scholes_call",
        &[105.0, 0.25, 0.03],
        |p| black_scholes_call(p[0], strike, p[1], p[2], years),
        |p| {
            let (price, (delta, vega, rho)) =
                black_scholes_call_grad(p[0], strike, p[1], p[2], years);
            (price, vec![delta, vega, rho])
        },
        |p, t| black_scholes_call_jvp(p[0], strike, p[1], p[2], years, t[0], t[1], t[2]),
    );
    // Delta is N(d1), in (0, 1).
    let (_, (delta, _, _)) = black_scholes_call_grad(105.0, strike, 0.25, 0.03, years);
    assert!(delta > 0.5 && delta < 1.0, "{delta}");
}

#[test]
fn layers_and_losses() {
    let x = array![
        [0.5, -1.0, 2.0],
        [1.5, 0.3, -0.7],
        [-0.2, 0.8, 0.1],
        [1.0, 1.0, -1.0]
    ];
    let y = array![1.0, -2.5, 0.4, 3.0];
    let mut at = vec![0.3, -0.6, 1.1];
    at.push(0.2);
    check_scalar(
        "huber_regression",
        &at,
        |p| huber_regression(&Array1::from(p[..3].to_vec()), p[3], &x, &y),
        |p| {
            let (value, (gw, gb)) =
                huber_regression_grad(&Array1::from(p[..3].to_vec()), p[3], &x, &y);
            let mut g = flat(&gw);
            g.push(gb);
            (value, g)
        },
        |p, t| {
            huber_regression_jvp(
                &Array1::from(p[..3].to_vec()),
                p[3],
                &x,
                &y,
                Array1::from(t[..3].to_vec()),
                t[3],
            )
        },
    );

    let shaped = |v: &[f64], rows: usize| Array2::from_shape_vec((rows, 3), v.to_vec()).unwrap();
    let weights = array![[0.2, -0.5, 1.0], [0.7, 0.1, -0.3]];
    let (q, k, v) = (
        array![[0.1, 0.4, -0.3], [0.9, -0.2, 0.5]],
        array![
            [0.3, -0.8, 0.2],
            [0.6, 0.1, -0.4],
            [-0.5, 0.7, 0.9],
            [0.2, 0.2, 0.2]
        ],
        array![
            [1.0, 0.5, -1.0],
            [0.0, 2.0, 0.3],
            [-0.7, 0.4, 0.8],
            [0.5, -0.5, 0.5]
        ],
    );
    let mut at = flat(&q);
    at.extend(flat(&k));
    at.extend(flat(&v));
    let parts = |p: &[f64]| {
        (
            shaped(&p[..6], 2),
            shaped(&p[6..18], 4),
            shaped(&p[18..], 4),
        )
    };
    check_scalar(
        "attention",
        &at,
        |p| {
            let (q, k, v) = parts(p);
            attention(&q, &k, &v, &weights)
        },
        |p| {
            let (q, k, v) = parts(p);
            let (value, (gq, gk, gv)) = attention_grad(&q, &k, &v, &weights);
            let mut g = flat(&gq);
            g.extend(flat(&gk));
            g.extend(flat(&gv));
            (value, g)
        },
        |p, t| {
            let ((q, k, v), (tq, tk, tv)) = (parts(p), parts(t));
            attention_jvp(&q, &k, &v, &weights, tq, tk, tv)
        },
    );

    let data = array![1.0, 2.5, 0.3, 1.7, -0.4];
    check_scalar(
        "gaussian_nll",
        &[0.8, 0.1],
        |p| gaussian_nll(&data, p[0], p[1]),
        |p| {
            let (value, (a, b)) = gaussian_nll_grad(&data, p[0], p[1]);
            (value, vec![a, b])
        },
        |p, t| gaussian_nll_jvp(&data, p[0], p[1], t[0], t[1]),
    );
    // At the maximum-likelihood estimates the gradient vanishes.
    let mu = data.mean().unwrap();
    let sigma = data.std(0.0);
    let (_, (g_mu, g_sigma)) = gaussian_nll_grad(&data, mu, sigma.ln());
    assert!(
        g_mu.abs() < 1e-12 && g_sigma.abs() < 1e-12,
        "{g_mu} {g_sigma}"
    );

    let gamma = array![1.0, 0.5, -2.0];
    let mut at = flat(&x);
    at.extend(flat(&gamma));
    check_scalar(
        "standardized",
        &at,
        |p| standardized(&shaped(&p[..12], 4), &Array1::from(p[12..].to_vec())),
        |p| {
            let (value, (gx, gg)) =
                standardized_grad(&shaped(&p[..12], 4), &Array1::from(p[12..].to_vec()));
            let mut g = flat(&gx);
            g.extend(flat(&gg));
            (value, g)
        },
        |p, t| {
            standardized_jvp(
                &shaped(&p[..12], 4),
                &Array1::from(p[12..].to_vec()),
                shaped(&t[..12], 4),
                Array1::from(t[12..].to_vec()),
            )
        },
    );
}
