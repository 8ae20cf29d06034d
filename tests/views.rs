//! Views, gathers and reshaping of differentiated arrays (issue 14) beyond the rows of
//! `tensor_primitives.rs` (each primitive in both modes against central differences): slices
//! at loop indices, embedding lookups with repeated tokens, f32, Jacobians, Hessians, traces,
//! bounds read from shapes, and the runtime's messages for shape errors.

use autodiff::ndarray::{array, concatenate, s, stack, Array1, Array2, Axis, Slice};
use autodiff::prelude::*;

mod support;

/// Overlapping windows of a loop index, `s![i..i + 2]`, each window's adjoint added back.
#[differentiable(wrt(x))]
fn windows(x: &Array1<f64>, n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n - 1 {
        s += x.slice(s![i..i + 2]).sum() * x[i];
    }
    s
}

/// Gathers in a loop: an embedding lookup per position, repeated tokens included.
#[differentiable(wrt(e, w))]
fn embedding_loop(e: &Array2<f64>, w: &Array1<f64>, tokens: &[usize]) -> f64 {
    let mut total = 0.0;
    for k in 0..tokens.len() {
        let rows = e.select(Axis(0), &tokens[k..k + 1]);
        total += (rows.index_axis(Axis(0), 0).to_owned() * w).sum().tanh();
    }
    total
}

#[test]
fn slices_and_gathers_inside_loops() {
    let x0 = [0.3, -0.7, 1.1, 0.4, -0.2];
    support::check_scalar(
        "windows",
        &x0,
        |x| windows(&Array1::from(x.to_vec()), 5),
        |x| {
            let (v, g) = windows_grad(&Array1::from(x.to_vec()), 5);
            (v, g.to_vec())
        },
        |x, t| windows_jvp(&Array1::from(x.to_vec()), 5, Array1::from(t.to_vec())),
    );
    let tokens = [2_usize, 0, 2, 1, 2];
    let split = |x: &[f64]| {
        let e = Array2::from_shape_vec((3, 2), x[..6].to_vec()).expect("3 × 2");
        (e, Array1::from(x[6..].to_vec()))
    };
    let x0 = [0.3, -0.2, 0.45, 0.1, -0.35, 0.25, 0.6, -0.15];
    support::check_scalar(
        "embedding_loop",
        &x0,
        |x| {
            let (e, w) = split(x);
            embedding_loop(&e, &w, &tokens)
        },
        |x| {
            let (e, w) = split(x);
            let (v, (ge, gw)) = embedding_loop_grad(&e, &w, &tokens);
            (v, ge.iter().chain(&gw).copied().collect())
        },
        |x, t| {
            let ((e, w), (te, tw)) = (split(x), split(t));
            embedding_loop_jvp(&e, &w, &tokens, te, tw)
        },
    );
}

/// The embedding lookup of a language model: rows of `e` gathered by token, repeated ones
/// summed back in the adjoint. The tokens are a `&Vec` on purpose: `select` borrows it.
#[differentiable(wrt(e))]
#[allow(clippy::ptr_arg)]
fn embed_f32(e: &Array2<f32>, tokens: &Vec<usize>, w: &Array1<f32>) -> f32 {
    let h = e.select(Axis(0), tokens).dot(w);
    (h.slice(s![1..]).to_owned() * h.slice(s![..-1])).sum()
}

#[test]
fn f32_gathers_and_slices() {
    let e = array![[0.5_f32, -1.0], [0.25, 2.0], [1.5, 0.75]];
    let tokens = vec![2, 0, 2, 2, 1];
    let w = array![0.5_f32, -0.25];
    let (value, ge) = embed_f32_grad(&e, &tokens, &w);
    assert_eq!(value, embed_f32(&e, &tokens, &w));
    let h = e.select(Axis(0), &tokens).dot(&w);
    // ∂/∂h_k of Σ h_k h_{k+1}, then each row's share through the gather.
    let n = h.len();
    let dh: Vec<f32> = (0..n)
        .map(|k| {
            let left = if k > 0 { h[k - 1] } else { 0.0 };
            let right = if k + 1 < n { h[k + 1] } else { 0.0 };
            left + right
        })
        .collect();
    let mut expected = Array2::<f32>::zeros((3, 2));
    for (k, &token) in tokens.iter().enumerate() {
        let row = &w * dh[k];
        let mut slot = expected.row_mut(token);
        slot += &row;
    }
    for (got, want) in ge.iter().zip(&expected) {
        assert!((got - want).abs() < 1e-5, "{ge} != {expected}");
    }
    let (jvp_value, tangent) = embed_f32_jvp(&e, &tokens, &w, Array2::ones((3, 2)));
    assert_eq!(jvp_value, value);
    assert!((tangent - ge.sum()).abs() < 1e-4);
}

