//! Hygiene: the generated functions compile beside any name, attribute or item the user
//! writes, and compute the right derivatives (checked against central differences, in both
//! modes). Generated locals are hygienic (`Span::mixed_site`), generated paths absolute
//! (`::autodiff::…`, `::core::…`), and generated functions never name their siblings, so
//! they compile as free functions and as associated functions alike.

mod support;

use autodiff::ndarray::{array, Array1, ArrayView1};
use autodiff::prelude::*;
use support::{check_scalar, flat};

fn scalar_grad2(g: (f64, (f64, f64))) -> (f64, Vec<f64>) {
    (g.0, vec![g.1 .0, g.1 .1])
}

// --- user names that look like the generated code's ---------------------------------

/// Parameters and locals named as the emitters name their own values, tangents, adjoints.
#[differentiable]
#[allow(clippy::used_underscore_binding, clippy::similar_names)]
fn generated_names(v0: f64, v_1: f64, __v1: f64, __b1: f64, __t1: f64, __adj0: f64) -> f64 {
    let __c1 = v0 * v_1;
    let __p1 = __v1.sin() + __b1;
    let __gradient = __t1 * __adj0;
    let __tangent = 2.0;
    let __value = __tangent * __c1;
    __value + __p1 * __gradient
}

/// `grad`, `tangent`, `cotangent` and `x_tangent` next to `x`, a constant named `__c1` and a
/// `_` parameter beside one named as its generated name.
#[differentiable]
#[allow(clippy::used_underscore_binding, clippy::too_many_arguments)]
fn contract_names(
    grad: f64,
    tangent: f64,
    cotangent: f64,
    x: f64,
    x_tangent: f64,
    __c1: usize,
    __arg6: f64,
    _: f64,
) -> f64 {
    let scale = __c1 as f64;
    grad * tangent + cotangent.exp() * x + x_tangent * scale + __arg6
}

/// The names `f_jacobian` and `f_hessian` use for their own loops and layout.
#[differentiable(hessian)]
#[allow(clippy::used_underscore_binding)]
fn hessian_names(__n: f64, __column: f64, __hessian: f64, __z0: f64, __o0: f64) -> f64 {
    let __value = __n * __column;
    let __dual_gradient = __hessian.sin() * __z0;
    __value * __dual_gradient + __o0 * __o0
}

#[differentiable]
#[allow(clippy::used_underscore_binding)]
fn jacobian_names(__m: f64, __row: f64, __zeros: f64, __jacobian: f64) -> (f64, f64, f64) {
    (__m * __row, __zeros.exp(), __jacobian * __m)
}

/// The names of composition's own values (a call's contributions `__p1`, `__p1_0`, the
/// companions' `__g0`, `__t0`, `__given`, `__value`), in a function that calls another.
#[differentiable(wrt(__p1, __g0, __given))]
#[allow(clippy::used_underscore_binding)]
fn composition_names(__p1: f64, __p1_0: f64, __g0: &Array1<f64>, __t0: usize, __given: f64) -> f64 {
    let __value = twice(__p1 * __p1_0) + layers::dense(__g0, __g0, __given);
    __value * __t0 as f64
}

/// Raw identifiers: a function and a parameter named by keywords.
#[differentiable]
fn r#type(r#in: f64, r#fn: f64) -> f64 {
    r#in * r#fn + r#in.exp()
}

