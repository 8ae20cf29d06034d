//! Functions a random-program run found the macro turning into code that did not compile,
//! each with its siblings of the same cause, checked against central differences in both
//! modes.
//!
//! - A view as the result (`m.t()`): the trace drops `.to_owned()`, so the generated
//!   functions returned the view. Array results are now made owned.
//! - A constant read by a differentiated operation, then moved: the adjoint sweep reads it
//!   after the move. Such a constant is now aliased (`let a = c;`) or copied where moved.
//! - A compound assignment of a constant that reads itself (`m -= &m.sin()`): rewritten as
//!   `m - (&m.sin())`, which moved `m` before reading it. It is now kept as written.
//! - Of the first cause: a view made owned (`m.t().to_owned()`, `v.to_owned()` for a view
//!   parameter) passed to a function taking `&Array2<f64>`: the trace now copies it.
//! - `f_hessian` runs the forward sweep once per column, so user code there moving a
//!   constant parameter (`let d = c * 2.0;`) moved it in the loop's first iteration. The
//!   constants are now computed once, before the sweeps.
//! - A constant argument of a call was passed through `Clone::clone(&c)`, whose expected
//!   type kept `&[1, 2]` from coercing to the callee's `&[usize]`. `Copy` constants are
//!   now passed as written.
//! - Constants of literals indexed (`let c = [1.0, 2.0]; x * c[0]`) left their float type
//!   to inference that the generated code's method calls could not wait for.
//! - Of the same cause: a `mut` constant mutated in place (`m.mapv_inplace(..)`,
//!   `k.push(..)`), which the immutable bindings of the generated code refused; mutated
//!   after a differentiated operation read it, the sweeps must still read the old value.
//! - A literal assigned to a differentiated variable (`a = 0.1; a.exp()`): its constant
//!   binding had no float type of its own, so a method or generic call on it did not compile
//!   (E0689, E0282; found by autodiff-gen). It now takes the signature's float type; a
//!   literal assigned to a constant variable (`let mut a = 2.0_f64; a = 0.75; a.abs()`,
//!   seed 1's p364) takes that constant's type, whatever it is (`like(&a, 0.75)`).
//! - A compound assignment of a `mut` constant whose right side calls a method on it and
//!   reads a differentiated value (`acc += acc.sum() + g(&u);`, seed 1's p2359): the method
//!   rebound the constant, and the addition still read the moved old binding (E0382). The
//!   right side now runs first, as in Rust.
//! - A struct literal with a shorthand field (`Scale { k }`) in a constant: the local `k`
//!   was not renamed to its binding in the generated code (found by the fuzzing work), so it
//!   named nothing there, or another `k`.
//! - Found once the generator wrote branches and loops (seed 20261126), five causes:
//!   - an array assigned in a branch and recorded for the adjoint (`if c { acc *= 2.0; }`):
//!     the arm yielded the array before its record copied it (E0382). The record now comes
//!     first;
//!   - a condition reading an array parameter passed by reference (`if x.dot(y) > 0.5`,
//!     `logsumexp(&(-x))`): it read a view where the user's code reads a reference. It now
//!     reads a reference to the view;
//!   - a primitive of a shape query (`sigmoid(x.len() as f64)`) became a node with no
//!     differentiated input, whose tangent forward mode never bound. It is a constant;
//!   - a loop bound querying a `mut` constant the loop changes (`for _ in 0..a.len() { a +=
//!     1.0; }`): the query rebound the constant inside the loop's head, after the loop had
//!     read the binding. A shape query no longer counts as a mutation;
//!   - a condition on a field of a struct parameter (`if p.s > 0.0`): rejected as reading
//!     the struct itself. The field is read;
//!   - a condition copying a field (`half_sq_norm(&p.b.clone())`, p305 with every construct
//!     on): read as a view, whose copy is a view. Parameters and fields are now read through
//!     a reference to themselves, with their declared types, and so are values (`u.clone()`,
//!     p1112);
//!   - a constant borrowing a temporary in a branch (`x2 += (&data.view() * &x).sum();`,
//!     `acc *= &softplus(data);`, p1104, p1163): the arm's record saved the reference
//!     beyond the temporary's life (E0716). Such a constant now counts as borrowing itself,
//!     and its arm runs again in the adjoint instead;
//!   - an element write and then a reassignment of a loop-carried array (`acc[i] = 1.0; acc
//!     = m.row(0).to_owned();`, p616): the write moved the array the loop's record then
//!     saved (E0382). A recorded array is copied by the write.
//! - Found by seed 1 with 3 000 programs, once the above were fixed:
//!   - a compound assignment of a constant with a shape query (`acc += x.len() as f32;` on a
//!     constant `acc`; `h(x.len() as f32, …)`): a primitive node of constants only, with no
//!     tangent (`let __t1 = ;`). Primitives of constants only are constants now;
//!   - `let a = x.clone();` of a parameter `x: &Array1<f64>` named the parameter itself, so
//!     a condition read `a` as a reference (`a.dot(&a)`, E0277). The copy is a value of its
//!     own;
//!   - an arm yielding one value twice (`acc = sigmoid(&acc); acc.clone()` as the arm's
//!     value): the first yield moved it (E0382). The last one does;
//!   - `let mut a = c.to_owned(); a.tanh()` in a Hessian: the method was taken for a
//!     mutation, whose new binding moved the constant inside the loop over columns. The
//!     primitives' methods take `&self`.
//! - Found writing GradBench's hand tracking: an array that starts as a constant and is
//!   rebuilt in a loop by `concatenate!` (`acc = concatenate![Axis(0), acc.view(),
//!   row.view()]`, `row` computed from `x` in the body) stayed a constant, so every
//!   derivative was silently zero. A loop's carried names are those assigned values that
//!   read differentiated ones, and a macro's arguments were not searched for such reads:
//!   they are now (any identifier among the tokens counts).
//! - Found writing GradBench's hand tracking: `model.weights.dot(&t)` with `model: &Model` a
//!   plain struct outside `wrt` bound the field to a constant by value, moving it out of the
//!   reference (E0507, reported at the signature). A field receiver of `dot` is borrowed.
//! - Found by seed 32 with 400 programs (p147):
//!   - an element write in a branch to an array from before it (`if … { acc[1] = k * k; }`):
//!     the write moved the array, whose shape the branch's adjoint then read to start its
//!     adjoint from zeros (E0382). A write in a branch to an array from outside copies it.
//! - Found by seed 131 with 300 programs: a `while` loop reading an element of an array
//!   (`a[0]`) that reaches the result through a condition only, with a loop after it carrying
//!   that array. The later loop gave it a zero adjoint, which the `while`'s adjoint moved into
//!   its body and never carried out (E0425, E0382). The result does not depend on the array:
//!   contributions to what it does not depend on are dropped.

mod support;

use autodiff::ndarray::{
    array, concatenate, s, stack, Array1, Array2, ArrayView1, ArrayView2, Axis,
};
use autodiff::prelude::*;
use support::{check_scalar, check_vector, flat};

fn matrix(x: &[f64]) -> Array2<f64> {
    Array2::from_shape_vec((2, 3), x.to_vec()).unwrap()
}

/// A cotangent of a transposed `matrix`.
fn cotangent(c: &[f64]) -> Array2<f64> {
    Array2::from_shape_vec((3, 2), c.to_vec()).unwrap()
}

const M: [f64; 6] = [0.3, -1.2, 0.7, 2.0, -0.4, 1.1];

// --- views as results ---------------------------------------------------------------

#[differentiable]
fn transposed(m: &Array2<f64>) -> Array2<f64> {
    m.t().to_owned()
}

#[differentiable]
fn transposed_view(m: &Array2<f64>) -> Array2<f64> {
    #[allow(clippy::redundant_clone)]
    let t = m.t();
    t.to_owned()
}

#[differentiable]
fn viewed(m: &Array2<f64>) -> Array2<f64> {
    m.view().to_owned()
}

#[differentiable]
fn cloned(m: &Array2<f64>) -> Array2<f64> {
    m.clone()
}

#[differentiable]
fn view_parameter_transposed(m: ArrayView2<f64>) -> Array2<f64> {
    m.t().to_owned()
}

#[differentiable]
fn view_parameter_owned(m: ArrayView2<f64>) -> Array2<f64> {
    m.to_owned()
}

/// A view in a tuple result, next to a scalar, and the same view twice.
#[differentiable]
fn transposed_twice(m: &Array2<f64>) -> (Array2<f64>, f64, Array2<f64>) {
    let t = m.t();
    (t.to_owned(), m.sum(), t.to_owned())
}

fn check_array_result(
    name: &str,
    f: fn(&Array2<f64>) -> Vec<f64>,
    jac: fn(&Array2<f64>) -> Array2<f64>,
    jvp: fn(&Array2<f64>, Array2<f64>) -> Vec<f64>,
    vjp: fn(&Array2<f64>, &[f64]) -> Vec<f64>,
) {
    check_vector(
        name,
        &M,
        |x| f(&matrix(x)),
        |x| jac(&matrix(x)),
        |x, t| jvp(&matrix(x), matrix(t)),
        |x, c| vjp(&matrix(x), c),
    );
}

#[test]
fn views_as_results() {
    assert_eq!(transposed(&matrix(&M)), matrix(&M).t());
    check_array_result(
        "transposed",
        |m| flat(&transposed(m)),
        |m| transposed_jacobian(m).1,
        |m, t| flat(&transposed_jvp(m, t).1),
        |m, c| flat(&transposed_vjp(m, cotangent(c)).1),
    );
    check_array_result(
        "transposed_view",
        |m| flat(&transposed_view(m)),
        |m| transposed_view_jacobian(m).1,
        |m, t| flat(&transposed_view_jvp(m, t).1),
        |m, c| flat(&transposed_view_vjp(m, cotangent(c)).1),
    );
    check_array_result(
        "viewed",
        |m| flat(&viewed(m)),
        |m| viewed_jacobian(m).1,
        |m, t| flat(&viewed_jvp(m, t).1),
        |m, c| flat(&viewed_vjp(m, matrix(c)).1),
    );
    check_array_result(
        "cloned",
        |m| flat(&cloned(m)),
        |m| cloned_jacobian(m).1,
        |m, t| flat(&cloned_jvp(m, t).1),
        |m, c| flat(&cloned_vjp(m, matrix(c)).1),
    );
    check_array_result(
        "view_parameter_transposed",
        |m| flat(&view_parameter_transposed(m.view())),
        |m| view_parameter_transposed_jacobian(m.view()).1,
        |m, t| flat(&view_parameter_transposed_jvp(m.view(), t).1),
        |m, c| flat(&view_parameter_transposed_vjp(m.view(), cotangent(c)).1),
    );
    check_array_result(
        "view_parameter_owned",
        |m| flat(&view_parameter_owned(m.view())),
        |m| view_parameter_owned_jacobian(m.view()).1,
        |m, t| flat(&view_parameter_owned_jvp(m.view(), t).1),
        |m, c| flat(&view_parameter_owned_vjp(m.view(), matrix(c)).1),
    );
    let (value, _) = transposed_twice_vjp(
        &matrix(&M),
        (Array2::zeros((3, 2)), 1.0, Array2::zeros((3, 2))),
    );
    assert_eq!(value, transposed_twice(&matrix(&M)));
    let both = |(a, s, b): (Array2<f64>, f64, Array2<f64>)| {
        let mut v = flat(&a);
        v.push(s);
        v.extend(flat(&b));
        v
    };
    let split = |c: &[f64]| (cotangent(&c[..6]), c[6], cotangent(&c[7..]));
    check_vector(
        "transposed_twice",
        &M,
        |x| both(transposed_twice(&matrix(x))),
        |x| transposed_twice_jacobian(&matrix(x)).1,
        |x, t| both(transposed_twice_jvp(&matrix(x), matrix(t)).1),
        |x, c| flat(&transposed_twice_vjp(&matrix(x), split(c)).1),
    );
}

