//! What generated crates use: the struct of parameters, flat readers and writers, and the
//! functions with custom rules that programs call.

use autodiff::ndarray::{Array1, Array2};
use autodiff::prelude::*;
use num_traits::{NumCast, ToPrimitive};

/// The struct of parameters programs take as `p: &Params`.
#[derive(Parameters, Clone, Debug)]
pub struct Params {
    pub w: Array2<f64>,
    pub b: Array1<f64>,
    pub s: f64,
    pub inner: Inner,
}

#[derive(Parameters, Clone, Debug)]
pub struct Inner {
    pub v: Array1<f64>,
    pub k: f64,
}

impl Params {
    /// Zeros of the shapes in [`crate::generate::STRUCT_FIELDS`].
    pub fn template() -> Params {
        Params {
            w: Array2::zeros((3, 2)),
            b: Array1::zeros(2),
            s: 0.0,
            inner: Inner {
                v: Array1::zeros(3),
                k: 0.0,
            },
        }
    }
}

/// Reads values of any [`Parameters`] type, leaf by leaf, from a flat slice of f64.
pub struct Reader<'a> {
    data: &'a [f64],
    at: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [f64]) -> Self {
        Reader { data, at: 0 }
    }

    /// `template` with its leaves filled from the next values.
    pub fn take<P: Parameters>(&mut self, mut template: P) -> P {
        let zeros = template.zeros_like();
        let (data, at) = (self.data, &mut self.at);
        template.for_each_leaf_mut_with(&zeros, &mut |leaf, _| {
            for slot in leaf.iter_mut() {
                *slot = <P::Elem as NumCast>::from(data[*at]).expect("representable");
                *at += 1;
            }
        });
        template
    }
}

/// The leaves of `value` in order, as f64.
pub fn flat<P: Parameters>(value: &P) -> Vec<f64> {
    let mut out = Vec::new();
    value.for_each_leaf(&mut |leaf| {
        out.extend(leaf.iter().map(|v| v.to_f64().expect("a float")));
    });
    out
}

/// `f_trace`'s result and its inputs' adjoints (flat, in parameter order), once every
/// entry's adjoint has been found equal to the sum, over the entries that read it, of their
/// adjoints times the local partials (plus 1 for the result), wherever those are numbers:
/// each execution of a node got the adjoint of that execution. `single`: computed in f32.
pub fn traced(trace: &Trace, single: bool) -> Result<(Vec<f64>, Vec<f64>), String> {
    let tolerance = if single { 2e-3 } else { 1e-9 };
    let output = trace.output;
    let scalar = |v: Option<&autodiff::TraceValue>| v.and_then(autodiff::TraceValue::as_scalar);
    for node in &trace.nodes {
        let Some(adjoint) = scalar(node.adjoint.as_ref()) else {
            continue;
        };
        let seed = if output == Some(node.index) { 1.0 } else { 0.0 };
        let (mut sum, mut size) = (seed, seed + adjoint.abs());
        let mut known = adjoint.is_finite();
        for reader in &trace.nodes {
            for arg in reader.args.iter().filter(|a| a.index == node.index) {
                let g = match &reader.adjoint {
                    None => Some(0.0),
                    Some(g) => g.as_scalar(),
                };
                match (g, arg.partial) {
                    (Some(g), Some(p)) if (g * p).is_finite() => {
                        sum += g * p;
                        size += (g * p).abs();
                    }
                    _ => known = false,
                }
            }
        }
        if known && (adjoint - sum).abs() > tolerance * size.max(1e-3) {
            return Err(format!(
                "f_trace: v̄{} = {adjoint:e}, but the entries reading it give {sum:e}\n{trace:#}",
                node.index
            ));
        }
    }
    // A trace that names no result (f_trace always names one): nothing to compare.
    let value = match trace.output.and_then(|index| trace.node(index)) {
        Some(node) => node.value.data().to_vec(),
        None => Vec::new(),
    };
    let adjoints = trace
        .nodes
        .iter()
        .filter(|n| n.is_input())
        .flat_map(|n| n.adjoint.iter().flat_map(|a| a.data().to_vec()))
        .collect();
    Ok((value, adjoints))
}