#[test]
fn names_like_the_generated_ones() {
    assert_eq!(type_grad(0.0, 3.0), (1.0, (4.0, 0.0)));
    check_scalar(
        "composition_names",
        &[0.3, 0.5, -0.4, 0.2],
        |v| composition_names(v[0], 1.5, &array![v[1], v[2]], 3, v[3]),
        |v| {
            let (value, (dp, dg, dgiven)) =
                composition_names_grad(v[0], 1.5, &array![v[1], v[2]], 3, v[3]);
            let mut g = vec![dp];
            g.extend(flat(&dg));
            g.push(dgiven);
            (value, g)
        },
        |v, t| {
            composition_names_jvp(
                v[0],
                1.5,
                &array![v[1], v[2]],
                3,
                v[3],
                t[0],
                array![t[1], t[2]],
                t[3],
            )
        },
    );
    assert_eq!(type_jvp(0.0, 3.0, 1.0, 1.0), (1.0, 4.0));
    let x = [0.3, -0.7, 1.1, 0.4, -1.3, 0.9];
    check_scalar(
        "generated_names",
        &x,
        |v| generated_names(v[0], v[1], v[2], v[3], v[4], v[5]),
        |v| {
            let (value, g) = generated_names_grad(v[0], v[1], v[2], v[3], v[4], v[5]);
            (value, vec![g.0, g.1, g.2, g.3, g.4, g.5])
        },
        |v, t| {
            generated_names_jvp(
                v[0], v[1], v[2], v[3], v[4], v[5], t[0], t[1], t[2], t[3], t[4], t[5],
            )
        },
    );
    check_scalar(
        "contract_names",
        &[0.3, -0.7, 1.1, 0.4, -1.3, 0.9, 2.0],
        |v| contract_names(v[0], v[1], v[2], v[3], v[4], 3, v[5], v[6]),
        |v| {
            let (value, g) = contract_names_grad(v[0], v[1], v[2], v[3], v[4], 3, v[5], v[6]);
            (value, vec![g.0, g.1, g.2, g.3, g.4, g.5, g.6])
        },
        |v, t| {
            contract_names_jvp(
                v[0], v[1], v[2], v[3], v[4], 3, v[5], v[6], t[0], t[1], t[2], t[3], t[4], t[5],
                t[6],
            )
        },
    );
    let (value, cot) = contract_names_vjp(0.3, -0.7, 1.1, 0.4, -1.3, 3, 0.9, 2.0, 2.0);
    let (_, grad) = contract_names_grad(0.3, -0.7, 1.1, 0.4, -1.3, 3, 0.9, 2.0);
    assert_eq!(
        value,
        contract_names(0.3, -0.7, 1.1, 0.4, -1.3, 3, 0.9, 2.0)
    );
    assert_eq!(cot.0, 2.0 * grad.0);
    assert_eq!(cot.6, 0.0);

    let h = [0.3, -0.7, 1.1, 0.4, -1.3];
    let (value, gradient, hessian) = hessian_names_hessian(h[0], h[1], h[2], h[3], h[4]);
    assert_eq!(value, hessian_names(h[0], h[1], h[2], h[3], h[4]));
    let (_, g) = hessian_names_grad(h[0], h[1], h[2], h[3], h[4]);
    assert_eq!(gradient, g);
    // Each column of the Hessian against central differences of the gradient.
    for j in 0..5 {
        let column = autodiff::check::central_difference(
            |v| {
                let g = hessian_names_grad(v[0], v[1], v[2], v[3], v[4]).1;
                [g.0, g.1, g.2, g.3, g.4][j]
            },
            &h,
            1e-6,
        );
        for (i, fd) in column.iter().enumerate() {
            assert!(
                autodiff::check::close(hessian[[i, j]], *fd, 1e-6),
                "H[{i}, {j}]"
            );
        }
    }
    let (value, j) = jacobian_names_jacobian(0.5, 2.0, -1.0, 3.0);
    assert_eq!(value, jacobian_names(0.5, 2.0, -1.0, 3.0));
    assert_eq!(
        j,
        array![
            [2.0, 0.5, 0.0, 0.0],
            [0.0, 0.0, (-1.0_f64).exp(), 0.0],
            [3.0, 0.0, 0.0, 0.5]
        ]
    );
}

// --- the user's own `f_grad` and `f_jvp` elsewhere --------------------------------------

mod elsewhere {
    /// Not derivatives: functions of the user's that happen to have the generated names.
    pub fn twice_grad(x: f64) -> f64 {
        x + 1000.0
    }
    pub fn twice_jvp(x: f64) -> f64 {
        x + 2000.0
    }
}

#[allow(unused_imports)]
use elsewhere::*;

#[differentiable]
fn twice(x: f64) -> f64 {
    2.0 * x
}