/// Reshaping and joining in f32: a quadratic, so central differences are exact but for
/// rounding.
#[differentiable]
fn reshaped_f32(x: &Array2<f32>, v: &Array1<f32>) -> f32 {
    let joined = concatenate![Axis(0), x.view(), v.broadcast((1, 3)).unwrap()];
    let flat = joined.to_shape(9).unwrap().to_owned();
    let pairs = stack![Axis(0), v.view(), v.view()].flatten().to_owned();
    (flat.slice(s![..;2]).to_owned() * pairs.slice(s![..5])).sum()
}

#[test]
fn f32_reshaping_and_joining() {
    let x = array![[0.5_f32, -1.0, 0.25], [2.0, 1.5, -0.75]];
    let v = array![0.3_f32, -0.6, 1.2];
    let (value, (gx, gv)) = reshaped_f32_grad(&x, &v);
    assert_eq!(value, reshaped_f32(&x, &v));
    let h = 0.01_f32;
    for k in 0..9 {
        let (mut xp, mut xm, mut vp, mut vm) = (x.clone(), x.clone(), v.clone(), v.clone());
        let exact = match k {
            0..=5 => {
                xp[[k / 3, k % 3]] += h;
                xm[[k / 3, k % 3]] -= h;
                gx[[k / 3, k % 3]]
            }
            _ => {
                vp[k - 6] += h;
                vm[k - 6] -= h;
                gv[k - 6]
            }
        };
        let numeric = (reshaped_f32(&xp, &vp) - reshaped_f32(&xm, &vm)) / (2.0 * h);
        assert!(
            (exact - numeric).abs() < 1e-3,
            "∂/∂{k}: {exact} vs {numeric}"
        );
    }
    let (tx, tv) = (
        Array2::from_elem((2, 3), 0.5_f32),
        array![1.0_f32, -1.0, 0.5],
    );
    let (_, tangent) = reshaped_f32_jvp(&x, &v, tx.clone(), tv.clone());
    let dot = (&gx * &tx).sum() + (&gv * &tv).sum();
    assert!((tangent - dot).abs() < 1e-4, "{tangent} vs {dot}");
}

/// A vector result made of views: its Jacobian and both products.
#[differentiable]
fn reorder(x: &Array2<f64>) -> Array1<f64> {
    let top = x.slice(s![0, ..;-1]).to_owned();
    let gathered = x
        .select(Axis(1), &[1, 1, 0])
        .index_axis(Axis(0), 1)
        .to_owned();
    top * x.diag().sum() + gathered.slice(s![..2]).sum()
}

#[test]
fn vector_results_of_views_have_their_jacobian() {
    let shape = |x: &[f64]| Array2::from_shape_vec((2, 3), x.to_vec()).expect("2 × 3");
    let x0 = [0.7, 0.2, 0.5, 0.9, 0.3, 0.6];
    support::check_vector(
        "reorder",
        &x0,
        |x| reorder(&shape(x)).to_vec(),
        |x| reorder_jacobian(&shape(x)).1,
        |x, t| reorder_jvp(&shape(x), shape(t)).1.to_vec(),
        |x, c| {
            reorder_vjp(&shape(x), Array1::from(c.to_vec()))
                .1
                .into_iter()
                .collect()
        },
    );
}

#[differentiable(hessian)]
fn quartic_views(x: &Array1<f64>) -> f64 {
    let head = x.slice(s![..3]).to_owned();
    let tail = x.slice(s![1..]).to_owned();
    let picked = x.select(Axis(0), &[3, 0, 3]);
    (head * tail).powi(2).sum() + picked.sum() * x.slice_axis(Axis(0), Slice::from(2..)).sum()
}

/// Reshaping and joining on dual numbers, a constant array among the joined.
#[differentiable(wrt(x), hessian)]
fn quartic_joins(x: &Array1<f64>, c: &Array1<f64>) -> f64 {
    let m = concatenate![Axis(0), x.view(), c.view()]
        .into_shape_with_order((2, 3))
        .unwrap();
    let b = x.broadcast((2, 3)).unwrap().to_owned();
    let s = stack![Axis(0), x.view(), c.view()];
    ((&m * &b).powi(2) * s.view().reversed_axes().flatten().to_shape((2, 3)).unwrap()).sum()
}

#[test]
fn hessians_through_joins() {
    let (x, c) = (array![0.3, -0.5, 0.8], array![1.2, 0.4, -0.7]);
    let (value, gradient, h) = quartic_joins_hessian(&x, &c);
    assert_eq!(value, quartic_joins(&x, &c));
    assert_eq!(gradient, quartic_joins_grad(&x, &c).1);
    for j in 0..3 {
        let mut up = x.clone();
        up[j] += 1e-5;
        let mut down = x.clone();
        down[j] -= 1e-5;
        let column = (quartic_joins_grad(&up, &c).1 - quartic_joins_grad(&down, &c).1) / 2e-5;
        for i in 0..3 {
            assert!(
                (h[[i, j]] - column[i]).abs() < 1e-6,
                "H[{i}, {j}] = {}",
                h[[i, j]]
            );
        }
    }
}

