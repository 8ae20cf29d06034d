//! Peak memory of one Gaussian-mixture gradient against its objective, and how many times the
//! generated gradient evaluates each loop body.
//!
//! ```sh
//! cargo run --release --example gmm_memory
//! ```
//!
//! A counting global allocator records the bytes live at any moment; each call is measured
//! from the bytes live when it starts, so the figures are what the call itself holds at its
//! peak (its result included) and what it allocates in all. The instances are ADBench's
//! N = 1000 ones in `data/adbench-gmm/`; the variants are those of `benches/gmm_loops.rs`.
//!
//! The second table counts evaluations of each loop body of the loop-written objective's data
//! term (an instrumented copy of `gmm_loops`' main loop nest: identity primitives with their
//! own rules, counting their forward calls), in the objective and in the generated gradient.

#[path = "common/gmm.rs"]
mod gmm;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use autodiff::ndarray::{Array1, Array2};
use autodiff::prelude::*;
use gmm::{by_hand, Gmm};

/// The system allocator, counting.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static TOTAL: AtomicUsize = AtomicUsize::new(0);
static CALLS: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Relaxed) + bytes;
    PEAK.fetch_max(live, Relaxed);
    TOTAL.fetch_add(bytes, Relaxed);
    CALLS.fetch_add(1, Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the
// counters are only statistics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size >= layout.size() {
            grew(new_size - layout.size());
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Relaxed);
        }
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What one call holds at its peak, allocates in all, and how many allocations it makes.
struct Usage {
    peak: usize,
    total: usize,
    allocations: usize,
}

fn measure<T>(f: impl FnOnce() -> T) -> Usage {
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    let (total, calls) = (TOTAL.load(Relaxed), CALLS.load(Relaxed));
    let result = f();
    let usage = Usage {
        peak: PEAK.load(Relaxed) - base,
        total: TOTAL.load(Relaxed) - total,
        allocations: CALLS.load(Relaxed) - calls,
    };
    drop(result);
    usage
}

fn bytes(n: usize) -> String {
    if n < 10 * 1024 {
        format!("{n} B")
    } else if n < 10 * 1024 * 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
    }
}

// ---- Counting evaluations of each loop body -------------------------------------------

static EVALUATIONS: [AtomicUsize; 4] = [
    AtomicUsize::new(0),
    AtomicUsize::new(0),
    AtomicUsize::new(0),
    AtomicUsize::new(0),
];

/// An identity primitive that counts its forward evaluations in `EVALUATIONS[$slot]`; its
/// rules do not count.
macro_rules! counter {
    ($name:ident, $vjp:ident, $jvp:ident, $slot:expr) => {
        #[differentiable(vjp = $vjp, jvp = $jvp)]
        fn $name(x: f64) -> f64 {
            EVALUATIONS[$slot].fetch_add(1, Relaxed);
            x
        }
        fn $vjp(x: f64, cotangent: f64) -> (f64, f64) {
            (x, cotangent)
        }
        fn $jvp(x: f64, x_tangent: f64) -> (f64, f64) {
            (x, x_tangent)
        }
    };
}

counter!(point_body, point_vjp, point_jvp, 0);
counter!(component_body, component_vjp, component_jvp, 1);
counter!(row_body, row_vjp, row_jvp, 2);
counter!(column_body, column_vjp, column_jvp, 3);