/// Functions with custom rules: primitives to programs that call them.
pub mod custom {
    use super::*;

    /// ln(1 + eˣ), without overflow.
    #[differentiable(vjp = log1pexp_vjp_rule, jvp = log1pexp_jvp_rule)]
    pub fn log1pexp(x: f64) -> f64 {
        x.max(0.0) + (-x.abs()).exp().ln_1p()
    }

    pub fn log1pexp_vjp_rule(x: f64, cotangent: f64) -> (f64, f64) {
        (log1pexp(x), cotangent * sigmoid(x))
    }

    pub fn log1pexp_jvp_rule(x: f64, tangent: f64) -> (f64, f64) {
        (log1pexp(x), tangent * sigmoid(x))
    }

    /// ½‖v‖².
    #[differentiable(vjp = half_sq_norm_vjp_rule, jvp = half_sq_norm_jvp_rule)]
    pub fn half_sq_norm(v: &Array1<f64>) -> f64 {
        0.5 * v.dot(v)
    }

    pub fn half_sq_norm_vjp_rule(v: &Array1<f64>, cotangent: f64) -> (f64, Array1<f64>) {
        (half_sq_norm(v), v * cotangent)
    }

    pub fn half_sq_norm_jvp_rule(v: &Array1<f64>, tangent: Array1<f64>) -> (f64, f64) {
        (half_sq_norm(v), v.dot(&tangent))
    }
}

/// The branch decisions of an instrumented twin (a program's f64 copy whose comparisons of
/// values and casts of values to integers go through these functions): the checks compare
/// the decisions at a point with those at the points of its finite differences, and skip a
/// point where a branch flips in between (central differences across a kink or a jump say
/// nothing about the derivative of the path taken).
pub mod probe {
    use std::cell::RefCell;

    thread_local! {
        static LOG: RefCell<Option<Vec<(u64, f64)>>> = const { RefCell::new(None) };
    }

    fn record(decision: u64, margin: f64) {
        LOG.with(|log| {
            if let Some(log) = log.borrow_mut().as_mut() {
                log.push((decision, margin));
            }
        });
    }

    /// How far `a` is from `b`, relative to their size: how far from flipping.
    fn margin(a: f64, b: f64) -> f64 {
        (a - b).abs() / (1.0 + a.abs() + b.abs())
    }

    fn compare(a: f64, b: f64, taken: bool) -> bool {
        record(taken as u64, margin(a, b));
        taken
    }

    pub fn lt(a: f64, b: f64) -> bool {
        compare(a, b, a < b)
    }

    pub fn le(a: f64, b: f64) -> bool {
        compare(a, b, a <= b)
    }

    pub fn gt(a: f64, b: f64) -> bool {
        compare(a, b, a > b)
    }

    pub fn ge(a: f64, b: f64) -> bool {
        compare(a, b, a >= b)
    }

    pub fn eq(a: f64, b: f64) -> bool {
        compare(a, b, a == b)
    }

    pub fn ne(a: f64, b: f64) -> bool {
        compare(a, b, a != b)
    }

    /// `v as usize`, which changes at every integer from 1 up.
    pub fn cast(v: f64) -> usize {
        let n = v as usize;
        let distance = if v < 1.0 {
            1.0 - v
        } else {
            (v - v.round()).abs()
        };
        record(n as u64 + 2, distance / (1.0 + v.abs()));
        n
    }

    /// The decisions `run` takes, each with its margin.
    pub fn trace(run: impl FnOnce()) -> Vec<(u64, f64)> {
        LOG.with(|log| *log.borrow_mut() = Some(Vec::new()));
        run();
        LOG.with(|log| log.borrow_mut().take().unwrap_or_default())
    }
}