// --- constants moved after a differentiated operation read them ------------------------

#[differentiable(wrt(s))]
#[allow(unused_variables)]
fn constant_moved(v: &Array1<f64>, s: f64) -> f64 {
    let c = v * 2.0; // a constant
    let t = (&c * s).sum(); // read by a differentiated operation
    let a = c; // then moved
    t
}

fn consume(a: Array1<f64>) -> f64 {
    a.sum()
}

/// Moved into a call, by an operator, by a by-value method, by a typed `let`, through a
/// borrow of a borrow, and a constant parameter moved.
#[differentiable(wrt(s))]
fn constants_moved_every_way(v: &Array1<f64>, s: f64, owned: Array1<f64>) -> f64 {
    let c = v * 2.0;
    let d = v + 1.0;
    let e = v - 0.5;
    let view = e.view();
    let t = (&c * s).sum() + (&d * s).powi(2).sum() + (&view * s).sum() + (&owned * s).sum();
    let moved_into_call = consume(c);
    let moved_by_operator = d * 3.0;
    let moved_typed: Array1<f64> = e;
    let moved_parameter = owned.into_shape_with_order(3).unwrap();
    t * moved_into_call + moved_by_operator.sum() * s + moved_typed.sum() + moved_parameter.sum()
}

/// A moved constant read again by a later differentiated operation, in a tuple result.
#[differentiable(wrt(s))]
fn constant_moved_then_read(v: &Array1<f64>, s: f64) -> (f64, Array1<f64>) {
    let c = v * 2.0;
    let t = (&c * s).sum();
    let a = c;
    let b = consume(a.clone());
    (t * b, &a * s)
}

#[test]
fn constants_moved_after_being_read() {
    let v = Array1::from(vec![0.5, -1.0, 2.0]);
    let owned = Array1::from(vec![1.5, 0.25, -0.75]);
    check_scalar(
        "constant_moved",
        &[0.7],
        |x| constant_moved(&v, x[0]),
        |x| {
            let (value, ds) = constant_moved_grad(&v, x[0]);
            (value, vec![ds])
        },
        |x, t| constant_moved_jvp(&v, x[0], t[0]),
    );
    assert_eq!(
        constant_moved_vjp(&v, 0.7, 2.0).1,
        2.0 * constant_moved_grad(&v, 0.7).1
    );
    check_scalar(
        "constants_moved_every_way",
        &[0.7],
        |x| constants_moved_every_way(&v, x[0], owned.clone()),
        |x| {
            let (value, ds) = constants_moved_every_way_grad(&v, x[0], owned.clone());
            (value, vec![ds])
        },
        |x, t| constants_moved_every_way_jvp(&v, x[0], owned.clone(), t[0]),
    );
    check_vector(
        "constant_moved_then_read",
        &[0.7],
        |x| {
            let (a, b) = constant_moved_then_read(&v, x[0]);
            std::iter::once(a).chain(b).collect()
        },
        |x| constant_moved_then_read_jacobian(&v, x[0]).1,
        |x, t| {
            let (a, b) = constant_moved_then_read_jvp(&v, x[0], t[0]).1;
            std::iter::once(a).chain(b).collect()
        },
        |x, c| {
            vec![constant_moved_then_read_vjp(&v, x[0], (c[0], Array1::from(c[1..].to_vec()))).1]
        },
    );
}

// --- compound assignments of constants that read themselves ----------------------------

#[differentiable(wrt(v))]
fn constant_compound(v: &Array1<f64>, w: &Array1<f64>) -> f64 {
    let mut m = w.to_owned();
    m -= &m.sin();
    v.sum() + m.sum()
}

/// Every compound operator on a constant array reading itself, one that a node read before
/// (so the old value must survive), and scalar ones.
#[differentiable(wrt(v))]
#[allow(clippy::assign_op_pattern)]
fn constant_compounds(v: &Array1<f64>, w: &Array1<f64>, n: usize) -> f64 {
    let mut m = w.to_owned();
    let before = (&m * v).sum();
    m += &m.exp();
    m *= &m.cos();
    m /= &(m.mapv(f64::abs) + 1.0);
    m -= 0.5;
    let mut k = n;
    k += k;
    k *= 3;
    let mut s = 1.0;
    s -= s / 4.0;
    let r = m.sum_axis(Axis(0));
    before * s + (v * &m).sum() * k as f64 + r.sum()
}

#[test]
fn compound_assignments_reading_themselves() {
    let w = Array1::from(vec![0.3, -0.8, 1.4]);
    let v0 = [0.5, -1.0, 2.0];
    let v = |x: &[f64]| Array1::from(x.to_vec());
    check_scalar(
        "constant_compound",
        &v0,
        |x| constant_compound(&v(x), &w),
        |x| {
            let (value, g) = constant_compound_grad(&v(x), &w);
            (value, flat(&g))
        },
        |x, t| constant_compound_jvp(&v(x), &w, v(t)),
    );
    check_scalar(
        "constant_compounds",
        &v0,
        |x| constant_compounds(&v(x), &w, 2),
        |x| {
            let (value, g) = constant_compounds_grad(&v(x), &w, 2);
            (value, flat(&g))
        },
        |x, t| constant_compounds_jvp(&v(x), &w, 2, v(t)),
    );
}

// --- constants mutated in place ---------------------------------------------------------

fn push_twice(k: &mut Vec<f64>, value: f64) {
    k.push(value);
    k.push(value);
}

/// `mut` constants mutated by methods and through `&mut`, before and after differentiated
/// operations read them (directly, as a receiver, and through a borrow).
#[differentiable(wrt(s, x))]
fn constants_mutated(v: &Array1<f64>, s: f64, x: &Array1<f64>, mut k: Vec<f64>) -> f64 {
    let mut m = v.to_owned();
    m.mapv_inplace(f64::sin);
    let t = (&m * s).sum() + m.dot(x);
    m.mapv_inplace(f64::cos);
    k.push(2.0);
    push_twice(&mut k, 0.5);
    let scale: f64 = k.iter().sum();
    t * scale + (&m * s).sum() + m.dot(x) * s
}

#[test]
fn constants_mutated_in_place() {
    let v = Array1::from(vec![0.5, -1.0, 2.0]);
    let point = [0.7, 0.3, -0.2, 1.1];
    let unpack = |p: &[f64]| (p[0], Array1::from(p[1..].to_vec()));
    check_scalar(
        "constants_mutated",
        &point,
        |p| {
            let (s, x) = unpack(p);
            constants_mutated(&v, s, &x, vec![1.0])
        },
        |p| {
            let (s, x) = unpack(p);
            let (value, (ds, dx)) = constants_mutated_grad(&v, s, &x, vec![1.0]);
            let mut g = vec![ds];
            g.extend(flat(&dx));
            (value, g)
        },
        |p, t| {
            let (s, x) = unpack(p);
            let (ts, tx) = unpack(t);
            constants_mutated_jvp(&v, s, &x, vec![1.0], ts, tx)
        },
    );
}

// --- owned copies of views passed to functions, literal arrays --------------------------

#[differentiable]
fn total(m: &Array2<f64>) -> f64 {
    (m * m).sum()
}

#[differentiable]
fn total_of_view(v: ArrayView1<f64>) -> f64 {
    v.sum().powi(2)
}

/// Views made owned, passed to functions taking `&Array2<f64>` and views.
#[differentiable]
fn calls_with_owned_views(m: &Array2<f64>, n: ArrayView2<f64>) -> f64 {
    let t = m.t();
    let owned = t.to_owned();
    total(&m.t().to_owned()) * 2.0
        + total(&owned)
        + total(&n.to_owned())
        + total(&n.t().to_owned())
        + total_of_view(m.sum_axis(Axis(0)).view())
        + t.sum()
}

/// The same through the Hessian (on dual numbers), with a literal array and an array
/// constant moved after a differentiated operation read it.
#[differentiable(hessian, wrt(m))]
fn hessian_through_copies(m: &Array2<f64>, c: Array2<f64>) -> f64 {
    let weights = [0.5, 2.0];
    let t = m.t().to_owned();
    let read = (m * &c).sum() * weights[0];
    let moved = c;
    read * (t.sum() * weights[1]) + (&t * &t).sum() + moved.sum()
}

#[test]
fn owned_copies_of_views() {
    let both = |x: &[f64]| (matrix(&x[..6]), x[6..].to_vec());
    let mut point = M.to_vec();
    point.extend([0.4, -0.9, 1.3, 0.2, 0.8, -1.5]);
    check_scalar(
        "calls_with_owned_views",
        &point,
        |x| {
            let (m, n) = both(x);
            calls_with_owned_views(&m, matrix(&n).view())
        },
        |x| {
            let (m, n) = both(x);
            let (value, (dm, dn)) = calls_with_owned_views_grad(&m, matrix(&n).view());
            let mut g = flat(&dm);
            g.extend(flat(&dn));
            (value, g)
        },
        |x, t| {
            let (m, n) = both(x);
            let (tm, tn) = both(t);
            calls_with_owned_views_jvp(&m, matrix(&n).view(), tm, matrix(&tn))
        },
    );
    let c = matrix(&[1.0, 0.5, -0.5, 2.0, 0.0, 1.5]);
    check_scalar(
        "hessian_through_copies",
        &M,
        |x| hessian_through_copies(&matrix(x), c.clone()),
        |x| {
            let (value, g) = hessian_through_copies_grad(&matrix(x), c.clone());
            (value, flat(&g))
        },
        |x, t| hessian_through_copies_jvp(&matrix(x), c.clone(), matrix(t)),
    );
    let (value, gradient, hessian) = hessian_through_copies_hessian(&matrix(&M), c.clone());
    assert_eq!(value, hessian_through_copies(&matrix(&M), c.clone()));
    assert_eq!(
        gradient,
        hessian_through_copies_grad(&matrix(&M), c.clone()).1
    );
    for j in 0..6 {
        let column = autodiff::check::central_difference(
            |x| {
                hessian_through_copies_grad(&matrix(x), c.clone())
                    .1
                    .as_slice()
                    .unwrap()[j]
            },
            &M,
            1e-6,
        );
        for (i, fd) in column.iter().enumerate() {
            assert!(
                autodiff::check::close(hessian[[i, j]], *fd, 1e-6),
                "H[{i}, {j}]"
            );
        }
    }
}

// --- constants moved in f_hessian's sweeps ----------------------------------------------

#[differentiable(hessian, wrt(x, y))]
#[allow(clippy::needless_pass_by_value)]
fn hessian_moves_parameters(x: f64, y: f64, c: Array1<f64>, labels: Vec<usize>) -> f64 {
    let d = c * 2.0;
    let n = labels.len() as f64;
    let e = consume(d);
    let moved = labels;
    (x * x * y * e + y.sin()) * n + moved.len() as f64
}

#[test]
fn constants_moved_in_hessian_sweeps() {
    let c = || Array1::from(vec![1.0, 2.0]);
    let (value, (dx, dy), h) = hessian_moves_parameters_hessian(1.5, 0.5, c(), vec![1, 2]);
    assert_eq!(value, hessian_moves_parameters(1.5, 0.5, c(), vec![1, 2]));
    assert_eq!(
        (dx, dy),
        hessian_moves_parameters_grad(1.5, 0.5, c(), vec![1, 2]).1
    );
    // f = 2(6x²y + sin y) + 2: ∂²f/∂x² = 24y, ∂²f/∂x∂y = 24x, ∂²f/∂y² = −2 sin y.
    let expected = [[12.0, 36.0], [36.0, -2.0 * 0.5_f64.sin()]];
    for (i, row) in expected.iter().enumerate() {
        for (j, e) in row.iter().enumerate() {
            assert!(autodiff::check::close(h[[i, j]], *e, 1e-12), "H[{i}, {j}]");
        }
    }
    check_scalar(
        "hessian_moves_parameters",
        &[1.5, 0.5],
        |v| hessian_moves_parameters(v[0], v[1], c(), vec![1, 2]),
        |v| {
            let (value, (dx, dy)) = hessian_moves_parameters_grad(v[0], v[1], c(), vec![1, 2]);
            (value, vec![dx, dy])
        },
        |v, t| hessian_moves_parameters_jvp(v[0], v[1], c(), vec![1, 2], t[0], t[1]),
    );
}

