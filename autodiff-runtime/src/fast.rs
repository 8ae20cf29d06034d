//! Branch-free `exp`, `tanh` and `sigmoid` for arrays, which the compiler vectorizes: the
//! transcendental functions of libm are scalar calls and cost more than the matrix products
//! of a small network. Accurate to a few units in the last place (checked against libm in the
//! tests below); scalars keep libm, so scalar gradients stay bit-identical to the original.
//! Where the CPU has FMA the polynomials use fused multiply-adds (a quarter fewer
//! instructions), so results may differ from those of a CPU without it in the last bits;
//! on one machine every array gets the same bits, however it is laid out or split.

use std::mem::MaybeUninit;

use num_traits::Float;

/// The element types with vectorizable kernels (computed in `f64`).
pub trait FastMath: Float + Send + Sync + 'static {
    /// `kernel` of one element.
    fn apply(kernel: Kernel, x: Self) -> Self;
    /// `kernel` of every element of a contiguous slice.
    fn map_contiguous(kernel: Kernel, src: &[Self]) -> Vec<Self>;
    /// [`FastMath::map_contiguous`] written over `buf` itself, with the same bits.
    fn map_in_place(kernel: Kernel, buf: &mut [Self]);
}

impl FastMath for f64 {
    #[inline(always)]
    fn apply(kernel: Kernel, x: f64) -> f64 {
        match kernel {
            Kernel::Exp => exp(x),
            Kernel::Tanh => tanh(x),
            Kernel::Sigmoid => sigmoid(x),
        }
    }
    fn map_contiguous(kernel: Kernel, src: &[f64]) -> Vec<f64> {
        map_slice(kernel, src)
    }
    fn map_in_place(kernel: Kernel, buf: &mut [f64]) {
        crate::parallel::for_each_chunk_mut(buf, |buf| apply_in_place(buf, kernel));
    }
}

impl FastMath for f32 {
    #[inline(always)]
    fn apply(kernel: Kernel, x: f32) -> f32 {
        f64::apply(kernel, f64::from(x)) as f32
    }
    fn map_contiguous(kernel: Kernel, src: &[f32]) -> Vec<f32> {
        src.iter().map(|&x| Self::apply(kernel, x)).collect()
    }
    fn map_in_place(kernel: Kernel, buf: &mut [f32]) {
        buf.iter_mut().for_each(|x| *x = Self::apply(kernel, *x));
    }
}

/// A vectorizable elementwise function.
#[derive(Clone, Copy, Debug)]
pub enum Kernel {
    Exp,
    Tanh,
    Sigmoid,
}

/// eᵛ of every element, in place: with the vectorized kernel where the elements are `f64`,
/// libm's `exp` per element otherwise (`f32` and dual numbers, as before). For the
/// normalizations generic over their element (`logsumexp`, `softmax`, `log_softmax`, …),
/// whose exponentials cost more than the rest of them.
pub fn exp_in_place<A: Float + 'static>(values: &mut [A]) {
    if std::any::TypeId::of::<A>() == std::any::TypeId::of::<f64>() {
        // SAFETY: `A` is `f64` (the same `TypeId`), so `[A]` is `[f64]`: same layout,
        // same validity, and the borrow is the same one.
        let values = unsafe { &mut *(values as *mut [A] as *mut [f64]) };
        return f64::map_in_place(Kernel::Exp, values);
    }
    values.iter_mut().for_each(|v| *v = v.exp());
}

/// Σ e^(v − shift) over `values`, the exponentials [`exp_in_place`]'s, taken in chunks on
/// the stack and summed into four running sums (element k into sum k mod 4), so that the
/// additions are not one chain of dependent latencies.
pub fn sum_exp_shifted<A: Float + 'static>(values: impl Iterator<Item = A>, shift: A) -> A {
    let mut values = values.map(|v| v - shift);
    let mut chunk = [A::zero(); 256];
    let mut sums = [A::zero(); 4];
    loop {
        let n = chunk
            .iter_mut()
            .zip(values.by_ref())
            .map(|(c, v)| *c = v)
            .count();
        exp_in_place(&mut chunk[..n]);
        for (k, &e) in chunk[..n].iter().enumerate() {
            sums[k % 4] = sums[k % 4] + e;
        }
        if n < chunk.len() {
            return (sums[0] + sums[1]) + (sums[2] + sums[3]);
        }
    }
}

