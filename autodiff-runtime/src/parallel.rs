//! Elementwise loops on every core when the arrays are long enough to pay for the hand-off
//! (rayon's pool, which the matrix products already keep warm).

use rayon::prelude::*;

/// Below this many elements one core finishes before the others would have started.
pub(crate) const MIN_PARALLEL_LEN: usize = 1 << 15;

/// Whether a loop over `len` elements is split over rayon's pool: long enough, and the pool
/// has several threads. (A pool of one, called from outside it, would only hand each loop
/// to its thread and wait: a wake-up and a sleep per operation, a third of the arrays-form
/// GMM gradient's time at D = 10 with one thread.)
pub(crate) fn split(len: usize) -> bool {
    len >= MIN_PARALLEL_LEN && rayon::current_num_threads() > 1
}

/// `body(out_chunk, src_chunk)` over matching chunks of `out` and `src`, in parallel when they
/// are long. `out` and `src` must have the same length; every element of `out` is then in
/// exactly one chunk, paired with the chunk of `src` of the same length and position (what
/// `fast::dispatch`'s `set_len` relies on).
pub fn for_each_chunk<A: Send, B: Sync>(
    out: &mut [A],
    src: &[B],
    body: impl Fn(&mut [A], &[B]) + Sync,
) {
    assert_eq!(out.len(), src.len(), "for_each_chunk: lengths differ");
    if !split(out.len()) {
        return body(out, src);
    }
    let chunk = out
        .len()
        .div_ceil(rayon::current_num_threads())
        .max(MIN_PARALLEL_LEN / 2);
    out.par_chunks_mut(chunk)
        .zip(src.par_chunks(chunk))
        .for_each(|(out, src)| body(out, src));
}

/// `body` over `buf` split in chunks, on every core when it is long enough.
pub fn for_each_chunk_mut<A: Send>(buf: &mut [A], body: impl Fn(&mut [A]) + Sync + Send) {
    if !split(buf.len()) {
        return body(buf);
    }
    let chunk = buf
        .len()
        .div_ceil(rayon::current_num_threads())
        .max(MIN_PARALLEL_LEN / 2);
    buf.par_chunks_mut(chunk).for_each(body);
}

/// Below this much work (elements of the arguments times primitive operations, as the
/// generated code estimates it) a sweep runs where it is called: the hand-off to the pool
/// costs about 20 µs on a two-core machine.
pub(crate) const MIN_POOL_WORK: usize = 1 << 18;

/// `body`, run on a thread of rayon's pool when its work, the `elements` of the arrays it
/// reads times its primitive `operations`, is at least `MIN_POOL_WORK` and the pool has
/// several threads; where it is, here.
///
/// A generated gradient on large arrays runs its products and long loops on the pool. Called
/// from outside it, each of them is handed to the pool and back (a wake-up and a wait per
/// operation), while the caller's thread competes with the pool's for the cores between
/// them. Inside the pool, the operations split their work from a worker thread and the
/// caller sleeps: measured 9 % faster for the lectures' network at N = 1024 on two cores.
/// A panic in `body` reaches the caller as it would have.
pub fn on_pool<R: Send>(
    elements: &[usize],
    operations: usize,
    body: impl FnOnce() -> R + Send,
) -> R {
    let elements = elements
        .iter()
        .fold(0usize, |sum, &n| sum.saturating_add(n));
    if elements.saturating_mul(operations) < MIN_POOL_WORK
        || rayon::current_thread_index().is_some()
        || rayon::current_num_threads() < 2
    {
        return body();
    }
    rayon::scope(|_| body())
}

/// The number of elements of `value`: 1 for a scalar.
pub fn elements<S: crate::value::Shaped>(value: &S) -> usize {
    crate::value::Shape::dims(&value.autodiff_shape())
        .iter()
        .product()
}

/// `$zip.$one($body)` on an ndarray `Zip` (`for_each`, `map_collect`), or its rayon twin
/// `$zip.$all($body)` when the loop covers at least `MIN_PARALLEL_LEN` elements.
macro_rules! zip_on_cores {
    ($zip:expr, $len:expr, $one:ident / $all:ident, $body:expr) => {{
        let zip = $zip;
        if $crate::parallel::split($len) {
            zip.$all($body)
        } else {
            zip.$one($body)
        }
    }};
}

pub(crate) use zip_on_cores;

#[cfg(test)]
mod tests {
    use crate::value::{Broadcast, Map};
    use ndarray::{Array1, Array2};

    /// `on_pool` runs small work here and large work on a worker, whose panics come back.
    #[test]
    fn on_pool_runs_large_work_on_the_pool() {
        let here = super::on_pool(&[10], 1, rayon::current_thread_index);
        assert_eq!(here, None);
        if rayon::current_num_threads() >= 2 {
            let there = super::on_pool(
                &[super::MIN_POOL_WORK / 2, super::MIN_POOL_WORK / 2],
                1,
                rayon::current_thread_index,
            );
            assert!(there.is_some());
        }
        let panic = std::panic::catch_unwind(|| {
            super::on_pool(&[usize::MAX, 1], 2, || panic!("add: shapes [2] and [3]"))
        });
        let message = panic.unwrap_err();
        assert_eq!(
            message.downcast_ref::<&str>(),
            Some(&"add: shapes [2] and [3]")
        );
    }

    /// A long loop is split over a pool of several threads, never over a pool of one.
    #[test]
    fn long_loops_split_only_over_several_threads() {
        let pool = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
        };
        let long = super::MIN_PARALLEL_LEN;
        assert!(!pool(1).install(|| super::split(long * 64)));
        assert!(pool(2).install(|| super::split(long)));
        assert!(!pool(2).install(|| super::split(long - 1)));
    }

    /// Long enough for every core: the same numbers as the one-core loop.
    #[test]
    fn parallel_loops_agree_with_sequential_ones() {
        let x = Array2::from_shape_fn((700, 100), |(i, j)| {
            (i as f64 - 350.0) * 0.01 + j as f64 * 1e-3
        });
        let bias = Array1::from_shape_fn(100, |j| j as f64 * 0.1);
        let sum = x.view().zip_with(bias.view(), "+", |a, b| a + b);
        assert_eq!(sum, &x + &bias);
        let y = x.view().map_kernel(f64::tanh, crate::fast::Kernel::Tanh);
        let g = Array2::from_elem(x.raw_dim(), 2.0);
        let pulled = x.view().pull(&y, g, |_, y| 1.0 - y * y);
        assert_eq!(pulled, y.mapv(|y| 2.0 * (1.0 - y * y)));
        let sequential = x.mapv(crate::fast::element(crate::fast::Kernel::Tanh));
        assert_eq!(y, sequential);
    }
}
