//! End-to-end training on the real data sets in `data/`, with fixed seeds: the accuracy
//! targets of the models, and gradient descent reaching the normal equations' solution.

#[path = "../examples/common/mod.rs"]
mod common;

use autodiff::ndarray::{Array1, Array2, Axis};
use autodiff::optim::{Adam, Sgd};
use autodiff::train::{Mode, Rng};
use autodiff::Parameters;

use common::datasets;
use common::fit::{fit, split};
use common::models::{Linear, Logistic, Model, SoftmaxMlp};

#[test]
fn digits_mlp_reaches_96_percent_on_held_out_digits() {
    let data = datasets::digits();
    let split = split(&data, 0.2, 42);
    let mut model = SoftmaxMlp::new(64, 32, 10, &mut Rng::new(42));
    let history = fit(
        &mut model,
        &mut Adam::new(0.01),
        &split,
        Mode::Minibatch(32),
        15,
        42,
        |_, _, _, _| {},
    );
    let last = history.last().expect("epochs ran");
    assert!(
        last.test_metric >= 0.96,
        "test accuracy {}",
        last.test_metric
    );
    assert!(history[0].train_loss > last.train_loss);
}

#[test]
fn breast_cancer_logistic_regression_reaches_95_percent() {
    let data = datasets::breast_cancer();
    let split = split(&data, 0.2, 42);
    let mut model = Logistic::new(30);
    let history = fit(
        &mut model,
        &mut Sgd::new(0.1),
        &split,
        Mode::Batch,
        200,
        42,
        |_, _, _, _| {},
    );
    let last = history.last().expect("epochs ran");
    assert!(
        last.test_metric >= 0.95,
        "test accuracy {}",
        last.test_metric
    );
}

/// The least-squares solution of [X 1]·[w; b] = y by the normal equations, solved with
/// nalgebra's Cholesky factorization.
fn normal_equations(x: &Array2<f64>, y: &Array1<f64>) -> Vec<f64> {
    let (n, d) = x.dim();
    let design = nalgebra::DMatrix::from_fn(n, d + 1, |i, j| if j < d { x[[i, j]] } else { 1.0 });
    let target = nalgebra::DVector::from_iterator(n, y.iter().copied());
    let gram = design.transpose() * &design;
    let solution = gram
        .cholesky()
        .expect("the Gram matrix of independent features is positive definite")
        .solve(&(design.transpose() * target));
    solution.iter().copied().collect()
}

#[test]
fn diabetes_gradient_descent_reaches_the_normal_equations() {
    let data = datasets::diabetes();
    let split = split(&data, 0.2, 42);
    let exact = normal_equations(&split.x_train, &split.y_train);
    let mut model = Linear::new(10);
    // Batch gradient descent with momentum on the standardized features.
    let mut sgd = Sgd::new(0.05).momentum(0.9);
    fit(
        &mut model,
        &mut sgd,
        &split,
        Mode::Batch,
        3000,
        42,
        |_, _, _, _| {},
    );
    let mut learned = Vec::new();
    model.for_each_leaf(&mut |leaf| learned.extend_from_slice(leaf));
    let error: f64 = learned
        .iter()
        .zip(&exact)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt();
    let norm: f64 = exact.iter().map(|b| b * b).sum::<f64>().sqrt();
    assert!(
        error / norm < 1e-6,
        "relative distance {} from {exact:?}",
        error / norm
    );
    // And it predicts: the residual is the normal equations' residual.
    let fitted = model.predict(split.x_train.view());
    assert_eq!(fitted.len_of(Axis(0)), split.y_train.len());
}

#[test]
fn iris_online_steps_learn_the_three_species() {
    let data = datasets::iris();
    let split = split(&data, 0.2, 7);
    let mut model = SoftmaxMlp::new(4, 8, 3, &mut Rng::new(7));
    let mut sgd = Sgd::new(0.05).momentum(0.5);
    let history = fit(
        &mut model,
        &mut sgd,
        &split,
        Mode::Online,
        10,
        7,
        |_, _, _, _| {},
    );
    let last = history.last().expect("epochs ran");
    assert!(
        last.test_metric >= 0.9,
        "test accuracy {}",
        last.test_metric
    );
}