/// `kernel` applied to every element of `src`, with the widest vector instructions the
/// machine has (AVX2 and FMA where present: four lanes instead of SSE2's two).
pub fn map_slice(kernel: Kernel, src: &[f64]) -> Vec<f64> {
    // Written once, without zeroing first: the kernels' output is a pass over memory too.
    let mut out = Vec::with_capacity(src.len());
    let spare = &mut out.spare_capacity_mut()[..src.len()];
    crate::parallel::for_each_chunk(spare, src, |out, src| apply(out, src, kernel));
    // SAFETY: `spare` is the first `src.len()` slots of `out`'s buffer (its capacity is at
    // least that). `for_each_chunk` hands `apply` all of `spare`, split into chunks each
    // paired with the chunk of `src` of the same length, and both of `apply`'s branches run
    // `fill`, which writes every element of its `out` (it zips it with a `src` of the same
    // length). So the first `src.len()` elements are initialized. (`f` is arithmetic and
    // does not panic; if it did, `out` would still have length 0 and f64 needs no drop.)
    unsafe { out.set_len(src.len()) };
    out
}

/// `kernel` of every element of `src` into `out`, with AVX2 and FMA where the CPU has them.
fn apply(out: &mut [MaybeUninit<f64>], src: &[f64], kernel: Kernel) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: `fill_avx2`'s one precondition, that the CPU supports AVX2 and FMA, is
        // checked just above.
        return unsafe { fill_avx2(out, src, kernel) };
    }
    fill(out, src, scalar::<false>(kernel));
}

/// [`apply`] over `buf` itself: the same loop, so the same bits.
fn apply_in_place(buf: &mut [f64], kernel: Kernel) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: as in `apply`, AVX2 and FMA are checked just above.
        return unsafe { fill_avx2_in_place(buf, kernel) };
    }
    fill_in_place(buf, scalar::<false>(kernel));
}

/// The one-element function `map_slice` applies on this CPU: with fused multiply-adds
/// where it has AVX2 and FMA.
pub fn element(kernel: Kernel) -> fn(f64) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        return scalar::<true>(kernel);
    }
    scalar::<false>(kernel)
}

/// `kernel` as a function of one element, with fused multiply-adds or without.
fn scalar<const FUSED: bool>(kernel: Kernel) -> fn(f64) -> f64 {
    match kernel {
        Kernel::Exp => exp_with::<FUSED>,
        Kernel::Tanh => tanh_with::<FUSED>,
        Kernel::Sigmoid => sigmoid_with::<FUSED>,
    }
}

/// Whether the CPU running this has AVX2 and FMA (cached by std after the first query).
#[cfg(target_arch = "x86_64")]
fn has_avx2_fma() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

/// [`fill`] compiled with AVX2 and FMA enabled: the same loop, vectorized four lanes wide.
///
/// # Safety
///
/// The CPU must support AVX2 and FMA ([`has_avx2_fma`]); on one that does not, this executes
/// instructions it does not have. Nothing else is required: the body is safe code.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fill_avx2(out: &mut [MaybeUninit<f64>], src: &[f64], kernel: Kernel) {
    // One loop per kernel, each inlined here so that it is compiled with FMA.
    match kernel {
        Kernel::Exp => fill(out, src, exp_with::<true>),
        Kernel::Tanh => fill(out, src, tanh_with::<true>),
        Kernel::Sigmoid => fill(out, src, sigmoid_with::<true>),
    }
}

/// [`fill_avx2`] over `buf` itself.
///
/// # Safety
///
/// As [`fill_avx2`]'s: the CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fill_avx2_in_place(buf: &mut [f64], kernel: Kernel) {
    match kernel {
        Kernel::Exp => fill_in_place(buf, exp_with::<true>),
        Kernel::Tanh => fill_in_place(buf, tanh_with::<true>),
        Kernel::Sigmoid => fill_in_place(buf, sigmoid_with::<true>),
    }
}

/// [`fill`] over `buf` itself.
#[inline(always)]
fn fill_in_place(buf: &mut [f64], f: impl Fn(f64) -> f64) {
    for x in buf {
        *x = f(*x);
    }
}

/// A plain loop, everything in it inlined, so that it is compiled with the caller's target
/// features (an iterator chain would call out to code compiled without them).
#[inline(always)]
fn fill(out: &mut [MaybeUninit<f64>], src: &[f64], f: impl Fn(f64) -> f64) {
    for (o, &x) in out.iter_mut().zip(src) {
        o.write(f(x));
    }
}

