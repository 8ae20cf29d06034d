//! The Gaussian-mixture objective written with loops (`gmm_loops`, as ADBench's C++ reference
//! computes it) and in GradBench's specification's form (`gmm_spec`), differentiated by the
//! macro: against ADBench's reference value and gradient on its test instance, against a
//! hand-written gradient, a vectorized formulation, an independent plain-Rust evaluation of
//! GradBench's formulas (and of its definition, densities and all), and central differences;
//! reverse mode against forward mode. The objectives live in `examples/common/gmm.rs`, shared
//! with `benches/gmm_loops.rs`.

#[path = "../examples/common/gmm.rs"]
mod gmm;

use autodiff::check::{central_difference, close};
use autodiff::ndarray::{s, Array1, Array2};
use gmm::{
    by_hand, gmm_loops_jvp, gmm_loops_vjp, gmm_spec, gmm_spec_grad, gmm_spec_jvp,
    gmm_vectorized_jvp, ln_gamma_half_integer, ln_multigamma, Gmm, Gradient,
};

/// ADBench's test instance (D = 2, K = 3, N = 1) and its reference objective and gradient
/// ([∂α, ∂μ, ∂icf], flat), as its C++ tests check them.
const TEST_INSTANCE: &str = include_str!("../data/adbench-gmm/test.txt");
#[allow(clippy::excessive_precision)] // ADBench's digits, as published
const REFERENCE_VALUE: f64 = 8.073_804_080_049_757_91;
#[allow(clippy::excessive_precision)]
const REFERENCE_GRADIENT: [f64; 18] = [
    1.086_628_555_086_524_56e-1,
    -7.412_700_395_238_984_72e-1,
    6.326_071_840_152_460_71e-1,
    1.116_925_765_327_870_13,
    1.633_330_135_514_552_69e-1,
    -2.199_898_240_711_931_42e-2,
    2.277_782_922_542_360_98e-1,
    1.209_630_256_128_321_87,
    -6.063_759_207_339_563_39e-2,
    2.585_299_940_511_622_37,
    1.126_326_945_242_137_89e-1,
    3.857_443_098_496_117_77e-1,
    7.351_805_731_823_055_08e-2,
    5.418_363_627_155_952_32,
    -3.214_944_096_774_464_69e-1,
    1.718_923_097_750_049_37,
    8.600_910_907_908_668_75e-1,
    -9.946_409_304_663_228_48e-1,
];

fn flatten(g: &Gradient) -> Vec<f64> {
    g.0.iter().chain(&g.1).chain(&g.2).copied().collect()
}

/// The parameters (α, μ, icf) of `like` from a flat vector.
fn unflatten(like: &Gmm, p: &[f64]) -> Gmm {
    let (k, d, t) = (like.k(), like.d(), like.icf.ncols());
    let mut g = like.clone();
    g.alphas = Array1::from(p[..k].to_vec());
    g.means = Array2::from_shape_vec((k, d), p[k..k + k * d].to_vec()).unwrap();
    g.icf = Array2::from_shape_vec((k, t), p[k + k * d..].to_vec()).unwrap();
    g
}