#[test]
fn hessians_through_views() {
    let x = array![0.3, -0.5, 0.8, 1.2];
    let (value, gradient, h) = quartic_views_hessian(&x);
    assert_eq!(value, quartic_views(&x));
    assert_eq!(gradient, quartic_views_grad(&x).1);
    for j in 0..4 {
        let step = 1e-5;
        let mut up = x.clone();
        up[j] += step;
        let mut down = x.clone();
        down[j] -= step;
        let column = (quartic_views_grad(&up).1 - quartic_views_grad(&down).1) / (2.0 * step);
        for i in 0..4 {
            assert!(
                (h[[i, j]] - column[i]).abs() < 1e-6,
                "H[{i}, {j}] = {}, differences give {}",
                h[[i, j]],
                column[i]
            );
            assert!((h[[i, j]] - h[[j, i]]).abs() < 1e-12);
        }
    }
}

#[differentiable]
fn traced_slice(x: &Array1<f64>) -> f64 {
    x.slice(s![1..]).sum() * x.select(Axis(0), &[0, 0]).sum()
}

#[test]
fn traces_show_views() {
    let x = array![1.0, 2.0, 3.0];
    let trace = traced_slice_trace(&x).to_string();
    assert!(trace.contains("slice"), "{trace}");
    assert!(
        trace.contains("select") || trace.contains("along"),
        "{trace}"
    );
}

#[differentiable(wrt(x))]
fn out_of_bounds(x: &Array1<f64>, n: usize) -> f64 {
    x.slice(s![1..n]).sum()
}

#[differentiable(wrt(x))]
fn gather_out_of_bounds(x: &Array2<f64>, k: usize) -> f64 {
    x.select(Axis(0), &[0, k]).sum()
}

fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let payload = std::panic::catch_unwind(f).expect_err("must panic");
    match payload.downcast_ref::<String>() {
        Some(message) => message.clone(),
        None => payload
            .downcast_ref::<&str>()
            .expect("a message")
            .to_string(),
    }
}

#[test]
fn shape_errors_name_the_op_and_the_shape() {
    let x = array![1.0, 2.0, 3.0];
    let message = panic_message(|| {
        let _ = out_of_bounds_grad(&x, 5);
    });
    assert!(
        message.starts_with("slice: ") && message.contains("[3]"),
        "{message}"
    );
    let m = Array2::<f64>::zeros((2, 3));
    let message = panic_message(|| {
        let _ = gather_out_of_bounds_jvp(&m, 2, Array2::zeros((2, 3)));
    });
    assert_eq!(
        message,
        "select: index 2 is out of bounds for axis 0 of an array of shape [2, 3]"
    );
}

/// Bounds read from shapes, `s![..x.len() - 1]`, and a bound bound by `let`, are constants.
#[differentiable]
fn differences(x: &Array1<f64>) -> f64 {
    let n = x.len();
    let step = x.slice(s![1..]).to_owned() - x.slice(s![..x.len() - 1]);
    (step.powi(2) * x.slice(s![..n - 1])).sum()
}

#[test]
fn slice_bounds_from_shapes() {
    let x0 = [0.3, -0.7, 1.1, 0.4, -0.2];
    support::check_scalar(
        "differences",
        &x0,
        |x| differences(&Array1::from(x.to_vec())),
        |x| {
            let (v, g) = differences_grad(&Array1::from(x.to_vec()));
            (v, g.to_vec())
        },
        |x, t| differences_jvp(&Array1::from(x.to_vec()), Array1::from(t.to_vec())),
    );
}

/// Views in the places the rest of the language reaches: carried through loops, in
/// branches, chained, bound by `let`, passed to calls, under `mapv`, of struct fields.
mod combinations {
    use super::*;

    #[differentiable]
    fn half_sum(v: &Array1<f64>) -> f64 {
        v.sum() * 0.5
    }

    #[derive(Parameters, Clone)]
    pub struct Model {
        pub w: Array2<f64>,
        pub b: Array1<f64>,
    }

    #[differentiable(wrt(x))]
    pub fn carried(x: &Array1<f64>, n: usize) -> f64 {
        let mut acc = Array1::<f64>::zeros(2);
        let mut y = x.to_owned();
        for i in 0..n - 1 {
            acc = acc + x.slice(s![i..i + 2]);
            y = y.slice(s![..;-1]).to_owned() * 1.5;
            let picked = x.select(Axis(0), &[i, i, n - 1 - i]);
            acc = acc * picked.slice(s![..2]).to_owned();
        }
        acc.sum() + y.dot(x)
    }

