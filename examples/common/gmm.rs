//! The Gaussian-mixture objective of ADBench and GradBench, shared by `tests/gmm_loops.rs`,
//! `benches/gmm_loops.rs`, `examples/gmm_memory.rs` and `tests/gradbench.rs` (which checks
//! the GradBench tool's `gmm` eval against [`gmm_spec`]; each includes this file with
//! `#[path]`; it is not part of `common/mod.rs`, so the other examples do not compile it).
//!
//! Four ways to compute the same objective:
//!
//! - [`gmm_loops`]: loops over points and components, as ADBench's C++ reference does,
//!   reading elements of the arrays; the quadratic form ‖Qₖ(xᵢ − μₖ)‖² by nested loops that
//!   read the packed strictly-lower part at its index, and a streaming log-sum-exp over the
//!   components of each point.
//! - [`gmm_cpp`] and [`gmm_cpp_scoped`]: ADBench's C++ `gmm_objective` line for line, its
//!   work arrays written element by element (`qx[r] += l[idx] * xc[col]`); the first keeps
//!   them across points and components as the C++ does, the second declares them where they
//!   are used, as Rust code usually does.
//! - [`gmm_vectorized`]: the same objective on whole arrays: every component's factor in one
//!   matrix, so that one matrix product applies all of them to all points.
//! - [`gmm_spec`]: GradBench's specification (the sign of the prior corrected), with the
//!   precision matrices Σₖ⁻¹ = QₖᵀQₖ built from `q` and `l`.
//! - [`by_hand`]: the objective and its gradient in plain Rust, derived by hand: the
//!   baseline of the benchmark.
//!
//! The data are ADBench's (`data/adbench-gmm/`, MIT licence, see `data/README.md`).
#![allow(dead_code)] // each user takes what it needs

use std::f64::consts::PI;

use autodiff::ndarray::{s, Array1, Array2, Array3, Axis};
use autodiff::prelude::*;

/// A gradient (∂α, ∂μ, ∂icf), each of its parameter's shape.
pub type Gradient = (Array1<f64>, Array2<f64>, Array2<f64>);

/// One instance in ADBench's format.
#[derive(Clone, Debug)]
pub struct Gmm {
    /// Mixture weights' parametrization α, K values.
    pub alphas: Array1<f64>,
    /// Means μₖ, K × D.
    pub means: Array2<f64>,
    /// Inverse covariance factors, K × D(D+1)/2: D log-diagonal entries qₖ, then the strictly
    /// lower triangle lₖ in column order.
    pub icf: Array2<f64>,
    /// Points xᵢ, N × D.
    pub x: Array2<f64>,
    /// Wishart prior: precision γ and additional degrees of freedom m.
    pub gamma: f64,
    pub m: usize,
}

impl Gmm {
    /// Parses ADBench's text format: `D K N`, K α, K lines of μ, K lines of icf, N points,
    /// `γ m`.
    pub fn parse(text: &str) -> Gmm {
        let mut tokens = text.split_whitespace();
        let mut next = || -> f64 {
            tokens
                .next()
                .expect("ADBench GMM file: too few values")
                .parse()
                .expect("ADBench GMM file: not a number")
        };
        let (d, k, n) = (next() as usize, next() as usize, next() as usize);
        let alphas = Array1::from_shape_fn(k, |_| next());
        let means = Array2::from_shape_fn((k, d), |_| next());
        let icf = Array2::from_shape_fn((k, d * (d + 1) / 2), |_| next());
        let x = Array2::from_shape_fn((n, d), |_| next());
        let gamma = next();
        let m = next() as usize;
        Gmm {
            alphas,
            means,
            icf,
            x,
            gamma,
            m,
        }
    }

