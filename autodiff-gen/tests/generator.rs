//! The generator and the shrinker, without a compiler: programs are reproducible from their
//! seed, valid by the shrinker's own rules, cover every primitive of the macro's table and
//! every construct (control flow included), and shrink to valid, smaller programs; the
//! checks skip a point whose finite differences would cross a branch's threshold.

use autodiff_core::rules::{Primitive, Syntax};
use autodiff_gen::ast::{Head, IntExpr, Program, Stmt, Test};
use autodiff_gen::check::{self, Case, Outcome};
use autodiff_gen::generate::Features;
use autodiff_gen::harness::{callees, program, program_with, DEFAULT_SEED};
use autodiff_gen::rng::Rng;
use autodiff_gen::support::probe;
use autodiff_gen::{render, shrink};

#[test]
fn the_same_seed_gives_the_same_programs() {
    let c = callees(7);
    assert_eq!(c, callees(7));
    for i in 0..50 {
        assert_eq!(program(7, i, &c), program(7, i, &c));
    }
    assert_ne!(program(7, 0, &c), program(8, 0, &c));
}

#[test]
fn every_generated_program_is_valid() {
    let c = callees(DEFAULT_SEED);
    let programs = (0..2000).map(|i| program(DEFAULT_SEED, i, &c));
    for p in c.iter().cloned().chain(programs) {
        assert!(
            shrink::valid(&p),
            "the generator wrote a program the shrinker calls invalid:\n{}",
            render::reproducer(&p, &c)
        );
    }
}

/// Whether a line of Rust writes an element, `q[i] = …`, `m[[i, j]] += …`.
fn writes_element(line: &str) -> bool {
    let line = line.trim();
    let Some(open) = line.find('[') else {
        return false;
    };
    let name = &line[..open];
    let Some(close) = line.find("] ") else {
        return false;
    };
    !name.is_empty()
        && name.chars().all(|c| c.is_alphanumeric() || c == '_')
        && [" = ", " += ", " -= ", " *= "]
            .iter()
            .any(|op| line[close + 1..].starts_with(op))
}

/// Whether `source` indexes an array with a loop index, `x[i3]`, `m[[i3, j4]]`, `x[i3 % 2]`.
fn reads_at_loop_index(source: &str) -> bool {
    source
        .as_bytes()
        .windows(3)
        .any(|w| w[0] == b'[' && w[1] == b'i' && w[2].is_ascii_digit())
}

/// Every row of the primitive table, and every construct, appears in the programs of one
/// CI run.
#[test]
fn programs_cover_every_primitive_and_construct() {
    let c = callees(DEFAULT_SEED);
    let source: String = (0..2000)
        .map(|i| render::reproducer(&program(DEFAULT_SEED, i, &c), &c))
        .collect();
    for &primitive in Primitive::ALL {
        let rule = primitive.rule();
        let written = match (rule.syntax, rule.module) {
            (Syntax::Operator, "add") => " + ".to_string(),
            (Syntax::Operator, "sub") => " - ".to_string(),
            (Syntax::Operator, "mul") => " * ".to_string(),
            (Syntax::Operator, "div") => " / ".to_string(),
            (Syntax::Operator, "neg") => "(-".to_string(),
            (Syntax::Operator, "index") => {
                let indexed = source.as_bytes().windows(3).any(|w| {
                    (w[0].is_ascii_alphanumeric() || w[0] == b')')
                        && w[1] == b'['
                        && (w[2].is_ascii_digit() || w[2] == b'[')
                });
                assert!(indexed, "no program indexes an array (`a[i]`, `a[[i, j]]`)");
                continue;
            }
            (Syntax::Operator, "set_index") => {
                let written = source.lines().any(writes_element);
                assert!(written, "no program writes an element (`q[i] = …`)");
                continue;
            }
            (Syntax::Operator, other) => panic!("an operator the test does not know: {other}"),
            (Syntax::Method, name) => format!(".{name}("),
            (Syntax::Function, name) => format!("{name}("),
        };
        assert!(
            source.contains(&written),
            "no program uses {primitive:?} (`{written}`)"
        );
    }
    for construct in [
        "let mut ",
        " += ",
        " -= ",
        " *= ",
        " /= ",
        ".view()",
        ".to_owned()",
        ".clone()",
        "&Params",
        "usize",
        "&[usize]",
        "hessian",
        "wrt(",
        "custom::log1pexp(",
        "custom::half_sq_norm(",
        "ArrayView1<",
        "ArrayView2<",
        "f32",
        "-> (",
        // Control flow.
        "    if ",
        "} else if ",
        "} else {",
        " = if ",
        " = match ",
        "    match ",
        " as usize)",
        " => {",
        "_ => {",
        " | ",
        "for _ in ",
        "for i",
        "while k",
        " && ",
        " || ",
        "!(",
        ".is_nan()",
        "loop {",
        "break;",
        "continue;",
        ".rev()",
        ".step_by(2)",
        "..=",
        " + 1)..",
        ".len() {",
        ".nrows() {",
        ".ncols() {",
        " as f64)",
        "    for ",
    ] {
        assert!(source.contains(construct), "no program uses `{construct}`");
    }
    assert!(
        source.lines().any(|l| {
            let l = l.trim();
            l.starts_with("let u") && l.ends_with(';') && l.split(' ').count() == 2
        }),
        "no program declares a variable and assigns it in the branches (`let u;`)"
    );
    assert!(
        source.contains("for i") && source.contains("in 0..n"),
        "no loop runs to the size parameter"
    );
    assert!(
        reads_at_loop_index(&source),
        "no program reads an element at a loop index (`x[i3]`)"
    );
    assert!(
        source.lines().any(|l| l.contains("for j") || {
            // A loop inside a loop: an indented `for` under another.
            l.starts_with("        for ")
        }),
        "no nested loop"
    );
}

