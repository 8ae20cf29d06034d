//! The differential-testing harness: generate programs from a seed, write them as crates
//! (many functions per crate, a few crates built in parallel), compile them through the
//! macro, run every program's checks, and shrink what fails to a minimal reproducer.
//!
//! A program fails when the code the macro generates for it does not compile (the plain
//! function always does: the generator writes only valid Rust) or when a check finds two
//! derivatives that disagree.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::ast::{Float, Program};
use crate::check::{self, Case, Outcome};
use crate::generate::{self, Callee, Features, Shape};
use crate::render;
use crate::rng::Rng;
use crate::shrink;

/// The seed when `AUTODIFF_GEN_SEED` is not set, so CI runs the same programs every time.
pub const DEFAULT_SEED: u64 = 20_261_126;
/// The number of programs when `AUTODIFF_GEN_PROGRAMS` is not set.
pub const DEFAULT_PROGRAMS: usize = 2000;
/// Callees shared by every program of a run.
const CALLEES: usize = 6;
/// Programs per generated crate.
const PER_CRATE: usize = 500;

/// What to run, from the environment.
#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    pub programs: usize,
    /// How many failures to shrink (each takes a few compiles).
    pub shrink: usize,
    /// The autodiff repository, which generated crates depend on by path.
    pub root: PathBuf,
    /// Build the generated crates with `--release`.
    pub release: bool,
    /// Only these programs (by index), to reproduce and shrink a few failures of a run.
    pub only: Option<Vec<usize>>,
    /// The constructs generated.
    pub features: Features,
}

impl Config {
    /// `AUTODIFF_GEN_SEED` (decimal or 0x-hex), `AUTODIFF_GEN_PROGRAMS`,
    /// `AUTODIFF_GEN_SHRINK` (default 3), `AUTODIFF_GEN_ONLY` (program indices, `17,93`),
    /// `AUTODIFF_GEN_FEATURES` (see [`Features::parse`]).
    pub fn from_env(root: PathBuf, release: bool) -> Config {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let seed = var("AUTODIFF_GEN_SEED").map_or(DEFAULT_SEED, |v| {
            let v = v.trim();
            let parsed = match v.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => v.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("AUTODIFF_GEN_SEED={v} is not a number"))
        });
        let number = |name: &str, default: usize| {
            var(name).map_or(default, |v| {
                v.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
            })
        };
        Config {
            seed,
            programs: number("AUTODIFF_GEN_PROGRAMS", DEFAULT_PROGRAMS),
            shrink: number("AUTODIFF_GEN_SHRINK", 3),
            root,
            release,
            only: var("AUTODIFF_GEN_ONLY").map(|v| {
                v.split(',')
                    .map(|i| {
                        let i = i.trim().trim_start_matches('p');
                        i.parse()
                            .unwrap_or_else(|_| panic!("AUTODIFF_GEN_ONLY: {i} is not an index"))
                    })
                    .collect()
            }),
            features: var("AUTODIFF_GEN_FEATURES").map_or(Features::DEFAULT, |v| {
                Features::parse(&v).unwrap_or_else(|e| panic!("AUTODIFF_GEN_FEATURES: {e}"))
            }),
        }
    }

    fn work_dir(&self) -> PathBuf {
        self.root.join("target").join("random-programs")
    }
}

/// What happened to one program.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    /// The generated code does not compile.
    Compile(String),
    Passed(usize),
    Skipped(String),
    Mismatch(String),
    Panic(String),
    /// Not run: it calls a callee whose own code failed.
    Dropped(String),
    /// The generator's own mistake: rustc rejects the plain function, without the macro.
    Invalid(String),
}