    /// Reads `data/adbench-gmm/<name>` (at run time: the larger files stay out of binaries).
    pub fn load(name: &str) -> Gmm {
        let path = format!("{}/data/adbench-gmm/{name}", env!("CARGO_MANIFEST_DIR"));
        Gmm::parse(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
    }

    pub fn d(&self) -> usize {
        self.x.ncols()
    }

    pub fn k(&self) -> usize {
        self.alphas.len()
    }

    /// The log-diagonal parts qₖ (K × D) and strictly lower parts lₖ (K × D(D−1)/2), as
    /// GradBench's input has them.
    pub fn q_and_l(&self) -> (Array2<f64>, Array2<f64>) {
        let d = self.d();
        let q = self.icf.slice(autodiff::ndarray::s![.., ..d]).to_owned();
        let l = self.icf.slice(autodiff::ndarray::s![.., d..]).to_owned();
        (q, l)
    }

    /// The objective at this instance, by the loops.
    pub fn loops(&self) -> f64 {
        gmm_loops(
            &self.alphas,
            &self.means,
            &self.icf,
            &self.x,
            self.gamma,
            self.m,
        )
    }

    /// The objective and its gradient (α, μ, icf), by the loops.
    pub fn loops_grad(&self) -> (f64, Gradient) {
        gmm_loops_grad(
            &self.alphas,
            &self.means,
            &self.icf,
            &self.x,
            self.gamma,
            self.m,
        )
    }

    pub fn cpp(&self) -> f64 {
        gmm_cpp(
            &self.alphas,
            &self.means,
            &self.icf,
            &self.x,
            self.gamma,
            self.m,
        )
    }

    pub fn cpp_grad(&self) -> (f64, Gradient) {
        gmm_cpp_grad(
            &self.alphas,
            &self.means,
            &self.icf,
            &self.x,
            self.gamma,
            self.m,
        )
    }

    pub fn cpp_scoped(&self) -> f64 {
        gmm_cpp_scoped(
            &self.alphas,
            &self.means,
            &self.icf,
            &self.x,
            self.gamma,
            self.m,
        )
    }

    pub fn cpp_scoped_grad(&self) -> (f64, Gradient) {
        gmm_cpp_scoped_grad(
            &self.alphas,
            &self.means,
            &self.icf,
            &self.x,
            self.gamma,
            self.m,
        )
    }

    pub fn vectorized(&self) -> f64 {
        gmm_vectorized(
            &self.alphas,
            &self.means,
            &self.icf,
            &self.x,
            self.gamma,
            self.m,
        )
    }

    pub fn vectorized_writes(&self) -> f64 {
        gmm_vectorized_writes(
            &self.alphas,
            &self.means,
            &self.icf,
            &self.x,
            self.gamma,
            self.m,
        )
    }

    pub fn vectorized_writes_grad(&self) -> (f64, Gradient) {
        gmm_vectorized_writes_grad(
            &self.alphas,
            &self.means,
            &self.icf,
            &self.x,
            self.gamma,
            self.m,
        )
    }

    pub fn vectorized_grad(&self) -> (f64, Gradient) {
        gmm_vectorized_grad(
            &self.alphas,
            &self.means,
            &self.icf,
            &self.x,
            self.gamma,
            self.m,
        )
    }
}

/// ln Γ(a) for a positive multiple of ½ (all the Wishart constant needs: a = (D + m + 1 − j + 1)/2),
/// exactly from Γ(1) = 1, Γ(½) = √π and Γ(a + 1) = aΓ(a).
pub fn ln_gamma_half_integer(a: f64) -> f64 {
    assert!(
        a > 0.0 && (2.0 * a).fract() == 0.0,
        "ln_gamma_half_integer: {a} is not a positive multiple of 1/2"
    );
    let (mut x, mut out) = if a.fract() == 0.0 {
        (1.0, 0.0)
    } else {
        (0.5, 0.5 * PI.ln())
    };
    while x < a {
        out += x.ln();
        x += 1.0;
    }
    out
}

/// ln Γ_p(a), the multivariate gamma function: ¼p(p−1) ln π + Σⱼ₌₁..ₚ ln Γ(a + (1 − j)/2).
pub fn ln_multigamma(a: f64, p: usize) -> f64 {
    let mut out = 0.25 * (p * (p - 1)) as f64 * PI.ln();
    for j in 1..=p {
        out += ln_gamma_half_integer(a + 0.5 * (1.0 - j as f64));
    }
    out
}

/// The Wishart prior's constant C = νD(ln γ − ½ ln 2) − ln Γ_D(ν/2), ν = D + m + 1.
pub fn wishart_constant(d: usize, gamma: f64, m: usize) -> f64 {
    let nu = (d + m + 1) as f64;
    nu * d as f64 * (gamma.ln() - 0.5 * 2f64.ln()) - ln_multigamma(0.5 * nu, d)
}

/// ADBench's C++ `gmm_objective` line for line, in Rust: per point and component,
/// `subtract` into `xcentered`, `Qtimesx` into `qx` (the packed lower part added column by
/// column, `qx[r] += l[idx] * xcentered[col]`), `sqnorm`, `main_term[c]`; then each point's
/// log-sum-exp. Its work arrays live across points and components, as the C++'s do.
#[differentiable(wrt(alphas, means, icf))]
pub fn gmm_cpp(
    alphas: &Array1<f64>,
    means: &Array2<f64>,
    icf: &Array2<f64>,
    x: &Array2<f64>,
    gamma: f64,
    m: usize,
) -> f64 {
    let n = x.nrows();
    let d = x.ncols();
    let k = alphas.len();
    let qdiags = icf.slice(s![.., ..d]).exp();
    let sum_qs = icf.slice(s![.., ..d]).sum_axis(Axis(1));
    let mut xcentered = Array1::<f64>::zeros(d);
    let mut qx = Array1::<f64>::zeros(d);
    let mut main_term = Array1::<f64>::zeros(k);
    let mut slse = 0.0;
    for i in 0..n {
        for c in 0..k {
            for j in 0..d {
                xcentered[j] = x[[i, j]] - means[[c, j]];
            }
            // Qtimesx: the diagonal, then the packed lower part column by column.
            for j in 0..d {
                qx[j] = qdiags[[c, j]] * xcentered[j];
            }
            let mut idx = d;
            for col in 0..d {
                for r in col + 1..d {
                    qx[r] += icf[[c, idx]] * xcentered[col];
                    idx += 1;
                }
            }
            let mut sqnorm = 0.0;
            for j in 0..d {
                sqnorm += qx[j] * qx[j];
            }
            main_term[c] = alphas[c] + sum_qs[c] - 0.5 * sqnorm;
        }
        let mut largest = main_term[0];
        for c in 1..k {
            if main_term[c] > largest {
                largest = main_term[c];
            }
        }
        let mut sum = 0.0;
        for c in 0..k {
            sum += (main_term[c] - largest).exp();
        }
        slse += sum.ln() + largest;
    }
    cpp_rest(alphas, icf, &qdiags, &sum_qs, n, gamma, m, slse)
}

/// [`gmm_cpp`] with its work arrays declared where they are used: `main_term` per point,
/// `xcentered` and `qx` per component.
#[differentiable(wrt(alphas, means, icf))]
pub fn gmm_cpp_scoped(
    alphas: &Array1<f64>,
    means: &Array2<f64>,
    icf: &Array2<f64>,
    x: &Array2<f64>,
    gamma: f64,
    m: usize,
) -> f64 {
    let n = x.nrows();
    let d = x.ncols();
    let k = alphas.len();
    let qdiags = icf.slice(s![.., ..d]).exp();
    let sum_qs = icf.slice(s![.., ..d]).sum_axis(Axis(1));
    let mut slse = 0.0;
    for i in 0..n {
        let mut main_term = Array1::<f64>::zeros(k);
        for c in 0..k {
            let mut xcentered = Array1::<f64>::zeros(d);
            let mut qx = Array1::<f64>::zeros(d);
            for j in 0..d {
                xcentered[j] = x[[i, j]] - means[[c, j]];
            }
            // Qtimesx: the diagonal, then the packed lower part column by column.
            for j in 0..d {
                qx[j] = qdiags[[c, j]] * xcentered[j];
            }
            let mut idx = d;
            for col in 0..d {
                for r in col + 1..d {
                    qx[r] += icf[[c, idx]] * xcentered[col];
                    idx += 1;
                }
            }
            let mut sqnorm = 0.0;
            for j in 0..d {
                sqnorm += qx[j] * qx[j];
            }
            main_term[c] = alphas[c] + sum_qs[c] - 0.5 * sqnorm;
        }
        let mut largest = main_term[0];
        for c in 1..k {
            if main_term[c] > largest {
                largest = main_term[c];
            }
        }
        let mut sum = 0.0;
        for c in 0..k {
            sum += (main_term[c] - largest).exp();
        }
        slse += sum.ln() + largest;
    }
    cpp_rest(alphas, icf, &qdiags, &sum_qs, n, gamma, m, slse)
}

/// What [`gmm_cpp`] and [`gmm_cpp_scoped`] share after the data term: −N·LSE(α), the
/// Wishart prior from the factors' squared entries and Σⱼ qₖⱼ, the constants.
#[differentiable(wrt(alphas, icf, qdiags, sum_qs, slse))]
#[allow(clippy::too_many_arguments)]
fn cpp_rest(
    alphas: &Array1<f64>,
    icf: &Array2<f64>,
    qdiags: &Array2<f64>,
    sum_qs: &Array1<f64>,
    n: usize,
    gamma: f64,
    m: usize,
    slse: f64,
) -> f64 {
    let d = qdiags.ncols();
    let k = alphas.len();
    let mut largest = alphas[0];
    for c in 1..k {
        if alphas[c] > largest {
            largest = alphas[c];
        }
    }
    let mut sum = 0.0;
    for c in 0..k {
        sum += (alphas[c] - largest).exp();
    }
    let lse_alphas = sum.ln() + largest;
    let mut prior = 0.0;
    for c in 0..k {
        let mut frobenius = 0.0;
        for j in 0..d {
            frobenius += qdiags[[c, j]] * qdiags[[c, j]];
        }
        for j in d..icf.ncols() {
            frobenius += icf[[c, j]] * icf[[c, j]];
        }
        prior += 0.5 * gamma * gamma * frobenius - m as f64 * sum_qs[c];
    }
    let constant = -(n as f64) * d as f64 * 0.5 * (2.0 * PI).ln();
    constant + slse - n as f64 * lse_alphas + prior - k as f64 * wishart_constant(d, gamma, m)
}

/// ADBench's objective, written with loops as its C++ reference is: for each point a
/// log-sum-exp over the components of αₖ + Σⱼ qₖⱼ − ½‖Qₖ(xᵢ − μₖ)‖², minus N·LSE(α), plus
/// ADBench's Wishart term. Qₖ's row r is (l at the packed index of (r, 0), …, exp qₖᵣ, 0, …),
/// so each entry of Qₖ(xᵢ − μₖ) is a sum read along that row. Array elements are only read.
#[differentiable(wrt(alphas, means, icf))]
pub fn gmm_loops(
    alphas: &Array1<f64>,
    means: &Array2<f64>,
    icf: &Array2<f64>,
    x: &Array2<f64>,
    gamma: f64,
    m: usize,
) -> f64 {
    let n = x.nrows();
    let d = x.ncols();
    let k = alphas.len();
    // exp of every icf entry: its first d columns are the diagonals of the Qₖ.
    let diagonals = icf.exp();

    let mut slse = 0.0;
    for i in 0..n {
        // A streaming log-sum-exp: the largest term so far and Σ exp(term − largest).
        let mut largest = 0.0;
        let mut sum = 0.0;
        for c in 0..k {
            let mut term = alphas[c];
            let mut sqnorm = 0.0;
            for r in 0..d {
                term += icf[[c, r]];
                let mut z = diagonals[[c, r]] * (x[[i, r]] - means[[c, r]]);
                // The packed index of (r, col): column col starts at d + Σ_{j<col}(d − 1 − j).
                let mut index = d + r - 1;
                for col in 0..r {
                    z += icf[[c, index]] * (x[[i, col]] - means[[c, col]]);
                    index += d - col - 2;
                }
                sqnorm += z * z;
            }
            term -= 0.5 * sqnorm;
            if c == 0 {
                largest = term;
                sum = 1.0;
            } else if term > largest {
                sum = sum * (largest - term).exp() + 1.0;
                largest = term;
            } else {
                sum += (term - largest).exp();
            }
        }
        slse += largest + sum.ln();
    }

    let mut largest = alphas[0];
    for c in 1..k {
        largest = largest.max(alphas[c]);
    }
    let mut sum = 0.0;
    for c in 0..k {
        sum += (alphas[c] - largest).exp();
    }
    let lse_alphas = largest + sum.ln();

    let mut prior = 0.0;
    for c in 0..k {
        for j in 0..d {
            prior += 0.5 * gamma * gamma * diagonals[[c, j]] * diagonals[[c, j]]
                - m as f64 * icf[[c, j]];
        }
        for j in d..icf.ncols() {
            prior += 0.5 * gamma * gamma * icf[[c, j]] * icf[[c, j]];
        }
    }

    let constant = -(n as f64) * d as f64 * 0.5 * (2.0 * PI).ln();
    constant + slse - n as f64 * lse_alphas + prior - k as f64 * wishart_constant(d, gamma, m)
}

/// The K × KD matrix whose row c is 1 on columns cD..(c+1)D: μᵀ times it repeats μₖ in each
/// column of block k.
pub fn block_spreader(k: usize, d: usize) -> Array2<f64> {
    Array2::from_shape_fn((k, k * d), |(c, col)| if col / d == c { 1.0 } else { 0.0 })
}

/// The vector of length `len` that is 1 on its first `d` entries: a row of icf's product
/// with it is Σⱼ qⱼ.
pub fn first_columns(len: usize, d: usize) -> Array1<f64> {
    Array1::from_shape_fn(len, |j| if j < d { 1.0 } else { 0.0 })
}

/// D for a row of icf of length D(D+1)/2.
fn dimension(packed: usize) -> usize {
    let d = (((8 * packed + 1) as f64).sqrt() as usize - 1) / 2;
    assert_eq!(
        d * (d + 1) / 2,
        packed,
        "icf rows must have D(D+1)/2 entries"
    );
    d
}

/// Every component's factor, transposed, side by side: W (D × KD) with W[col, kD + row] =
/// Qₖ[row][col], from icf's rows (exp of the first D entries on the diagonal, the rest below
/// it column by column). A gather: a primitive with its own rules (below), since building W
/// element by element in `#[differentiable]` code costs a copy of W per loop iteration.
#[differentiable(vjp = factors_vjp_rule, jvp = factors_jvp_rule)]
pub fn factors(icf: &Array2<f64>) -> Array2<f64> {
    scatter(icf, icf, true)
}

/// W from `values` at icf's layout; the diagonal is exp(icf) (`exp_diagonal`) or
/// exp(icf) · values (the tangent).
fn scatter(icf: &Array2<f64>, values: &Array2<f64>, exp_diagonal: bool) -> Array2<f64> {
    let (k, d) = (icf.nrows(), dimension(icf.ncols()));
    let mut w = Array2::zeros((d, k * d));
    for c in 0..k {
        let mut index = d;
        for col in 0..d {
            let e = icf[[c, col]].exp();
            w[[col, c * d + col]] = if exp_diagonal {
                e
            } else {
                e * values[[c, col]]
            };
            for row in (col + 1)..d {
                w[[col, c * d + row]] = values[[c, index]];
                index += 1;
            }
        }
    }
    w
}

/// icf̄ from W̄: the entries gathered back, the diagonal's times exp(q).
fn factors_vjp_rule(icf: &Array2<f64>, cotangent: Array2<f64>) -> (Array2<f64>, Array2<f64>) {
    let (k, d) = (icf.nrows(), dimension(icf.ncols()));
    let mut gradient = Array2::zeros(icf.raw_dim());
    for c in 0..k {
        let mut index = d;
        for col in 0..d {
            gradient[[c, col]] = cotangent[[col, c * d + col]] * icf[[c, col]].exp();
            for row in (col + 1)..d {
                gradient[[c, index]] = cotangent[[col, c * d + row]];
                index += 1;
            }
        }
    }
    (factors(icf), gradient)
}

fn factors_jvp_rule(icf: &Array2<f64>, icf_tangent: Array2<f64>) -> (Array2<f64>, Array2<f64>) {
    (factors(icf), scatter(icf, &icf_tangent, false))
}

/// The same objective on whole arrays. W = [Q₁ᵀ … Q_Kᵀ] (D × KD, [`factors`]), so XW holds
/// Qₖxᵢ for every point and component in one matrix product; subtracting Qₖμₖ and summing the
/// squares of each block of D columns (the N × KD matrix seen as N × K × D, summed along its
/// last axis) gives ‖Qₖ(xᵢ − μₖ)‖². The log-sum-exp of each row of β is β − log_softmax(β),
/// the same in every column, so their sum over the matrix is K times Σᵢ LSE(βᵢ). N·K·D²
/// multiply-adds in the product, N·K·D additions in the block sums.
#[differentiable(wrt(alphas, means, icf))]
pub fn gmm_vectorized(
    alphas: &Array1<f64>,
    means: &Array2<f64>,
    icf: &Array2<f64>,
    x: &Array2<f64>,
    gamma: f64,
    m: usize,
) -> f64 {
    let n = x.nrows();
    let d = x.ncols();
    let k = alphas.len();
    let w = factors(icf);
    // Qₖμₖ: column kD + row of W times μₖ repeated down the columns of its block, summed.
    let spread_means = means.t().dot(&block_spreader(k, d));
    let qmu = (&w * &spread_means).sum_axis(Axis(0));

    let centered = x.dot(&w) - &qmu;
    let sqnorms = (&centered * &centered)
        .into_shape_with_order((n, k, d))
        .unwrap()
        .sum_axis(Axis(2));
    let sum_qs = icf.dot(&first_columns(icf.ncols(), d));
    let beta = &sum_qs + alphas - sqnorms * 0.5;
    let slse = (&beta - &log_softmax(&beta, Axis(1))).sum() / k as f64;

    // Σₖ ‖Qₖ‖²_F is the sum of W's squares.
    let prior = 0.5 * gamma * gamma * (&w * &w).sum() - m as f64 * sum_qs.sum();
    let constant = -(n as f64) * d as f64 * 0.5 * (2.0 * PI).ln();
    constant + slse - n as f64 * logsumexp(alphas) + prior
        - k as f64 * wishart_constant(d, gamma, m)
}

/// The same objective on whole arrays as a user first writes it, with no rule of its own: W
/// written element by element in the function, μₖ spread down block k's columns by a
/// broadcast (so that summing W ⊙ that over its rows gives every Qₖμₖ), and each row's
/// log-sum-exp shifted by its largest term. GradBench's `gmm` (`examples/gradbench/gmm.rs`)
/// is written this way.
#[differentiable(wrt(alphas, means, icf))]
pub fn gmm_vectorized_writes(
    alphas: &Array1<f64>,
    means: &Array2<f64>,
    icf: &Array2<f64>,
    x: &Array2<f64>,
    gamma: f64,
    m: usize,
) -> f64 {
    let n = x.nrows();
    let d = x.ncols();
    let k = alphas.len();
    let diagonals = icf.slice(s![.., ..d]).exp();
    let mut w = Array2::<f64>::zeros((d, k * d));
    for c in 0..k {
        let mut index = d;
        for col in 0..d {
            w[[col, c * d + col]] = diagonals[[c, col]];
            for row in (col + 1)..d {
                w[[col, c * d + row]] = icf[[c, index]];
                index += 1;
            }
        }
    }
    let spread = means
        .t()
        .insert_axis(Axis(2))
        .broadcast((d, k, d))
        .unwrap()
        .to_shape((d, k * d))
        .unwrap()
        .to_owned();
    let qmu = (&w * &spread).sum_axis(Axis(0));

    let centered = x.dot(&w) - &qmu;
    let sqnorms = (&centered * &centered)
        .into_shape_with_order((n, k, d))
        .unwrap()
        .sum_axis(Axis(2));
    let sum_qs = icf.slice(s![.., ..d]).sum_axis(Axis(1));
    let beta = &(alphas + &sum_qs) - &(sqnorms * 0.5);
    let largest = amax_axis(&beta, Axis(1));
    let shifted = &beta - &largest.view().insert_axis(Axis(1));
    let slse = (largest + shifted.exp().sum_axis(Axis(1)).ln()).sum();

    let prior = 0.5 * gamma * gamma * (&w * &w).sum() - m as f64 * sum_qs.sum();
    let constant = -(n as f64) * d as f64 * 0.5 * (2.0 * PI).ln();
    constant + slse - n as f64 * logsumexp(alphas) + prior
        - k as f64 * wishart_constant(d, gamma, m)
}

/// GradBench's `gmm` objective, the log posterior, written from its specification: the
/// lower-triangular Qₖ from qₖ (exponentiated, on the diagonal) and lₖ (column by column
/// below it), the precision matrices Σₖ⁻¹ = QₖᵀQₖ, βᵢₖ = αₖ − ½(xᵢ − μₖ)ᵀΣₖ⁻¹(xᵢ − μₖ) + Σⱼ qₖⱼ,
/// log p(X | θ, φ) = −N(D/2 ln 2π + LSE(α)) + Σᵢ LSE(βᵢ) (max-shifted), and the Wishart prior
/// with V = I/γ², n = D + m + 1: log p(θ) = K(nD ln(γ/√2) − ln Γ_D(n/2)) − ½γ² Σₖ tr(Σₖ⁻¹)
/// + m Σₖ Σⱼ qₖⱼ (tr(V⁻¹Σₖ⁻¹) = γ²‖Qₖ‖²_F = γ² tr(Σₖ⁻¹)).
#[differentiable(wrt(alpha, mu, q, l))]
pub fn gmm_spec(
    alpha: &Array1<f64>,
    mu: &Array2<f64>,
    q: &Array2<f64>,
    l: &Array2<f64>,
    x: &Array2<f64>,
    m: usize,
    gamma: f64,
) -> f64 {
    let n = x.nrows();
    let d = x.ncols();
    let k = alpha.len();

    // Qₖ, then Σₖ⁻¹ = QₖᵀQₖ, entry by entry.
    let mut factors = Array3::<f64>::zeros((k, d, d));
    for c in 0..k {
        let mut ii = 0;
        for j in 0..d {
            factors[[c, j, j]] = q[[c, j]].exp();
            for i in (j + 1)..d {
                factors[[c, i, j]] = l[[c, ii]];
                ii += 1;
            }
        }
    }
    let mut precisions = Array3::<f64>::zeros((k, d, d));
    for c in 0..k {
        for a in 0..d {
            for b in 0..d {
                let mut acc = 0.0;
                for r in 0..d {
                    acc += factors[[c, r, a]] * factors[[c, r, b]];
                }
                precisions[[c, a, b]] = acc;
            }
        }
    }

    let mut sum_qs = Array1::<f64>::zeros(k);
    for c in 0..k {
        for j in 0..d {
            sum_qs[c] += q[[c, j]];
        }
    }

    let mut log_likelihood = 0.0;
    let mut beta = Array1::<f64>::zeros(k);
    for i in 0..n {
        for c in 0..k {
            let mut form = 0.0;
            for a in 0..d {
                for b in 0..d {
                    form +=
                        (x[[i, a]] - mu[[c, a]]) * precisions[[c, a, b]] * (x[[i, b]] - mu[[c, b]]);
                }
            }
            beta[c] = alpha[c] - 0.5 * form + sum_qs[c];
        }
        let mut largest = beta[0];
        for c in 1..k {
            largest = largest.max(beta[c]);
        }
        let mut sum = 0.0;
        for c in 0..k {
            sum += (beta[c] - largest).exp();
        }
        log_likelihood += largest + sum.ln();
    }
    let mut largest = alpha[0];
    for c in 1..k {
        largest = largest.max(alpha[c]);
    }
    let mut sum = 0.0;
    for c in 0..k {
        sum += (alpha[c] - largest).exp();
    }
    log_likelihood -= n as f64 * (0.5 * d as f64 * (2.0 * PI).ln() + largest + sum.ln());

    let nu = d + m + 1;
    let mut log_prior = k as f64
        * (nu as f64 * d as f64 * (gamma / 2f64.sqrt()).ln() - ln_multigamma(0.5 * nu as f64, d));
    for c in 0..k {
        let mut trace = 0.0;
        for a in 0..d {
            trace += precisions[[c, a, a]];
        }
        log_prior += -0.5 * gamma * gamma * trace + m as f64 * sum_qs[c];
    }
    log_likelihood + log_prior
}

/// The objective and its gradient by hand, in plain Rust on slices, as ADBench's hand-written
/// C++ does it: per point, the terms βₖ with Qₖ(xᵢ − μₖ) kept, their softmax pₖ, then
/// ᾱₖ += pₖ, q̄ₖ += pₖ, z̄ = −pₖ Qₖ(xᵢ − μₖ), Q̄ₖ += z̄(xᵢ − μₖ)ᵀ on the lower triangle,
/// μ̄ₖ −= Qₖᵀz̄; then −N·softmax(α) and the prior's γ²Qₖ − m.
#[allow(clippy::needless_range_loop)] // indices as in the C++ it mirrors
pub mod by_hand {
    use super::{wishart_constant, Gmm, Gradient, PI};
    use autodiff::ndarray::{Array1, Array2};

