//! The generator and the shrinker, without a compiler: programs are reproducible from their
//! seed, valid by the shrinker's own rules, cover every primitive of the macro's table, and
//! shrink to valid, smaller programs.

use autodiff_core::rules::{Primitive, Syntax};
use autodiff_gen::harness::{callees, program, DEFAULT_SEED};
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
    for p in c
        .iter()
        .cloned()
        .chain((0..2000).map(|i| program(DEFAULT_SEED, i, &c)))
    {
        assert!(
            shrink::valid(&p),
            "the generator wrote a program the shrinker calls invalid:\n{}",
            render::reproducer(&p, &c)
        );
    }
}

/// Every row of the primitive table appears in the programs of one CI run.
#[test]
fn programs_cover_every_primitive() {
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
                let written = ["] = ", "]] = ", "] += ", "]] += ", "] -= ", "]] -= "];
                assert!(
                    written.iter().any(|w| source.contains(w)),
                    "no program writes an array element (`a[i] = v`)"
                );
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
    ] {
        assert!(source.contains(construct), "no program uses `{construct}`");
    }
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