impl Status {
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Status::Compile(_) | Status::Mismatch(_) | Status::Panic(_) | Status::Invalid(_)
        )
    }

    /// Failures of the same kind, for shrinking: a compile error stays the same compile
    /// error (the first error's code and headline, so shrinking does not drift to another
    /// bug), a wrong derivative a wrong derivative.
    fn same_kind(&self, other: &Status) -> bool {
        match (self, other) {
            (Status::Compile(a), Status::Compile(b)) => {
                let first = a.lines().next().map(headline).unwrap_or_default();
                b.lines().any(|line| headline(line) == first)
            }
            (Status::Mismatch(_) | Status::Panic(_), Status::Mismatch(_) | Status::Panic(_)) => {
                true
            }
            _ => false,
        }
    }

    fn describe(&self) -> String {
        match self {
            Status::Compile(m) => format!("the generated code does not compile:\n{m}"),
            Status::Passed(n) => format!("passed at {n} points"),
            Status::Skipped(why) => format!("skipped: {why}"),
            Status::Mismatch(m) => format!("mismatch: {m}"),
            Status::Panic(m) => format!("panicked: {m}"),
            Status::Dropped(m) => format!("not run: {m}"),
            Status::Invalid(m) => format!(
                "the generator wrote code that rustc rejects even without the macro (a bug of autodiff-gen):\n{m}"
            ),
        }
    }
}

/// `error[E0308]: mismatched types` of `error[E0308]: mismatched types: expected …`.
fn headline(error: &str) -> String {
    let mut parts = error.splitn(3, ": ");
    let code = parts.next().unwrap_or_default();
    let title = parts.next().unwrap_or_default();
    format!("{code}: {title}")
}

/// A failure, shrunk.
#[derive(Debug)]
pub struct Failure {
    pub name: String,
    pub status: Status,
    pub reproducer: String,
    pub shrunk: Option<(Status, String)>,
}

/// The outcome of a run.
#[derive(Debug)]
pub struct Report {
    pub seed: u64,
    pub generated: usize,
    pub passed: usize,
    pub skipped: usize,
    pub dropped: usize,
    pub failures: Vec<Failure>,
}

impl Report {
    /// Programs verified or found wrong (skipped ones are neither).
    pub fn checked(&self) -> usize {
        self.passed + self.failures.len()
    }

    /// `random programs: N checked, M mismatches, seed S`, then every failure.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "random programs: {} checked, {} mismatches, seed {}\n  ({} generated, {} callees included; {} skipped without a point where the checks apply, {} not run behind a failing callee)\n",
            self.checked(),
            self.failures.len(),
            self.seed,
            self.generated,
            2 * CALLEES,
            self.skipped,
            self.dropped,
        );
        for f in &self.failures {
            write!(
                out,
                "\n── {} (AUTODIFF_GEN_SEED={}): {}\n{}",
                f.name,
                self.seed,
                f.status.describe(),
                f.reproducer
            )
            .unwrap();
            if let Some((status, shrunk)) = &f.shrunk {
                write!(out, "shrunk to ({}):\n{shrunk}", status.describe()).unwrap();
            }
        }
        out
    }
}

/// The callees of a run: scalar functions of scalars, each also checked in f64 and f32.
pub fn callees(seed: u64) -> Vec<Program> {
    let mut rng = Rng::new(seed ^ 0x0CA1_1EE5);
    (0..CALLEES).map(|_| generate::callee(&mut rng)).collect()
}

/// Program `index` of the run with `seed` (of the default constructs): the same on every
/// machine.
pub fn program(seed: u64, index: usize, callees: &[Program]) -> Program {
    program_with(seed, index, callees, Features::DEFAULT)
}