// --- constant arguments coerced at the call -------------------------------------------

#[differentiable(wrt(x))]
fn weighted(x: f64, labels: &[usize], scale: &f64) -> f64 {
    x * labels.len() as f64 * *scale
}

#[differentiable]
fn calls_with_coerced_constants(x: f64) -> f64 {
    let two = [1, 2];
    weighted(x, &[1, 2, 3], &2.0) * weighted(x * x, &two, &0.5)
}

#[test]
fn constant_arguments_coerce() {
    check_scalar(
        "calls_with_coerced_constants",
        &[0.7],
        |v| calls_with_coerced_constants(v[0]),
        |v| {
            let (value, g) = calls_with_coerced_constants_grad(v[0]);
            (value, vec![g])
        },
        |v, t| calls_with_coerced_constants_jvp(v[0], t[0]),
    );
}

// --- literals assigned to differentiated variables ----------------------------------

#[differentiable]
fn literal_reassigned(x: f64) -> f64 {
    let mut a = x * 2.0;
    let b = a.sin();
    a = 0.1;
    a.exp() + relu(a) + b
}

#[differentiable]
fn literal_reassigned_f32(x: f32, y: f32) -> f32 {
    let mut acc = x * y;
    acc += x;
    let kept = acc.tanh();
    acc = 2.0;
    -relu(acc) + sigmoid(acc) * kept
}

// The first values are overwritten unread: the shape the random programs wrote.
#[differentiable]
#[allow(unused_assignments)]
fn literal_reassigned_constant(x: f64) -> f64 {
    let mut a = 2.0_f64;
    a = 0.75;
    let mut n = 3_usize;
    n = 4;
    let mut h = 1.0_f32;
    h = 0.5;
    x * (a.abs() + 0.5) * (n as f64) + f64::from(h.sqrt())
}

#[test]
fn literals_assigned_to_differentiated_variables() {
    let (value, d) = literal_reassigned_constant_grad(0.7);
    assert_eq!(value, literal_reassigned_constant(0.7));
    assert_eq!(d, 1.25 * 4.0);
    check_scalar(
        "literal_reassigned",
        &[0.7],
        |x| literal_reassigned(x[0]),
        |x| {
            let (value, d) = literal_reassigned_grad(x[0]);
            (value, vec![d])
        },
        |x, t| literal_reassigned_jvp(x[0], t[0]),
    );
    let (x, y) = (0.4_f32, -1.3_f32);
    let (value, (dx, dy)) = literal_reassigned_f32_grad(x, y);
    assert_eq!(value, literal_reassigned_f32(x, y));
    // d/dx of sigmoid(2)·tanh(xy + x) = sigmoid(2)·(1 − tanh²)·(y + 1), and x·(…) for y.
    let slope = sigmoid(2.0_f32) * (1.0 - (x * y + x).tanh().powi(2));
    assert!((dx - slope * (y + 1.0)).abs() < 1e-6 && (dy - slope * x).abs() < 1e-6);
}

// --- struct shorthand in constants ---------------------------------------------------

#[derive(Clone, Copy)]
struct Scale {
    k: f64,
}

#[differentiable]
fn shorthand(x: f64) -> f64 {
    let k = 2.0;
    let s = Scale { k };
    let k = 5.0; // a later `k` the struct must not pick up
    x * s.k + k
}

#[test]
fn struct_shorthand_in_constants() {
    check_scalar(
        "shorthand",
        &[0.7],
        |x| shorthand(x[0]),
        |x| {
            let (value, d) = shorthand_grad(x[0]);
            (value, vec![d])
        },
        |x, t| shorthand_jvp(x[0], t[0]),
    );
    assert_eq!(shorthand_grad(0.7), (0.7 * 2.0 + 5.0, 2.0));
}

// --- compound assignment whose right side rebinds the variable ------------------------

#[differentiable(wrt(x))]
fn compound_rebinding(x: &Array1<f64>, data: &Array1<f64>) -> Array1<f64> {
    let u = x.cosh();
    let mut acc = data.clone();
    acc += acc.sum() + u.sum();
    acc * x
}

#[test]
fn compound_assignment_whose_right_side_rebinds_the_variable() {
    let data = Array1::from(vec![0.5, -1.0, 2.0]);
    check_vector(
        "compound_rebinding",
        &[0.3, -0.7, 1.1],
        |x| flat(&compound_rebinding(&Array1::from(x.to_vec()), &data)),
        |x| compound_rebinding_jacobian(&Array1::from(x.to_vec()), &data).1,
        |x, t| {
            let (x, t) = (Array1::from(x.to_vec()), Array1::from(t.to_vec()));
            flat(&compound_rebinding_jvp(&x, &data, t).1)
        },
        |x, c| {
            let (x, c) = (Array1::from(x.to_vec()), Array1::from(c.to_vec()));
            flat(&compound_rebinding_vjp(&x, &data, c).1)
        },
    );
}

// ---- Element writes (found by autodiff-gen after writes were added) -------------------

/// A write moved an array its own node's pullback still read (`&y`), and wrote in place a
/// constant whose binding was not mutable.
#[differentiable]
fn write_after_operation(x0: ArrayView1<f64>) -> f64 {
    let mut acc = &x0 + &x0;
    acc[0] = 1.0;
    let u = -&acc;
    logsumexp(&(&u * 2.0)) + acc.sum()
}

#[differentiable(wrt(x0))]
fn write_into_reassigned_constant(x0: &Array1<f64>, data: &Array1<f64>) -> f64 {
    let mut acc = x0 * 2.0;
    let first = acc.sum();
    acc = data.view().atan();
    acc[0] = 1.0;
    acc.sum() + first
}

/// The right side of an element write called a method of the `mut` constant array (seed
/// 20261126's p846): the write took the array's binding from before the method rebound it.
#[differentiable(wrt(x0))]
fn write_after_method_of_constant(x0: f64, data: &Array1<f64>) -> f64 {
    let mut acc = sigmoid(data);
    acc[0] -= acc.dot(&acc).mul_add(x0, 1.0);
    acc.sum()
}

#[test]
fn writes_keep_values_their_pullbacks_read() {
    let data = Array1::from(vec![0.3, 0.2, -0.1]);
    let s = sigmoid(&data);
    let (value, g) = write_after_method_of_constant_grad(0.7, &data);
    assert_eq!(value, write_after_method_of_constant(0.7, &data));
    assert!((g + s.dot(&s)).abs() < 1e-12);
    let x = [0.5, -1.0, 2.0];
    check_scalar(
        "write_after_operation",
        &x,
        |x| write_after_operation(Array1::from(x.to_vec()).view()),
        |x| {
            let (value, g) = write_after_operation_grad(Array1::from(x.to_vec()).view());
            (value, flat(&g))
        },
        |x, t| write_after_operation_jvp(Array1::from(x.to_vec()).view(), Array1::from(t.to_vec())),
    );
    let data = Array1::from(vec![0.3, 0.2, -0.1]);
    let (_, g) = write_into_reassigned_constant_grad(&Array1::from(x.to_vec()), &data);
    assert_eq!(g, Array1::from(vec![2.0, 2.0, 2.0]));
}

#[differentiable]
fn branch_records_assigned_array(x: ArrayView1<f64>, c: f64) -> f64 {
    let mut acc = softmax(&x, Axis(0));
    if c > 0.0 {
        acc *= 2.0;
    }
    logsumexp(&acc)
}

#[differentiable(hessian)]
fn condition_on_reference_parameters(x: &Array1<f64>, y: &Array1<f64>) -> f64 {
    let mut a = (x * y).sum();
    if x.dot(y) > 0.5 {
        a *= 2.0;
    }
    if logsumexp(&(-x)) > 0.5 {
        a *= a;
    }
    a
}

#[differentiable]
fn primitive_of_shape_query(x: &Array1<f64>, s: f64) -> f64 {
    sigmoid(x.len() as f64) * s + x.sum()
}

#[differentiable]
fn bound_of_changed_constant(x: &Array1<f64>) -> f64 {
    let mut a = Array1::<f64>::zeros(x.len());
    for _ in 0..a.len() {
        a += 1.0;
    }
    (a * x).sum()
}

#[derive(Parameters, Clone, Debug)]
struct Gain {
    b: Array1<f64>,
    s: f64,
}

#[differentiable]
fn condition_on_field(p: &Gain, x: &Array1<f64>) -> f64 {
    let mut a = p.s * x.sum();
    if p.s > 0.0 && p.b.len() == x.len() {
        a *= p.s;
    }
    for _ in 0..2 {
        a += p.b.sum();
    }
    a
}

#[test]
fn control_flow_found_by_the_generator() {
    let x = [0.5, -1.0, 2.0];
    let arr = |x: &[f64]| Array1::from(x.to_vec());
    for c in [-1.0, 1.0] {
        check_scalar(
            "branch_records_assigned_array",
            &x,
            |x| branch_records_assigned_array(arr(x).view(), c),
            |x| {
                let (value, (g, _)) = branch_records_assigned_array_grad(arr(x).view(), c);
                (value, flat(&g))
            },
            |x, t| branch_records_assigned_array_jvp(arr(x).view(), c, arr(t), 0.0),
        );
    }
    // Both branches of each condition: y scaled to either side of the thresholds.
    for scale in [0.1, 1.0] {
        let y = Array1::from(vec![0.3, -0.2, 0.9]) * scale;
        check_scalar(
            "condition_on_reference_parameters",
            &x,
            |x| condition_on_reference_parameters(&arr(x), &y),
            |x| {
                let (value, (g, _)) = condition_on_reference_parameters_grad(&arr(x), &y);
                (value, flat(&g))
            },
            |x, t| condition_on_reference_parameters_jvp(&arr(x), &y, arr(t), y.clone() * 0.0),
        );
        let (value, gradient, _) = condition_on_reference_parameters_hessian(&arr(&x), &y);
        let (expected, (gx, gy)) = condition_on_reference_parameters_grad(&arr(&x), &y);
        assert!((value - expected).abs() < 1e-12);
        let close = |a: &Array1<f64>, b: &Array1<f64>| (a - b).iter().all(|d| d.abs() < 1e-12);
        assert!(close(&gradient.0, &gx) && close(&gradient.1, &gy));
    }
    let (value, (gx, gs)) = primitive_of_shape_query_grad(&arr(&x), 2.0);
    assert_eq!(value, primitive_of_shape_query(&arr(&x), 2.0));
    assert_eq!((gx, gs), (arr(&[1.0; 3]), sigmoid(3.0_f64)));
    let (_, tangent) = primitive_of_shape_query_jvp(&arr(&x), 2.0, arr(&[1.0, 0.0, 0.0]), 1.0);
    assert!((tangent - (1.0 + sigmoid(3.0_f64))).abs() < 1e-12);
    let (value, g) = bound_of_changed_constant_grad(&arr(&x));
    assert_eq!(value, bound_of_changed_constant(&arr(&x)));
    assert_eq!(g, arr(&[3.0; 3]));
    let p = Gain {
        b: arr(&[0.1, 0.2, 0.3]),
        s: 2.0,
    };
    let (value, (gp, gx)) = condition_on_field_grad(&p, &arr(&x));
    assert_eq!(value, condition_on_field(&p, &arr(&x)));
    // a = s² Σx + 2 Σb.
    assert!((gp.s - 2.0 * p.s * x.iter().sum::<f64>()).abs() < 1e-12);
    assert_eq!(gp.b, arr(&[2.0; 3]));
    assert_eq!(gx, arr(&[p.s * p.s; 3]));
}