    #[differentiable]
    pub fn branches(x: &Array1<f64>) -> f64 {
        let r = s![1..3];
        let head = if x[0] > 0.0 {
            x.slice(r).to_owned()
        } else {
            x.slice(s![..;2]).slice(s![..2]).to_owned() * 2.0
        };
        let squares = x.slice(s![1..]).mapv(|v| v * v);
        half_sum(&head) + squares.sum() + half_sum(&x.slice(s![-2..]).to_owned())
    }

    #[differentiable(wrt(p))]
    pub fn fields(p: &Model, x: &Array1<f64>) -> f64 {
        let w = p.w.slice(s![.., 1..]).to_owned();
        let h = (w.dot(&x.slice(s![..2])) + p.b.select(Axis(0), &[1, 0])).tanh();
        h.sum() + p.w.index_axis(Axis(1), 0).sum()
    }

    #[differentiable(wrt(x), hessian)]
    pub fn loop_hessian(x: &Array1<f64>, n: usize) -> f64 {
        let mut s = 0.0;
        for i in 0..n - 1 {
            let pair = x.slice(s![i..i + 2]).to_owned();
            s += (pair.clone() * pair).sum() * x[i];
        }
        s
    }
}

#[test]
fn views_combine_with_loops_branches_calls_and_structs() {
    use combinations::*;
    let x0 = [0.3, -0.7, 1.1, 0.4, -0.2];
    let v = |x: &[f64]| Array1::from(x.to_vec());
    support::check_scalar(
        "carried",
        &x0,
        |x| carried(&v(x), 5),
        |x| {
            let (value, g) = carried_grad(&v(x), 5);
            (value, g.to_vec())
        },
        |x, t| carried_jvp(&v(x), 5, v(t)),
    );
    for x0 in [[0.3, -0.7, 1.1, 0.4, -0.2], [-0.3, -0.7, 1.1, 0.4, -0.2]] {
        support::check_scalar(
            "branches",
            &x0,
            |x| branches(&v(x)),
            |x| {
                let (value, g) = branches_grad(&v(x));
                (value, g.to_vec())
            },
            |x, t| branches_jvp(&v(x), v(t)),
        );
    }
    let x = array![0.5, -1.5];
    let model = |p: &[f64]| Model {
        w: Array2::from_shape_vec((2, 3), p[..6].to_vec()).expect("2 × 3"),
        b: Array1::from(p[6..].to_vec()),
    };
    let p0 = [0.1, -0.4, 0.3, 0.8, -0.2, 0.5, 0.05, -0.15];
    support::check_scalar(
        "fields",
        &p0,
        |p| fields(&model(p), &x),
        |p| {
            let (value, g) = fields_grad(&model(p), &x);
            (value, g.w.iter().chain(&g.b).copied().collect())
        },
        |p, t| fields_jvp(&model(p), &x, model(t)),
    );
    let x = array![0.3, -0.7, 1.1, 0.4];
    let (value, gradient, h) = loop_hessian_hessian(&x, 4);
    assert_eq!(value, loop_hessian(&x, 4));
    assert_eq!(gradient, loop_hessian_grad(&x, 4).1);
    for j in 0..4 {
        let mut up = x.clone();
        up[j] += 1e-5;
        let mut down = x.clone();
        down[j] -= 1e-5;
        let column = (loop_hessian_grad(&up, 4).1 - loop_hessian_grad(&down, 4).1) / 2e-5;
        for i in 0..4 {
            assert!((h[[i, j]] - column[i]).abs() < 1e-6, "H[{i}, {j}]");
        }
    }
}

/// ndarray's by-value forms, `slice_move` and `index_axis_move`, are the same views.
#[differentiable]
fn moved_views(m: &Array2<f64>) -> f64 {
    let owned = m * 2.0;
    owned.clone().slice_move(s![.., 1]).sum() * owned.index_axis_move(Axis(0), 1).sum()
}

#[test]
fn by_value_views() {
    let m = array![[0.5, -1.0], [2.0, 0.25]];
    let shape = |x: &[f64]| Array2::from_shape_vec((2, 2), x.to_vec()).expect("2 × 2");
    support::check_scalar(
        "moved_views",
        &[0.5, -1.0, 2.0, 0.25],
        |x| moved_views(&shape(x)),
        |x| {
            let (value, g) = moved_views_grad(&shape(x));
            (value, g.iter().copied().collect())
        },
        |x, t| moved_views_jvp(&shape(x), shape(t)),
    );
    assert_eq!(moved_views(&m), moved_views_grad(&m).0);
}