/// Program `index` of the run with `seed`, of the constructs in `features`.
pub fn program_with(seed: u64, index: usize, callees: &[Program], features: Features) -> Program {
    let mut rng = Rng::new(seed.wrapping_mul(0x9E37_79B9).wrapping_add(index as u64) ^ 0x5EED);
    rng.next_u64();
    let signatures: Vec<Callee> = callees
        .iter()
        .map(|c| Callee {
            arity: c.params.len(),
            bound: c.result[0].bound.min(1e3),
            hessian: c.hessian,
        })
        .collect();
    let (float, shape) = match rng.unit() {
        r if r < 0.35 => (Float::F64, Shape::Scalars),
        r if r < 0.5 => (Float::F32, Shape::Scalars),
        r if r < 0.75 => (Float::F64, Shape::Arrays),
        r if r < 0.85 => (Float::F32, Shape::Arrays),
        _ => (Float::F64, Shape::Struct),
    };
    generate::program(&mut rng, float, shape, &signatures, features)
}

/// Generates, compiles and checks `config.programs` programs; shrinks the first failures.
pub fn run(config: &Config) -> Report {
    let callees = callees(config.seed);
    let mut items: Vec<(String, Program)> = Vec::new();
    for (k, c) in callees.iter().enumerate() {
        for float in [Float::F64, Float::F32] {
            let mut c = c.clone();
            c.float = float;
            items.push((format!("callee{k}_{}", float.name()), c));
        }
    }
    let indices: Vec<usize> = match &config.only {
        Some(only) => only.clone(),
        None => (0..config.programs).collect(),
    };
    for &i in &indices {
        items.push((
            format!("p{i}"),
            program_with(config.seed, i, &callees, config.features),
        ));
    }
    let dir = match config.only {
        Some(_) => format!("seed-{}-only", config.seed),
        None => format!("seed-{}", config.seed),
    };
    let statuses = evaluate(config, &dir, &items, &callees);
    let mut report = Report {
        seed: config.seed,
        generated: indices.len(),
        passed: 0,
        skipped: 0,
        dropped: 0,
        failures: Vec::new(),
    };
    for (name, program) in &items {
        let status = statuses
            .get(name)
            .cloned()
            .unwrap_or_else(|| Status::Panic("no result reported".into()));
        match &status {
            Status::Passed(_) => report.passed += 1,
            Status::Skipped(_) => report.skipped += 1,
            Status::Dropped(_) => report.dropped += 1,
            _ => {
                let shrunk = (report.failures.len() < config.shrink)
                    .then(|| shrink_failure(config, program, &status, &callees));
                report.failures.push(Failure {
                    name: name.clone(),
                    reproducer: render::reproducer(program, &callees),
                    status,
                    shrunk: shrunk.map(|(p, s)| (s, render::reproducer(&p, &callees))),
                });
            }
        }
    }
    report
}

/// Greedy shrinking: the smallest one-step simplification that still fails the same way,
/// again and again, all of a round's candidates compiled together.
fn shrink_failure(
    config: &Config,
    program: &Program,
    status: &Status,
    callees: &[Program],
) -> (Program, Status) {
    let (mut current, mut current_status) = (program.clone(), status.clone());
    for _ in 0..25 {
        let candidates: Vec<(String, Program)> = shrink::candidates(&current)
            .into_iter()
            .take(120)
            .enumerate()
            .map(|(i, p)| (format!("s{i}"), p))
            .collect();
        if candidates.is_empty() {
            break;
        }
        let statuses = evaluate(
            config,
            &format!("shrink-{}", config.seed),
            &candidates,
            callees,
        );
        let smaller = candidates.into_iter().find_map(|(name, p)| {
            let s = statuses.get(&name)?;
            s.same_kind(&current_status).then(|| (p, s.clone()))
        });
        match smaller {
            Some((p, s)) => (current, current_status) = (p, s),
            None => break,
        }
    }
    (current, current_status)
}

/// One generated crate: its source, and the lines each item occupies.
struct CrateSource {
    text: String,
    spans: Vec<(String, std::ops::Range<usize>)>,
}

