//! A character-level language model, the last lecture's closing topic: predict the next letter
//! of an English word from the three before it, over a one-hot vocabulary of 26 letters and a
//! word boundary. Each context letter is looked up in a learned embedding (`select`, a gather
//! whose gradient sums the rows of repeated letters), the three embeddings are concatenated,
//! pass a tanh layer and a softmax over the vocabulary (Bengio et al., 2003). The gradient is
//! generated at compile time; the words are Debian's SCOWL-derived list in `data/words.txt`.
//!
//! ```sh
//! cargo run --release --example char_lm
//! cargo run --release --example char_lm -- --epochs 10 --hidden 200 --samples 20
//! ```

mod common;

use std::path::PathBuf;
use std::time::Instant;

use autodiff::ndarray::{concatenate, Array1, Array2, Axis};
use autodiff::optim::{Adam, Optimizer};
use autodiff::prelude::*;
use autodiff::train::Rng;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

use common::plot::{svg, Panel, Series};

/// The word list, one lowercase word per line.
const WORDS: &str = include_str!("../data/words.txt");
/// Letters a–z and the word boundary `.` (index 0), which starts and ends every word.
const VOCABULARY: usize = 27;
/// How many letters the model reads before the one it predicts.
const CONTEXT: usize = 3;

/// Train a character-level language model on an English word list and sample words from it.
#[derive(Parser, Debug)]
#[command(name = "char_lm", version)]
struct Args {
    #[arg(long, default_value_t = 5)]
    epochs: usize,
    /// Dimensions of each letter's embedding.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u64).range(1..))]
    embedding: u64,
    /// Units of the tanh layer.
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u64).range(1..))]
    hidden: u64,
    /// Examples (a context and its next letter) per gradient step.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..))]
    batch_size: u64,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 0.005)]
    lr: f64,
    /// Words sampled from the trained model.
    #[arg(long, default_value_t = 12)]
    samples: usize,
    /// Seeds the split, the initial weights, the shuffles and the samples.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Where to write the picture of the curves [default: target/char-lm.svg].
    #[arg(long)]
    plot: Option<PathBuf>,
}

/// The model's parameters: the embedding table (one row per letter), the hidden layer and
/// the output layer.
#[derive(Parameters, Clone, Debug)]
struct CharModel {
    embedding: Array2<f64>,
    w1: Array2<f64>,
    b1: Array1<f64>,
    w2: Array2<f64>,
    b2: Array1<f64>,
}

/// Examples by column: the letters at each context position, and the letter that follows.
struct Examples {
    context: [Vec<usize>; CONTEXT],
    next: Vec<usize>,
}

/// The scores of each next letter, one row per example, written as one would in ndarray.
#[differentiable(wrt(p))]
fn logits(p: &CharModel, first: &[usize], second: &[usize], third: &[usize]) -> Array2<f64> {
    let embedded = concatenate![
        Axis(1),
        p.embedding.select(Axis(0), first),
        p.embedding.select(Axis(0), second),
        p.embedding.select(Axis(0), third)
    ];
    let h = (embedded.dot(&p.w1) + &p.b1).tanh();
    h.dot(&p.w2) + &p.b2
}

/// The mean cross-entropy of the next letters, in nats.
#[differentiable(wrt(p))]
fn loss(p: &CharModel, first: &[usize], second: &[usize], third: &[usize], next: &[usize]) -> f64 {
    cross_entropy(logits(p, first, second, third), next)
}