    fn lse(v: &[f64]) -> f64 {
        let largest = v.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        largest + v.iter().map(|&t| (t - largest).exp()).sum::<f64>().ln()
    }

    /// z = Qx for the packed factor (exp'd diagonal `diag`, strictly lower `lower` by
    /// columns).
    fn q_times(d: usize, diag: &[f64], lower: &[f64], xc: &[f64], z: &mut [f64]) {
        for r in 0..d {
            z[r] = diag[r] * xc[r];
        }
        let mut index = 0;
        for col in 0..d {
            for r in (col + 1)..d {
                z[r] += lower[index] * xc[col];
                index += 1;
            }
        }
    }

    /// The objective alone, by the same loops as the gradient's forward part.
    pub fn objective(g: &Gmm) -> f64 {
        let (n, d, k) = (g.x.nrows(), g.d(), g.k());
        let t = d * (d + 1) / 2;
        let (alphas, means, icf, x) = (
            g.alphas.as_slice().unwrap(),
            g.means.as_slice().unwrap(),
            g.icf.as_slice().unwrap(),
            g.x.as_slice().unwrap(),
        );
        let diag: Vec<f64> = (0..k)
            .flat_map(|c| icf[c * t..c * t + d].iter().map(|q| q.exp()))
            .collect();
        let sum_qs: Vec<f64> = (0..k).map(|c| icf[c * t..c * t + d].iter().sum()).collect();
        let (mut xc, mut z, mut terms) = (vec![0.0; d], vec![0.0; d], vec![0.0; k]);
        let mut slse = 0.0;
        for i in 0..n {
            let xi = &x[i * d..(i + 1) * d];
            for c in 0..k {
                for r in 0..d {
                    xc[r] = xi[r] - means[c * d + r];
                }
                q_times(d, &diag[c * d..], &icf[c * t + d..], &xc, &mut z);
                terms[c] = alphas[c] + sum_qs[c] - 0.5 * z.iter().map(|v| v * v).sum::<f64>();
            }
            slse += lse(&terms);
        }
        let mut prior = 0.0;
        for c in 0..k {
            let lower = &icf[c * t + d..(c + 1) * t];
            let frobenius = diag[c * d..(c + 1) * d].iter().map(|v| v * v).sum::<f64>()
                + lower.iter().map(|v| v * v).sum::<f64>();
            prior += 0.5 * g.gamma * g.gamma * frobenius - g.m as f64 * sum_qs[c];
        }
        -(n as f64) * d as f64 * 0.5 * (2.0 * PI).ln() + slse - n as f64 * lse(alphas) + prior
            - k as f64 * wishart_constant(d, g.gamma, g.m)
    }