/// The crate of `items` with their checks or, `plain`, of the functions alone without the
/// attribute: what rustc makes of the generator's code before the macro touches it.
fn crate_source(
    items: &[(String, Program)],
    callees: &[Program],
    skip_callees: &[usize],
    plain: bool,
) -> CrateSource {
    let mut text = String::from(
        "// Generated by autodiff-gen: random programs and the checks of their derivatives.\n\
         #![allow(warnings, clippy::all)]\n\
         use autodiff::ndarray::{concatenate, s, stack, Array, Array1, Array2, ArrayView1, ArrayView2, Axis, Slice, Zip};\n\
         use autodiff::prelude::*;\n\
         use autodiff_gen::check::Case;\n\
         use autodiff_gen::support::{flat, Params, Reader};\n\n",
    );
    let mut spans = Vec::new();
    let mut add = |text: &mut String, name: String, source: &str| {
        let start = text.lines().count() + 1;
        text.push_str(source);
        text.push('\n');
        spans.push((name, start..text.lines().count() + 1));
    };
    for (k, c) in callees.iter().enumerate() {
        if !skip_callees.contains(&k) {
            add(
                &mut text,
                format!("callee {k}"),
                &render::callee(k, c, plain),
            );
        }
    }
    for (name, program) in items {
        let source = match plain {
            true => render::plain_module(name, program),
            false => render::module(name, program),
        };
        add(&mut text, name.clone(), &source);
    }
    if plain {
        text.push_str("fn main() {}\n");
        return CrateSource { text, spans };
    }
    let cases: Vec<String> = items.iter().map(|(n, _)| format!("{n}::case")).collect();
    writeln!(
        text,
        "fn main() {{\n    autodiff_gen::harness::run_cases(&[{}]);\n}}",
        cases.join(", ")
    )
    .unwrap();
    CrateSource { text, spans }
}

/// Builds and runs `items` in crates under `dir_name`; a program whose generated code does
/// not compile is reported and left out, and the rest are built again.
fn evaluate(
    config: &Config,
    dir_name: &str,
    items: &[(String, Program)],
    callees: &[Program],
) -> HashMap<String, Status> {
    let dir = config.work_dir().join(dir_name);
    let mut statuses: HashMap<String, Status> = HashMap::new();
    let mut live: Vec<(String, Program)> = items.to_vec();
    let mut failed_callees: Vec<usize> = Vec::new();
    // Each round removes at least one failing item (rustc may stop before it has reported
    // every item's errors), so this ends.
    loop {
        // Programs behind a callee that failed are not run.
        live.retain(
            |(name, p)| match p.callees().iter().find(|k| failed_callees.contains(k)) {
                Some(k) => {
                    statuses.insert(
                        name.clone(),
                        Status::Dropped(format!("calls g{k}, whose generated code failed")),
                    );
                    false
                }
                None => true,
            },
        );
        if live.is_empty() {
            return statuses;
        }
        // Each item stays in the crate it started in, so removing one rebuilds only that crate.
        let alive: std::collections::HashSet<&str> =
            live.iter().map(|(name, _)| name.as_str()).collect();
        let sources: Vec<CrateSource> = items
            .chunks(PER_CRATE)
            .map(|chunk| {
                let chunk: Vec<(String, Program)> = chunk
                    .iter()
                    .filter(|(name, _)| alive.contains(name.as_str()))
                    .cloned()
                    .collect();
                crate_source(&chunk, callees, &failed_callees, false)
            })
            .collect();
        write_workspace(config, &dir, &sources);
        let errors = build(config, &dir);
        if errors.is_empty() {
            for (k, _) in sources.iter().enumerate() {
                run_binary(config, &dir, k, &mut statuses);
                eprintln!(
                    "random programs: crate {} of {} in {dir_name} checked",
                    k + 1,
                    sources.len()
                );
            }
            for (name, _) in &live {
                statuses.entry(name.clone()).or_insert_with(|| {
                    Status::Panic("the checking binary stopped before this case".into())
                });
            }
            return statuses;
        }
        // Attribute each error to the item whose lines hold it.
        let mut failing: HashMap<String, String> = HashMap::new();
        for (chunk, line, message) in &errors {
            let owner = sources
                .get(*chunk)
                .and_then(|s| s.spans.iter().find(|(_, r)| r.contains(line)))
                .map(|(name, _)| name.clone());
            match owner {
                Some(name) => {
                    let entry = failing.entry(name).or_default();
                    if entry.lines().count() < 12 {
                        entry.push_str(message);
                        entry.push('\n');
                    }
                }
                None => panic!(
                    "the harness's own code in crate chunk{chunk} does not compile (line {line}): {message}"
                ),
            }
        }
        eprintln!(
            "random programs: {} failed to compile in {dir_name}; building the rest again",
            failing.len()
        );
        let invalid = rejected_without_macro(config, dir_name, &failing, &live, callees);
        for (name, message) in failing {
            // The generator's fault, not the macro's, when rustc rejects the plain function.
            let status = match invalid.contains(&name) {
                true => Status::Invalid(message),
                false => Status::Compile(message),
            };
            if let Some(k) = name.strip_prefix("callee ") {
                // A callee is rendered in every crate: left out of them all, and so are the
                // programs that call it.
                let k: usize = k.parse().expect("a callee index");
                failed_callees.push(k);
                for float in ["f64", "f32"] {
                    statuses.insert(format!("callee{k}_{float}"), status.clone());
                }
                live.retain(|(n, _)| !n.starts_with(&format!("callee{k}_")));
            } else {
                live.retain(|(n, _)| *n != name);
                statuses.insert(name, status);
            }
        }
    }
}

