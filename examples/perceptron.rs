//! The lectures' first learning rules as gradient descent on generated gradients: the
//! perceptron (online steps on the perceptron criterion max(0, −y·z)) and Adaline (online
//! steps on ½(y − z)², the Widrow–Hoff rule), on iris: setosa (+1) against the rest (−1).
//!
//! ```sh
//! cargo run --release --example perceptron
//! ```
//!
//! Neither rule is a special case in the library: each is a loss written as ordinary Rust,
//! its `_grad` generated, and `Sgd` stepping the parameters.

mod common;

use autodiff::ndarray::{Array1, ArrayView1, Axis};
use autodiff::prelude::*;
use autodiff::train::{Mode, Rng, Standardizer};

#[derive(Parameters, Clone, Debug)]
struct Neuron {
    w: Array1<f64>,
    b: f64,
}

/// The perceptron criterion: zero when z = x·w + b has the sign of y, −y·z otherwise. Its
/// gradient step is the perceptron rule w ← w + η y x on a mistake.
#[differentiable(wrt(p))]
fn perceptron_loss(p: &Neuron, x: ArrayView1<f64>, y: f64) -> f64 {
    relu(-y * (x.dot(&p.w) + p.b))
}

/// Adaline's quadratic error on the linear output.
#[differentiable(wrt(p))]
fn adaline_loss(p: &Neuron, x: ArrayView1<f64>, y: f64) -> f64 {
    let error = y - (x.dot(&p.w) + p.b);
    0.5 * error * error
}

fn mistakes(p: &Neuron, x: &autodiff::ndarray::Array2<f64>, y: &Array1<f64>) -> usize {
    let z = x.dot(&p.w) + p.b;
    z.iter()
        .zip(y)
        .filter(|(z, y)| z.signum() != y.signum())
        .count()
}

type Loss = fn(&Neuron, ArrayView1<f64>, f64) -> (f64, Neuron);

fn train(name: &str, loss_grad: Loss, lr: f64, epochs: usize) {
    let data = common::datasets::iris();
    let x = Standardizer::fit(data.x.view()).transform(data.x.view());
    let y = data.y.mapv(|class| if class == 0.0 { 1.0 } else { -1.0 });
    // Small random weights: from exactly zero every z is 0, the criterion's kink, where
    // relu′(0) = 0 gives no step.
    let mut rng = Rng::new(1);
    let w = rng.normal_array((1, x.ncols()), 0.01).remove_axis(Axis(0));
    let mut p = Neuron { w, b: 0.0 };
    let mut sgd = Sgd::new(lr);
    println!("{name} (learning rate {lr}):");
    for epoch in 1..=epochs {
        let mut total = 0.0;
        for batch in Mode::Online.batches(y.len(), &mut rng) {
            let i = batch[0];
            let (loss, grad) = loss_grad(&p, x.index_axis(Axis(0), i), y[i]);
            sgd.step(&mut p, &grad);
            total += loss;
        }
        let wrong = mistakes(&p, &x, &y);
        println!(
            "  epoch {epoch:>2}: mean loss {:.4}, {wrong} of {} misclassified",
            total / y.len() as f64,
            y.len()
        );
        if wrong == 0 && name == "perceptron" {
            break;
        }
    }
    println!("  w = {:.3}, b = {:.3}\n", p.w, p.b);
}

fn main() {
    train("perceptron", perceptron_loss_grad, 1.0, 20);
    train("Adaline", adaline_loss_grad, 0.01, 10);
}