fn parameters(g: &Gmm) -> Vec<f64> {
    flatten(&(g.alphas.clone(), g.means.clone(), g.icf.clone()))
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// Deterministic pseudo-random numbers in [−1, 1) (a 64-bit LCG's high bits).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

/// A small instance with every parameter set, m > 0 so that the prior's −m Σ q term counts.
fn small_instance(d: usize, k: usize, n: usize, m: usize, seed: u64) -> Gmm {
    let mut rng = Lcg(seed);
    Gmm {
        alphas: Array1::from_shape_fn(k, |_| rng.next()),
        means: Array2::from_shape_fn((k, d), |_| rng.next()),
        icf: Array2::from_shape_fn((k, d * (d + 1) / 2), |_| 0.5 * rng.next()),
        x: Array2::from_shape_fn((n, d), |_| 1.5 * rng.next()),
        gamma: 1.3,
        m,
    }
}

/// Forward mode along a few directions against the gradient (the dot-product test), and
/// `f_vjp(1)` against `f_grad`.
fn check_modes(name: &str, g: &Gmm) {
    let (value, gradient) = g.loops_grad();
    let flat = flatten(&gradient);
    let (vjp_value, vjp) = gmm_loops_vjp(&g.alphas, &g.means, &g.icf, &g.x, g.gamma, g.m, 1.0);
    assert_eq!(vjp_value, value, "{name}: vjp value");
    assert_eq!(flatten(&vjp), flat, "{name}: vjp(1) != grad");
    let mut rng = Lcg(17);
    for direction in 0..4 {
        let tangent: Vec<f64> = (0..flat.len()).map(|_| rng.next()).collect();
        let t = unflatten(g, &tangent);
        let (jvp_value, derivative) = gmm_loops_jvp(
            &g.alphas, &g.means, &g.icf, &g.x, g.gamma, g.m, t.alphas, t.means, t.icf,
        );
        assert!(close(jvp_value, value, 1e-13), "{name}: jvp value");
        let expected = dot(&flat, &tangent);
        assert!(
            close(derivative, expected, 1e-11),
            "{name}, direction {direction}: jvp {derivative}, gradient · tangent {expected}"
        );
    }
}

#[test]
fn adbench_test_instance_value_and_reference_gradient() {
    let g = Gmm::parse(TEST_INSTANCE);
    assert_eq!((g.d(), g.k(), g.x.nrows(), g.m), (2, 3, 1, 0));
    let value = g.loops();
    assert!(
        (value - REFERENCE_VALUE).abs() <= 1e-12 * REFERENCE_VALUE,
        "value {value:.17}, ADBench {REFERENCE_VALUE:.17}"
    );
    let (grad_value, gradient) = g.loops_grad();
    assert_eq!(grad_value, value, "f_grad's value is the original's");
    let flat = flatten(&gradient);
    let mut worst = 0.0_f64;
    for (i, (ours, reference)) in flat.iter().zip(REFERENCE_GRADIENT).enumerate() {
        worst = worst.max((ours - reference).abs());
        assert!(
            (ours - reference).abs() <= 1e-8,
            "∂[{i}] = {ours:.17}, ADBench {reference:.17}"
        );
    }
    println!("test.txt: value {value:.17} (ADBench {REFERENCE_VALUE:.17}), largest gradient difference {worst:.2e}");

    // The hand-written and the vectorized gradients, to the same reference.
    assert!(close(by_hand::objective(&g), REFERENCE_VALUE, 1e-12));
    assert!(close(g.vectorized(), REFERENCE_VALUE, 1e-12));
    assert!(close(g.vectorized_writes(), REFERENCE_VALUE, 1e-12));
    assert!(close(g.cpp(), REFERENCE_VALUE, 1e-12));
    assert!(close(g.cpp_scoped(), REFERENCE_VALUE, 1e-12));
    for (name, (v, grad)) in [
        ("by hand", by_hand::gradient(&g)),
        ("as the C++", g.cpp_grad()),
        ("as the C++, arrays scoped", g.cpp_scoped_grad()),
        ("vectorized", g.vectorized_grad()),
        (
            "vectorized, W written element by element",
            g.vectorized_writes_grad(),
        ),
    ] {
        assert!(close(v, REFERENCE_VALUE, 1e-12), "{name}: value {v}");
        for (ours, reference) in flatten(&grad).iter().zip(REFERENCE_GRADIENT) {
            assert!(
                (ours - reference).abs() <= 1e-8,
                "{name}: {ours} vs {reference}"
            );
        }
    }
    check_modes("test.txt", &g);
}

/// Central differences of the original (plain loops, no derivative code) against the
/// generated gradient, on instances with several points, m > 0 and D up to 4.
#[test]
fn loops_against_central_differences() {
    for (d, k, n, m, seed) in [
        (2, 3, 4, 1, 1),
        (3, 2, 5, 2, 2),
        (4, 3, 6, 0, 3),
        (1, 2, 3, 1, 4),
    ] {
        let g = small_instance(d, k, n, m, seed);
        let p = parameters(&g);
        let (value, gradient) = g.loops_grad();
        assert!(close(value, by_hand::objective(&g), 1e-12));
        let numeric = central_difference(|p| unflatten(&g, p).loops(), &p, 1e-6);
        for (i, (exact, fd)) in flatten(&gradient).iter().zip(&numeric).enumerate() {
            assert!(
                close(*exact, *fd, 1e-6),
                "D={d} K={k}: ∂[{i}] = {exact}, central differences {fd}"
            );
        }
        let (_, hand) = by_hand::gradient(&g);
        for (ours, theirs) in flatten(&gradient).iter().zip(flatten(&hand)) {
            assert!(
                close(*ours, theirs, 1e-12),
                "D={d} K={k}: {ours} vs by hand {theirs}"
            );
        }
        check_modes(&format!("D={d} K={k}"), &g);

        // The vectorized objective (and the rules of its `factors` primitive) in both modes.
        let (vec_value, vectorized) = g.vectorized_grad();
        assert!(close(vec_value, value, 1e-12));
        for (ours, theirs) in flatten(&vectorized).iter().zip(flatten(&hand)) {
            assert!(
                close(*ours, theirs, 1e-11),
                "D={d} K={k}: vectorized {ours} vs {theirs}"
            );
        }
        let tangent: Vec<f64> = (0..p.len()).map(|i| (i as f64 * 0.37).sin()).collect();
        let t = unflatten(&g, &tangent);
        let (_, derivative) = gmm_vectorized_jvp(
            &g.alphas, &g.means, &g.icf, &g.x, g.gamma, g.m, t.alphas, t.means, t.icf,
        );
        assert!(
            close(derivative, dot(&flatten(&hand), &tangent), 1e-11),
            "D={d} K={k}: jvp"
        );
    }
}

/// The benchmark's instances (ADBench's 1k files, the first points of the larger ones): the
/// loops, the vectorized objectives and the hand-written gradient agree. (W written element
/// by element costs a copy of W per write in the gradient, seconds for D = 64 in a debug
/// build: it is checked on the two smaller instances.)
#[test]
fn benchmark_instances_agree() {
    for (file, points, writes) in [
        ("1k_gmm_d2_K5.txt", 1000, true),
        ("1k_gmm_d10_K50.txt", 40, true),
        ("1k_gmm_d64_K10.txt", 8, false),
    ] {
        let mut g = Gmm::load(file);
        g.x = g.x.slice(s![..points, ..]).to_owned();
        let (value, gradient) = g.loops_grad();
        let (hand_value, hand) = by_hand::gradient(&g);
        let (vec_value, vectorized) = g.vectorized_grad();
        assert!(
            close(value, hand_value, 1e-12),
            "{file}: {value} vs {hand_value}"
        );
        assert!(
            close(value, vec_value, 1e-11),
            "{file}: {value} vs {vec_value}"
        );
        assert!(close(value, g.loops(), 1e-12), "{file}");
        assert!(close(value, by_hand::objective(&g), 1e-12), "{file}");
        assert!(close(vec_value, g.vectorized(), 1e-11), "{file}");
        let mut others = vec![("loops", gradient), ("vectorized", vectorized)];
        for (name, (other_value, other), objective) in [
            ("as the C++", g.cpp_grad(), g.cpp()),
            (
                "as the C++, arrays scoped",
                g.cpp_scoped_grad(),
                g.cpp_scoped(),
            ),
        ] {
            assert!(close(value, other_value, 1e-12), "{file}, {name}");
            assert!(close(value, objective, 1e-12), "{file}, {name}");
            others.push((name, other));
        }
        if writes {
            let (writes_value, writes_gradient) = g.vectorized_writes_grad();
            assert!(
                close(value, writes_value, 1e-11),
                "{file}: {value} vs {writes_value}"
            );
            assert!(close(writes_value, g.vectorized_writes(), 1e-11), "{file}");
            others.push(("vectorized, writes", writes_gradient));
        }
        let scale = flatten(&hand).iter().fold(0.0_f64, |a, b| a.max(b.abs()));
        for (name, other) in &others {
            for (i, (a, b)) in flatten(other).iter().zip(flatten(&hand)).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-10 * scale.max(1.0),
                    "{file}, {name}: ∂[{i}] = {a}, by hand {b}"
                );
            }
        }
    }
}

