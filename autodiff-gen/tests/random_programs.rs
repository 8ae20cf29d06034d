//! Random-program differential testing: `AUTODIFF_GEN_PROGRAMS` programs (2 000 by default)
//! from `AUTODIFF_GEN_SEED`, each compiled through `#[differentiable]` and checked in every
//! mode. Run with `--nocapture` to see the summary line.

use std::path::PathBuf;

use autodiff_gen::harness::{run, Config};

#[test]
fn random_programs_agree_in_every_mode() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf();
    let config = Config::from_env(root, !cfg!(debug_assertions));
    let report = run(&config);
    let summary = report.summary();
    println!("{summary}");
    assert!(report.failures.is_empty(), "{summary}");
    // The generator keeps values inside each primitive's domain; if most programs had no
    // usable point, the run would check little.
    assert!(
        report.skipped * 10 <= report.generated,
        "too many programs skipped: {summary}"
    );
}