/// A statement anywhere in the body.
fn any_stmt(body: &[Stmt], f: &mut dyn FnMut(&Stmt) -> bool) -> bool {
    body.iter()
        .any(|s| f(s) || s.blocks().into_iter().any(|b| any_stmt(b, f)))
}

#[test]
fn shrinking_gives_smaller_valid_programs() {
    let c = callees(DEFAULT_SEED);
    for i in 0..100 {
        let p = program(DEFAULT_SEED, i, &c);
        for candidate in shrink::candidates(&p) {
            assert!(candidate.size() < p.size());
            assert!(shrink::valid(&candidate));
        }
    }
}

fn count(p: &Program, f: &mut dyn FnMut(&Stmt) -> bool) -> usize {
    fn walk(body: &[Stmt], f: &mut dyn FnMut(&Stmt) -> bool) -> usize {
        body.iter()
            .map(|s| f(s) as usize + s.blocks().into_iter().map(|b| walk(b, f)).sum::<usize>())
            .sum()
    }
    walk(&p.body, f)
}

/// Branches lose arms or give way to one arm's statements, loops to their body run once or
/// to fewer iterations, and `while` loops to fewer iterations or no condition.
#[test]
fn control_flow_shrinks() {
    let c = callees(DEFAULT_SEED);
    let is_loop = |s: &Stmt| matches!(s, Stmt::For { .. } | Stmt::While { .. } | Stmt::Loop { .. });
    let arms = |p: &Program| {
        let mut n = 0;
        any_stmt(&p.body, &mut |s| {
            if let Stmt::Branch { arms, .. } = s {
                n += arms.len();
            }
            false
        });
        n
    };
    let trips = |p: &Program| {
        let mut n = 0;
        any_stmt(&p.body, &mut |s| {
            match s {
                Stmt::For { range, .. } => {
                    if let IntExpr::Lit(k) = range.end {
                        n += k;
                    }
                }
                Stmt::While { limit, .. } | Stmt::Loop { limit, .. } => n += limit,
                _ => {}
            }
            false
        });
        n
    };
    let (mut unrolled, mut fewer_arms, mut fewer_trips, mut checked) = (0, 0, 0, 0);
    for i in 0..300 {
        let p = program(DEFAULT_SEED, i, &c);
        if !p.has_control() {
            continue;
        }
        checked += 1;
        let loops = count(&p, &mut |s| is_loop(s));
        for q in shrink::candidates(&p) {
            assert!(shrink::valid(&q) && q.size() < p.size());
            let q_loops = count(&q, &mut |s| is_loop(s));
            // The loop gone, its statements (some of them) still there.
            if q_loops + 1 == loops && q.body.len() > p.body.len() {
                unrolled += 1;
            }
            if arms(&q) + 1 == arms(&p)
                && count(&q, &mut |s| matches!(s, Stmt::Branch { .. }))
                    == count(&p, &mut |s| matches!(s, Stmt::Branch { .. }))
            {
                fewer_arms += 1;
            }
            if trips(&q) < trips(&p) && q_loops == loops {
                fewer_trips += 1;
            }
        }
    }
    assert!(checked > 50, "only {checked} programs with control flow");
    assert!(unrolled > 0, "no loop replaced by its body");
    assert!(fewer_arms > 0, "no branch lost an arm");
    assert!(fewer_trips > 0, "no loop lost iterations");
}