#[test]
fn user_functions_with_generated_names_elsewhere() {
    // The glob import is shadowed by the generated functions; the paths still reach both.
    assert_eq!(twice_grad(3.0), (6.0, 2.0));
    assert_eq!(twice_jvp(3.0, 1.0), (6.0, 2.0));
    assert_eq!(elsewhere::twice_grad(3.0), 1003.0);
    assert_eq!(elsewhere::twice_jvp(3.0), 2003.0);
}

// --- shadowing --------------------------------------------------------------------------

/// Parameters shadowed by locals, a differentiated value shadowed by a constant and back.
#[differentiable]
#[allow(clippy::shadow_unrelated)]
fn shadowing(x: f64, y: f64, n: usize) -> f64 {
    let x = x * 2.0;
    let n = n as f64;
    let x = x.sin() * n;
    let z = x;
    let x = 3.0;
    let y = y * x + z;
    let z = y.exp() - z;
    z * x
}

/// A parameter named as the function, and a local named as the generated functions.
#[differentiable]
fn loss(loss: f64, y: f64) -> f64 {
    let loss_grad = loss * y;
    let loss_jvp = loss_grad.sin();
    loss_jvp * loss
}

#[test]
fn shadowed_names() {
    check_scalar(
        "loss",
        &[0.3, -0.4],
        |v| loss(v[0], v[1]),
        |v| scalar_grad2(loss_grad(v[0], v[1])),
        |v, t| loss_jvp(v[0], v[1], t[0], t[1]),
    );
    check_scalar(
        "shadowing",
        &[0.3, -0.4],
        |v| shadowing(v[0], v[1], 3),
        |v| scalar_grad2(shadowing_grad(v[0], v[1], 3)),
        |v, t| shadowing_jvp(v[0], v[1], 3, t[0], t[1]),
    );
}

// --- parameters named like runtime functions --------------------------------------------

/// Parameters named as the runtime's functions and the rules' modules; the body calls
/// methods of the same names, which parameters do not shadow.
#[differentiable]
fn runtime_names(sigmoid: f64, exp: f64, relu: f64, sum: &Array1<f64>, dot: &Array1<f64>) -> f64 {
    sigmoid.exp() * exp + relu.max(0.5) + sum.dot(dot) + dot.sum() + sum.exp().sum()
}

/// The runtime's functions called with parameters named as other runtime functions.
#[differentiable]
fn runtime_calls(exp: f64, tanh: f64, softmax: f64) -> f64 {
    sigmoid(exp) + relu(tanh) + softplus(softmax).exp()
}

#[test]
fn parameters_named_like_runtime_functions() {
    let (sum, dot) = (array![0.5, -1.0], array![2.0, 0.25]);
    check_scalar(
        "runtime_names",
        &[0.3, -0.4, 0.9, 0.5, -1.0, 2.0, 0.25],
        |v| runtime_names(v[0], v[1], v[2], &array![v[3], v[4]], &array![v[5], v[6]]),
        |v| {
            let (value, g) =
                runtime_names_grad(v[0], v[1], v[2], &array![v[3], v[4]], &array![v[5], v[6]]);
            let mut flat_g = vec![g.0, g.1, g.2];
            flat_g.extend(flat(&g.3));
            flat_g.extend(flat(&g.4));
            (value, flat_g)
        },
        |v, t| {
            runtime_names_jvp(
                v[0],
                v[1],
                v[2],
                &array![v[3], v[4]],
                &array![v[5], v[6]],
                t[0],
                t[1],
                t[2],
                array![t[3], t[4]],
                array![t[5], t[6]],
            )
        },
    );
    assert_eq!(
        runtime_names_grad(0.3, -0.4, 0.9, &sum, &dot).0,
        runtime_names(0.3, -0.4, 0.9, &sum, &dot)
    );
    check_scalar(
        "runtime_calls",
        &[0.3, -0.4, 0.9],
        |v| runtime_calls(v[0], v[1], v[2]),
        |v| {
            let (value, g) = runtime_calls_grad(v[0], v[1], v[2]);
            (value, vec![g.0, g.1, g.2])
        },
        |v, t| runtime_calls_jvp(v[0], v[1], v[2], t[0], t[1], t[2]),
    );
}

// --- names of the rules' paths, written at the user's spans -----------------------------

