//! autodiff as a GradBench tool (<https://github.com/gradbench/gradbench>): GradBench's
//! protocol over stdin and stdout, each eval's functions written once with
//! `#[differentiable]` and every derivative generated. Run by GradBench as
//!
//! ```sh
//! cargo run --release --quiet --example gradbench                    # one thread
//! cargo run --release --quiet --example gradbench -- --multithreaded # every core
//! ```
//!
//! and started by hand, it answers JSON lines typed on stdin:
//! `{"id": 0, "kind": "define", "module": "hello"}`.

mod tool;

fn main() {
    let multithreaded = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => false,
        [flag] if flag == "--multithreaded" => true,
        other => {
            eprintln!("gradbench: unknown arguments {other:?}; the one option is --multithreaded");
            std::process::exit(2);
        }
    };
    // Single-threaded runs stay on one thread: the runtime's elementwise passes and matrix
    // products use rayon's pool, sized from this before its first use.
    if !multithreaded {
        std::env::set_var("RAYON_NUM_THREADS", "1");
    }
    keep_freed_memory();
    let (stdin, stdout) = (std::io::stdin(), std::io::stdout());
    if let Err(e) = tool::serve(stdin.lock(), stdout.lock(), multithreaded) {
        eprintln!("gradbench: {e}");
        std::process::exit(1);
    }
}

/// glibc hands a freed block above its mmap threshold (128 KiB at first) back to the system
/// at once, so the next evaluation's arrays of that size are fresh pages that the kernel
/// zeroes on first touch. The generated sweeps allocate their values and tangents on every
/// call, and on the large inputs (`ht`, `ode`, `lse` at a million elements) those page
/// faults took half the time (BENCHMARKS.md). Raised thresholds keep freed memory for the
/// next call, as JAX's and PyTorch's caching allocators do. A setting of this program, not
/// of the library: a user's program chooses its allocator.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    use std::os::raw::c_int;
    extern "C" {
        fn mallopt(param: c_int, value: c_int) -> c_int;
    }
    const M_TRIM_THRESHOLD: c_int = -1;
    const M_MMAP_THRESHOLD: c_int = -3;
    // SAFETY: mallopt only sets glibc's allocator parameters, here before any other thread
    // exists; a value it refuses leaves the default in place.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, 32 << 20); // glibc's largest on 64-bit systems
        mallopt(M_TRIM_THRESHOLD, 1 << 30);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}