/// `gmm_loops`' loop nest over points, components, rows and columns, each body counted once
/// per evaluation.
#[differentiable(wrt(alphas, means, icf))]
fn data_term_counted(
    alphas: &Array1<f64>,
    means: &Array2<f64>,
    icf: &Array2<f64>,
    x: &Array2<f64>,
) -> f64 {
    let n = x.nrows();
    let d = x.ncols();
    let k = alphas.len();
    let diagonals = icf.exp();
    let mut slse = 0.0;
    for i in 0..n {
        let mut largest = 0.0;
        let mut sum = 0.0;
        for c in 0..k {
            let mut term = component_body(alphas[c]);
            let mut sqnorm = 0.0;
            for r in 0..d {
                term += row_body(icf[[c, r]]);
                let mut z = diagonals[[c, r]] * (x[[i, r]] - means[[c, r]]);
                let mut index = d + r - 1;
                for col in 0..r {
                    z += column_body(icf[[c, index]]) * (x[[i, col]] - means[[c, col]]);
                    index += d - col - 2;
                }
                sqnorm += z * z;
            }
            term -= 0.5 * sqnorm;
            if c == 0 {
                largest = term;
                sum = 1.0;
            } else if term > largest {
                sum = sum * (largest - term).exp() + 1.0;
                largest = term;
            } else {
                sum += (term - largest).exp();
            }
        }
        slse += point_body(largest + sum.ln());
    }
    slse
}

fn counts() -> [usize; 4] {
    std::array::from_fn(|i| EVALUATIONS[i].swap(0, Relaxed))
}

fn main() {
    let instances = [
        ("D = 2, K = 5", "1k_gmm_d2_K5.txt"),
        ("D = 10, K = 50", "1k_gmm_d10_K50.txt"),
        ("D = 64, K = 10", "1k_gmm_d64_K10.txt"),
    ];
    println!("Peak bytes live during one call, above those live before it (N = 1000):\n");
    println!("| D, K | variant | objective: peak | gradient: peak | gradient / objective | gradient: allocated in all, allocations |");
    println!("|---|---|---|---|---|---|");
    for (name, file) in instances {
        let g = Gmm::load(file);
        type Objective = fn(&Gmm) -> f64;
        type GradientFn = fn(&Gmm) -> (f64, gmm::Gradient);
        let variants: [(&str, Objective, GradientFn); 6] = [
            ("loops", Gmm::loops, Gmm::loops_grad),
            ("cpp", Gmm::cpp, Gmm::cpp_grad),
            ("cpp_scoped", Gmm::cpp_scoped, Gmm::cpp_scoped_grad),
            ("vectorized", Gmm::vectorized, Gmm::vectorized_grad),
            (
                "vectorized_writes",
                Gmm::vectorized_writes,
                Gmm::vectorized_writes_grad,
            ),
            ("by_hand", by_hand::objective, by_hand::gradient),
        ];
        for (variant, objective, gradient) in variants {
            // Once first, so that lazily initialized state (thread pools) is not counted.
            let _ = gradient(&g);
            let o = measure(|| objective(&g));
            let gr = measure(|| gradient(&g));
            println!(
                "| {name} | {variant} | {} | {} | {:.1}× | {}, {} |",
                bytes(o.peak),
                bytes(gr.peak),
                gr.peak as f64 / o.peak.max(1) as f64,
                bytes(gr.total),
                gr.allocations
            );
        }
    }
    println!(
        "\n(The input arrays are {} for D = 64, K = 10: x is 1000 × 64, icf 10 × 2080.)",
        bytes(8 * (1000 * 64 + 10 * 2080 + 10 * 64 + 10))
    );

    println!(
        "\nEvaluations of each loop body of gmm_loops' data term (points i, components c, rows r, columns col < r):\n"
    );
    println!("| D, K | loop body | in the objective | in the generated gradient | ratio |");
    println!("|---|---|---|---|---|");
    for (name, file) in instances {
        let g = Gmm::load(file);
        counts();
        let value = data_term_counted(&g.alphas, &g.means, &g.icf, &g.x);
        let objective = counts();
        let (grad_value, _) = data_term_counted_grad(&g.alphas, &g.means, &g.icf, &g.x);
        let gradient = counts();
        assert_eq!(value, grad_value);
        for (level, label) in ["i (depth 1)", "c (depth 2)", "r (depth 3)", "col (depth 4)"]
            .iter()
            .enumerate()
        {
            println!(
                "| {name} | {label} | {} | {} | {:.2}× |",
                objective[level],
                gradient[level],
                gradient[level] as f64 / objective[level].max(1) as f64
            );
        }
    }
}