/// The generated code calls the rules, `::autodiff::__private::prim::<op>::forward(..)`,
/// `vjp0`, `jvp1`, `::autodiff::__private::Tangent::accumulate`, with every token of the path
/// at the user's expression (so that their panics point there): items and locals named as
/// the path's segments, beside the function and in its body, change nothing.
mod rule_names {
    #![allow(dead_code)]
    use autodiff::prelude::*;

    pub mod prim {
        pub mod mul {
            pub fn forward(_: f64, _: f64) -> f64 {
                f64::NAN
            }
        }
    }
    pub mod __private {}
    pub fn forward(_: f64) -> f64 {
        f64::NAN
    }
    pub fn vjp0() {}
    pub struct Tangent;

    #[differentiable]
    pub fn rule_names(autodiff: f64, forward: f64, vjp0: f64, jvp1: f64) -> f64 {
        let prim = autodiff * forward;
        let accumulate = prim.sin() + vjp0 * jvp1 + prim;
        let accumulated = accumulate * prim;
        let __private = accumulated.exp();
        __private * jvp1
    }
}

#[test]
fn locals_and_items_named_like_the_rules_paths() {
    use rule_names::{rule_names, rule_names_grad, rule_names_jvp};
    check_scalar(
        "rule_names",
        &[0.3, -0.4, 0.9, 0.7],
        |v| rule_names(v[0], v[1], v[2], v[3]),
        |v| {
            let (value, g) = rule_names_grad(v[0], v[1], v[2], v[3]);
            (value, vec![g.0, g.1, g.2, g.3])
        },
        |v, t| rule_names_jvp(v[0], v[1], v[2], v[3], t[0], t[1], t[2], t[3]),
    );
}

// --- modules, visibility, composition across them ---------------------------------------

mod layers {
    use autodiff::ndarray::Array1;
    use autodiff::prelude::*;

    #[differentiable]
    pub fn dense(w: &Array1<f64>, x: &Array1<f64>, b: f64) -> f64 {
        (w.dot(x) + b).tanh()
    }

    #[differentiable]
    pub(crate) fn square(x: f64) -> f64 {
        x * x
    }

    #[differentiable]
    fn private_cube(x: f64) -> f64 {
        x * x * x
    }

    pub mod inner {
        use autodiff::prelude::*;

        #[differentiable]
        pub(super) fn halve(x: f64) -> f64 {
            0.5 * x
        }

        #[differentiable]
        pub(in crate::layers) fn third(x: f64) -> f64 {
            x / 3.0
        }
    }

    /// Calls of private, `pub(super)` and `pub(in …)` functions of this module and below.
    #[differentiable]
    pub fn private_calls(x: f64) -> f64 {
        private_cube(x) + inner::halve(x) + inner::third(x)
    }
}

/// Calls across modules, of `pub` and `pub(crate)` functions.
#[differentiable(wrt(w, b))]
fn through_layers(w: &Array1<f64>, b: f64, x: &Array1<f64>) -> f64 {
    layers::square(layers::dense(w, x, b)) + layers::private_calls(b)
}

#[test]
fn modules_and_visibility() {
    let x = array![0.3, -0.8];
    check_scalar(
        "through_layers",
        &[0.4, 0.7, -0.2],
        |v| through_layers(&array![v[0], v[1]], v[2], &x),
        |v| {
            let (value, (dw, db)) = through_layers_grad(&array![v[0], v[1]], v[2], &x);
            let mut g = flat(&dw);
            g.push(db);
            (value, g)
        },
        |v, t| through_layers_jvp(&array![v[0], v[1]], v[2], &x, array![t[0], t[1]], t[2]),
    );
    assert_eq!(layers::square_grad(3.0), (9.0, 6.0));
    assert_eq!(layers::private_calls_grad(3.0).1, 27.0 + 0.5 + 1.0 / 3.0);
}

// --- associated functions in `impl` blocks ----------------------------------------------

struct Model;

/// `#[differentiable]` on the block too: the generated functions are associated functions,
/// and call each other through `Self::`.
#[differentiable]
impl Model {
    /// The generated functions are associated functions too: `Model::loss_grad`.
    #[differentiable]
    fn loss(x: f64, y: f64) -> f64 {
        (x - y).powi(2)
    }