// ---- GradBench's specification ------------------------------------------------------

/// An independent plain-Rust evaluation of GradBench's simplified formulas, written on
/// nested `Vec`s: Q built explicitly, ‖Q(x − μ)‖² by a matrix-vector product.
fn spec_formulas(g: &Gmm, q: &[Vec<f64>], l: &[Vec<f64>], alpha: &[f64], mu: &[Vec<f64>]) -> f64 {
    let (d, k, n) = (g.d(), g.k(), g.x.nrows());
    let factor = |c: usize| {
        let mut qm = vec![vec![0.0; d]; d];
        let mut next = l[c].iter();
        for j in 0..d {
            qm[j][j] = q[c][j].exp();
            for row in qm.iter_mut().skip(j + 1) {
                row[j] = *next.next().unwrap();
            }
        }
        qm
    };
    let lse = |v: &[f64]| {
        let mx = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        mx + v.iter().map(|t| (t - mx).exp()).sum::<f64>().ln()
    };
    let factors: Vec<_> = (0..k).map(factor).collect();
    let mut log_likelihood =
        -(n as f64) * (d as f64 / 2.0 * (2.0 * std::f64::consts::PI).ln() + lse(alpha));
    for i in 0..n {
        let beta: Vec<f64> = (0..k)
            .map(|c| {
                let centred: Vec<f64> = (0..d).map(|j| g.x[[i, j]] - mu[c][j]).collect();
                let norm2: f64 = factors[c]
                    .iter()
                    .map(|row| dot(row, &centred).powi(2))
                    .sum();
                alpha[c] - 0.5 * norm2 + q[c].iter().sum::<f64>()
            })
            .collect();
        log_likelihood += lse(&beta);
    }
    let nu = (d + g.m + 1) as f64;
    let mut log_prior =
        k as f64 * (nu * d as f64 * (g.gamma / 2f64.sqrt()).ln() - ln_multigamma(nu / 2.0, d));
    for c in 0..k {
        let frobenius: f64 = factors[c].iter().flatten().map(|v| v * v).sum();
        log_prior += -g.gamma * g.gamma / 2.0 * frobenius + g.m as f64 * q[c].iter().sum::<f64>();
    }
    log_likelihood + log_prior
}