#[derive(Parameters, Clone, Debug)]
struct Owned {
    b: Array1<f64>,
}

/// A condition copying a field (`p.b.clone()`, seed 20261126's p305) passed it to a function
/// taking `&Array1<f64>`: the copy of a view is a view. Fields and parameters are read as
/// the user's code reads them.
#[differentiable]
fn condition_copying_a_field(p: &Owned, x: Array1<f64>, v: ArrayView1<f64>) -> f64 {
    let mut a = p.b.sum() + x.sum() + v.sum();
    if sq_norm(&p.b.clone()) + sq_norm(&x.clone()) + sq_norm(&v.to_owned()) < 10.0 {
        a *= 2.0;
    }
    a
}

fn sq_norm(a: &Array1<f64>) -> f64 {
    a.dot(a)
}

#[test]
fn conditions_read_parameters_with_their_declared_types() {
    let p = Owned {
        b: Array1::from(vec![0.5, 1.0]),
    };
    let x = Array1::from(vec![1.0, 2.0]);
    let v = Array1::from(vec![0.1, 0.2]);
    let (value, (gp, gx, gv)) = condition_copying_a_field_grad(&p, x.clone(), v.view());
    assert_eq!(value, condition_copying_a_field(&p, x, v.view()));
    assert_eq!(
        (gp.b, gx, gv),
        (
            Array1::from(vec![2.0; 2]),
            Array1::from(vec![2.0; 2]),
            Array1::from(vec![2.0; 2])
        )
    );
}

/// The same for a value computed in the body (`u.clone()`, seed 20261126's p1112 with every
/// construct on).
#[differentiable]
fn condition_copying_a_value(x: &Array1<f64>) -> f64 {
    let u = x.tanh();
    match sq_norm(&u.clone()) as usize {
        0 => u.sum(),
        _ => 2.0 * u.sum(),
    }
}

#[test]
fn conditions_read_values_with_their_own_types() {
    for scale in [0.1, 2.0] {
        let x = Array1::from(vec![0.5, -1.0, 2.0]) * scale;
        let (value, g) = condition_copying_a_value_grad(&x);
        assert!((value - condition_copying_a_value(&x)).abs() < 1e-12);
        let factor = if sq_norm(&x.tanh()) < 1.0 { 1.0 } else { 2.0 };
        let expected = x.mapv(|v| factor * (1.0 - v.tanh().powi(2)));
        assert!((g - expected).iter().all(|d| d.abs() < 1e-12));
    }
}

#[differentiable(wrt(s, x))]
fn borrowed_temporaries_in_branches(s: f64, x: ArrayView1<f64>, data: &Array1<f64>) -> f64 {
    let mut total = s;
    let mut acc = x.exp();
    match data.len() {
        3 => {
            total += (&data.view() * &x).sum();
            acc *= &softplus(data);
        }
        2 => total *= 2.0,
        _ => {}
    }
    total * acc.sum()
}

#[differentiable]
fn write_then_reassign_in_loop(x: &Array1<f64>, m: &Array2<f64>) -> f64 {
    let mut acc = softmax(x, Axis(0));
    for i in 0..x.len() {
        acc[i] = x[i].powi(3);
        acc = &acc * &m.row(i % 2).to_owned();
    }
    acc.sum()
}

#[test]
fn temporaries_and_writes_in_regions() {
    let data = Array1::from(vec![0.3, 0.2, -0.1]);
    let x = [0.4, 0.5, -1.0, 2.0];
    check_scalar(
        "borrowed_temporaries_in_branches",
        &x,
        |v| borrowed_temporaries_in_branches(v[0], Array1::from(v[1..].to_vec()).view(), &data),
        |v| {
            let (value, (gs, gx)) = borrowed_temporaries_in_branches_grad(
                v[0],
                Array1::from(v[1..].to_vec()).view(),
                &data,
            );
            (value, std::iter::once(gs).chain(gx).collect())
        },
        |v, t| {
            borrowed_temporaries_in_branches_jvp(
                v[0],
                Array1::from(v[1..].to_vec()).view(),
                &data,
                t[0],
                Array1::from(t[1..].to_vec()),
            )
        },
    );
    let m = Array2::from_shape_vec((2, 3), vec![0.5, -1.0, 2.0, 1.5, 0.25, -0.75]).unwrap();
    check_scalar(
        "write_then_reassign_in_loop",
        &x[1..],
        |v| write_then_reassign_in_loop(&Array1::from(v.to_vec()), &m),
        |v| {
            let (value, (g, _)) = write_then_reassign_in_loop_grad(&Array1::from(v.to_vec()), &m);
            (value, flat(&g))
        },
        |v, t| {
            write_then_reassign_in_loop_jvp(
                &Array1::from(v.to_vec()),
                &m,
                Array1::from(t.to_vec()),
                m.clone() * 0.0,
            )
        },
    );
}

#[differentiable]
fn constant_accumulating_a_shape(x: &Array1<f64>, s: f64) -> Array1<f64> {
    let mut acc = 1.0_f64;
    if s > 0.0 {
        acc += x.len() as f64;
    }
    x * (acc + s)
}

#[differentiable]
fn copy_of_a_reference(x: &Array1<f64>, y: &Array1<f64>) -> f64 {
    let mut a = y.clone();
    if a.dot(&a) > x.dot(&x.clone()) {
        a[0] = x[1];
    }
    a.sum() * x.sum()
}

#[differentiable]
fn arm_yielding_twice(m: &Array2<f64>, v: &Array1<f64>) -> f64 {
    let mut acc = m.cosh();
    let u = match v.len() {
        2 => {
            acc = sigmoid(&acc);
            acc.clone()
        }
        _ => m.to_owned(),
    };
    v.dot(&(u.dot(v) + acc.sum()))
}

#[differentiable(wrt(w, x), hessian)]
#[allow(unused_mut)] // as the generator wrote it
fn method_of_mutable_constant(w: &Array2<f64>, x: &Array1<f64>, data: &Array1<f64>) -> f64 {
    let mut a = data.to_owned();
    let mut b = w.clone();
    b += x.len() as f64;
    a.tanh().dot(x) + b.sum()
}

#[test]
fn constants_copies_and_yields_found_by_seed_1() {
    let x = Array1::from(vec![0.5, -1.0, 2.0]);
    let (value, (gx, gs)) = constant_accumulating_a_shape_vjp(&x, 0.5, Array1::ones(3));
    assert_eq!(value, constant_accumulating_a_shape(&x, 0.5));
    assert_eq!((gx, gs), (Array1::from(vec![4.5; 3]), x.sum()));
    let (_, tangent) = constant_accumulating_a_shape_jvp(&x, 0.5, Array1::zeros(3), 1.0);
    assert_eq!(tangent, x);
    let arr = |v: &[f64]| Array1::from(v.to_vec());
    for y in [arr(&[0.1, 0.2, 0.3]), arr(&[2.0, 1.0, 3.0])] {
        check_scalar(
            "copy_of_a_reference",
            &[0.5, -1.0, 2.0],
            |v| copy_of_a_reference(&arr(v), &y),
            |v| {
                let (value, (g, _)) = copy_of_a_reference_grad(&arr(v), &y);
                (value, flat(&g))
            },
            |v, t| copy_of_a_reference_jvp(&arr(v), &y, arr(t), &y * 0.0),
        );
    }
    let m = Array2::from_shape_vec((2, 2), vec![0.3, -0.2, 0.5, 0.1]).unwrap();
    check_scalar(
        "arm_yielding_twice",
        &[0.4, -0.7],
        |v| arm_yielding_twice(&m, &arr(v)),
        |v| {
            let (value, (_, g)) = arm_yielding_twice_grad(&m, &arr(v));
            (value, flat(&g))
        },
        |v, t| arm_yielding_twice_jvp(&m, &arr(v), &m * 0.0, arr(t)),
    );
    let w = Array2::from_shape_vec((2, 2), vec![0.3, -0.2, 0.5, 0.1]).unwrap();
    let (x, data) = (arr(&[0.5, -1.0]), arr(&[0.2, 0.4]));
    let (value, gradient, hessian) = method_of_mutable_constant_hessian(&w, &x, &data);
    let (expected, (gw, gx)) = method_of_mutable_constant_grad(&w, &x, &data);
    assert!((value - expected).abs() < 1e-12);
    assert_eq!((gradient.0, gradient.1), (gw, gx));
    // Linear in w and x: the Hessian is zero.
    assert!(hessian.iter().all(|h| *h == 0.0));
}

// Found with closures in the generator (AUTODIFF_GEN_FEATURES=closures, seed 2): a closure in
// a condition, a constant computed with a closure whose parameter shadows a differentiated
// variable, and a scalar reduction (`amin`) taken for an array when a closure captures it.

#[differentiable]
fn closure_in_a_condition(c: f32, x: &Array1<f32>) -> f32 {
    let scale = if x.map(|&v| v + c).dot(x) >= -0.58 {
        2.0
    } else {
        3.0
    };
    x.sum() * scale + c
}

#[differentiable(wrt(x))]
fn closure_shadowing_a_variable(x: &Array1<f64>, data: &Array1<f64>) -> f64 {
    let n = data.iter().filter(|&&x| x > 0.0).count() as f64;
    if mse(x.mapv(|v| v), data) >= 0.69 {
        n * x.sum()
    } else {
        x.mapv(|x| x.exp().log10()).sum()
    }
}

#[differentiable]
fn closure_capturing_a_reduction(a: f64, x: ArrayView1<f64>) -> Array1<f64> {
    let a = amin((x.abs() + 0.5).powf(a.cos()) - a.cosh());
    x.map(|&v| v + a) + x.mapv(|v| v * a)
}

#[test]
fn closures_found_by_seed_2() {
    let arr = |v: &[f64]| Array1::from(v.to_vec());
    let x32 = Array1::from(vec![0.5_f32, -1.0, 2.0]);
    let (value, (gc, gx)) = closure_in_a_condition_grad(0.25, &x32);
    // x·(x + c) = 5.625 ≥ −0.58: the first arm, scale 2.
    assert_eq!(value, 3.25);
    assert_eq!(gc, 1.0);
    assert_eq!(gx, Array1::from(vec![2.0_f32; 3]));
    for data in [arr(&[0.1, -0.2, 0.3]), arr(&[2.0, 1.0, 3.0])] {
        check_scalar(
            "closure_shadowing_a_variable",
            &[0.5, -1.0, 2.0],
            |v| closure_shadowing_a_variable(&arr(v), &data),
            |v| {
                let (value, g) = closure_shadowing_a_variable_grad(&arr(v), &data);
                (value, flat(&g))
            },
            |v, t| closure_shadowing_a_variable_jvp(&arr(v), &data, arr(t)),
        );
    }
    for a in [0.3, -0.8] {
        let w = arr(&[0.7, -0.1, 0.4]);
        check_scalar(
            "closure_capturing_a_reduction",
            &[a, 0.5, -1.0, 2.0],
            |v| closure_capturing_a_reduction(v[0], arr(&v[1..]).view()).dot(&w),
            |v| {
                let (value, (ga, gx)) =
                    closure_capturing_a_reduction_vjp(v[0], arr(&v[1..]).view(), w.clone());
                let mut g = vec![ga];
                g.extend(flat(&gx));
                (value.dot(&w), g)
            },
            |v, t| {
                let (value, tangent) = closure_capturing_a_reduction_jvp(
                    v[0],
                    arr(&v[1..]).view(),
                    t[0],
                    arr(&t[1..]),
                );
                (value.dot(&w), tangent.dot(&w))
            },
        );
    }
}

