//! Constants aliased, moved and mutated after differentiated operations read them: a corpus
//! of 30 random functions (written once by a throwaway generator, kept as a regression test:
//! each made the generated code fail to compile before constants were tracked). Each
//! gradient is checked against central differences, its jvp against the gradient, and its
//! Hessian against differences of the gradient; autodiff-gen now generates these shapes too.
#![allow(dead_code, unused_variables, unused_mut, clippy::all)]
use autodiff::ndarray::{Array1, Axis};
use autodiff::prelude::*;
fn consume(a: Array1<f64>) -> f64 {
    a.sum()
}
#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f0(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let mut a1 = w.view().to_owned();
    let a2 = a1.len() as f64 + a1.sum();
    let mut a3 = w * 2.0;
    let b1 = c.dot(v);
    let a4 = c.len() as f64 + c.sum();
    let a5 = c.clone();
    let b2 = v.t().to_owned();
    let a6 = a3.sum_axis(Axis(0)).sum() * a3.to_owned();
    x + b1 + v.sum() + b2.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f1(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let a1 = c.clone();
    let b1 = x.sin() * k;
    let mut a2 = a1.clone();
    a2.mapv_inplace(f64::exp);
    x + b1 + v.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f2(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let mut a1 = c.sum_axis(Axis(0)).sum() * c.to_owned();
    let b1 = x * a1.sum();
    let b2 = x * w.sum();
    let b3 = (v * w).sum();
    let a2 = w.sum_axis(Axis(0)).sum() * w.to_owned();
    let a3 = a2 * 3.0;
    x + b1 + b2 + b3 + v.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f3(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let mut a1 = c.mapv(f64::sin);
    let b1 = (&c * x).sum();
    let b2 = b1 * a1.sum();
    a1 -= &a1.cos();
    let a2 = a1.len() as f64 + a1.sum();
    x + b1 + b2 + v.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f4(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let a1 = c.clone();
    let b1 = c.dot(v);
    let mut a2 = c.view().to_owned();
    let b2 = v.t().to_owned();
    let b3 = b2.t().to_owned();
    let a3 = c.len() as f64 + c.sum();
    let b4 = b1.sin() * a3;
    let mut a4 = &a1 + 1.0;
    x + b1 + b4 + v.sum() + b2.sum() + b3.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f5(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let b1 = v.dot(w);
    let b2 = b1 * c.sum();
    let a1 = c.mapv(f64::sin);
    let b3 = (v + w).tanh();
    let b4 = (v + &a1).tanh();
    let mut a2 = &c + 1.0;
    x + b1 + b2 + v.sum() + b3.sum() + b4.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f6(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let a1 = &c + 1.0;
    let a2 = a1.t().to_owned();
    let a3 = c;
    x + v.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f7(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let mut a1 = c.clone();
    let a2 = c.len() as f64 + c.sum();
    a1.mapv_inplace(f64::exp);
    let a3 = a1.into_raw_vec_and_offset().0.len() as f64;
    let b1 = c.dot(v);
    let a4 = c.len() as f64 + c.sum();
    let b2 = w.dot(v);
    let a5 = w.view().to_owned();
    let mut a6 = w.clone();
    x + b1 + b2 + v.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f8(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let a1 = w.sum_axis(Axis(0)).sum() * w.to_owned();
    let a2 = w.len() as f64 + w.sum();
    let b1 = (&c * x).sum();
    let b2 = c.dot(v);
    let a3 = a1.len() as f64 + a1.sum();
    let b3 = v.t().to_owned();
    x + b1 + b2 + v.sum() + b3.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f9(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let a1 = c.into_raw_vec_and_offset().0.len() as f64;
    let b1 = (v + w).tanh();
    let a2 = w.len() as f64 + w.sum();
    let b2 = v.dot(w);
    let b3 = (w * x).sum();
    let a3 = w * 2.0;
    x + b2 + b3 + v.sum() + b1.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f10(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let b1 = (v * w).sum();
    let b2 = b1 * c.sum();
    let b3 = c.dot(v);
    let a1 = w.to_owned();
    let a2 = a1 * 2.0;
    let mut a3 = &c + 1.0;
    x + b1 + b2 + b3 + v.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f11(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let b1 = x.sin() * k;
    let b2 = (v * &c).sum();
    let b3 = (v + w).tanh();
    let b4 = (v * w).sum();
    let a1 = c.len() as f64 + c.sum();
    let a2 = c;
    let b5 = (&b3 + w).tanh();
    let a3 = a2 * 3.0;
    let a4 = a3.len() as f64 + a3.sum();
    x + b1 + b2 + b4 + v.sum() + b3.sum() + b5.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f12(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let a1 = c.into_raw_vec_and_offset().0.len() as f64;
    let a2 = w.len() as f64 + w.sum();
    let mut a3 = w * 2.0;
    a3 *= 0.5;
    let b1 = x.sin() * a1;
    let b2 = v.dot(&a3);
    let a4 = a3 * 3.0;
    let b3 = (&a4 * x).sum();
    let a5 = w * 2.0;
    x + b1 + b2 + b3 + v.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f13(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let a1 = c.len() as f64 + c.sum();
    let b1 = v.t().to_owned();
    let a2 = c * 3.0;
    let a3 = w.len() as f64 + w.sum();
    x + v.sum() + b1.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f14(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let b1 = v.dot(&c);
    let mut a1 = c.view().to_owned();
    let a2 = c.to_owned();
    let a3 = a1.len() as f64 + a1.sum();
    let b2 = b1 * a2.sum();
    a1 *= 0.5;
    let a4 = c.clone();
    a1 -= &a1.cos();
    x + b1 + b2 + v.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f15(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let b1 = v.t().to_owned();
    let b2 = c.dot(&b1);
    let b3 = (&c * x).sum();
    x + b2 + b3 + v.sum() + b1.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f16(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let mut a1 = c.mapv(f64::sin);
    let b1 = (v * w).sum();
    let mut a2 = c.mapv(f64::sin);
    let mut a3 = w.clone();
    let b2 = x.sin() * k;
    x + b1 + b2 + v.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f17(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let a1 = c;
    let mut a2 = w.to_owned();
    let a3 = w.to_owned();
    let b1 = x * a2.sum();
    x + b1 + v.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f18(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let b1 = (v + w).tanh();
    let a1 = c.into_raw_vec_and_offset().0.len() as f64;
    let a2 = w.len() as f64 + w.sum();
    x + v.sum() + b1.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f19(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let b1 = x * w.sum();
    let a1 = w.view().to_owned();
    let a2 = w.len() as f64 + w.sum();
    let mut a3 = &c + 1.0;
    let b2 = (&c * b1).sum();
    x + b1 + b2 + v.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f20(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let b1 = x.sin() * k;
    let a1 = &c + 1.0;
    let mut a2 = w.sum_axis(Axis(0)).sum() * w.to_owned();
    let a3 = a1;
    let a4 = a3.mapv(f64::sin);
    x + b1 + v.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f21(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let mut a1 = c.sum_axis(Axis(0)).sum() * c.to_owned();
    let a2 = c.into_raw_vec_and_offset().0.len() as f64;
    let a3 = a1.clone();
    a1.mapv_inplace(f64::exp);
    let a4 = &a1 + 1.0;
    let a5 = a1.len() as f64 + a1.sum();
    x + v.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f22(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let a1 = w.len() as f64 + w.sum();
    let mut a2 = c.mapv(f64::sin);
    let b1 = (v * &c).sum();
    let a3 = c.len() as f64 + c.sum();
    x + b1 + v.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f23(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let mut a1 = c.mapv(f64::sin);
    let mut a2 = c.sum_axis(Axis(0)).sum() * c.to_owned();
    let a3 = a1.len() as f64 + a1.sum();
    let mut a4 = a2.mapv(f64::sin);
    let a5 = c * 3.0;
    let b1 = v.dot(&a5);
    x + b1 + v.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f24(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let a1 = c.to_owned();
    let a2 = a1 * 3.0;
    let a3 = w + 1.0;
    let a4 = a3 * 3.0;
    let b1 = v.dot(&a2);
    x + b1 + v.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f25(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let b1 = v.dot(w);
    let b2 = v.t().to_owned();
    let mut a1 = c * 2.0;
    let b3 = (&a1 * b1).sum();
    let b4 = b2.t().to_owned();
    let a2 = w.len() as f64 + w.sum();
    let a3 = &a1 + 1.0;
    let a4 = w.len() as f64 + w.sum();
    let a5 = a1 * 3.0;
    x + b1 + b3 + v.sum() + b2.sum() + b4.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f26(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let a1 = c;
    let a2 = a1 * 3.0;
    let mut a3 = a2.clone();
    let a4 = a3.clone();
    let mut a5 = a3.view().to_owned();
    a3 -= &a3.cos();
    let a6 = a5.sum_axis(Axis(0)).sum() * a5.to_owned();
    let b1 = (&a6 * x).sum();
    x + b1 + v.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f27(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let a1 = c * 2.0;
    let mut a2 = a1.mapv(f64::sin);
    let mut a3 = a1.to_owned();
    let mut a4 = a3 * 2.0;
    a4.mapv_inplace(f64::exp);
    let a5 = a1.len() as f64 + a1.sum();
    x + v.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f28(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let a1 = c.len() as f64 + c.sum();
    let b1 = x * w.sum();
    let b2 = (w * b1).sum();
    let a2 = w.t().to_owned();
    let b3 = x.sin() * a1;
    let b4 = (v * &a2).sum();
    let b5 = v.t().to_owned();
    let a3 = c.to_owned();
    let a4 = a2.len() as f64 + a2.sum();
    x + b1 + b2 + b3 + b4 + v.sum() + b5.sum()
}

#[differentiable(hessian, wrt(x, v))]
#[allow(unused_variables, unused_mut, clippy::all)]
fn f29(x: f64, v: &Array1<f64>, c: Array1<f64>, n: usize, w: &Array1<f64>, k: f64) -> f64 {
    let mut a1 = c.clone();
    a1 -= &a1.cos();
    let b1 = (&a1 * x).sum();
    let a2 = c;
    a1.mapv_inplace(f64::exp);
    let mut a3 = a2 * 2.0;
    x + b1 + v.sum()
}

#[test]
fn generated() {
    use autodiff::check::{central_difference, close};
    let p = [0.4, 0.3, -0.2, 0.5];
    let c = Array1::from(vec![0.1, 0.2, -0.3]);
    let w = Array1::from(vec![0.5, -0.1, 0.25]);
    {
        let f = |p: &[f64]| f0(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f0_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f0 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f0: {g:?} vs {fd:?}");
        }
        let (_, jv) = f0_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f0 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f0_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f0 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f0_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f0 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f1(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f1_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f1 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f1: {g:?} vs {fd:?}");
        }
        let (_, jv) = f1_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f1 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f1_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f1 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f1_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f1 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f2(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f2_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f2 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f2: {g:?} vs {fd:?}");
        }
        let (_, jv) = f2_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f2 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f2_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f2 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f2_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f2 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f3(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f3_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f3 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f3: {g:?} vs {fd:?}");
        }
        let (_, jv) = f3_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f3 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f3_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f3 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f3_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f3 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f4(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f4_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f4 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f4: {g:?} vs {fd:?}");
        }
        let (_, jv) = f4_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f4 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f4_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f4 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f4_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f4 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f5(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f5_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f5 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f5: {g:?} vs {fd:?}");
        }
        let (_, jv) = f5_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f5 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f5_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f5 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f5_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f5 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f6(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f6_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f6 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f6: {g:?} vs {fd:?}");
        }
        let (_, jv) = f6_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f6 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f6_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f6 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f6_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f6 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f7(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f7_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f7 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f7: {g:?} vs {fd:?}");
        }
        let (_, jv) = f7_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f7 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f7_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f7 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f7_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f7 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f8(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f8_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f8 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f8: {g:?} vs {fd:?}");
        }
        let (_, jv) = f8_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f8 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f8_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f8 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f8_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f8 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f9(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f9_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f9 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f9: {g:?} vs {fd:?}");
        }
        let (_, jv) = f9_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f9 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f9_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f9 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f9_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f9 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f10(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f10_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f10 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f10: {g:?} vs {fd:?}");
        }
        let (_, jv) = f10_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f10 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f10_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f10 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f10_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f10 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f11(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f11_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f11 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f11: {g:?} vs {fd:?}");
        }
        let (_, jv) = f11_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f11 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f11_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f11 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f11_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f11 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f12(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f12_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f12 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f12: {g:?} vs {fd:?}");
        }
        let (_, jv) = f12_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f12 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f12_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f12 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f12_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f12 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f13(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f13_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f13 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f13: {g:?} vs {fd:?}");
        }
        let (_, jv) = f13_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f13 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f13_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f13 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f13_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f13 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f14(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f14_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f14 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f14: {g:?} vs {fd:?}");
        }
        let (_, jv) = f14_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f14 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f14_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f14 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f14_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f14 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f15(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f15_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f15 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f15: {g:?} vs {fd:?}");
        }
        let (_, jv) = f15_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f15 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f15_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f15 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f15_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f15 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f16(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f16_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f16 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f16: {g:?} vs {fd:?}");
        }
        let (_, jv) = f16_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f16 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f16_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f16 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f16_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f16 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f17(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f17_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f17 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f17: {g:?} vs {fd:?}");
        }
        let (_, jv) = f17_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f17 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f17_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f17 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f17_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f17 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f18(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f18_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f18 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f18: {g:?} vs {fd:?}");
        }
        let (_, jv) = f18_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f18 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f18_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f18 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f18_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f18 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f19(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f19_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f19 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f19: {g:?} vs {fd:?}");
        }
        let (_, jv) = f19_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f19 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f19_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f19 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f19_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f19 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f20(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f20_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f20 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f20: {g:?} vs {fd:?}");
        }
        let (_, jv) = f20_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f20 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f20_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f20 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f20_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f20 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f21(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f21_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f21 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f21: {g:?} vs {fd:?}");
        }
        let (_, jv) = f21_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f21 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f21_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f21 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f21_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f21 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f22(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f22_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f22 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f22: {g:?} vs {fd:?}");
        }
        let (_, jv) = f22_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f22 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f22_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f22 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f22_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f22 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f23(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f23_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f23 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f23: {g:?} vs {fd:?}");
        }
        let (_, jv) = f23_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f23 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f23_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f23 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f23_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f23 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f24(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f24_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f24 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f24: {g:?} vs {fd:?}");
        }
        let (_, jv) = f24_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f24 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f24_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f24 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f24_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f24 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f25(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f25_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f25 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f25: {g:?} vs {fd:?}");
        }
        let (_, jv) = f25_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f25 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f25_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f25 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f25_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f25 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f26(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f26_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f26 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f26: {g:?} vs {fd:?}");
        }
        let (_, jv) = f26_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f26 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f26_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f26 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f26_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f26 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f27(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f27_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f27 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f27: {g:?} vs {fd:?}");
        }
        let (_, jv) = f27_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f27 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f27_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f27 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f27_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f27 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f28(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f28_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f28 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f28: {g:?} vs {fd:?}");
        }
        let (_, jv) = f28_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f28 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f28_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f28 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f28_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f28 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
    {
        let f = |p: &[f64]| f29(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        let (value, (dx, dv)) =
            f29_grad(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(close(value, f(&p), 1e-9), "f29 value");
        let mut g = vec![dx];
        g.extend(dv.iter().copied());
        let fd = central_difference(&f, &p, 1e-6);
        for (a, b) in g.iter().zip(&fd) {
            assert!(close(*a, *b, 1e-5), "f29: {g:?} vs {fd:?}");
        }
        let (_, jv) = f29_jvp(
            p[0],
            &Array1::from(p[1..].to_vec()),
            c.clone(),
            3,
            &w,
            0.7,
            0.3,
            Array1::from(vec![0.2, -0.5, 1.0]),
        );
        let expect = 0.3 * g[0] + 0.2 * g[1] - 0.5 * g[2] + 1.0 * g[3];
        assert!(close(jv, expect, 1e-7), "f29 jvp {jv} vs {expect}");
        let (hv, (hx, hvv), h) =
            f29_hessian(p[0], &Array1::from(p[1..].to_vec()), c.clone(), 3, &w, 0.7);
        assert!(
            close(hv, value, 1e-9)
                && close(hx, dx, 1e-9)
                && hvv.iter().zip(dv.iter()).all(|(a, b)| close(*a, *b, 1e-9)),
            "f29 hessian gradient"
        );
        for j in 0..4 {
            let col = central_difference(
                |q| {
                    let (_, (gx, gv)) =
                        f29_grad(q[0], &Array1::from(q[1..].to_vec()), c.clone(), 3, &w, 0.7);
                    if j == 0 {
                        gx
                    } else {
                        gv[j - 1]
                    }
                },
                &p,
                1e-6,
            );
            for (r, fd) in col.iter().enumerate() {
                assert!(
                    close(h[[r, j]], *fd, 1e-4),
                    "f29 H[{r}, {j}] {} vs {fd}",
                    h[[r, j]]
                );
            }
        }
    }
}