fn main() {
    let args = Args::parse();
    let mut rng = Rng::new(args.seed);
    let mut words: Vec<&str> = WORDS.lines().filter(|w| !w.is_empty()).collect();
    rng.shuffle(&mut words);
    let held_out = words.len() / 10;
    let (test_words, train_words) = words.split_at(held_out);
    let (train, test) = (examples(train_words), examples(test_words));
    println!(
        "{} words ({} for training, {} held out): {} and {} next-letter examples",
        words.len(),
        train_words.len(),
        test_words.len(),
        train.next.len(),
        test.next.len()
    );

    // The unigram baseline: each letter's frequency in the training words, whatever came
    // before it.
    let mut counts = [1.0_f64; VOCABULARY];
    for &c in &train.next {
        counts[c] += 1.0;
    }
    let total: f64 = counts.iter().sum();
    let unigram = -test
        .next
        .iter()
        .map(|&c| (counts[c] / total).ln())
        .sum::<f64>()
        / test.next.len() as f64;
    println!("unigram baseline, held out: {unigram:.4} nats per letter");

    let mut model = init(&args, &mut rng);
    println!("{} parameters", model.num_parameters());
    let mut optimizer = Adam::new(args.lr);
    let batch = args.batch_size as usize;
    let steps = train.next.len().div_ceil(batch);
    let bar = ProgressBar::new((args.epochs * steps) as u64);
    bar.set_style(
        ProgressStyle::with_template("epoch {msg} {bar:30} {pos}/{len} steps [{elapsed}]")
            .expect("a valid template"),
    );
    let start = Instant::now();
    let (mut train_curve, mut test_curve) = (Vec::new(), Vec::new());
    let mut order: Vec<usize> = (0..train.next.len()).collect();
    for epoch in 0..args.epochs {
        rng.shuffle(&mut order);
        let mut running = None::<f64>;
        for indices in order.chunks(batch) {
            let b = train.gather(indices);
            let (value, grad) =
                loss_grad(&model, &b.context[0], &b.context[1], &b.context[2], &b.next);
            optimizer.step(&mut model, &grad);
            running = Some(running.map_or(value, |r| 0.98 * r + 0.02 * value));
            bar.inc(1);
            bar.set_message(format!(
                "{}/{} running loss {:.4}",
                epoch + 1,
                args.epochs,
                running.unwrap_or(value)
            ));
        }
        train_curve.push(evaluate(&model, &train));
        test_curve.push(evaluate(&model, &test));
    }
    bar.finish_and_clear();
    let last = *test_curve.last().unwrap_or(&f64::NAN);
    println!("trained in {:.2?}", start.elapsed());
    println!(
        "final loss: train {:.4}, held out {last:.4} nats per letter (unigram {unigram:.4}: {:.4} nats, {:.1} % lower)",
        train_curve.last().unwrap_or(&f64::NAN),
        unigram - last,
        100.0 * (unigram - last) / unigram
    );
    println!("sampled words:");
    for _ in 0..args.samples {
        println!("  {}", sample(&model, &mut rng));
    }

    let path = args
        .plot
        .unwrap_or_else(|| PathBuf::from("target/char-lm.svg"));
    let picture = svg(&[Panel {
        title: "cross-entropy (nats per letter)",
        series: vec![
            Series {
                label: "train",
                color: "#1f77b4",
                values: train_curve,
            },
            Series {
                label: "held out",
                color: "#d62728",
                values: test_curve,
            },
            Series {
                label: "unigram",
                color: "#7f7f7f",
                values: vec![unigram; args.epochs],
            },
        ],
    }]);
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::write(&path, picture) {
        Ok(()) => println!("curves: {}", path.display()),
        Err(e) => eprintln!("could not write {}: {e}", path.display()),
    }
}

/// Every (context, next letter) of the words, each word framed by boundaries: `...cat.`
/// gives `... → c`, `..c → a`, `.ca → t`, `cat → .`.
fn examples(words: &[&str]) -> Examples {
    let mut out = Examples {
        context: Default::default(),
        next: Vec::new(),
    };
    for word in words {
        let mut window = [0; CONTEXT];
        for c in word.bytes().map(|b| usize::from(b - b'a') + 1).chain([0]) {
            for (column, &letter) in out.context.iter_mut().zip(&window) {
                column.push(letter);
            }
            out.next.push(c);
            window.rotate_left(1);
            window[CONTEXT - 1] = c;
        }
    }
    out
}

impl Examples {
    fn gather(&self, indices: &[usize]) -> Examples {
        let pick = |column: &Vec<usize>| indices.iter().map(|&i| column[i]).collect();
        Examples {
            context: [
                pick(&self.context[0]),
                pick(&self.context[1]),
                pick(&self.context[2]),
            ],
            next: pick(&self.next),
        }
    }
}

/// Small random embeddings, Glorot-scaled layers, zero biases.
fn init(args: &Args, rng: &mut Rng) -> CharModel {
    let (d, h) = (args.embedding as usize, args.hidden as usize);
    let glorot = |inputs: usize, outputs: usize| (2.0 / (inputs + outputs) as f64).sqrt();
    CharModel {
        embedding: rng.normal_array((VOCABULARY, d), 1.0),
        w1: rng.normal_array((CONTEXT * d, h), glorot(CONTEXT * d, h)),
        b1: Array1::zeros(h),
        w2: rng.normal_array((h, VOCABULARY), glorot(h, VOCABULARY)),
        b2: Array1::zeros(VOCABULARY),
    }
}

/// The loss over every example, in chunks.
fn evaluate(model: &CharModel, data: &Examples) -> f64 {
    let n = data.next.len();
    let mut total = 0.0;
    for start in (0..n).step_by(4096) {
        let indices: Vec<usize> = (start..(start + 4096).min(n)).collect();
        let b = data.gather(&indices);
        let value = loss(model, &b.context[0], &b.context[1], &b.context[2], &b.next);
        total += value * indices.len() as f64;
    }
    total / n as f64
}

/// A word drawn letter by letter from the model's softmax, until it predicts the boundary.
fn sample(model: &CharModel, rng: &mut Rng) -> String {
    let mut window = [0; CONTEXT];
    let mut word = String::new();
    while word.len() < 24 {
        let scores = logits(model, &window[..1], &window[1..2], &window[2..]);
        let row = scores.row(0);
        let top = row.fold(f64::NEG_INFINITY, |m, &s| m.max(s));
        let weights: Vec<f64> = row.iter().map(|&s| (s - top).exp()).collect();
        let mut u = rng.uniform() * weights.iter().sum::<f64>();
        let mut next = VOCABULARY - 1;
        for (c, w) in weights.iter().enumerate() {
            if u < *w {
                next = c;
                break;
            }
            u -= w;
        }
        if next == 0 {
            break;
        }
        word.push(char::from(b'a' + (next - 1) as u8));
        window.rotate_left(1);
        window[CONTEXT - 1] = next;
    }
    word
}
