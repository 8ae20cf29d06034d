//! The Gaussian-mixture objective of ADBench / GradBench: gradient time over objective time,
//! N = 1000 points from ADBench's 1k instances (`data/adbench-gmm/`), for
//!
//! - `loops`: `gmm_loops`, written with loops as ADBench's C++ reference is, differentiated by
//!   the macro;
//! - `cpp`, `cpp_scoped`: `gmm_cpp` and `gmm_cpp_scoped`, ADBench's C++ objective line for
//!   line, work arrays written element by element (kept across points and components, or
//!   declared where used), differentiated by the macro;
//! - `vectorized`: `gmm_vectorized`, on whole arrays (one matrix product for every component,
//!   the factors gathered by a primitive with its own rules);
//! - `vectorized_writes`: on whole arrays as a user first writes it, with no rule of its own:
//!   the factors written element by element in the function, the means spread by a
//!   broadcast, each row's log-sum-exp shifted by its largest term (GradBench's `gmm` form);
//! - `by_hand`: the objective and gradient written by hand in plain Rust (the baseline).
//!
//! `cargo bench --bench gmm_loops`; the figures in BENCHMARKS.md come from this file. At the
//! end it prints the table of medians and ratios from criterion's estimates.

#[path = "../examples/common/gmm.rs"]
mod gmm;

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};
use gmm::{by_hand, Gmm};

const INSTANCES: [(&str, &str); 3] = [
    ("d2_K5", "1k_gmm_d2_K5.txt"),
    ("d10_K50", "1k_gmm_d10_K50.txt"),
    ("d64_K10", "1k_gmm_d64_K10.txt"),
];

const VARIANTS: [&str; 6] = [
    "loops",
    "cpp",
    "cpp_scoped",
    "vectorized",
    "vectorized_writes",
    "by_hand",
];

fn objective(variant: &str, g: &Gmm) -> f64 {
    match variant {
        "loops" => g.loops(),
        "cpp" => g.cpp(),
        "cpp_scoped" => g.cpp_scoped(),
        "vectorized" => g.vectorized(),
        "vectorized_writes" => g.vectorized_writes(),
        _ => by_hand::objective(g),
    }
}

fn gradient(variant: &str, g: &Gmm) -> (f64, gmm::Gradient) {
    match variant {
        "loops" => g.loops_grad(),
        "cpp" => g.cpp_grad(),
        "cpp_scoped" => g.cpp_scoped_grad(),
        "vectorized" => g.vectorized_grad(),
        "vectorized_writes" => g.vectorized_writes_grad(),
        _ => by_hand::gradient(g),
    }
}

fn bench(c: &mut Criterion) {
    for (name, file) in INSTANCES {
        let g = Gmm::load(file);
        // Every variant computes the same value and gradient (tests/gmm_loops.rs checks them
        // more closely).
        let (value, reference) = by_hand::gradient(&g);
        for variant in VARIANTS {
            let (v, grad) = gradient(variant, &g);
            let o = objective(variant, &g);
            assert!(
                (v - value).abs() <= 1e-9 * value.abs() && (o - value).abs() <= 1e-9 * value.abs(),
                "{name} {variant}: {v} / {o} vs {value}"
            );
            let close = |a: &gmm::Gradient, b: &gmm::Gradient| {
                let scale = b.2.iter().fold(1.0_f64, |m, v| m.max(v.abs()));
                a.0.iter()
                    .chain(&a.1)
                    .chain(&a.2)
                    .zip(b.0.iter().chain(&b.1).chain(&b.2))
                    .all(|(x, y)| (x - y).abs() <= 1e-9 * scale)
            };
            assert!(close(&grad, &reference), "{name} {variant}: gradient");
        }

        let mut group = c.benchmark_group(format!("gmm_{name}"));
        // Flat sampling: ten samples of equal iteration counts, so that a gradient of a
        // second costs ten calls, not the 55 of criterion's default linear sampling.
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(2));
        for variant in VARIANTS {
            group.bench_function(BenchmarkId::new(variant, "objective"), |b| {
                b.iter(|| black_box(objective(variant, black_box(&g))))
            });
            group.bench_function(BenchmarkId::new(variant, "gradient"), |b| {
                b.iter(|| black_box(gradient(variant, black_box(&g))))
            });
        }
        group.finish();
    }
    summary();
}

/// criterion's median estimate of one benchmark, in seconds, from its saved estimates.
fn median(group: &str, variant: &str, function: &str) -> Option<f64> {
    let home = std::env::var("CRITERION_HOME").unwrap_or_else(|_| {
        let target = std::env::var("CARGO_TARGET_DIR")
            .unwrap_or_else(|_| format!("{}/target", env!("CARGO_MANIFEST_DIR")));
        format!("{target}/criterion")
    });
    let path = format!("{home}/{group}/{variant}/{function}/new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let after = &text[text.find("\"median\"")?..];
    let after = &after[after.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
    let end = after.find([',', '}'])?;
    after[..end].trim().parse::<f64>().ok().map(|ns| ns * 1e-9)
}

fn format_time(seconds: f64) -> String {
    if seconds < 1e-3 {
        format!("{:.1} µs", seconds * 1e6)
    } else if seconds < 1.0 {
        format!("{:.2} ms", seconds * 1e3)
    } else {
        format!("{seconds:.2} s")
    }
}

/// The table BENCHMARKS.md records: each variant's objective and gradient medians, the ratio
/// gradient / objective, the gradient against the plain loop objective (`gmm_loops` itself,
/// the same denominator for every variant) and against the hand-written gradient.
fn summary() {
    println!(
        "\n| D, K (N = 1000) | variant | objective | gradient | gradient / objective | gradient / loop objective | gradient / hand-written gradient |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, _) in INSTANCES {
        let group = format!("gmm_{name}");
        let hand = median(&group, "by_hand", "gradient");
        let plain = median(&group, "loops", "objective");
        for variant in VARIANTS {
            let (Some(objective), Some(gradient)) = (
                median(&group, variant, "objective"),
                median(&group, variant, "gradient"),
            ) else {
                continue;
            };
            let ratio = |base: Option<f64>| {
                base.map_or("–".to_string(), |b| format!("{:.2}×", gradient / b))
            };
            println!(
                "| {} | {variant} | {} | {} | {:.2}× | {} | {} |",
                name.replace('_', ", ")
                    .replace('d', "D = ")
                    .replace('K', "K = "),
                format_time(objective),
                format_time(gradient),
                gradient / objective,
                ratio(plain),
                ratio(hand)
            );
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
