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
    let (stdin, stdout) = (std::io::stdin(), std::io::stdout());
    if let Err(e) = tool::serve(stdin.lock(), stdout.lock(), multithreaded) {
        eprintln!("gradbench: {e}");
        std::process::exit(1);
    }
}