    /// Calls another associated function through `Self::`.
    #[differentiable(wrt(w))]
    pub fn score(w: &Array1<f64>, x: &Array1<f64>) -> f64 {
        Self::loss(w.dot(x), 1.0) + w.sum()
    }

    #[differentiable(hessian)]
    pub(crate) fn bowl(x: f64, y: f64) -> f64 {
        x * x + 3.0 * x * y + y.powi(4)
    }

    #[differentiable]
    fn polar(r: f64, theta: f64) -> (f64, f64) {
        (r * theta.cos(), r * theta.sin())
    }
}

/// A model whose associated functions take `&Self` and have custom rules.
#[derive(Parameters, Clone)]
struct Net {
    w: Array1<f64>,
    b: f64,
}

#[differentiable]
impl Net {
    /// ln(1 + eˣ), a primitive whose rules are associated functions too.
    #[differentiable(vjp = Self::soft_vjp_rule, jvp = Self::soft_jvp_rule)]
    fn soft(x: f64) -> f64 {
        x.exp().ln_1p()
    }

    fn soft_vjp_rule(x: f64, cotangent: f64) -> (f64, f64) {
        (Self::soft(x), cotangent * sigmoid(x))
    }

    fn soft_jvp_rule(x: f64, x_tangent: f64) -> (f64, f64) {
        (Self::soft(x), x_tangent * sigmoid(x))
    }

    #[differentiable(wrt(p))]
    fn loss(p: &Self, x: &Array1<f64>) -> f64 {
        Self::soft(p.w.dot(x) + p.b)
    }
}

/// A free function calling an associated one by its type's path.
#[differentiable]
fn free_calls_associated(x: f64) -> f64 {
    Model::loss(x, 2.0) * 3.0
}

#[test]
fn associated_functions() {
    check_scalar(
        "Model::loss",
        &[0.3, -0.4],
        |v| Model::loss(v[0], v[1]),
        |v| scalar_grad2(Model::loss_grad(v[0], v[1])),
        |v, t| Model::loss_jvp(v[0], v[1], t[0], t[1]),
    );
    let x = array![0.5, -1.5];
    check_scalar(
        "Model::score",
        &[0.2, 0.6],
        |v| Model::score(&array![v[0], v[1]], &x),
        |v| {
            let (value, g) = Model::score_grad(&array![v[0], v[1]], &x);
            (value, flat(&g))
        },
        |v, t| Model::score_jvp(&array![v[0], v[1]], &x, array![t[0], t[1]]),
    );
    let (_, _, h) = Model::bowl_hessian(1.0, 2.0);
    assert_eq!(h, array![[2.0, 3.0], [3.0, 48.0]]);
    let (_, j) = Model::polar_jacobian(2.0, 0.0);
    assert_eq!(j, array![[1.0, 0.0], [0.0, 2.0]]);
    assert_eq!(free_calls_associated_grad(5.0), (27.0, 18.0));
    let x = array![0.1, 0.2];
    let net = |v: &[f64]| Net {
        w: array![v[0], v[1]],
        b: v[2],
    };
    check_scalar(
        "Net::loss",
        &[1.0, 2.0, 0.5],
        |v| Net::loss(&net(v), &x),
        |v| {
            let (value, g) = Net::loss_grad(&net(v), &x);
            let mut flat_g = flat(&g.w);
            flat_g.push(g.b);
            (value, flat_g)
        },
        |v, t| Net::loss_jvp(&net(v), &x, net(t)),
    );
}

// --- attributes on the function ---------------------------------------------------------

/// A documented function.
///
/// With several attributes, all kept on the original.
#[differentiable]
#[inline]
#[must_use]
#[allow(clippy::many_single_char_names)]
#[cfg(test)]
#[cfg_attr(test, allow(clippy::suboptimal_flops))]
fn attributed(a: f64, b: f64, c: f64, d: f64, e: f64) -> f64 {
    a * b + c * d * e
}

#[inline(always)]
#[differentiable]
#[doc(hidden)]
pub fn attributes_before(x: f64) -> f64 {
    x.sin()
}