/// Seed 7's program (shrunk): a temporary constant's view joined with a differentiated one.
#[differentiable(wrt(x0, m))]
fn stacked_temporary_view(x0: &Array1<f64>, m: &Array2<f64>, data: &Array1<f64>) -> f64 {
    let mut acc = m.clone();
    acc -= &stack(Axis(0), &[erfc(data).view(), x0.view()]).unwrap();
    (acc * m).sum() + x0.powi(-1).sum()
}

/// Its siblings: a temporary's view as an operand, and in a macro join.
#[differentiable(wrt(a))]
fn operand_temporary_view(a: &Array2<f64>, d: &Array2<f64>) -> f64 {
    let joined = concatenate![Axis(1), a.view(), (d * 2.0).view()];
    (a * &erfc(d).view()).sum() + joined.sum()
}

#[test]
fn temporary_views_found_by_seed_7() {
    let data = Array1::from(vec![0.2, -0.4]);
    let split = |v: &[f64]| {
        (
            Array1::from(v[..2].to_vec()),
            Array2::from_shape_vec((2, 2), v[2..].to_vec()).unwrap(),
        )
    };
    check_scalar(
        "stacked_temporary_view",
        &[0.7, -1.2, 0.3, -0.2, 0.5, 0.1],
        |v| {
            let (x, m) = split(v);
            stacked_temporary_view(&x, &m, &data)
        },
        |v| {
            let (x, m) = split(v);
            let (value, (gx, gm)) = stacked_temporary_view_grad(&x, &m, &data);
            (value, flat(gx.iter().chain(&gm)))
        },
        |v, t| {
            let ((x, m), (tx, tm)) = (split(v), split(t));
            stacked_temporary_view_jvp(&x, &m, &data, tx, tm)
        },
    );
    let d = Array2::from_shape_vec((2, 2), vec![0.3, -0.2, 0.5, 0.1]).unwrap();
    let matrix = |v: &[f64]| Array2::from_shape_vec((2, 2), v.to_vec()).unwrap();
    check_scalar(
        "operand_temporary_view",
        &[0.4, -0.7, 0.2, 0.9],
        |v| operand_temporary_view(&matrix(v), &d),
        |v| {
            let (value, g) = operand_temporary_view_grad(&matrix(v), &d);
            (value, flat(&g))
        },
        |v, t| operand_temporary_view_jvp(&matrix(v), &d, matrix(t)),
    );
}

/// Seed 11's program (shrunk, in f32): literal indices and bounds of slices whose views meet
/// a constant in a generic rule.
#[differentiable(wrt(x2))]
fn literal_slice_from_constant(x2: &Array2<f32>, data5: &Array1<f32>) -> f32 {
    let mut acc7 = data5.to_owned();
    acc7 -= &x2.slice(s![0, ..]).to_owned();
    let tail = x2.slice(s![-1, 1..3;1]).to_owned() * 2.0;
    acc7.dot(&acc7) + tail.sum()
}

#[test]
fn literal_slices_found_by_seed_11() {
    let x2 = Array2::from_shape_vec((2, 3), vec![0.5_f32, -1.0, 0.25, 2.0, 0.1, 0.4]).unwrap();
    let data5 = Array1::from(vec![0.3_f32, 0.7, -0.2]);
    let (value, g) = literal_slice_from_constant_grad(&x2, &data5);
    assert_eq!(value, literal_slice_from_constant(&x2, &data5));
    // ∂/∂x2[0, j] = −2 (data5 − x2[0, :])_j; the tail's two elements have 2 each.
    let first: Vec<f32> = (0..3).map(|j| -2.0 * (data5[j] - x2[[0, j]])).collect();
    let expected = Array2::from_shape_vec((2, 3), [first, vec![0.0, 2.0, 2.0]].concat()).unwrap();
    assert_eq!(g, expected);
}

#[derive(Parameters, Clone)]
struct JoinedInner {
    v: Array1<f64>,
}

#[derive(Parameters, Clone)]
struct Joined {
    b: Array1<f64>,
    inner: JoinedInner,
}

/// Seed 2's program (shrunk): fields read inside a macro join, in a condition.
#[differentiable(wrt(p))]
fn joined_fields_in_a_condition(p: &Joined) -> f64 {
    let head = p.inner.v.slice(s![0..1]).to_owned();
    let joined = concatenate![
        Axis(0),
        head.view(),
        p.inner.v.slice(s![1..2]).to_owned().view()
    ];
    if bce_with_logits(
        &p.b,
        concatenate![
            Axis(0),
            p.inner.v.slice(s![0..1]).to_owned().view(),
            p.inner.v.slice(s![p.b.len() - 1..]).to_owned().view()
        ],
    ) < 0.7
    {
        (&joined * &p.b).sum()
    } else {
        p.inner.v.sum() * 2.0
    }
}

#[test]
fn macro_operands_found_by_seed_2() {
    let model = |x: &[f64]| Joined {
        b: Array1::from(x[..2].to_vec()),
        inner: JoinedInner {
            v: Array1::from(x[2..].to_vec()),
        },
    };
    for x0 in [[0.5, -0.3, 0.2, 0.9], [3.0, 2.5, 0.9, 0.8]] {
        check_scalar(
            "joined_fields_in_a_condition",
            &x0,
            |x| joined_fields_in_a_condition(&model(x)),
            |x| {
                let (value, g) = joined_fields_in_a_condition_grad(&model(x));
                (value, flat(g.b.iter().chain(&g.inner.v)))
            },
            |x, t| joined_fields_in_a_condition_jvp(&model(x), model(t)),
        );
    }
}

/// The CI seed's p960 once loops reading a scalar sum in any way were fused (shrunk): a loop
/// in a `match` arm, which is not one of the function's own statements, was fused and its
/// adjoint's names were out of scope.
#[differentiable]
fn sum_in_an_arm(x0: f32) -> f32 {
    let u5 = match 2.0_f32 as usize {
        1..=2 => {
            let mut acc1 = 3.0_f32;
            for _ in 0..3 {
                acc1 += x0 * x0;
            }
            (1.5_f32 - acc1).tanh().exp()
        }
        _ => 1.0_f32,
    };
    u5 * u5 + x0 * u5
}

#[test]
fn a_scalar_sum_in_an_arm() {
    let x = 0.3_f32;
    let (value, gradient) = sum_in_an_arm_grad(x);
    assert_eq!(value, sum_in_an_arm(x));
    let h = 1e-2_f32;
    let difference = (sum_in_an_arm(x + h) - sum_in_an_arm(x - h)) / (2.0 * h);
    assert!(
        (gradient - difference).abs() < 1e-3 * (1.0 + difference.abs()),
        "{gradient} {difference}"
    );
    let (_, tangent) = sum_in_an_arm_jvp(x, 1.0);
    assert!((tangent - gradient).abs() < 1e-5, "{tangent} {gradient}");
}

#[differentiable]
fn written_in_a_branch(b: &Array1<f64>, w: &Array2<f64>, k: f64) -> f64 {
    let mut acc = b.clone();
    if k > 0.0 {
        acc *= k;
    }
    if b.sum() > 0.5 {
        acc[1] = k * k;
    }
    w.dot(&acc).sum()
}

#[test]
fn an_element_written_in_a_branch() {
    let w = Array2::from_shape_fn((2, 3), |(i, j)| 0.3 * i as f64 - 0.2 * j as f64 + 0.1);
    for b in [[0.4, 0.5, -0.1], [-0.4, 0.5, -0.3]] {
        for k in [0.8, -0.6] {
            let x: Vec<f64> = b.iter().copied().chain([k]).collect();
            let split = |x: &[f64]| (Array1::from(x[..3].to_vec()), x[3]);
            check_scalar(
                "written_in_a_branch",
                &x,
                |x| {
                    let (b, k) = split(x);
                    written_in_a_branch(&b, &w, k)
                },
                |x| {
                    let (b, k) = split(x);
                    let (value, (db, dw, dk)) = written_in_a_branch_grad(&b, &w, k);
                    assert_eq!(dw.dim(), (2, 3));
                    (value, db.iter().copied().chain([dk]).collect())
                },
                |x, t| {
                    let (b, k) = split(x);
                    let (tb, tk) = split(t);
                    written_in_a_branch_jvp(&b, &w, k, tb, Array2::zeros((2, 3)), tk)
                },
            );
        }
    }
}

#[differentiable]
fn stacked_in_a_loop(x: &Array1<f64>) -> Array1<f64> {
    let mut acc = Array2::<f64>::zeros((0, 2));
    for i in 0..x.len() {
        let row = Array1::<f64>::ones(2) * x[i] * x[i];
        acc = concatenate![Axis(0), acc.view(), row.view().insert_axis(Axis(0))];
    }
    acc.flatten().to_owned()
}

#[test]
fn an_array_rebuilt_by_a_macro_in_a_loop() {
    let v = |x: &[f64]| Array1::from(x.to_vec());
    check_vector(
        "stacked_in_a_loop",
        &[2.0, -3.0, 0.5],
        |x| stacked_in_a_loop(&v(x)).to_vec(),
        |x| stacked_in_a_loop_jacobian(&v(x)).1,
        |x, t| stacked_in_a_loop_jvp(&v(x), v(t)).1.to_vec(),
        |x, c| stacked_in_a_loop_vjp(&v(x), v(c)).1.to_vec(),
    );
}

/// Not differentiated: a plain struct of data.
pub struct Layer {
    pub weights: Array2<f64>,
    pub scale: f64,
}

#[differentiable(wrt(x))]
fn through_a_field(layer: &Layer, x: &Array1<f64>) -> f64 {
    (layer.weights.dot(x) * layer.scale).tanh().sum()
}

#[test]
fn a_constant_field_as_a_receiver() {
    let layer = Layer {
        weights: Array2::from_shape_fn((3, 2), |(i, j)| 0.2 * i as f64 - 0.3 * j as f64 + 0.1),
        scale: 1.5,
    };
    let v = |x: &[f64]| Array1::from(x.to_vec());
    check_scalar(
        "through_a_field",
        &[0.4, -0.7],
        |x| through_a_field(&layer, &v(x)),
        |x| {
            let (value, g) = through_a_field_grad(&layer, &v(x));
            (value, g.to_vec())
        },
        |x, t| through_a_field_jvp(&layer, &v(x), v(t)),
    );
}

// --- an element of an array the result does not depend on ------------------------------

/// `s` and `a` reach the result through a condition only (seed 131): the loop after the
/// `while` gave them zero adjoints, and the `while`'s adjoint moved `a`'s into its body,
/// where nothing carried it out (E0425 in `f_vjp`, E0382 in `f_trace`). Contributions to
/// what the result does not depend on are dropped.
#[differentiable]
fn element_of_an_unread_array(x: &Array1<f64>, y: f64) -> f64 {
    let mut a = x.exp();
    let mut s = 0.0;
    let mut k = 0;
    while k < 3 {
        k += 1;
        s -= (a[0] - y).sin();
    }
    let mut b = y * y;
    for i in 0..x.len() {
        if s > 0.5 {
            b *= 1.5;
        }
        s = (s + b).cos();
        a[i] = y * 2.0;
    }
    b.powi(2) + x.sum()
}

#[test]
fn an_element_of_an_array_the_result_does_not_depend_on() {
    let v = |x: &[f64]| Array1::from(x[..2].to_vec());
    check_scalar(
        "element_of_an_unread_array",
        &[0.4, -0.7, 1.3],
        |x| element_of_an_unread_array(&v(x), x[2]),
        |x| {
            let (value, (gx, gy)) = element_of_an_unread_array_grad(&v(x), x[2]);
            (value, [gx.to_vec(), vec![gy]].concat())
        },
        |x, t| element_of_an_unread_array_jvp(&v(x), x[2], v(t), t[2]),
    );
    let trace = element_of_an_unread_array_trace(&v(&[0.4, -0.7]), 1.3);
    assert!(!trace.to_string().is_empty());
}

// --- found by review: values moved into loops ------------------------------------------

