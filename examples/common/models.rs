//! The lectures' models as structs of parameters, each loss a `#[differentiable]` function
//! whose gradient `…_grad` the training loop calls.

use autodiff::ndarray::{Array1, Array2, ArrayView2, Axis};
use autodiff::prelude::*;
use autodiff::train::{argmax_rows, Rng};

/// Logistic regression, ŷ = σ(x·w + b), the lectures' L(w₀, w₁; D).
#[derive(Parameters, Clone, Debug)]
pub struct Logistic {
    pub w: Array2<f64>,
    pub b: Array1<f64>,
}

/// Mean binary cross-entropy of logistic regression; `y` holds 0/1 as an N × 1 column.
#[differentiable(wrt(p))]
pub fn logistic_loss(p: &Logistic, x: &Array2<f64>, y: &Array2<f64>) -> f64 {
    bce_with_logits(&(x.dot(&p.w) + &p.b), y)
}

/// Linear regression, ŷ = x·w + b, with the quadratic cost.
#[derive(Parameters, Clone, Debug)]
pub struct Linear {
    pub w: Array2<f64>,
    pub b: Array1<f64>,
}

/// Mean squared error of linear regression; `y` is an N × 1 column.
#[differentiable(wrt(p))]
pub fn linear_loss(p: &Linear, x: &Array2<f64>, y: &Array2<f64>) -> f64 {
    mse(&(x.dot(&p.w) + &p.b), y)
}

/// The lectures' three-layer network: tanh, sigmoid, sigmoid, binary cross-entropy.
#[derive(Parameters, Clone, Debug)]
pub struct Mlp3 {
    pub w1: Array2<f64>,
    pub b1: Array1<f64>,
    pub w2: Array2<f64>,
    pub b2: Array1<f64>,
    pub u: Array2<f64>,
    pub c: Array1<f64>,
}

#[differentiable(wrt(p))]
pub fn mlp3_loss(p: &Mlp3, x: &Array2<f64>, y: &Array2<f64>) -> f64 {
    let h1 = (x.dot(&p.w1) + &p.b1).tanh();
    let h2 = sigmoid(h1.dot(&p.w2) + &p.b2);
    let y_hat = sigmoid(h2.dot(&p.u) + &p.c);
    bce(&y_hat, y)
}

/// A one-hidden-layer network with softmax cross-entropy over `classes` outputs.
#[derive(Parameters, Clone, Debug)]
pub struct SoftmaxMlp {
    pub w1: Array2<f64>,
    pub b1: Array1<f64>,
    pub w2: Array2<f64>,
    pub b2: Array1<f64>,
}

#[differentiable(wrt(p))]
pub fn softmax_mlp_loss(p: &SoftmaxMlp, x: &Array2<f64>, labels: &[usize]) -> f64 {
    let h = (x.dot(&p.w1) + &p.b1).tanh();
    cross_entropy(&(h.dot(&p.w2) + &p.b2), labels)
}

/// Glorot-scaled normal weights, zero biases.
fn layer(rng: &mut Rng, inputs: usize, outputs: usize) -> (Array2<f64>, Array1<f64>) {
    let sigma = (2.0 / (inputs + outputs) as f64).sqrt();
    (
        rng.normal_array((inputs, outputs), sigma),
        Array1::zeros(outputs),
    )
}

/// A model the training loop can drive: its loss and gradient on a batch, and its
/// predictions.
pub trait Model: Parameters<Elem = f64> + Clone {
    /// The loss and its gradient on the examples `x` with targets `y` (class indices for a
    /// classifier, values for a regression).
    fn loss_grad(&self, x: &Array2<f64>, y: &Array1<f64>) -> (f64, Self);
    /// The loss alone: the original function, no derivative work.
    fn loss(&self, x: &Array2<f64>, y: &Array1<f64>) -> f64;
    /// Predicted class indices (classifiers) or values (regression) as `f64`.
    fn predict(&self, x: ArrayView2<f64>) -> Array1<f64>;
}