/// `match` arms end with `_`, `if` values with `else`, in every generated program.
#[test]
fn branches_are_exhaustive() {
    let c = callees(DEFAULT_SEED);
    for i in 0..500 {
        let p = program(DEFAULT_SEED, i, &c);
        any_stmt(&p.body, &mut |s| {
            if let Stmt::Branch { head, arms, bind } = s {
                let last = &arms.last().expect("an arm").test;
                match head {
                    Head::Match(_) => assert!(matches!(last, Test::Pat(_))),
                    Head::If if bind.is_some() => assert_eq!(*last, Test::Else),
                    Head::If => {}
                }
            }
            false
        });
    }
}

#[test]
fn features_parse() {
    assert_eq!(Features::parse("").unwrap(), Features::DEFAULT);
    assert_eq!(Features::parse("all").unwrap(), Features::ALL);
    assert_eq!(Features::parse("none").unwrap(), Features::STRAIGHT);
    assert_eq!(
        Features::parse("none, control, closures").unwrap(),
        Features::DEFAULT
    );
    assert_eq!(
        Features::parse("-control, -closures").unwrap(),
        Features::STRAIGHT
    );
    assert!(!Features::parse("-closures").unwrap().closures);
    assert!(Features::parse("loops").is_err());
    let c = callees(DEFAULT_SEED);
    assert!((0..200).all(|i| !program_with(DEFAULT_SEED, i, &c, Features::STRAIGHT).has_control()));
}

// A function with a kink at 0.3 (|x − 0.3|, written as a branch), its derivatives, and its
// trace of the branch taken.
fn kink(x: f64) -> f64 {
    if probe::gt(x, 0.3) {
        x - 0.3
    } else {
        0.3 - x
    }
}

fn slope(x: f64) -> f64 {
    if x > 0.3 {
        1.0
    } else {
        -1.0
    }
}

fn kink_case(trace: bool) -> Case {
    Case {
        name: "kink",
        single: false,
        inputs: 1,
        outputs: 1,
        eval: |x| vec![kink(x[0])],
        eval64: None,
        trace: match trace {
            true => Some(|x| {
                probe::trace(|| {
                    kink(x[0]);
                })
            }),
            false => None,
        },
        vjp: |x, c| (vec![kink(x[0])], vec![c[0] * slope(x[0])]),
        jvp: |x, t| (vec![kink(x[0])], vec![t[0] * slope(x[0])]),
        grad: Some(|x| (vec![kink(x[0])], vec![slope(x[0])])),
        traced: None,
        jacobian: None,
        hessian: None,
        hvp: None,
        diagonal: None,
    }
}

/// Next to a branch's threshold, central differences straddle the kink and disagree with the
/// derivative of the branch taken: without the trace, the checks call that a mismatch; with
/// it, they skip the point.
#[test]
fn a_point_next_to_a_threshold_is_skipped() {
    let x = [0.3 + 1e-9];
    let mut rng = Rng::new(1);
    assert!(matches!(
        check::at(&kink_case(false), &x, &mut rng),
        Outcome::Mismatch(_)
    ));
    let mut rng = Rng::new(1);
    assert!(matches!(
        check::at(&kink_case(true), &x, &mut rng),
        Outcome::Skipped(_)
    ));
    // Away from it, the point is checked.
    let mut rng = Rng::new(1);
    assert_eq!(
        check::at(&kink_case(true), &[0.9], &mut rng),
        Outcome::Passed(1)
    );
}

#[test]
fn the_probe_records_decisions_and_margins() {
    let t = probe::trace(|| {
        probe::lt(1.0, 2.0);
        probe::ge(1.0, 2.0);
        assert_eq!(probe::cast(2.7), 2);
    });
    assert_eq!(t.iter().map(|(d, _)| *d).collect::<Vec<_>>(), [1, 0, 4]);
    assert!((t[0].1 - 0.25).abs() < 1e-12);
    assert!((t[2].1 - 0.3 / 3.7).abs() < 1e-12);
    // Outside `trace`, nothing is recorded.
    assert!(probe::lt(1.0, 2.0));
    assert!(probe::trace(|| {}).is_empty());
}
