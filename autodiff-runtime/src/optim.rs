//! Optimizers for any [`Parameters`]: `opt.step(&mut model, &gradient)`, as PyTorch's
//! `optimizer.step()`. Their state (velocities, moments) is kept as flat vectors in the order
//! of the model's leaves, created on the first step.

use num_traits::Float;

use crate::parameters::Parameters;

/// Something that updates parameters from their gradient.
pub trait Optimizer<P: Parameters> {
    /// One update of `params` from `grad`, a gradient of the same type and shapes.
    fn step(&mut self, params: &mut P, grad: &P);
}

/// Makes `state` one zero per parameter on the first step; on later steps, checks that the
/// model is the one the state was made for.
fn state_for<A: Float, P: Parameters<Elem = A>>(state: &mut Vec<A>, params: &P) {
    let n = params.num_parameters();
    if state.is_empty() {
        state.resize(n, A::zero());
    }
    assert_eq!(
        state.len(),
        n,
        "optimizer: its state is for a model of {} parameters, stepped with one of {n}",
        state.len()
    );
}

/// Stochastic gradient descent, the lectures' w ← w − η ∇L, with optional momentum
/// (v ← μv + ∇L + λw, w ← w − ηv, as PyTorch's `SGD`) and weight decay λ (L2).
///
/// ```
/// use autodiff_runtime::optim::{Optimizer, Sgd};
///
/// let mut w = 1.0_f64;
/// let mut sgd = Sgd::new(0.1);
/// sgd.step(&mut w, &2.0); // the gradient of w² at 1
/// assert!((w - 0.8).abs() < 1e-15);
/// ```
#[derive(Clone, Debug)]
pub struct Sgd<A> {
    /// The learning rate η.
    pub lr: A,
    /// The momentum μ (0 for plain gradient descent).
    pub momentum: A,
    /// The weight decay λ: λw is added to the gradient.
    pub weight_decay: A,
    velocity: Vec<A>,
}

impl<A: Float> Sgd<A> {
    /// Plain gradient descent with learning rate `lr`.
    pub fn new(lr: A) -> Self {
        Sgd {
            lr,
            momentum: A::zero(),
            weight_decay: A::zero(),
            velocity: Vec::new(),
        }
    }

    /// With momentum μ.
    pub fn momentum(mut self, momentum: A) -> Self {
        self.momentum = momentum;
        self
    }

    /// With weight decay λ.
    pub fn weight_decay(mut self, weight_decay: A) -> Self {
        self.weight_decay = weight_decay;
        self
    }
}

impl<A: Float, P: Parameters<Elem = A>> Optimizer<P> for Sgd<A> {
    fn step(&mut self, params: &mut P, grad: &P) {
        let Sgd {
            lr,
            momentum,
            weight_decay,
            ref mut velocity,
        } = *self;
        if momentum != A::zero() {
            state_for(velocity, params);
        }
        let mut offset = 0;
        params.for_each_leaf_mut_with(grad, &mut |w, g| {
            let v = velocity
                .get_mut(offset..offset + w.len())
                .unwrap_or(&mut []);
            offset += w.len();
            for (k, (w, &g)) in w.iter_mut().zip(g).enumerate() {
                let mut d = g + weight_decay * *w;
                if let Some(v) = v.get_mut(k) {
                    *v = momentum * *v + d;
                    d = *v;
                }
                *w = *w - lr * d;
            }
        });
    }
}

/// Adam (Kingma & Ba, 2015): per-parameter steps from bias-corrected running moments of the
/// gradient, with PyTorch's defaults β₁ = 0.9, β₂ = 0.999, ε = 1e-8.
///
/// ```
/// use autodiff_runtime::optim::{Adam, Optimizer};
///
/// let mut w = 1.0_f64;
/// let mut adam = Adam::new(0.01);
/// adam.step(&mut w, &2.0);
/// assert!((w - 0.99).abs() < 1e-9); // the first step is lr · sign(g)
/// ```
#[derive(Clone, Debug)]
pub struct Adam<A> {
    /// The learning rate.
    pub lr: A,
    /// The decay of the first moment.
    pub beta1: A,
    /// The decay of the second moment.
    pub beta2: A,
    /// Added to the denominator, for stability.
    pub eps: A,
    /// Weight decay λ: λw is added to the gradient.
    pub weight_decay: A,
    steps: i32,
    m: Vec<A>,
    v: Vec<A>,
}

impl<A: Float> Adam<A> {
    /// Adam with learning rate `lr` and PyTorch's defaults for the rest.
    pub fn new(lr: A) -> Self {
        let constant = |c: f64| A::from(c).expect("a float type holds Adam's constants");
        Adam {
            lr,
            beta1: constant(0.9),
            beta2: constant(0.999),
            eps: constant(1e-8),
            weight_decay: A::zero(),
            steps: 0,
            m: Vec::new(),
            v: Vec::new(),
        }
    }

    /// With weight decay λ.
    pub fn weight_decay(mut self, weight_decay: A) -> Self {
        self.weight_decay = weight_decay;
        self
    }
}

impl<A: Float, P: Parameters<Elem = A>> Optimizer<P> for Adam<A> {
    fn step(&mut self, params: &mut P, grad: &P) {
        state_for(&mut self.m, params);
        state_for(&mut self.v, params);
        self.steps = self.steps.saturating_add(1);
        let Adam {
            lr,
            beta1,
            beta2,
            eps,
            weight_decay,
            steps,
            ref mut m,
            ref mut v,
        } = *self;
        let one = A::one();
        let correction1 = one - beta1.powi(steps);
        let correction2 = one - beta2.powi(steps);
        let mut offset = 0;
        params.for_each_leaf_mut_with(grad, &mut |w, g| {
            let range = offset..offset + w.len();
            offset += w.len();
            let (m, v) = (&mut m[range.clone()], &mut v[range]);
            for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m).zip(v) {
                let g = g + weight_decay * *w;
                *m = beta1 * *m + (one - beta1) * g;
                *v = beta2 * *v + (one - beta2) * g * g;
                let m_hat = *m / correction1;
                let v_hat = *v / correction2;
                *w = *w - lr * m_hat / (v_hat.sqrt() + eps);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn momentum_accumulates_velocity() {
        let mut w = array![1.0_f64, -1.0];
        let mut sgd = Sgd::new(0.5).momentum(0.9);
        let g = array![1.0, 2.0];
        sgd.step(&mut w, &g);
        assert_eq!(w, array![0.5, -2.0]);
        sgd.step(&mut w, &g); // v = 0.9 g + g = 1.9 g
        assert_eq!(w, array![0.5 - 0.95, -2.0 - 1.9]);
    }

    #[test]
    fn weight_decay_pulls_towards_zero() {
        let mut w = 2.0_f64;
        Sgd::new(0.1).weight_decay(0.5).step(&mut w, &0.0);
        assert!((w - 1.9).abs() < 1e-15);
    }

    #[test]
    fn adam_minimizes_a_quadratic() {
        let mut w = array![3.0_f64, -2.0];
        let mut adam = Adam::new(0.1);
        for _ in 0..500 {
            let g = w.mapv(|w| 2.0 * w);
            adam.step(&mut w, &g);
        }
        assert!(w.iter().all(|w| w.abs() < 1e-3), "{w}");
    }
}
