//! The training loop of the lectures: epochs of gradient steps over online, batch or
//! minibatch index sets, with the loss and the accuracy (or, for a regression, the root mean
//! squared error) measured on the training set and a held-out set after every epoch.

use autodiff::ndarray::{Array1, Array2, Axis};
use autodiff::optim::Optimizer;
use autodiff::train::{accuracy, train_test_split, Mode, Rng, Standardizer};

use super::datasets::Dataset;
use super::models::Model;

/// A data set split into standardized training and held-out parts.
pub struct Split {
    pub x_train: Array2<f64>,
    pub y_train: Array1<f64>,
    pub x_test: Array2<f64>,
    pub y_test: Array1<f64>,
    pub classification: bool,
}

/// Holds out `test_fraction` of `data` (shuffled with `seed`) and standardizes the features
/// with the training part's statistics.
pub fn split(data: &Dataset, test_fraction: f64, seed: u64) -> Split {
    let (train, test) = train_test_split(data.y.len(), test_fraction, &mut Rng::new(seed));
    let raw_train = data.x.select(Axis(0), &train);
    let standardizer = Standardizer::fit(raw_train.view());
    Split {
        x_train: standardizer.transform(raw_train.view()),
        y_train: data.y.select(Axis(0), &train),
        x_test: standardizer.transform(data.x.select(Axis(0), &test).view()),
        y_test: data.y.select(Axis(0), &test),
        classification: data.is_classification(),
    }
}

/// Accuracy for a classifier, root mean squared error for a regression.
pub fn metric<M: Model>(model: &M, x: &Array2<f64>, y: &Array1<f64>, classification: bool) -> f64 {
    let predicted = model.predict(x.view());
    if classification {
        let classes = |v: &Array1<f64>| v.iter().map(|&c| c as usize).collect::<Vec<_>>();
        accuracy(&classes(&predicted), &classes(y))
    } else {
        ((&predicted - y).mapv(|e| e * e).mean().unwrap_or(0.0)).sqrt()
    }
}

/// What one epoch ended with.
#[derive(Clone, Copy, Debug)]
pub struct Epoch {
    pub train_loss: f64,
    pub test_loss: f64,
    pub train_metric: f64,
    pub test_metric: f64,
}

/// Trains `model` for `epochs` epochs; `on_step(epoch, step, steps, loss)` is called after
/// every gradient step (for a progress bar). Returns each epoch's figures.
pub fn fit<M: Model>(
    model: &mut M,
    optimizer: &mut dyn Optimizer<M>,
    data: &Split,
    mode: Mode,
    epochs: usize,
    seed: u64,
    mut on_step: impl FnMut(usize, usize, usize, f64),
) -> Vec<Epoch> {
    let mut rng = Rng::new(seed);
    let mut history = Vec::with_capacity(epochs);
    for epoch in 0..epochs {
        let batches = mode.batches(data.y_train.len(), &mut rng);
        for (step, batch) in batches.iter().enumerate() {
            let x = data.x_train.select(Axis(0), batch);
            let y = data.y_train.select(Axis(0), batch);
            let (loss, grad) = model.loss_grad(&x, &y);
            optimizer.step(model, &grad);
            on_step(epoch, step, batches.len(), loss);
        }
        history.push(Epoch {
            train_loss: model.loss(&data.x_train, &data.y_train),
            test_loss: model.loss(&data.x_test, &data.y_test),
            train_metric: metric(model, &data.x_train, &data.y_train, data.classification),
            test_metric: metric(model, &data.x_test, &data.y_test, data.classification),
        });
    }
    history
}