/// 1.5 · 2⁵²: adding it rounds to an integer, which then sits in the low bits.
const ROUND: f64 = 6_755_399_441_055_744.0;
/// ln 2 split in two (fdlibm's): k · LN2_HI is exact for the k that occur.
const LN2_HI: f64 = 0.693_147_180_369_123_8;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;

/// a · b + c, rounded once where `FUSED` (an FMA instruction under `fill_avx2`).
#[inline(always)]
fn madd<const FUSED: bool>(a: f64, b: f64, c: f64) -> f64 {
    match FUSED {
        true => a.mul_add(b, c),
        false => a * b + c,
    }
}

/// e^r − 1 for |r| ≤ ln 2 / 2, Taylor to degree 13 (truncation below 2⁻⁵⁶ relative).
///
/// The polynomial is evaluated by Estrin's scheme (pairs of coefficients, then powers r², r⁴,
/// r⁸): its longest chain is six multiply-adds, against fourteen by Horner's rule, whose
/// latency bound a loop over an array.
#[inline(always)]
fn expm1_reduced<const FUSED: bool>(r: f64) -> f64 {
    // 1/3!, …, 1/13!: the coefficients of r³ p(r).
    const C: [f64; 11] = [
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
        1.0 / 40320.0,
        1.0 / 362880.0,
        1.0 / 3628800.0,
        1.0 / 39916800.0,
        1.0 / 479001600.0,
        1.0 / 6227020800.0,
    ];
    let madd = madd::<FUSED>;
    let r2 = r * r;
    let r4 = r2 * r2;
    let c0_3 = madd(madd(C[3], r, C[2]), r2, madd(C[1], r, C[0]));
    let c4_7 = madd(madd(C[7], r, C[6]), r2, madd(C[5], r, C[4]));
    let c8_10 = madd(C[10], r2, madd(C[9], r, C[8]));
    let p = madd(c8_10, r4 * r4, madd(c4_7, r4, c0_3));
    // r + r²/2 + r³ p(r)
    madd(r2, madd(r, p, 0.5), r)
}

/// 2ᵏ for an integer-valued k in [−1022, 1023]: ROUND + k holds k + 2⁵¹ in its low bits, and
/// shifting k + 1023 into the exponent field drops everything above.
#[inline(always)]
fn pow2(k: f64) -> f64 {
    f64::from_bits((k + ROUND).to_bits().wrapping_add(1023) << 52)
}

/// eˣ, with overflow to +∞, underflow to 0 and NaN kept.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    exp_with::<false>(x)
}

#[inline(always)]
fn exp_with<const FUSED: bool>(x: f64) -> f64 {
    let clamped = x.clamp(-746.0, 710.0);
    let t = clamped * core::f64::consts::LOG2_E + ROUND;
    let k = t - ROUND;
    let r = (clamped - k * LN2_HI) - k * LN2_LO;
    let p = 1.0 + expm1_reduced::<FUSED>(r);
    // 2ᵏ as 2^⌊k/2⌋ · 2^(k − ⌊k/2⌋), so that both factors stay normal over the clamped
    // range; computed with float rounding and logical shifts only, which SSE2 vectorizes.
    let k1 = (k * 0.5 - 0.25 + ROUND) - ROUND;
    // A NaN passes through `clamp` and every step after it (pow2 of a NaN is 1).
    p * pow2(k1) * pow2(k - k1)
}

/// eᵛ − 1 for v in [−45, 0], accurate near 0: with v = k ln 2 + r, eᵛ − 1 = 2ᵏ(eʳ − 1) + (2ᵏ − 1),
/// both terms of one sign and 2ᵏ − 1 exact, so one polynomial serves the whole range.
#[inline(always)]
fn expm1_nonpositive<const FUSED: bool>(v: f64) -> f64 {
    let k = (v * core::f64::consts::LOG2_E + ROUND) - ROUND;
    let r = (v - k * LN2_HI) - k * LN2_LO;
    let scale = pow2(k);
    madd::<FUSED>(scale, expm1_reduced::<FUSED>(r), scale - 1.0)
}

/// tanh |x| = −(e^(−2|x|) − 1)/(e^(−2|x|) + 1), from expm1 so that it is accurate near 0.
#[inline(always)]
pub fn tanh(x: f64) -> f64 {
    tanh_with::<false>(x)
}