#[test]
fn attributes_on_the_function() {
    let (value, g) = attributed_grad(1.0, 2.0, 3.0, 4.0, 5.0);
    assert_eq!(value, attributed(1.0, 2.0, 3.0, 4.0, 5.0));
    assert_eq!(g, (2.0, 1.0, 20.0, 15.0, 12.0));
    assert_eq!(attributes_before_grad(0.0), (0.0, 1.0));
}

// --- items in the body, lifetimes and `where` clauses ------------------------------------

#[differentiable]
fn with_items(x: f64, n: usize) -> f64 {
    use std::f64::consts::PI;
    const HALF: f64 = 0.5;
    fn scale(n: usize) -> f64 {
        n as f64 * HALF
    }
    let k = scale(n);
    (x * PI).sin() * k + HALF * x
}

/// A differentiable helper defined in the body, called on differentiated values.
#[differentiable]
fn with_differentiable_helper(x: f64) -> f64 {
    #[differentiable]
    fn helper(y: f64) -> f64 {
        y.exp() * 2.0
    }
    helper(x) + x
}

#[differentiable]
fn with_lifetime<'a>(x: ArrayView1<'a, f64>, s: f64) -> f64
where
    'a: 'a,
    f64: Copy,
{
    (&x * s).sum() + x.dot(&x)
}

/// Called from another differentiable function, through its companions.
#[differentiable]
fn calls_with_lifetime(x: &Array1<f64>, s: f64) -> f64 {
    with_lifetime(x.view(), s) * with_lifetime(x.view(), 2.0)
}

#[test]
fn items_lifetimes_and_where_clauses() {
    check_scalar(
        "calls_with_lifetime",
        &[0.3, -0.6, 1.5],
        |v| calls_with_lifetime(&array![v[0], v[1]], v[2]),
        |v| {
            let (value, (dx, ds)) = calls_with_lifetime_grad(&array![v[0], v[1]], v[2]);
            let mut g = flat(&dx);
            g.push(ds);
            (value, g)
        },
        |v, t| calls_with_lifetime_jvp(&array![v[0], v[1]], v[2], array![t[0], t[1]], t[2]),
    );
    check_scalar(
        "with_items",
        &[0.3],
        |v| with_items(v[0], 3),
        |v| {
            let (value, g) = with_items_grad(v[0], 3);
            (value, vec![g])
        },
        |v, t| with_items_jvp(v[0], 3, t[0]),
    );
    check_scalar(
        "with_differentiable_helper",
        &[0.3],
        |v| with_differentiable_helper(v[0]),
        |v| {
            let (value, g) = with_differentiable_helper_grad(v[0]);
            (value, vec![g])
        },
        |v, t| with_differentiable_helper_jvp(v[0], t[0]),
    );
    check_scalar(
        "with_lifetime",
        &[0.3, -0.6, 1.5],
        |v| with_lifetime(array![v[0], v[1]].view(), v[2]),
        |v| {
            let (value, (dx, ds)) = with_lifetime_grad(array![v[0], v[1]].view(), v[2]);
            let mut g = flat(&dx);
            g.push(ds);
            (value, g)
        },
        |v, t| with_lifetime_jvp(array![v[0], v[1]].view(), v[2], array![t[0], t[1]], t[2]),
    );
}

/// A generic `impl` (found by review): the sweep's body, a function of its own where the
/// parameters allow the pool, could not see the impl's lifetime or constant parameters.
struct Window<'a, const N: usize>(ArrayView1<'a, f64>);

#[differentiable]
impl<'a, const N: usize> Window<'a, N> {
    #[differentiable]
    fn weighted(w: ArrayView1<'a, f64>, x: &Array1<f64>) -> f64 {
        w.dot(x) * N as f64
    }
}

#[test]
fn generic_impls() {
    let (w, x) = (Array1::from(vec![0.5, -1.0]), Array1::from(vec![2.0, 3.0]));
    let (value, (gw, gx)) = Window::<3>::weighted_grad(w.view(), &x);
    assert_eq!(value, -6.0);
    assert_eq!(
        (gw.to_vec(), gx.to_vec()),
        (vec![6.0, 9.0], vec![1.5, -3.0])
    );
    let _ = Window::<3>(w.view()).0;
}