/// A loop in one arm of a branch takes the array written before the branch as its initial
/// value: the branch's adjoint reads that array's shape afterwards, so it is copied.
#[differentiable]
fn loop_in_an_arm(x: &Array1<f64>, c: f64) -> f64 {
    let mut z = x.mapv(|v| v * v);
    z[0] = c;
    if c > 0.0 {
        for i in 1..x.len() {
            z[i] += z[i - 1] * c;
        }
    } else {
        z = x.mapv(|v| v.sin());
    }
    z.sum()
}

/// An array the result does not depend on, written in a loop around another loop (whose
/// adjoint runs the body again): no adjoint is kept for it, whose zeros would read the array
/// the run moved.
#[differentiable]
fn unread_array_in_a_checkpoint(x: &Array1<f64>) -> f64 {
    let n = x.len();
    let mut z = x.mapv(|v| v * v);
    let mut s = 0.0;
    for i in 0..n {
        z[i] += x[i];
        for j in 0..n {
            s = (s + x[i] * x[j]).sin();
        }
    }
    s
}

#[test]
fn values_moved_into_loops() {
    let v = |x: &[f64]| Array1::from(x[..3].to_vec());
    for c in [0.7, -0.7] {
        check_scalar(
            "loop_in_an_arm",
            &[0.4, -0.3, 1.2, c],
            |x| loop_in_an_arm(&v(x), x[3]),
            |x| {
                let (value, (gx, gc)) = loop_in_an_arm_grad(&v(x), x[3]);
                (value, [gx.to_vec(), vec![gc]].concat())
            },
            |x, t| loop_in_an_arm_jvp(&v(x), x[3], v(t), t[3]),
        );
    }
    check_scalar(
        "unread_array_in_a_checkpoint",
        &[0.4, -0.3, 1.2],
        |x| unread_array_in_a_checkpoint(&v(x)),
        |x| {
            let (value, g) = unread_array_in_a_checkpoint_grad(&v(x));
            (value, g.to_vec())
        },
        |x, t| unread_array_in_a_checkpoint_jvp(&v(x), v(t)),
    );
    assert!(!unread_array_in_a_checkpoint_trace(&v(&[0.4, -0.3, 1.2]))
        .to_string()
        .is_empty());
}

// --- found by the CI seed: a summed map in a function with several results ---------------

/// `f_jacobian` runs the adjoint sweep once per entry of the result over the same forward
/// values: a summed map's partials, read by every sweep, must not be moved by the first
/// (E0382 when its pullback took them by value to scale them in place).
#[differentiable]
fn summed_map_beside_an_array(x: &Array1<f64>) -> (f64, Array1<f64>) {
    (x.iter().map(|&v| v.powi(3)).sum::<f64>(), x * 2.0)
}

#[test]
fn a_summed_map_in_every_row_of_a_jacobian() {
    let x = Array1::from(vec![0.5, -1.5]);
    let (_, rows) = summed_map_beside_an_array_jacobian(&x);
    assert_eq!(
        rows,
        Array2::from_shape_vec((3, 2), vec![0.75, 6.75, 2.0, 0.0, 0.0, 2.0]).unwrap()
    );
}

/// `f_vjp` runs its sweep once, so there a summed map's element adjoint is scaled in its
/// partials' own buffer: at the top level, in every iteration of a loop (each iteration's
/// partials recorded and consumed by its own adjoint) and in a branch; `f_jacobian` and
/// `f_hessian`, whose sweeps read the partials again, keep reading them in place.
#[differentiable(hessian)]
fn summed_maps_in_loops_and_branches(x: &Array1<f64>, s: f64) -> f64 {
    let mut total = x.mapv(|v| (v * s).sin()).sum();
    let mut y = x * 1.0;
    for _ in 0..3 {
        total = total * s + y.mapv(|v| v * v * s).sum();
        y = &y * s;
    }
    if total > 0.0 {
        total + x.mapv(|v| (v * s).exp()).sum()
    } else {
        total - y.mapv(|v| v.tanh()).sum()
    }
}

#[test]
fn summed_maps_scaled_in_place_once_and_read_again_by_the_hessian() {
    let split = |p: &[f64]| (Array1::from(p[..3].to_vec()), p[3]);
    let f = |p: &[f64]| {
        let (x, s) = split(p);
        summed_maps_in_loops_and_branches(&x, s)
    };
    // The value and the gradient, flat.
    let grad = |p: &[f64]| {
        let (x, s) = split(p);
        let (value, (gx, gs)) = summed_maps_in_loops_and_branches_grad(&x, s);
        let mut g = gx.to_vec();
        g.push(gs);
        (value, g)
    };
    // The first point takes the `if`, the second the `else`.
    for point in [[0.4, -0.3, 1.2, 0.7], [0.4, 0.3, 1.2, -0.5]] {
        check_scalar("summed maps", &point, f, grad, |p, t| {
            let (x, s) = split(p);
            summed_maps_in_loops_and_branches_jvp(&x, s, Array1::from(t[..3].to_vec()), t[3])
        });
        let (x, s) = split(&point);
        let hessian = summed_maps_in_loops_and_branches_hessian(&x, s);
        check_hessian_columns(&point, &hessian.2, |p| grad(p).1);
    }
}

/// Each column of `hessian` at `point` against central differences of the gradient.
fn check_hessian_columns(point: &[f64], hessian: &Array2<f64>, grad: impl Fn(&[f64]) -> Vec<f64>) {
    for column in 0..point.len() {
        let (mut up, mut down) = (point.to_vec(), point.to_vec());
        up[column] += 1e-5;
        down[column] -= 1e-5;
        let (gu, gd) = (grad(&up), grad(&down));
        for row in 0..point.len() {
            let fd = (gu[row] - gd[row]) / 2e-5;
            assert!(
                (hessian[[row, column]] - fd).abs() <= 1e-5 * (1.0 + fd.abs()),
                "H[{row}, {column}] = {}, differences {fd}",
                hessian[[row, column]]
            );
        }
    }
}

// --- found by review: a tied maximum on dual numbers --------------------------------------

/// `f_hessian` runs the program on dual numbers, which compare their values only: `amax`
/// must return the first of tied elements with its own tangent, wherever its eight lanes met
/// the copies (here the second copy sits in an earlier lane than the first), or the Hessian
/// is not symmetric.
#[differentiable(hessian)]
fn tied_maximum_squared(x: &Array1<f64>) -> f64 {
    let m = amax(x);
    m * m
}

#[test]
fn a_tied_maximum_has_a_symmetric_hessian() {
    let mut x = Array1::from_elem(16, 0.5);
    x[2] = 1.0;
    x[9] = 1.0;
    let (_, gradient, hessian) = tied_maximum_squared_hessian(&x);
    let mut want = Array1::zeros(16);
    want[2] = 2.0;
    assert_eq!(gradient, want);
    let mut h = Array2::zeros((16, 16));
    h[[2, 2]] = 2.0;
    assert_eq!(hessian, h);
}

// --- a matrix filled in nested loops -----------------------------------------------------

/// A matrix written element by element in nested loops, from differentiated values, then
/// used whole: GradBench's `gmm` builds its factors so. The outer loop carries the matrix,
/// so it is no checkpoint (each would copy the matrix) and the inner loop takes it by move
/// at every outer iteration; its adjoint reads only the written positions.
#[differentiable(hessian, wrt(q, l))]
fn lower_factor_product(q: &Array1<f64>, l: &Array1<f64>, x: &Array2<f64>) -> f64 {
    let d = q.len();
    let mut w = Array2::<f64>::zeros((d, d));
    let mut index = 0;
    for col in 0..d {
        w[[col, col]] = q[col].exp();
        for row in (col + 1)..d {
            w[[row, col]] = l[index] * q[row];
            index += 1;
        }
    }
    let z = x.dot(&w);
    (&z * &z).sum() + w[[d - 1, 0]]
}

#[test]
fn a_matrix_filled_in_nested_loops_in_every_mode() {
    let x = Array2::from_shape_fn((4, 3), |(i, j)| 0.3 * i as f64 - 0.2 * j as f64 + 0.1);
    let split = |p: &[f64]| (Array1::from(p[..3].to_vec()), Array1::from(p[3..].to_vec()));
    let f = |p: &[f64]| {
        let (q, l) = split(p);
        lower_factor_product(&q, &l, &x)
    };
    let grad = |p: &[f64]| {
        let (q, l) = split(p);
        let (value, (gq, gl)) = lower_factor_product_grad(&q, &l, &x);
        (value, flat(gq.iter().chain(&gl)))
    };
    let point = [0.2, -0.4, 0.3, 0.7, -1.1, 0.5];
    check_scalar("lower factor", &point, f, grad, |p, t| {
        let (q, l) = split(p);
        let (tq, tl) = split(t);
        lower_factor_product_jvp(&q, &l, &x, tq, tl)
    });
    let (q, l) = split(&point);
    let (_, _, hessian) = lower_factor_product_hessian(&q, &l, &x);
    check_hessian_columns(&point, &hessian, |p| grad(p).1);
}

// --- found by review: a move into code whose adjoint gives nothing back ---------------------

/// The outer loops carry `w` and run their bodies again in their adjoints (`p.t()` is a view
/// of a differentiated parameter, which they cannot record). There, what `w` was moved into
/// (the inner loop, the element write) does not reach the result, so `w`'s adjoint
/// restarted from zeros of its shape, read after the move (E0382). Such a `w` is copied.
#[differentiable]
fn dead_inner_loop_after_a_move(x: &Array1<f64>, p: &Array2<f64>) -> f64 {
    let mut w = x.clone();
    for i in 0..x.len() {
        for j in 0..x.len() {
            w[j] = x[i];
        }
        w = p.t().dot(x) * x[i];
    }
    w.sum()
}

#[differentiable]
fn inner_loop_read_by_a_condition_only(x: &Array1<f64>, p: &Array2<f64>) -> f64 {
    let mut w = x.clone();
    let mut total = 0.0;
    for i in 0..x.len() {
        for j in 0..x.len() {
            w[j] += x[i] * x[j];
        }
        if w.sum() > 1.0 {
            total += x[i];
        }
        w = p.t().dot(x);
    }
    total + w.sum()
}

#[differentiable]
fn dead_write_after_a_move(x: &Array1<f64>, p: &Array2<f64>) -> f64 {
    let mut w = x.clone();
    for i in 0..x.len() {
        w[0] = x[i];
        w = p.t().dot(x) * x[i];
    }
    w.sum()
}

#[test]
fn moves_into_code_whose_adjoint_gives_nothing_back() {
    type Value = fn(&Array1<f64>, &Array2<f64>) -> f64;
    type Grad = fn(&Array1<f64>, &Array2<f64>) -> (f64, (Array1<f64>, Array2<f64>));
    type Jvp = fn(&Array1<f64>, &Array2<f64>, Array1<f64>, Array2<f64>) -> (f64, f64);
    let cases: [(&str, Value, Grad, Jvp); 3] = [
        (
            "dead inner loop",
            dead_inner_loop_after_a_move,
            dead_inner_loop_after_a_move_grad,
            dead_inner_loop_after_a_move_jvp,
        ),
        (
            "condition only",
            inner_loop_read_by_a_condition_only,
            inner_loop_read_by_a_condition_only_grad,
            inner_loop_read_by_a_condition_only_jvp,
        ),
        (
            "dead write",
            dead_write_after_a_move,
            dead_write_after_a_move_grad,
            dead_write_after_a_move_jvp,
        ),
    ];
    // x (3) then p (3 × 3), flat.
    let split = |v: &[f64]| {
        let p = Array2::from_shape_vec((3, 3), v[3..].to_vec()).unwrap();
        (Array1::from(v[..3].to_vec()), p)
    };
    let point: Vec<f64> = [0.3, -0.7, 1.1]
        .into_iter()
        .chain((0..9).map(|k| 0.4 * (k / 3) as f64 - 0.3 * (k % 3) as f64 + 0.2))
        .collect();
    for (name, f, grad, jvp) in cases {
        check_scalar(
            name,
            &point,
            |v| {
                let (x, p) = split(v);
                f(&x, &p)
            },
            |v| {
                let (x, p) = split(v);
                let (value, (gx, gp)) = grad(&x, &p);
                (value, flat(gx.iter().chain(&gp)))
            },
            |v, t| {
                let ((x, p), (tx, tp)) = (split(v), split(t));
                jvp(&x, &p, tx, tp)
            },
        );
    }
}

