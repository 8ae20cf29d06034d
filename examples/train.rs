//! Train one of the lectures' models on a real data set with generated gradients.
//!
//! ```sh
//! cargo run --release --example train                       # the digits MLP
//! cargo run --release --example train -- --dataset breast-cancer --model mlp --mode batch
//! cargo run --release --example train -- --help
//! ```

mod common;

use std::path::PathBuf;
use std::time::Instant;

use autodiff::optim::{Adam, Optimizer, Sgd};
use autodiff::train::{Mode, Rng};
use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use common::datasets::{self, Dataset};
use common::fit::{fit, split, Epoch, Split};
use common::models::{Linear, Logistic, Mlp3, Model, SoftmaxMlp};
use common::plot::{svg, Panel, Series};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum DatasetName {
    /// 8 × 8 handwritten digits, 10 classes (1797 examples)
    Digits,
    /// breast cancer Wisconsin, malignant or benign (569 examples)
    BreastCancer,
    /// iris, 3 species (150 examples)
    Iris,
    /// diabetes progression, a regression (442 examples)
    Diabetes,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ModelName {
    /// one tanh hidden layer, softmax cross-entropy (any number of classes)
    SoftmaxMlp,
    /// the lectures' tanh / sigmoid / sigmoid network, binary cross-entropy (2 classes)
    Mlp,
    /// logistic regression (2 classes)
    Logistic,
    /// linear regression, mean squared error (regression)
    Linear,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ModeName {
    /// one example per step
    Online,
    /// the whole training set per step
    Batch,
    /// shuffled batches of --batch-size
    Minibatch,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum OptimizerName {
    Sgd,
    Adam,
}

/// Train a model on a real data set with gradients generated at compile time by
/// #[differentiable], and plot its loss and accuracy curves.
#[derive(Parser, Debug)]
#[command(name = "train", version)]
struct Args {
    /// The data set (shipped in data/).
    #[arg(long, value_enum, default_value_t = DatasetName::Digits)]
    dataset: DatasetName,
    /// The model [default: softmax-mlp for digits and iris, logistic for breast-cancer,
    /// linear for diabetes].
    #[arg(long, value_enum)]
    model: Option<ModelName>,
    /// How the examples of an epoch are grouped into gradient steps.
    #[arg(long, value_enum, default_value_t = ModeName::Minibatch)]
    mode: ModeName,
    /// Examples per step in minibatch mode.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..))]
    batch_size: u64,
    #[arg(long, value_enum, default_value_t = OptimizerName::Adam)]
    optimizer: OptimizerName,
    /// The learning rate [default: 0.01 for Adam, 0.1 for SGD].
    #[arg(long, allow_negative_numbers = true)]
    lr: Option<f64>,
    /// SGD's momentum.
    #[arg(long, default_value_t = 0.9)]
    momentum: f64,
    #[arg(long, default_value_t = 30)]
    epochs: usize,
    /// Units in the (first) hidden layer.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..))]
    hidden: u64,
    /// Seeds the split, the initial weights and the shuffles.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The fraction of examples held out for testing.
    #[arg(long, default_value_t = 0.2)]
    test_fraction: f64,
    /// Where to write the picture of the curves [default: target/train-<dataset>.svg].
    #[arg(long)]
    plot: Option<PathBuf>,
}

fn main() {
    let args = Args::parse();
    let data = load(args.dataset);
    let model = args.model.unwrap_or(match args.dataset {
        DatasetName::Digits | DatasetName::Iris => ModelName::SoftmaxMlp,
        DatasetName::BreastCancer => ModelName::Logistic,
        DatasetName::Diabetes => ModelName::Linear,
    });
    if let Err(problem) = check(model, &data, &args) {
        let mut command = <Args as clap::CommandFactory>::command();
        command
            .error(clap::error::ErrorKind::ArgumentConflict, problem)
            .exit();
    }
    let split = split(&data, args.test_fraction, args.seed);
    let mut rng = Rng::new(args.seed);
    let (features, hidden) = (data.x.ncols(), args.hidden as usize);
    println!(
        "{}: {} training and {} held-out examples of {} features",
        data.name,
        split.y_train.len(),
        split.y_test.len(),
        features
    );
    let history = match model {
        ModelName::SoftmaxMlp => run(
            SoftmaxMlp::new(features, hidden, data.classes.len(), &mut rng),
            &args,
            &split,
        ),
        ModelName::Mlp => run(Mlp3::new(features, hidden, &mut rng), &args, &split),
        ModelName::Logistic => run(Logistic::new(features), &args, &split),
        ModelName::Linear => run(Linear::new(features), &args, &split),
    };
    report(&args, &data, &history);
}

fn load(name: DatasetName) -> Dataset {
    match name {
        DatasetName::Digits => datasets::digits(),
        DatasetName::BreastCancer => datasets::breast_cancer(),
        DatasetName::Iris => datasets::iris(),
        DatasetName::Diabetes => datasets::diabetes(),
    }
}

/// Whether the model fits the data set's task, and the numbers make sense.
fn check(model: ModelName, data: &Dataset, args: &Args) -> Result<(), String> {
    let classes = data.classes.len();
    let fits = match model {
        ModelName::SoftmaxMlp => classes >= 2,
        ModelName::Mlp | ModelName::Logistic => classes == 2,
        ModelName::Linear => classes == 0,
    };
    if !fits {
        let task = match classes {
            0 => "a regression".to_string(),
            k => format!("{k} classes"),
        };
        let name = model.to_possible_value().map(|v| v.get_name().to_string());
        return Err(format!(
            "--model {} does not fit --dataset {} ({task})",
            name.unwrap_or_default(),
            data.name
        ));
    }
    let held_out = autodiff::train::held_out(data.y.len(), args.test_fraction);
    if !(0.0..1.0).contains(&args.test_fraction) || held_out == 0 || held_out == data.y.len() {
        return Err(format!(
            "--test-fraction {} must hold out at least one example and keep some for training",
            args.test_fraction
        ));
    }
    if args.lr.is_some_and(|lr| !(lr > 0.0 && lr.is_finite())) {
        return Err("--lr must be a positive number".into());
    }
    Ok(())
}

fn run<M: Model>(mut model: M, args: &Args, data: &Split) -> Vec<Epoch> {
    let mut optimizer: Box<dyn Optimizer<M>> = match args.optimizer {
        OptimizerName::Adam => Box::new(Adam::new(args.lr.unwrap_or(0.01))),
        OptimizerName::Sgd => Box::new(Sgd::new(args.lr.unwrap_or(0.1)).momentum(args.momentum)),
    };
    let mode = match args.mode {
        ModeName::Online => Mode::Online,
        ModeName::Batch => Mode::Batch,
        ModeName::Minibatch => Mode::Minibatch(args.batch_size as usize),
    };
    println!(
        "{} parameters, {mode} steps, {:?}, {} epochs",
        model.num_parameters(),
        args.optimizer,
        args.epochs
    );
    let bar = ProgressBar::new(args.epochs as u64);
    bar.set_style(
        ProgressStyle::with_template("epoch {pos:>3}/{len} {bar:30} {msg} [{elapsed}]")
            .expect("a valid template"),
    );
    let start = Instant::now();
    let mut running = None::<f64>;
    let history = fit(
        &mut model,
        optimizer.as_mut(),
        data,
        mode,
        args.epochs,
        args.seed,
        |_, step, steps, loss| {
            // An exponential moving average over about one epoch's steps.
            let decay = 1.0 - 1.0 / (steps.min(50) as f64);
            let average = running.map_or(loss, |r| decay * r + (1.0 - decay) * loss);
            running = Some(average);
            if step + 1 == steps {
                bar.inc(1);
            }
            bar.set_message(format!("running loss {average:.4}"));
        },
    );
    bar.finish_and_clear();
    println!("trained in {:.2?}", start.elapsed());
    history
}

fn report(args: &Args, data: &Dataset, history: &[Epoch]) {
    let Some(last) = history.last() else {
        println!("no epochs run");
        return;
    };
    println!(
        "final loss: train {:.4}, test {:.4}",
        last.train_loss, last.test_loss
    );
    let (metric, scale) = if data.is_classification() {
        println!(
            "final accuracy: train {:.2} %, test {:.2} %",
            100.0 * last.train_metric,
            100.0 * last.test_metric
        );
        ("accuracy (%)", 100.0)
    } else {
        println!(
            "final root mean squared error: train {:.2}, test {:.2}",
            last.train_metric, last.test_metric
        );
        ("root mean squared error", 1.0)
    };
    let column = |f: fn(&Epoch) -> f64, scale: f64| history.iter().map(|e| scale * f(e)).collect();
    let picture = svg(&[
        Panel {
            title: "loss",
            series: vec![
                Series {
                    label: "train",
                    color: "#1f77b4",
                    values: column(|e| e.train_loss, 1.0),
                },
                Series {
                    label: "held out",
                    color: "#d62728",
                    values: column(|e| e.test_loss, 1.0),
                },
            ],
        },
        Panel {
            title: metric,
            series: vec![
                Series {
                    label: "train",
                    color: "#1f77b4",
                    values: column(|e| e.train_metric, scale),
                },
                Series {
                    label: "held out",
                    color: "#d62728",
                    values: column(|e| e.test_metric, scale),
                },
            ],
        },
    ]);
    let path = args
        .plot
        .clone()
        .unwrap_or_else(|| default_plot_path(data.name));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::write(&path, picture) {
        Ok(()) => println!("curves: {}", path.display()),
        Err(error) => eprintln!("could not write {}: {error}", path.display()),
    }
}

/// `target/train-<dataset>.svg` in the project, wherever it is run from.
fn default_plot_path(dataset: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(format!("train-{dataset}.svg"))
}
