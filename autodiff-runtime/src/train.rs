//! The pieces of the lectures' training loops that are not gradients: a seeded shuffle, the
//! three modes of gradient descent (online, batch, minibatch), a held-out split,
//! standardization of features, and accuracy.
//!
//! ```
//! use autodiff_runtime::train::{Mode, Rng};
//!
//! let mut rng = Rng::new(7);
//! let batches = Mode::Minibatch(4).batches(10, &mut rng);
//! assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [4, 4, 2]);
//! let mut seen: Vec<usize> = batches.concat();
//! seen.sort();
//! assert_eq!(seen, (0..10).collect::<Vec<_>>()); // every example once per epoch
//! ```

use std::fmt;
use std::str::FromStr;

use ndarray::{Array1, Array2, ArrayView2, Axis};

/// A small seeded random number generator (SplitMix64): the same seed gives the same
/// shuffles on every machine and with every version of every dependency.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }

    /// Standard normal (Box–Muller), for initializing weights.
    pub fn normal(&mut self) -> f64 {
        let u = 1.0 - self.uniform(); // in (0, 1], so the log is finite
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// Uniform in `0..n` (n > 0), without modulo bias worth the name for n ≪ 2⁶⁴.
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Fisher–Yates.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }

    /// An array of independent N(0, σ²) entries.
    pub fn normal_array(&mut self, shape: (usize, usize), sigma: f64) -> Array2<f64> {
        Array2::from_shape_simple_fn(shape, || sigma * self.normal())
    }
}

/// How the examples of an epoch are grouped into gradient steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// One example per step, in a fresh random order each epoch (stochastic gradient descent).
    Online,
    /// The whole training set in one step (gradient descent).
    Batch,
    /// Shuffled batches of k examples (the last one may be smaller).
    Minibatch(usize),
}

impl Mode {
    /// The index sets of one epoch's steps over `n` examples.
    pub fn batches(&self, n: usize, rng: &mut Rng) -> Vec<Vec<usize>> {
        let mut order: Vec<usize> = (0..n).collect();
        let size = match *self {
            Mode::Batch => return vec![order],
            Mode::Online => 1,
            Mode::Minibatch(k) => k.max(1),
        };
        rng.shuffle(&mut order);
        order.chunks(size).map(<[usize]>::to_vec).collect()
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Online => write!(f, "online"),
            Mode::Batch => write!(f, "batch"),
            Mode::Minibatch(k) => write!(f, "minibatch of {k}"),
        }
    }
}

/// `online`, `batch` or `minibatch` (whose size is given separately, so this parses to
/// `Minibatch(32)`: set the size with [`Mode::with_batch_size`]).
impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "online" => Ok(Mode::Online),
            "batch" => Ok(Mode::Batch),
            "minibatch" => Ok(Mode::Minibatch(32)),
            other => Err(format!(
                "unknown mode `{other}`: expected `online`, `batch` or `minibatch`"
            )),
        }
    }
}

impl Mode {
    /// The same mode with minibatches of `k`.
    pub fn with_batch_size(self, k: usize) -> Self {
        match self {
            Mode::Minibatch(_) => Mode::Minibatch(k),
            other => other,
        }
    }
}

/// A random split of `n` examples into (training, held-out) index sets, `test_fraction` of
/// them held out.
pub fn train_test_split(n: usize, test_fraction: f64, rng: &mut Rng) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    let train = order.split_off(held_out(n, test_fraction));
    (train, order)
}

/// How many of `n` examples [`train_test_split`] holds out.
pub fn held_out(n: usize, test_fraction: f64) -> usize {
    ((n as f64) * test_fraction.clamp(0.0, 1.0)).round() as usize
}

/// Standardization of features: each column to mean 0 and standard deviation 1, with the
/// statistics of the training set applied to every set.
#[derive(Clone, Debug)]
pub struct Standardizer {
    pub mean: Array1<f64>,
    pub scale: Array1<f64>,
}

impl Standardizer {
    /// The column means and standard deviations of `x` (a constant column keeps scale 1).
    pub fn fit(x: ArrayView2<f64>) -> Self {
        let mean = x.mean_axis(Axis(0)).expect("at least one row");
        let scale = x
            .std_axis(Axis(0), 0.0)
            .mapv(|s| if s > 0.0 { s } else { 1.0 });
        Standardizer { mean, scale }
    }

    pub fn transform(&self, x: ArrayView2<f64>) -> Array2<f64> {
        (&x - &self.mean) / &self.scale
    }
}

/// The index of the largest entry of each row: the predicted class of a row of logits.
pub fn argmax_rows(scores: ArrayView2<f64>) -> Vec<usize> {
    scores
        .rows()
        .into_iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |best, (k, &v)| {
                    if v > best.1 {
                        (k, v)
                    } else {
                        best
                    }
                })
                .0
        })
        .collect()
}

/// The fraction of predictions equal to the labels.
///
/// # Panics
/// If the two have different lengths.
pub fn accuracy(predicted: &[usize], labels: &[usize]) -> f64 {
    assert_eq!(
        predicted.len(),
        labels.len(),
        "accuracy: {} predictions for {} labels",
        predicted.len(),
        labels.len()
    );
    let right = predicted.iter().zip(labels).filter(|(p, l)| p == l).count();
    right as f64 / labels.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn seeds_repeat_and_differ() {
        let draw = |seed| {
            let mut rng = Rng::new(seed);
            Mode::Online.batches(20, &mut rng).concat()
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
        assert_eq!(
            Mode::Batch.batches(3, &mut Rng::new(0)),
            vec![vec![0, 1, 2]]
        );
    }

    #[test]
    fn split_holds_out_the_fraction() {
        let (train, test) = train_test_split(10, 0.2, &mut Rng::new(3));
        assert_eq!((train.len(), test.len()), (8, 2));
        let mut all = [train, test].concat();
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn standardized_columns_have_mean_zero_and_unit_deviation() {
        let x = array![[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]];
        let s = Standardizer::fit(x.view());
        let z = s.transform(x.view());
        assert_eq!(
            z.column(0).to_vec(),
            [-1.224744871391589, 0.0, 1.224744871391589]
        );
        assert_eq!(z.column(1).to_vec(), [0.0, 0.0, 0.0]); // constant: centred, not scaled
    }

    #[test]
    fn accuracy_and_argmax() {
        let scores = array![[0.1, 0.9], [2.0, -1.0], [0.0, 0.5]];
        assert_eq!(argmax_rows(scores.view()), [1, 0, 1]);
        assert_eq!(accuracy(&[1, 0, 1], &[1, 1, 1]), 2.0 / 3.0);
    }
}