// --- loops fused inside fused loops ------------------------------------------------------

/// A double sum: the inner loop only adds to the outer's sum, so it runs its adjoint beside
/// its forward code as the outer does (nothing recorded), adding into the outer's
/// accumulators.
#[differentiable(hessian, wrt(x, w))]
fn double_sum(x: &Array1<f64>, w: &Array1<f64>) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        for j in 0..w.len() {
            s += x[i] * (w[j] * x[i]).sin();
        }
        // After the inner loop, w's adjoint gets more in the same iteration.
        s += w[i].powi(2) * x[i];
    }
    s
}

/// The outer sum read after the loop (`(s / n).ln()`: its fused adjoint is scaled), a
/// triangular inner range, and a third level with a branch.
#[differentiable(hessian, wrt(x, w))]
fn scaled_nest(x: &Array1<f64>, w: &Array1<f64>) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        let t = x[i].exp();
        for j in 0..i {
            s += (x[i] - x[j]).powi(2) * w[j];
            for k in 0..w.len() {
                if w[k] > t * 0.5 {
                    s += t * w[k];
                } else {
                    s -= w[k] * w[k] * x[j];
                }
            }
        }
    }
    (s / x.len() as f64 + 10.0).ln()
}

/// Inner loops carrying values of their own beside the outer's sum: a sum of its own that is
/// squared after it (its adjoint is not the outer's: not fused), and a product.
#[differentiable(hessian, wrt(x, w))]
fn nest_with_own_state(x: &Array1<f64>, w: &Array1<f64>) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        let mut q = 0.0;
        for j in 0..w.len() {
            q += w[j] * x[i];
            s += x[j] * w[j];
        }
        s += q * q;
        let mut p = 1.0;
        for j in 0..w.len() {
            p = p * w[j] + x[i];
        }
        s += p;
    }
    s
}

type Grad2 = fn(&Array1<f64>, &Array1<f64>) -> (f64, (Array1<f64>, Array1<f64>));
type Jvp2 = fn(&Array1<f64>, &Array1<f64>, Array1<f64>, Array1<f64>) -> (f64, f64);
type Vjp2 = fn(&Array1<f64>, &Array1<f64>, f64) -> (f64, (Array1<f64>, Array1<f64>));
type Hessian2 = fn(&Array1<f64>, &Array1<f64>) -> (f64, (Array1<f64>, Array1<f64>), Array2<f64>);

/// A function of two arrays of three and its generated gradient, jvp, vjp and Hessian.
type InEveryMode = (
    &'static str,
    fn(&Array1<f64>, &Array1<f64>) -> f64,
    Grad2,
    Jvp2,
    Vjp2,
    Hessian2,
);

/// The point every two-array check differentiates at: x, then w (with a negative entry, so
/// that both arms of a branch on its sign run).
const POINT: [f64; 6] = [0.3, -0.7, 1.1, 0.9, -0.4, 0.6];

fn split(v: &[f64]) -> (Array1<f64>, Array1<f64>) {
    (Array1::from(v[..3].to_vec()), Array1::from(v[3..].to_vec()))
}

/// A function's gradient and jvp against differences, and its vjp with a cotangent of −2.5
/// (which reaches a fused loop's seed) against the gradient scaled.
fn check_first_order(
    name: &str,
    f: fn(&Array1<f64>, &Array1<f64>) -> f64,
    grad: Grad2,
    jvp: Jvp2,
    vjp: Vjp2,
) {
    let flat_grad = |v: &[f64]| {
        let (x, w) = split(v);
        let (value, (gx, gw)) = grad(&x, &w);
        (value, flat(gx.iter().chain(&gw)))
    };
    check_scalar(
        name,
        &POINT,
        |v| {
            let (x, w) = split(v);
            f(&x, &w)
        },
        flat_grad,
        |v, t| {
            let ((x, w), (tx, tw)) = (split(v), split(t));
            jvp(&x, &w, tx, tw)
        },
    );
    let (x, w) = split(&POINT);
    let (_, (gx, gw)) = vjp(&x, &w, -2.5);
    let scaled: Vec<f64> = flat_grad(&POINT).1.iter().map(|g| -2.5 * g).collect();
    for (got, want) in flat(gx.iter().chain(&gw)).iter().zip(&scaled) {
        assert!(
            (got - want).abs() <= 1e-12 * (1.0 + want.abs()),
            "{name}: vjp"
        );
    }
}

/// Each function's first-order derivatives ([`check_first_order`]) and its Hessian's columns
/// against differences of the gradient.
fn check_in_every_mode(cases: &[InEveryMode]) {
    for &(name, f, grad, jvp, vjp, hessian) in cases {
        check_first_order(name, f, grad, jvp, vjp);
        let (x, w) = split(&POINT);
        check_hessian_columns(&POINT, &hessian(&x, &w).2, |p| {
            let (x, w) = split(p);
            let (gx, gw) = grad(&x, &w).1;
            flat(gx.iter().chain(&gw))
        });
    }
}

#[test]
fn loops_fused_inside_fused_loops_in_every_mode() {
    check_in_every_mode(&[
        (
            "double sum",
            double_sum,
            double_sum_grad,
            double_sum_jvp,
            double_sum_vjp,
            double_sum_hessian,
        ),
        (
            "scaled nest",
            scaled_nest,
            scaled_nest_grad,
            scaled_nest_jvp,
            scaled_nest_vjp,
            scaled_nest_hessian,
        ),
        (
            "own state",
            nest_with_own_state,
            nest_with_own_state_grad,
            nest_with_own_state_jvp,
            nest_with_own_state_vjp,
            nest_with_own_state_hessian,
        ),
    ]);
}

/// Loops only summing, inside loops that record (a running maximum, a running product): a
/// packed index carried beside the sum, a branch and a `break` in the body, a `while` on a
/// carried counter. Their adjoints run them again instead of reading records.
#[differentiable(hessian, wrt(x, w))]
fn replayed_sums(x: &Array1<f64>, w: &Array1<f64>) -> f64 {
    let mut largest = -10.0;
    let mut total = 0.0;
    for i in 0..x.len() {
        let mut z = x[i] * 0.5;
        let mut index = i;
        for j in 0..w.len() {
            if w[j] > 0.0 {
                z += w[j] * x[index % x.len()];
            } else {
                z -= w[j] * w[j];
            }
            index += j + 1;
        }
        let mut k = 0;
        let mut q = 0.0;
        while k < w.len() {
            q += (w[k] * x[i]).sin();
            k += 1;
            if k == 2 {
                break;
            }
        }
        if z > largest {
            largest = z;
        }
        total += z * z + q * largest;
    }
    total + largest
}

/// A sum inside a loop carrying a product, inside a loop carrying a sum read after it in a
/// product (three levels, as the GMM objective's loops over points, components and rows).
#[differentiable(hessian, wrt(x, w))]
fn replayed_three_deep(x: &Array1<f64>, w: &Array1<f64>) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        let mut p = 1.0;
        for j in 0..w.len() {
            let mut dot = w[j];
            for k in 0..j + 1 {
                dot += w[k] * x[(i + k) % x.len()];
            }
            p = p * dot.tanh() + x[i];
        }
        s += p;
    }
    s * s
}

#[test]
fn sums_replayed_inside_recording_loops_in_every_mode() {
    check_in_every_mode(&[
        (
            "replayed sums",
            replayed_sums,
            replayed_sums_grad,
            replayed_sums_jvp,
            replayed_sums_vjp,
            replayed_sums_hessian,
        ),
        (
            "three deep",
            replayed_three_deep,
            replayed_three_deep_grad,
            replayed_three_deep_jvp,
            replayed_three_deep_vjp,
            replayed_three_deep_hessian,
        ),
    ]);
}

/// Calls itself in its own loop, summed into its result: where the call's cotangent is known
/// where it is made (a product by earlier values, a quotient by one), its adjoint runs there,
/// adding to the caller's accumulators of both parameters in place; where its value is read
/// otherwise (twice, in a loop inside, by a factor bound after it), the call's adjoint runs
/// in the adjoint sweep as any call's.
#[differentiable(wrt(x, w))]
fn expand(x: &Array1<f64>, w: &Array1<f64>, depth: usize, removed: u64) -> f64 {
    let mut total = 0.0;
    for i in 0..x.len() {
        if removed & (1 << i) == 0 {
            if depth == 0 {
                total += (x[i] * w[i]).sin();
            } else if (i + depth) % 5 == 0 {
                total += w[i] * x[i] * expand(x, w, depth - 1, removed | (1 << i));
            } else if (i + depth) % 5 == 1 {
                let k = 2.0 + w[i] * w[i];
                total -= expand(x, w, depth - 1, removed | (1 << i)) / k;
            } else if (i + depth) % 5 == 2 {
                let m = expand(x, w, depth - 1, removed | (1 << i));
                total += 0.1 * m * m + (x[i] - m);
            } else if (i + depth) % 5 == 3 {
                // A factor bound after the call: not known where the call is.
                let m = expand(x, w, depth - 1, removed | (1 << i));
                let k = (i + 1) as f64;
                total += k * m;
            } else {
                // Read in a loop inside: its cotangent is not one product.
                let m = expand(x, w, depth - 1, removed | (1 << i));
                for _ in 0..3 {
                    total += 0.5 * m;
                }
            }
        }
    }
    total
}

#[differentiable]
fn expanded(x: &Array1<f64>, w: &Array1<f64>) -> f64 {
    expand(x, w, 3, 0)
}

#[test]
fn a_function_calling_itself() {
    check_first_order(
        "expanded",
        expanded,
        expanded_grad,
        expanded_jvp,
        expanded_vjp,
    );
}

/// A function calling itself where the at-site adjoint must not apply: the value added to
/// itself (`m + m`, one node reading it twice), one array passed to both differentiated
/// parameters (one accumulator cannot be handed over twice), and an arm whose forward code
/// the adjoint runs again (it binds a view of a temporary: no record holds it).
#[differentiable(wrt(x, w))]
fn guarded(x: &Array1<f64>, w: &Array1<f64>, data: &Array1<f64>, n: usize) -> f64 {
    let mut total = 0.0;
    for i in 0..x.len() {
        if n == 0 {
            total += (x[i] * w[i]).sin();
        } else if i == 0 {
            let m = guarded(x, w, data, n - 1);
            total += m + m;
        } else if i == 1 {
            total += 0.5 * guarded(x, x, data, n - 1);
        } else {
            total += (&data.view() * w).sum() * 0.1;
            total += x[i] * guarded(x, w, data, n - 1);
        }
    }
    total
}

#[differentiable]
fn guarded_at(x: &Array1<f64>, w: &Array1<f64>) -> f64 {
    let data = Array1::linspace(0.5, -0.5, 3);
    guarded(x, w, &data, 2)
}

/// The next number of a generator kept in a `Cell`, advancing it: a constant computed for
/// its effect, which no adjoint may compute again.
fn next_number(state: &std::cell::Cell<u64>) -> f64 {
    let next = state
        .get()
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    state.set(next);
    (next >> 11) as f64 / (1u64 << 53) as f64
}