#[inline(always)]
fn tanh_with<const FUSED: bool>(x: f64) -> f64 {
    // tanh 20 rounds to 1; the clamp keeps e^(−2|x|) normal. Written as a comparison so that
    // a NaN passes through it, and through the rest: no select at the end (which, in place,
    // compiles to a masked store, a quarter of the loop's time).
    let a = x.abs();
    let m = expm1_nonpositive::<FUSED>(-2.0 * if a > 20.0 { 20.0 } else { a });
    let t = -m / (m + 2.0);
    t.copysign(x)
}

/// σ(x) = 1/(1 + e⁻ˣ) for x ≥ 0 and eˣ/(1 + eˣ) below, so that it never overflows.
#[inline(always)]
pub fn sigmoid(x: f64) -> f64 {
    sigmoid_with::<false>(x)
}

#[inline(always)]
fn sigmoid_with<const FUSED: bool>(x: f64) -> f64 {
    let e = exp_with::<FUSED>(-x.abs());
    let s = 1.0 / (1.0 + e);
    if x >= 0.0 {
        s
    } else {
        e * s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f64, b: f64) -> f64 {
        if a == b {
            return 0.0;
        }
        (a - b).abs() / (f64::EPSILON * b.abs().max(f64::MIN_POSITIVE))
    }

    /// Points across the whole range, dense near 0 and near the cut-overs.
    fn points() -> impl Iterator<Item = f64> {
        (-200_000..=200_000)
            .map(|i| f64::from(i) * 1e-4)
            .chain((-800..=800).map(f64::from))
            .chain((1..300).map(|e| 10f64.powi(-e)))
            .chain((1..300).map(|e| -(10f64.powi(-e))))
    }

    /// Both variants, with fused multiply-adds (the one `map_slice` runs on a CPU with FMA;
    /// `mul_add` is libm's correctly rounded `fma` where this test is compiled without it)
    /// and without.
    #[test]
    fn agrees_with_libm_to_a_few_ulps() {
        check_against_libm::<false>();
        check_against_libm::<true>();
    }

    fn check_against_libm<const FUSED: bool>() {
        let (exp, tanh, sigmoid) = (exp_with::<FUSED>, tanh_with::<FUSED>, sigmoid_with::<FUSED>);
        for x in points() {
            assert!(
                ulps(exp(x), x.exp()) <= 2.0,
                "exp({x}) = {} vs {}",
                exp(x),
                x.exp()
            );
            assert!(
                ulps(tanh(x), x.tanh()) <= 3.0,
                "tanh({x}) = {} vs {}",
                tanh(x),
                x.tanh()
            );
            let s = 1.0 / (1.0 + (-x).exp());
            assert!(
                ulps(sigmoid(x), s) <= 4.0 || (s - sigmoid(x)).abs() < 1e-300,
                "σ({x})"
            );
        }
    }

    /// Special values, a ramp across the cut-overs, and tiny numbers, in every lane.
    fn specials(len: usize, shift: usize) -> Vec<f64> {
        let points = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            20.0,
            -20.0,
            709.0,
            710.0,
            -745.0,
            -746.0,
            1000.0,
            -1000.0,
            1e-300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        (0..len)
            .map(|i| match (i + shift) % 3 {
                0 => points[(i + shift) % points.len()],
                1 => (i as f64 - len as f64 / 2.0) * 0.37,
                _ => points[(i * 7 + shift) % points.len()],
            })
            .collect()
    }

    const KERNELS: [Kernel; 3] = [Kernel::Exp, Kernel::Tanh, Kernel::Sigmoid];

    fn same_bits(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
    }

    /// `map_slice` (the `set_len` in `dispatch`, and `fill_avx2` through `apply` on a CPU with
    /// AVX2 and FMA) at lengths around the vector body and the remainder tail, empty, and long
    /// enough to be split across threads into chunks of unequal length: every element is
    /// written, with the bits of the one-element function of this CPU ([`element`]).
    #[test]
    fn map_slice_writes_every_element_at_every_length() {
        let long = crate::parallel::MIN_PARALLEL_LEN;
        for len in [
            0,
            1,
            2,
            3,
            4,
            5,
            7,
            8,
            9,
            15,
            16,
            17,
            1023,
            long - 1,
            long,
            2 * long + 3,
        ] {
            for shift in 0..if len < 64 { 16 } else { 1 } {
                let src = specials(len, shift);
                for kernel in KERNELS {
                    let want: Vec<f64> = src.iter().map(|&x| element(kernel)(x)).collect();
                    let got = map_slice(kernel, &src);
                    assert!(same_bits(&got, &want), "{kernel:?} at length {len}");
                }
            }
        }
    }

    /// The elements of a buffer whose every element was initialized.
    fn read(buffer: Vec<MaybeUninit<f64>>) -> Vec<f64> {
        // SAFETY: the test fills each buffer with a sentinel before the loop under test
        // overwrites it, so every element is initialized.
        buffer
            .into_iter()
            .map(|e| unsafe { e.assume_init() })
            .collect()
    }

    /// The AVX2 + FMA loop itself against the portable loop of the same fused functions, bit
    /// for bit (vectorizing changes no result), into buffers that start out holding a
    /// sentinel, so that an element left unwritten shows.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx2_loop_agrees_with_the_portable_one_bit_for_bit() {
        if !has_avx2_fma() {
            eprintln!("no AVX2 and FMA on this CPU: the portable loop is the only one");
            return;
        }
        let sentinel = f64::from_bits(0x7ff8_dead_beef_0001);
        for len in [0, 1, 3, 4, 5, 7, 8, 9, 1023] {
            for shift in 0..16 {
                let src = specials(len, shift);
                for kernel in KERNELS {
                    let mut wide = vec![MaybeUninit::new(sentinel); len];
                    let mut portable = vec![MaybeUninit::new(sentinel); len];
                    // SAFETY: the CPU has AVX2 and FMA, checked at the top.
                    unsafe { fill_avx2(&mut wide, &src, kernel) };
                    fill(&mut portable, &src, scalar::<true>(kernel));
                    let (wide, portable) = (read(wide), read(portable));
                    assert!(same_bits(&wide, &portable), "{kernel:?} at length {len}");
                    assert!(
                        wide.iter().all(|w| w.to_bits() != sentinel.to_bits()),
                        "{kernel:?} at length {len}: an element was not written"
                    );
                }
            }
        }
    }

    /// `exp_in_place` is the kernel for f64 and libm for f32; `sum_exp_shifted` sums the
    /// same exponentials, element k into running sum k mod 4 across its chunks (256 long).
    #[test]
    fn exponentials_of_generic_elements() {
        let src = specials(600, 3);
        let mut wide = src.clone();
        exp_in_place(&mut wide);
        assert!(same_bits(&wide, &map_slice(Kernel::Exp, &src)));
        let narrow: Vec<f32> = src.iter().map(|&x| x as f32).collect();
        let mut got = narrow.clone();
        exp_in_place(&mut got);
        assert!(got
            .iter()
            .zip(&narrow)
            .all(|(g, x)| g.to_bits() == x.exp().to_bits()));
        for len in [0, 1, 255, 256, 257, 600] {
            let values: Vec<f64> = (0..len).map(|i| (i as f64 * 0.37).sin() * 3.0).collect();
            let shifted: Vec<f64> = values.iter().map(|v| v - 0.5).collect();
            let mut sums = [0.0; 4];
            for (k, e) in map_slice(Kernel::Exp, &shifted).iter().enumerate() {
                sums[k % 4] += e;
            }
            let want = (sums[0] + sums[1]) + (sums[2] + sums[3]);
            let sum = sum_exp_shifted(values.iter().copied(), 0.5);
            assert_eq!(sum.to_bits(), want.to_bits(), "length {len}");
        }
    }

    #[test]
    fn edge_cases() {
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp(1000.0), f64::INFINITY);
        assert_eq!(exp(-1000.0), 0.0);
        assert!(exp(f64::NAN).is_nan() && tanh(f64::NAN).is_nan() && sigmoid(f64::NAN).is_nan());
        assert_eq!(tanh(f64::INFINITY), 1.0);
        assert_eq!(tanh(-f64::INFINITY), -1.0);
        assert_eq!(tanh(0.0), 0.0);
        assert!(tanh(-0.0).is_sign_negative());
        assert_eq!(sigmoid(f64::INFINITY), 1.0);
        assert_eq!(sigmoid(f64::NEG_INFINITY), 0.0);
        assert_eq!(sigmoid(0.0), 0.5);
    }
}
