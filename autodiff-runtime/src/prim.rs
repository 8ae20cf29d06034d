//! The scalar primitives, one module each: `forward` computes the value and `vjpK` the
//! contribution to argument K's adjoint, given the arguments, the result `y` and the result's
//! adjoint `g` (v̄ = ∂output/∂v). Rules may use `y` where that is cheaper than recomputing
//! (exp, sqrt, tanh, sigmoid), as hand-written gradients do.
//!
//! The macro's rule table (`autodiff-macros/src/rules.rs`) names these modules; everything
//! here is `#[inline(always)]` so that the generated code folds to plain arithmetic.

use num_traits::Float;

/// A floating-point constant in the value's own type.
#[inline(always)]
fn lit<T: Float>(v: f64) -> T {
    T::from(v).expect("f64 constants are representable in every float type")
}

/// Sign with sign(0) = 0: the subgradient the rules of `abs` and friends use at the kink.
#[inline(always)]
fn sign<T: Float>(x: T) -> T {
    if x > T::zero() {
        T::one()
    } else if x < T::zero() {
        -T::one()
    } else {
        T::zero()
    }
}

/// Declares a primitive: its forward function and one pullback per argument, each written as
/// the partial derivative ∂y/∂argₖ that the incoming adjoint `g` is multiplied by.
macro_rules! rule {
    ($(#[$doc:meta])* $name:ident $args:tt -> $y:ident = $forward:expr;
     $($vjp:ident: $partial:expr;)+) => {
        $(#[$doc])*
        pub mod $name {
            #[allow(unused_imports)]
            use super::{lit, sign};
            use num_traits::Float;

            rule!(@forward $args $forward);
            $(rule!(@vjp $args $y $vjp $partial);)+
        }
    };
    (@forward ($($arg:ident),+) $forward:expr) => {
        #[inline(always)]
        pub fn forward<T: Float>($($arg: T),+) -> T {
            $forward
        }
    };
    (@vjp ($($arg:ident),+) $y:ident $vjp:ident $partial:expr) => {
        #[inline(always)]
        #[allow(unused_variables)]
        pub fn $vjp<T: Float>($($arg: T,)+ $y: T, g: T) -> T {
            g * ($partial)
        }
    };
}

rule! { /// a + b
add(a, b) -> y = a + b; vjp0: T::one(); vjp1: T::one(); }
rule! { /// a − b
sub(a, b) -> y = a - b; vjp0: T::one(); vjp1: -T::one(); }
rule! { /// a · b
mul(a, b) -> y = a * b; vjp0: b; vjp1: a; }
rule! { /// a / b
div(a, b) -> y = a / b; vjp0: b.recip(); vjp1: -y / b; }
rule! { /// −a
neg(a) -> y = -a; vjp0: -T::one(); }

rule! { /// ln x
ln(x) -> y = x.ln(); vjp0: x.recip(); }
rule! { /// log₂ x
log2(x) -> y = x.log2(); vjp0: (x * lit::<T>(core::f64::consts::LN_2)).recip(); }
rule! { /// log₁₀ x
log10(x) -> y = x.log10(); vjp0: (x * lit::<T>(core::f64::consts::LN_10)).recip(); }
rule! { /// eˣ
exp(x) -> y = x.exp(); vjp0: y; }
rule! { /// 2ˣ
exp2(x) -> y = x.exp2(); vjp0: y * lit::<T>(core::f64::consts::LN_2); }
rule! { /// ln(1 + x)
ln_1p(x) -> y = x.ln_1p(); vjp0: (T::one() + x).recip(); }
rule! { /// eˣ − 1
exp_m1(x) -> y = x.exp_m1(); vjp0: y + T::one(); }

rule! { /// sin x
sin(x) -> y = x.sin(); vjp0: x.cos(); }
rule! { /// cos x
cos(x) -> y = x.cos(); vjp0: -x.sin(); }
rule! { /// tan x
tan(x) -> y = x.tan(); vjp0: T::one() + y * y; }
rule! { /// arcsin x
asin(x) -> y = x.asin(); vjp0: (T::one() - x * x).sqrt().recip(); }
rule! { /// arccos x
acos(x) -> y = x.acos(); vjp0: -(T::one() - x * x).sqrt().recip(); }
rule! { /// arctan x
atan(x) -> y = x.atan(); vjp0: (T::one() + x * x).recip(); }
rule! { /// atan2(a, b), the angle of the point (b, a)
atan2(a, b) -> y = a.atan2(b); vjp0: b / (a * a + b * b); vjp1: -a / (a * a + b * b); }
rule! { /// sinh x
sinh(x) -> y = x.sinh(); vjp0: x.cosh(); }
rule! { /// cosh x
cosh(x) -> y = x.cosh(); vjp0: x.sinh(); }
rule! { /// tanh x
tanh(x) -> y = x.tanh(); vjp0: T::one() - y * y; }

rule! { /// √x
sqrt(x) -> y = x.sqrt(); vjp0: (y + y).recip(); }
rule! { /// ∛x
cbrt(x) -> y = x.cbrt(); vjp0: (lit::<T>(3.0) * y * y).recip(); }
rule! { /// xᵖ for a float exponent; ∂/∂p is taken as 0 at x = 0, its limit for p > 0
    powf(x, p) -> y = x.powf(p);
    vjp0: p * x.powf(p - T::one());
    vjp1: if x == T::zero() { T::zero() } else { y * x.ln() };
}
rule! { /// 1/x
recip(x) -> y = x.recip(); vjp0: -y * y; }
rule! { /// |x|, with derivative 0 at 0
abs(x) -> y = x.abs(); vjp0: sign(x); }
rule! { /// √(a² + b²); its derivative at the origin is taken as 0
    hypot(a, b) -> y = a.hypot(b);
    vjp0: if y == T::zero() { T::zero() } else { a / y };
    vjp1: if y == T::zero() { T::zero() } else { b / y };
}
rule! { /// max(a, b); a tie sends the whole derivative to `a`
    max(a, b) -> y = a.max(b);
    vjp0: if a >= b || b.is_nan() { T::one() } else { T::zero() };
    vjp1: if a >= b || b.is_nan() { T::zero() } else { T::one() };
}
rule! { /// min(a, b); a tie sends the whole derivative to `a`
    min(a, b) -> y = a.min(b);
    vjp0: if a <= b || b.is_nan() { T::one() } else { T::zero() };
    vjp1: if a <= b || b.is_nan() { T::zero() } else { T::one() };
}
rule! { /// a·b + c with one rounding
mul_add(a, b, c) -> y = a.mul_add(b, c); vjp0: b; vjp1: a; vjp2: T::one(); }

rule! { /// σ(x) = 1/(1 + e⁻ˣ)
sigmoid(x) -> y = crate::sigmoid(x); vjp0: y * (T::one() - y); }
rule! { /// max(x, 0), with relu′(0) = 0 as in the lectures
relu(x) -> y = crate::relu(x); vjp0: if x > T::zero() { T::one() } else { T::zero() }; }
rule! { /// ln(1 + eˣ); its derivative is σ(x)
softplus(x) -> y = crate::softplus(x); vjp0: crate::sigmoid(x); }

/// xⁿ for an integer exponent, which is a constant of the program (never differentiated).
pub mod powi {
    use num_traits::Float;

    #[inline(always)]
    pub fn forward<T: Float>(x: T, n: i32) -> T {
        x.powi(n)
    }

    #[inline(always)]
    pub fn vjp0<T: Float>(x: T, n: i32, _y: T, g: T) -> T {
        match n {
            0 => T::zero(),
            _ => g * super::lit::<T>(f64::from(n)) * x.powi(n - 1),
        }
    }
}