/// Two sums in a loop drawing a number per iteration: the loop records (its adjoint reads
/// the numbers drawn), it does not run again.
#[differentiable(wrt(x, w))]
fn drawn(x: &Array1<f64>, w: &Array1<f64>, state: &std::cell::Cell<u64>) -> f64 {
    let mut s = 0.0;
    let mut t = 0.0;
    for j in 0..w.len() {
        let r = next_number(state);
        s += w[j] * x[j] * r;
        t += x[j] * (1.0 - r);
    }
    s * t
}

#[test]
fn calls_and_loops_that_must_not_run_their_adjoint_elsewhere() {
    check_first_order(
        "guarded",
        guarded_at,
        guarded_at_grad,
        guarded_at_jvp,
        guarded_at_vjp,
    );
    // Each evaluation from the same state. (Through a call, a derivative would run the
    // callee again on the state as the primal left it.)
    let seven = || std::cell::Cell::new(7);
    check_scalar(
        "drawn",
        &POINT,
        |v| {
            let (x, w) = split(v);
            drawn(&x, &w, &seven())
        },
        |v| {
            let (x, w) = split(v);
            let (value, (gx, gw)) = drawn_grad(&x, &w, &seven());
            (value, flat(gx.iter().chain(&gw)))
        },
        |v, t| {
            let ((x, w), (tx, tw)) = (split(v), split(t));
            drawn_jvp(&x, &w, &seven(), tx, tw)
        },
    );
    // The gradient draws as many numbers as the function.
    let (x, w) = split(&POINT);
    let (state, again) = (seven(), seven());
    drawn(&x, &w, &state);
    let _ = drawn_grad(&x, &w, &again);
    assert_eq!(state.get(), again.get());
}

/// One sample's squared error under a quadratic model with coefficients `p`.
#[differentiable(wrt(p))]
fn sample_loss(p: &Array1<f64>, xi: f64, yi: f64) -> f64 {
    let prediction = p[0] + p[1] * xi + p[2] * xi * xi;
    (prediction - yi).powi(2)
}

/// ln(1 + v²).
#[differentiable]
fn bump(v: f64) -> f64 {
    (v * v + 1.0).ln()
}

/// Calls of other functions in a loop summed into the result, their cotangents known where
/// they are made (a weight read before, a quotient by a number): each runs its vjp there,
/// its contributions added to the loop's accumulators (parameters) or passed on when the
/// adjoint sweep reaches the call (values of the body, through an arm's record too), and its
/// primal is not run apart.
#[differentiable]
fn weighted_samples(x: &Array1<f64>, w: &Array1<f64>) -> f64 {
    let mut loss = 0.0;
    for i in 0..x.len() {
        let xi = i as f64 * 0.5 - 0.3;
        loss += w[i] * sample_loss(x, xi, 1.0 - xi);
        loss -= sample_loss(w, xi, xi) / 4.0;
        let r = x[i] - w[i];
        loss += 0.5 * bump(r);
        if x[i] > 0.0 {
            loss -= w[i] * bump(x[i] * w[i]);
        }
    }
    loss
}

#[test]
fn calls_in_a_summed_loop_run_their_vjp_where_they_are_made() {
    check_first_order(
        "weighted samples",
        weighted_samples,
        weighted_samples_grad,
        weighted_samples_jvp,
        weighted_samples_vjp,
    );
}

/// A loop's range read from the array the loop then carries (`for i in 0..acc.len()`), a
/// constant one (the random programs' seed 263, p1197: the range read the array after the
/// carried variable's declaration had moved it, E0382) and a differentiated one.
#[differentiable(wrt(x))]
fn ranges_of_carried_arrays(x: &Array1<f64>, data: &Array1<f64>) -> (f64, Array1<f64>) {
    let mut constant = data.to_owned();
    constant *= data;
    for i in 0..constant.len() {
        constant[i] += 1.0;
    }
    let mut acc = x * 2.0;
    for i in 0..acc.len() {
        acc[i] += x[i] * x[i];
    }
    ((&acc * &constant).sum(), constant.to_owned())
}

#[test]
fn loop_ranges_read_values_from_before_the_loop() {
    let (x, data) = (array![0.5, -1.0, 2.0], array![1.0, 2.0, 3.0]);
    let (value, constant) = ranges_of_carried_arrays(&x, &data);
    assert_eq!(constant, array![2.0, 5.0, 10.0]);
    // Σ (2x + x²)(data² + 1).
    let expected: f64 = (0..3)
        .map(|i| (2.0 * x[i] + x[i] * x[i]) * constant[i])
        .sum();
    assert!((value - expected).abs() < 1e-12);
    let (_, jacobian) = ranges_of_carried_arrays_jacobian(&x, &data);
    for i in 0..3 {
        // ∂/∂xᵢ of the sum: (2 + 2xᵢ)(dataᵢ² + 1); the constant's rows are zero.
        assert!((jacobian[[0, i]] - (2.0 + 2.0 * x[i]) * constant[i]).abs() < 1e-12);
        assert!((1..4).all(|row| jacobian[[row, i]] == 0.0));
    }
}

/// A view of a temporary computed from a differentiated array's shape
/// (`((x.len() as f64) / d).slice(..).to_owned().view()`), joined with a value: it was read
/// as written, the view outliving its array (E0716; random programs, seed 307, p1201).
#[differentiable(wrt(x, w))]
fn joined_view_of_a_shape_constant(x: &Array1<f64>, w: &Array1<f64>) -> f64 {
    let d = Array1::<f64>::ones(2) * 2.0;
    let joined = concatenate(
        Axis(0),
        &[
            (x * w).view(),
            ((x.len() as f64) / &d).slice(s![0..1]).to_owned().view(),
        ],
    )
    .unwrap();
    joined.mapv(|v| v * v).sum()
}

#[test]
fn a_view_of_a_shape_constant_joined_with_a_value() {
    check_first_order(
        "joined view of a shape constant",
        joined_view_of_a_shape_constant,
        joined_view_of_a_shape_constant_grad,
        joined_view_of_a_shape_constant_jvp,
        joined_view_of_a_shape_constant_vjp,
    );
}

/// An array two nested loops add into (`qx[r] += …`), inside a loop that records (it writes
/// `terms`): the inner loop takes the array by move at every outer iteration, and the
/// record after the nest reads the binding the middle loop handed back (the array was
/// copied at every iteration of the middle loop; ADBench's GMM as its C++ code is written).
#[differentiable(wrt(x, w))]
fn packed_lower_products(x: &Array1<f64>, w: &Array1<f64>) -> f64 {
    let d = x.len();
    let mut terms = Array1::<f64>::zeros(2);
    for c in 0..2 {
        let mut qx = Array1::<f64>::zeros(d);
        for j in 0..d {
            qx[j] = w[j] * x[j] + c as f64;
        }
        let mut idx = 0;
        for col in 0..d {
            for r in col + 1..d {
                qx[r] += w[idx] * x[col];
                idx += 1;
            }
        }
        let mut s = 0.0;
        for j in 0..d {
            s += qx[j] * qx[j];
        }
        terms[c] = s.sqrt();
    }
    terms[0] * terms[1]
}

#[test]
fn an_array_added_into_by_a_nest_inside_a_recording_loop() {
    check_first_order(
        "packed lower products",
        packed_lower_products,
        packed_lower_products_grad,
        packed_lower_products_jvp,
        packed_lower_products_vjp,
    );
}

/// Inner loops adding into arrays element by element (`+=`, `-=`, two arrays and a scalar
/// sum in one loop, an array added into twice), inside loops that record: their adjoint runs
/// them again instead of reading a record, leaving the arrays out.
#[differentiable(wrt(x, w))]
fn arrays_added_into_by_inner_loops(x: &Array1<f64>, w: &Array1<f64>) -> f64 {
    let d = x.len();
    let mut outs = Array1::<f64>::zeros(2);
    for c in 0..2 {
        let mut up = Array1::<f64>::from_elem(d, 0.5);
        let mut down = x.mapv(|v| v * v);
        let mut total = 0.0;
        for col in 0..d {
            let mut k = col;
            for r in 0..d {
                up[r] += w[k % d] * x[col] + c as f64;
                down[r] -= x[col] * w[r];
                total += w[r] * x[col];
                up[(r + 1) % d] += 0.25 * x[r];
                k += 2;
            }
        }
        // Not an increment: this loop records.
        for r in 0..d {
            down[r] *= 1.0 + 0.1 * w[r];
        }
        outs[c] = (&up * &down).sum() + total.sin();
    }
    outs[0] * outs[1]
}

#[test]
fn arrays_added_into_by_inner_loops_run_again_in_the_adjoint() {
    check_first_order(
        "arrays added into by inner loops",
        arrays_added_into_by_inner_loops,
        arrays_added_into_by_inner_loops_grad,
        arrays_added_into_by_inner_loops_jvp,
        arrays_added_into_by_inner_loops_vjp,
    );
}

/// An element added into at an index that calls something (`q[w.pop().unwrap()] += …`): the
/// index is computed once, as Rust does (it was computed for the read and again for the
/// write, popping twice; review).
#[differentiable(wrt(x))]
fn added_at_a_popped_index(x: &Array1<f64>, v: &[usize]) -> f64 {
    let mut w = v.to_vec();
    let mut q = Array1::<f64>::zeros(4);
    q[w.pop().unwrap()] += x[0];
    q[w.pop().unwrap()] += x[1];
    q[3] * 10.0 + q[2]
}

#[test]
fn an_index_that_calls_something_is_computed_once() {
    let (x, v) = (Array1::from(vec![1.0, 2.0]), [0usize, 1, 2, 3]);
    let (value, gradient) = added_at_a_popped_index_grad(&x, &v);
    assert_eq!(value, added_at_a_popped_index(&x, &v));
    assert_eq!(value, 12.0);
    assert_eq!(gradient.to_vec(), vec![10.0, 1.0]);
    assert_eq!(
        added_at_a_popped_index_jvp(&x, &v, Array1::from(vec![0.0, 1.0])).1,
        1.0
    );
}

/// `q[I] += v` runs `v` first, then `I`, as Rust does on floats (the index was computed
/// first: `q[3] += x[2]` where Rust adds `x[3]` into `q[2]`; second review).
#[differentiable(wrt(x))]
fn added_in_rust_order(x: &Array1<f64>, v: &[usize]) -> f64 {
    let mut w = v.to_vec();
    let mut q = Array1::<f64>::zeros(4);
    q[w.pop().unwrap()] += x[w.pop().unwrap()];
    let mut k = 0;
    q[k] += x[next_index(&mut k)];
    q[3] * 10.0 + q[2] + q[1] * 100.0
}

fn next_index(k: &mut usize) -> usize {
    *k += 1;
    *k
}

/// A loop over indices nested in another loop: its counter is no element of `x` (the
/// analysis took it for one, and the index for a value's; second review).
#[differentiable]
fn argmax_in_a_loop(x: &Array1<f64>) -> f64 {
    let mut best = 0usize;
    let mut s = 0.0;
    for _ in 0..2 {
        for i in 0..x.len() {
            if x[i] > x[best] {
                best = i;
            }
        }
        s += x[best] * s + x[best];
    }
    s
}

#[test]
fn element_updates_in_rust_order_and_counters_of_nested_loops() {
    let x = Array1::from(vec![0.3, -0.7, 1.1, 0.4]);
    let (value, gradient) = added_in_rust_order_grad(&x, &[0, 1, 2, 3]);
    assert_eq!(value, added_in_rust_order(&x, &[0, 1, 2, 3]));
    // q[2] += x[3]; k = 1: q[1] += x[1].
    assert_eq!(gradient.to_vec(), vec![0.0, 100.0, 0.0, 1.0]);
    let (value, gradient) = argmax_in_a_loop_grad(&x);
    assert_eq!(value, argmax_in_a_loop(&x));
    // s = x₂, then x₂·x₂ + x₂: ∂/∂x₂ = 2x₂ + 1 + 1.
    assert!(
        (gradient[2] - (2.0 * 1.1 + 2.0)).abs() < 1e-12,
        "{gradient}"
    );
}