/// GradBench's definition itself, for small instances: the log of the product over points of
/// Σₖ φₖ N(xᵢ; μₖ, Σₖ) times the product of the Wishart densities of the Σₖ⁻¹, with
/// determinants by elimination and Γ_D(n/2) from its definition.
fn spec_definition(g: &Gmm) -> f64 {
    let (d, k, n) = (g.d(), g.k(), g.x.nrows());
    let (q, l) = g.q_and_l();
    let precision = |c: usize| {
        let mut qm = Array2::<f64>::zeros((d, d));
        let mut ii = 0;
        for j in 0..d {
            qm[[j, j]] = q[[c, j]].exp();
            for i in j + 1..d {
                qm[[i, j]] = l[[c, ii]];
                ii += 1;
            }
        }
        qm.t().dot(&qm)
    };
    let det = |a: &Array2<f64>| {
        let mut a = a.clone();
        let mut det = 1.0;
        for col in 0..d {
            let pivot = (col..d)
                .max_by(|&i, &j| a[[i, col]].abs().total_cmp(&a[[j, col]].abs()))
                .unwrap();
            if pivot != col {
                for j in 0..d {
                    a.swap([pivot, j], [col, j]);
                }
                det = -det;
            }
            det *= a[[col, col]];
            for i in col + 1..d {
                let f = a[[i, col]] / a[[col, col]];
                for j in col..d {
                    a[[i, j]] -= f * a[[col, j]];
                }
            }
        }
        det
    };
    let pi = std::f64::consts::PI;
    let phi: Vec<f64> = {
        let e: Vec<f64> = g.alphas.iter().map(|a| a.exp()).collect();
        let total: f64 = e.iter().sum();
        e.iter().map(|v| v / total).collect()
    };
    let precisions: Vec<_> = (0..k).map(precision).collect();
    let mut likelihood = 1.0;
    for i in 0..n {
        let mut factor = 0.0;
        for c in 0..k {
            let diff = &g.x.row(i) - &g.means.row(c);
            let form = diff.dot(&precisions[c].dot(&diff));
            let pdf =
                (-0.5 * form).exp() / ((2.0 * pi).powi(d as i32) / det(&precisions[c])).sqrt();
            factor += phi[c] * pdf;
        }
        likelihood *= factor;
    }
    // Wishart W_D(V, ν) at X = Σₖ⁻¹ with V = I/γ²: tr(V⁻¹X) = γ² tr X, det V = γ^(−2D).
    let nu = (d + g.m + 1) as f64;
    let gamma_d = pi.powf(d as f64 * (d as f64 - 1.0) / 4.0)
        * (1..=d)
            .map(|j| ln_gamma_half_integer(nu / 2.0 + (1.0 - j as f64) / 2.0).exp())
            .product::<f64>();
    let mut prior = 1.0;
    for x in &precisions {
        let trace: f64 = (0..d).map(|j| x[[j, j]]).sum();
        prior *= det(x).powf((nu - d as f64 - 1.0) / 2.0)
            * (-g.gamma * g.gamma * trace / 2.0).exp()
            / (2f64.powf(nu * d as f64 / 2.0)
                * g.gamma.powf(-2.0 * d as f64).powf(nu / 2.0)
                * gamma_d);
    }
    (likelihood * prior).ln()
}

