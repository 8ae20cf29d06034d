//! Elementwise loops on every core when the arrays are long enough to pay for the hand-off
//! (rayon's pool, which the matrix products already keep warm).

use rayon::prelude::*;

/// Below this many elements one core finishes before the others would have started.
pub(crate) const MIN_PARALLEL_LEN: usize = 1 << 15;

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
    if out.len() < MIN_PARALLEL_LEN {
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
    if buf.len() < MIN_PARALLEL_LEN {
        return body(buf);
    }
    let chunk = buf
        .len()
        .div_ceil(rayon::current_num_threads())
        .max(MIN_PARALLEL_LEN / 2);
    buf.par_chunks_mut(chunk).for_each(body);
}

/// `$zip.$one($body)` on an ndarray `Zip` (`for_each`, `map_collect`), or its rayon twin
/// `$zip.$all($body)` when the loop covers at least `MIN_PARALLEL_LEN` elements.
macro_rules! zip_on_cores {
    ($zip:expr, $len:expr, $one:ident / $all:ident, $body:expr) => {{
        let zip = $zip;
        if $len >= $crate::parallel::MIN_PARALLEL_LEN {
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