fn column(y: &Array1<f64>) -> Array2<f64> {
    y.view().insert_axis(Axis(1)).to_owned()
}

fn labels(y: &Array1<f64>) -> Vec<usize> {
    y.iter().map(|&v| v as usize).collect()
}

impl Logistic {
    pub fn new(features: usize) -> Self {
        Logistic {
            w: Array2::zeros((features, 1)),
            b: Array1::zeros(1),
        }
    }
}

impl Model for Logistic {
    fn loss_grad(&self, x: &Array2<f64>, y: &Array1<f64>) -> (f64, Self) {
        logistic_loss_grad(self, x, &column(y))
    }
    fn loss(&self, x: &Array2<f64>, y: &Array1<f64>) -> f64 {
        logistic_loss(self, x, &column(y))
    }
    fn predict(&self, x: ArrayView2<f64>) -> Array1<f64> {
        (x.dot(&self.w) + &self.b)
            .column(0)
            .mapv(|z| f64::from(z > 0.0))
    }
}

impl Linear {
    pub fn new(features: usize) -> Self {
        Linear {
            w: Array2::zeros((features, 1)),
            b: Array1::zeros(1),
        }
    }
}

impl Model for Linear {
    fn loss_grad(&self, x: &Array2<f64>, y: &Array1<f64>) -> (f64, Self) {
        linear_loss_grad(self, x, &column(y))
    }
    fn loss(&self, x: &Array2<f64>, y: &Array1<f64>) -> f64 {
        linear_loss(self, x, &column(y))
    }
    fn predict(&self, x: ArrayView2<f64>) -> Array1<f64> {
        (x.dot(&self.w) + &self.b).column(0).to_owned()
    }
}

impl Mlp3 {
    pub fn new(features: usize, hidden: usize, rng: &mut Rng) -> Self {
        let (w1, b1) = layer(rng, features, hidden);
        let (w2, b2) = layer(rng, hidden, hidden.div_ceil(2));
        let (u, c) = layer(rng, hidden.div_ceil(2), 1);
        Mlp3 {
            w1,
            b1,
            w2,
            b2,
            u,
            c,
        }
    }
}

impl Model for Mlp3 {
    fn loss_grad(&self, x: &Array2<f64>, y: &Array1<f64>) -> (f64, Self) {
        mlp3_loss_grad(self, x, &column(y))
    }
    fn loss(&self, x: &Array2<f64>, y: &Array1<f64>) -> f64 {
        mlp3_loss(self, x, &column(y))
    }
    fn predict(&self, x: ArrayView2<f64>) -> Array1<f64> {
        let h1 = (x.dot(&self.w1) + &self.b1).tanh();
        let h2 = sigmoid(h1.dot(&self.w2) + &self.b2);
        (h2.dot(&self.u) + &self.c)
            .column(0)
            .mapv(|z| f64::from(z > 0.0))
    }
}

impl SoftmaxMlp {
    pub fn new(features: usize, hidden: usize, classes: usize, rng: &mut Rng) -> Self {
        let (w1, b1) = layer(rng, features, hidden);
        let (w2, b2) = layer(rng, hidden, classes);
        SoftmaxMlp { w1, b1, w2, b2 }
    }
}

impl Model for SoftmaxMlp {
    fn loss_grad(&self, x: &Array2<f64>, y: &Array1<f64>) -> (f64, Self) {
        softmax_mlp_loss_grad(self, x, &labels(y))
    }
    fn loss(&self, x: &Array2<f64>, y: &Array1<f64>) -> f64 {
        softmax_mlp_loss(self, x, &labels(y))
    }
    fn predict(&self, x: ArrayView2<f64>) -> Array1<f64> {
        let logits = (x.dot(&self.w1) + &self.b1).tanh().dot(&self.w2) + &self.b2;
        argmax_rows(logits.view())
            .into_iter()
            .map(|k| k as f64)
            .collect()
    }
}
