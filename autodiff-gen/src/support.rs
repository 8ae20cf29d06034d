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