    /// The objective and its gradient (α, μ, icf).
    pub fn gradient(g: &Gmm) -> (f64, Gradient) {
        let (n, d, k) = (g.x.nrows(), g.d(), g.k());
        let t = d * (d + 1) / 2;
        let (alphas, means, icf, x) = (
            g.alphas.as_slice().unwrap(),
            g.means.as_slice().unwrap(),
            g.icf.as_slice().unwrap(),
            g.x.as_slice().unwrap(),
        );
        let mut d_alphas = vec![0.0; k];
        let mut d_means = vec![0.0; k * d];
        let mut d_icf = vec![0.0; k * t];
        let diag: Vec<f64> = (0..k)
            .flat_map(|c| icf[c * t..c * t + d].iter().map(|q| q.exp()))
            .collect();
        let sum_qs: Vec<f64> = (0..k).map(|c| icf[c * t..c * t + d].iter().sum()).collect();
        // Per point: the centred points and their images under every Qₖ, kept for the adjoint.
        let mut xcs = vec![0.0; k * d];
        let mut zs = vec![0.0; k * d];
        let mut terms = vec![0.0; k];
        let mut dz = vec![0.0; d];
        let mut slse = 0.0;
        for i in 0..n {
            let xi = &x[i * d..(i + 1) * d];
            for c in 0..k {
                let xc = &mut xcs[c * d..(c + 1) * d];
                for r in 0..d {
                    xc[r] = xi[r] - means[c * d + r];
                }
                let z = &mut zs[c * d..(c + 1) * d];
                q_times(d, &diag[c * d..], &icf[c * t + d..], xc, z);
                terms[c] = alphas[c] + sum_qs[c] - 0.5 * z.iter().map(|v| v * v).sum::<f64>();
            }
            let lse_i = lse(&terms);
            slse += lse_i;
            for c in 0..k {
                let p = (terms[c] - lse_i).exp();
                d_alphas[c] += p;
                let (xc, z) = (&xcs[c * d..(c + 1) * d], &zs[c * d..(c + 1) * d]);
                let d_q = &mut d_icf[c * t..(c + 1) * t];
                // z̄ = −p z; the diagonal: q̄ᵣ += p + z̄ᵣ exp(qᵣ) xcᵣ; xc̄ = Qᵀz̄.
                for r in 0..d {
                    dz[r] = -p * z[r];
                    d_q[r] += p + dz[r] * diag[c * d + r] * xc[r];
                }
                let d_mu = &mut d_means[c * d..(c + 1) * d];
                for col in 0..d {
                    d_mu[col] -= diag[c * d + col] * dz[col];
                }
                let lower = &icf[c * t + d..(c + 1) * t];
                let mut index = 0;
                for col in 0..d {
                    let mut back = 0.0;
                    for r in (col + 1)..d {
                        d_q[d + index] += dz[r] * xc[col];
                        back += lower[index] * dz[r];
                        index += 1;
                    }
                    d_mu[col] -= back;
                }
            }
        }
        let lse_alphas = lse(alphas);
        for c in 0..k {
            d_alphas[c] -= n as f64 * (alphas[c] - lse_alphas).exp();
        }
        let gamma2 = g.gamma * g.gamma;
        let mut prior = 0.0;
        for c in 0..k {
            let d_q = &mut d_icf[c * t..(c + 1) * t];
            let mut frobenius = 0.0;
            for r in 0..d {
                let e = diag[c * d + r];
                frobenius += e * e;
                d_q[r] += gamma2 * e * e - g.m as f64;
            }
            for j in d..t {
                let v = icf[c * t + j];
                frobenius += v * v;
                d_q[j] += gamma2 * v;
            }
            prior += 0.5 * gamma2 * frobenius - g.m as f64 * sum_qs[c];
        }
        let value = -(n as f64) * d as f64 * 0.5 * (2.0 * PI).ln() + slse - n as f64 * lse_alphas
            + prior
            - k as f64 * wishart_constant(d, g.gamma, g.m);
        (
            value,
            (
                Array1::from(d_alphas),
                Array2::from_shape_vec((k, d), d_means).unwrap(),
                Array2::from_shape_vec((k, t), d_icf).unwrap(),
            ),
        )
    }
}