fn spec_grad(g: &Gmm) -> (f64, Vec<f64>) {
    let (q, l) = g.q_and_l();
    let (value, (da, dmu, dq, dl)) = gmm_spec_grad(&g.alphas, &g.means, &q, &l, &g.x, g.m, g.gamma);
    (
        value,
        da.iter()
            .chain(&dmu)
            .chain(&dq)
            .chain(&dl)
            .copied()
            .collect(),
    )
}

/// Flat (α, μ, q, l) of an instance, and back.
fn spec_parameters(g: &Gmm) -> Vec<f64> {
    let (q, l) = g.q_and_l();
    g.alphas
        .iter()
        .chain(&g.means)
        .chain(&q)
        .chain(&l)
        .copied()
        .collect()
}

fn spec_formulas_at(g: &Gmm, p: &[f64]) -> f64 {
    let (k, d) = (g.k(), g.d());
    let lz = d * (d - 1) / 2;
    let alpha = &p[..k];
    let rows = |from: usize, width: usize| -> Vec<Vec<f64>> {
        (0..k)
            .map(|c| p[from + c * width..from + (c + 1) * width].to_vec())
            .collect()
    };
    let mu = rows(k, d);
    let q = rows(k + k * d, d);
    let l = rows(k + 2 * k * d, lz);
    spec_formulas(g, &q, &l, alpha, &mu)
}

