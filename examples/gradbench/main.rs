//! autodiff as a GradBench tool (<https://github.com/gradbench/gradbench>): GradBench's
//! protocol over stdin and stdout, each eval's functions written once with
//! `#[differentiable]` and every derivative generated. Run by GradBench as
//!
//! ```sh
//! cargo run --release --quiet --example gradbench
//! ```
//!
//! and started by hand, it answers JSON lines typed on stdin:
//! `{"id": 0, "kind": "define", "module": "hello"}`.

mod tool;

fn main() {
    let (stdin, stdout) = (std::io::stdin(), std::io::stdout());
    if let Err(e) = tool::serve(stdin.lock(), stdout.lock()) {
        eprintln!("gradbench: {e}");
        std::process::exit(1);
    }
}