/// Which of the `failing` items rustc rejects even without `#[differentiable]`.
fn rejected_without_macro(
    config: &Config,
    dir_name: &str,
    failing: &HashMap<String, String>,
    live: &[(String, Program)],
    callees: &[Program],
) -> Vec<String> {
    let items: Vec<(String, Program)> = live
        .iter()
        .filter(|(name, _)| failing.contains_key(name))
        .cloned()
        .collect();
    let source = crate_source(&items, callees, &[], true);
    let dir = config.work_dir().join(format!("{dir_name}-plain"));
    write_workspace(config, &dir, std::slice::from_ref(&source));
    let mut rejected: Vec<String> = Vec::new();
    for (_, line, _) in build(config, &dir) {
        if let Some((name, _)) = source.spans.iter().find(|(_, r)| r.contains(&line)) {
            if !rejected.contains(name) {
                rejected.push(name.clone());
            }
        }
    }
    rejected
}

fn write_if_changed(path: &Path, contents: &str) {
    if std::fs::read_to_string(path).ok().as_deref() != Some(contents) {
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create the directory");
        std::fs::write(path, contents)
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
}

fn write_workspace(config: &Config, dir: &Path, sources: &[CrateSource]) {
    let members: Vec<String> = (0..sources.len())
        .map(|k| format!("\"chunk{k}\""))
        .collect();
    write_if_changed(
        &dir.join("Cargo.toml"),
        &format!(
            "[workspace]\nmembers = [{}]\nresolver = \"2\"\n\n[profile.dev]\ndebug = false\nincremental = false\n",
            members.join(", ")
        ),
    );
    let lock = dir.join("Cargo.lock");
    if !lock.exists() {
        if let Ok(text) = std::fs::read_to_string(config.root.join("Cargo.lock")) {
            write_if_changed(&lock, &text);
        }
    }
    let root = config.root.display().to_string().replace('\\', "/");
    for (k, source) in sources.iter().enumerate() {
        let crate_dir = dir.join(format!("chunk{k}"));
        write_if_changed(
            &crate_dir.join("Cargo.toml"),
            &format!(
                "[package]\nname = \"{}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
                 [dependencies]\nautodiff = {{ path = \"{root}\" }}\nautodiff-gen = {{ path = \"{root}/autodiff-gen\" }}\n",
                package(dir, k)
            ),
        );
        write_if_changed(&crate_dir.join("src/main.rs"), &source.text);
    }
    // Crates of an earlier, larger run are not members any more; drop them.
    for k in sources.len().. {
        let stale = dir.join(format!("chunk{k}"));
        if !stale.exists() {
            break;
        }
        let _ = std::fs::remove_dir_all(stale);
    }
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn target_dir(config: &Config) -> PathBuf {
    config.work_dir().join("target")
}

/// Builds the workspace; the errors as (chunk, line, message).
fn build(config: &Config, dir: &Path) -> Vec<(usize, usize, String)> {
    let mut command = cargo();
    command
        .current_dir(dir)
        .args(["build", "--workspace", "--message-format=short", "--quiet"])
        .arg("--target-dir")
        .arg(target_dir(config))
        .env_remove("CARGO_TARGET_DIR");
    if config.release {
        command.arg("--release");
    }
    let output = command.output().expect("cargo runs");
    if output.status.success() {
        return Vec::new();
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let errors: Vec<(usize, usize, String)> = stderr
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("chunk")?;
            let (chunk, rest) = rest.split_once("/src/main.rs:")?;
            let (line_no, rest) = rest.split_once(':')?;
            let (_, message) = rest.split_once(": ")?;
            message
                .starts_with("error")
                .then(|| {
                    (
                        chunk.parse().ok(),
                        line_no.parse().ok(),
                        message.to_string(),
                    )
                })
                .and_then(|(c, l, m)| Some((c?, l?, m)))
        })
        .collect();
    assert!(
        !errors.is_empty(),
        "building the generated crates failed with no error in them:\n{stderr}"
    );
    errors
}

/// The package (and binary) name of crate `k` under `dir`: unique across directories, since
/// runs of different seeds share one target directory.
fn package(dir: &Path, k: usize) -> String {
    let dir = dir.file_name().map(|d| d.to_string_lossy().into_owned());
    format!("{}-chunk{k}", dir.unwrap_or_default())
}

fn run_binary(config: &Config, dir: &Path, chunk: usize, statuses: &mut HashMap<String, Status>) {
    let profile = if config.release { "release" } else { "debug" };
    let binary = target_dir(config).join(profile).join(package(dir, chunk));
    let output = Command::new(&binary)
        .current_dir(dir)
        .env("AUTODIFF_GEN_CHECK_SEED", config.seed.to_string())
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", binary.display()));
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let mut fields = line.splitn(4, '\t');
        if fields.next() != Some("RESULT") {
            continue;
        }
        let (Some(name), Some(kind), detail) =
            (fields.next(), fields.next(), fields.next().unwrap_or(""))
        else {
            continue;
        };
        let status = match kind {
            "passed" => Status::Passed(detail.parse().unwrap_or(1)),
            "skipped" => Status::Skipped(detail.into()),
            "mismatch" => Status::Mismatch(detail.into()),
            _ => Status::Panic(detail.into()),
        };
        statuses.insert(name.to_string(), status);
    }
}

static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// The `main` of a generated crate: checks every case and prints one `RESULT` line each.
pub fn run_cases(cases: &[fn() -> Case]) {
    let seed = std::env::var("AUTODIFF_GEN_CHECK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(format!("{message}{location}"));
    }));
    for make in cases {
        let case = make();
        let mut rng = Rng::new(seed);
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check::run(&case, &mut rng)));
        let (kind, detail) = match outcome {
            Ok(Outcome::Passed(n)) => ("passed", n.to_string()),
            Ok(Outcome::Skipped(why)) => ("skipped", why),
            Ok(Outcome::Mismatch(what)) => ("mismatch", what),
            Err(_) => (
                "panic",
                LAST_PANIC
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take()
                    .unwrap_or_default(),
            ),
        };
        println!(
            "RESULT\t{}\t{kind}\t{}",
            case.name,
            detail.replace(['\n', '\t'], " ")
        );
    }
}
