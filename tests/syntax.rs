//! The supported syntax beyond single expressions: bindings, reassignment, constants, `wrt`,
//! and the shape of the gradient, each checked against finite differences.

use autodiff::check::{central_difference, close};
use autodiff::prelude::*;
use std::f64::consts::PI;

const SCALE: f64 = 0.5;

fn assert_gradient(exact: &[f64], f: impl Fn(&[f64]) -> f64, x: &[f64]) {
    let numeric = central_difference(f, x, 1e-6);
    for (e, n) in exact.iter().zip(&numeric) {
        assert!(
            close(*e, *n, 1e-7),
            "gradient {exact:?}, finite differences {numeric:?}"
        );
    }
}

/// Shadowing, `let mut` with every compound assignment, and plain reassignment.
#[differentiable]
#[allow(clippy::assign_op_pattern)]
fn straight_line(x: f64, y: f64) -> f64 {
    let t = x * y;
    let t = t.sin() + x;
    let mut acc = t;
    acc += y.exp();
    acc -= x / y;
    acc *= 1.5;
    acc /= 1.0 + y * y;
    let mut s = 0.0;
    s = s + acc * acc;
    s
}

#[test]
fn bindings_and_reassignment() {
    let (x, y) = (0.8, -1.3);
    let (value, (dx, dy)) = straight_line_grad(x, y);
    assert_eq!(value, straight_line(x, y));
    assert_gradient(&[dx, dy], |v| straight_line(v[0], v[1]), &[x, y]);
}

/// Non-float parameters and the values computed from them are constants: `n as f64`,
/// `std` constants, the user's own constants and functions of constants, items in the body.
#[differentiable]
fn with_constants(x: f64, n: usize, flag: bool) -> f64 {
    use std::f64::consts::E;
    let count = n as f64;
    let mut weight: f64 = if_flag(flag);
    weight *= 2.0;
    let angle = 2.0 * PI / count;
    (x * angle).cos() * weight * SCALE + E.ln() * x / count.sqrt()
}

fn if_flag(flag: bool) -> f64 {
    if flag {
        1.0
    } else {
        -1.0
    }
}

#[test]
fn constants_are_not_differentiated() {
    let (value, dx) = with_constants_grad(1.2, 6, true);
    assert_eq!(value, with_constants(1.2, 6, true));
    assert_gradient(&[dx], |v| with_constants(v[0], 6, true), &[1.2]);
    let (_, dx) = with_constants_grad(1.2, 6, false);
    assert_gradient(&[dx], |v| with_constants(v[0], 6, false), &[1.2]);
}

/// `wrt` picks parameters; the gradient has one entry per picked parameter, in parameter
/// order, the entry itself when there is one.
#[differentiable(wrt(b, a))]
fn picked(a: f64, b: f64, c: f64) -> f64 {
    a * b * c + c.sin()
}

#[differentiable(wrt(c))]
fn single(a: f64, b: f64, c: f64) -> f64 {
    a * b * c + c.sin()
}

#[test]
fn wrt_selects_parameters() {
    let (value, (da, db)) = picked_grad(2.0, 3.0, 5.0);
    assert_eq!((value, da, db), (picked(2.0, 3.0, 5.0), 15.0, 10.0));
    let (_, dc) = single_grad(2.0, 3.0, 5.0);
    assert_eq!(dc, 6.0 + 5.0_f64.cos());
}

/// A parameter the result does not depend on gets a zero gradient; a constant result gets
/// zeros everywhere; the input itself as the result gets one.
#[differentiable]
fn ignores_y(x: f64, y: f64) -> f64 {
    let _unused = y * 2.0;
    x * x
}

#[differentiable]
fn constant_result(x: f64) -> f64 {
    let _ = x;
    3.0
}

#[differentiable]
fn identity(x: f64) -> f64 {
    x
}

#[test]
fn degenerate_dependencies() {
    assert_eq!(ignores_y_grad(3.0, 7.0), (9.0, (6.0, 0.0)));
    assert_eq!(constant_result_grad(2.0), (3.0, 0.0));
    assert_eq!(identity_grad(2.0), (2.0, 1.0));
}

/// A final `return` statement, parameters declared `mut` and `_`, and a deep fan-out.
#[differentiable]
#[allow(clippy::assign_op_pattern, clippy::needless_return)]
fn fan_out(mut x: f64, _: f64) -> f64 {
    x = x * 1.0;
    let a = x.sin();
    let b = a * x + a.cos() * a;
    return b * a + x.max(a).min(2.0).hypot(b);
}

#[test]
fn fan_out_and_odd_parameters() {
    let (value, (dx, dignored)) = fan_out_grad(0.9, 4.0);
    assert_eq!(value, fan_out(0.9, 4.0));
    assert_eq!(dignored, 0.0);
    assert_gradient(&[dx], |v| fan_out(v[0], 4.0), &[0.9]);
}

/// A compound assignment of constants keeps the right-hand side whole: `c *= a + b` is
/// `c * (a + b)`, not `c * a + b`.
#[differentiable]
fn compound_constant(x: f64, n: usize) -> f64 {
    let mut c = 2.0;
    c *= n as f64 + 1.0;
    c -= 1.0 - 0.5;
    x * c
}

#[test]
fn compound_assignment_of_constants() {
    let (value, dx) = compound_constant_grad(3.0, 4);
    assert_eq!((value, dx), (28.5, 9.5));
}

/// `f_source()` is the source of the derivatives generated for `f`, in the order emitted, as
/// Rust that parses, without the doc comments.
#[test]
fn generated_source() {
    let source = straight_line_source();
    let file = syn::parse_file(source).expect("f_source() is Rust");
    let functions: Vec<String> = file
        .items
        .iter()
        .map(|item| match item {
            syn::Item::Fn(function) => function.sig.ident.to_string(),
            _ => panic!("only functions in\n{source}"),
        })
        .collect();
    assert_eq!(
        functions,
        [
            "straight_line_grad",
            "straight_line_vjp",
            "straight_line_jvp",
            "straight_line_trace"
        ]
    );
    assert!(source.contains("fn straight_line_grad(x: f64, y: f64) -> (f64, (f64, f64)) {"));
    assert!(!source.contains("#[doc") && !source.contains("///"));
    assert!(!source.contains("__differentiable_"), "no companions");
}