#[test]
fn ln_gamma_of_half_integers() {
    let sqrt_pi = std::f64::consts::PI.sqrt();
    for (a, gamma) in [
        (0.5, sqrt_pi),
        (1.0, 1.0),
        (1.5, sqrt_pi / 2.0),
        (3.0, 2.0),
        (3.5, 15.0 * sqrt_pi / 8.0),
        (6.0, 120.0),
    ] {
        assert!(
            close(ln_gamma_half_integer(a), f64::ln(gamma), 1e-15),
            "Γ({a})"
        );
    }
    // Γ₂(a) = √π Γ(a) Γ(a − ½).
    assert!(close(
        ln_multigamma(2.5, 2),
        (std::f64::consts::PI.sqrt() * 1.5 * 0.5 * std::f64::consts::PI.sqrt() * 1.0).ln(),
        1e-15
    ));
}

#[test]
fn gradbench_specification_form() {
    let test = Gmm::parse(TEST_INSTANCE);
    let instances = [
        test.clone(),
        small_instance(2, 3, 4, 1, 5),
        small_instance(3, 2, 5, 2, 6),
        small_instance(4, 3, 3, 0, 7),
    ];
    for (index, g) in instances.iter().enumerate() {
        let (q, l) = g.q_and_l();
        let p = spec_parameters(g);
        let value = gmm_spec(&g.alphas, &g.means, &q, &l, &g.x, g.m, g.gamma);
        let formulas = spec_formulas_at(g, &p);
        let definition = spec_definition(g);
        assert!(
            close(value, formulas, 1e-12),
            "#{index}: {value} vs the formulas {formulas}"
        );
        assert!(
            close(value, definition, 1e-10),
            "#{index}: {value} vs the definition {definition}"
        );

        // Against ADBench's form: the same likelihood L, the prior P with the opposite sign
        // (GradBench's fix 1): spec = L + P, ADBench = L − P, so ∂α and ∂μ agree.
        let adbench = g.loops();
        let (grad_value, grad) = spec_grad(g);
        assert_eq!(grad_value, value, "#{index}: f_grad's value");
        let (_, adb_grad) = g.loops_grad();
        let kd = g.k() + g.k() * g.d();
        for (a, b) in grad[..kd].iter().zip(flatten(&adb_grad)) {
            assert!(
                close(*a, b, 1e-12),
                "#{index}: ∂(α, μ) {a} vs ADBench form {b}"
            );
        }
        let log_prior = (value - adbench) / 2.0;
        if index == 0 {
            println!(
                "test.txt in GradBench's form: {value:.15} (likelihood {:.15}, log prior {log_prior:.15}; ADBench's form {adbench:.15})",
                value - log_prior
            );
        }

        // The gradient against central differences of the independent plain-Rust formulas.
        let numeric = central_difference(|p| spec_formulas_at(g, p), &p, 1e-6);
        for (i, (exact, fd)) in grad.iter().zip(&numeric).enumerate() {
            assert!(
                close(*exact, *fd, 1e-6),
                "#{index}: ∂[{i}] = {exact}, differences {fd}"
            );
        }

        // Forward mode along a direction against the gradient.
        let mut rng = Lcg(3 + index as u64);
        let t: Vec<f64> = (0..p.len()).map(|_| rng.next()).collect();
        let (k, d) = (g.k(), g.d());
        let lz = d * (d - 1) / 2;
        let (_, derivative) = gmm_spec_jvp(
            &g.alphas,
            &g.means,
            &q,
            &l,
            &g.x,
            g.m,
            g.gamma,
            Array1::from(t[..k].to_vec()),
            Array2::from_shape_vec((k, d), t[k..k + k * d].to_vec()).unwrap(),
            Array2::from_shape_vec((k, d), t[k + k * d..k + 2 * k * d].to_vec()).unwrap(),
            Array2::from_shape_vec((k, lz), t[k + 2 * k * d..].to_vec()).unwrap(),
        );
        assert!(close(derivative, dot(&grad, &t), 1e-11), "#{index}: jvp");
    }
}
