#!/usr/bin/env python3
"""One value-and-gradient of the lectures' three-layer network (tanh, sigmoid, sigmoid, mean
binary cross-entropy) in f64, timed with the peers benches/mlp.rs is compared against:
NumPy by hand (the lecture's matrix formulas), JAX (jit of value_and_grad) and PyTorch (eager
autograd). Each runs only where it is installed (`pip install numpy jax torch`); a missing
one is reported and skipped.

    python3 benches/peers.py            # prints a Markdown table for BENCHMARKS.md

Sizes and data layout match `benches/mlp.rs`: X is N×D, W¹ D×H₁, W² H₁×H₂, U H₂×1.
"""

import statistics
import time

SIZES = [(256, 30, 64, 32), (1024, 64, 256, 128)]


def median_ms(fn, min_time=1.0, min_runs=20):
    """Median wall time of fn() in milliseconds, after a warm-up call."""
    fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def problem(np, n, d, h1, h2):
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.5, 0.5, (n, d))
    y = (rng.uniform(-0.5, 0.5, (n, 1)) > 0).astype(np.float64)
    params = [
        rng.uniform(-0.5, 0.5, shape)
        for shape in [(d, h1), (h1,), (h1, h2), (h2,), (h2, 1), (1,)]
    ]
    return x, y, params


def numpy_by_hand():
    import numpy as np

    def grad(x, y, w1, b1, w2, b2, u, c):
        n = x.shape[0]
        h1 = np.tanh(x @ w1 + b1)
        h2 = 1.0 / (1.0 + np.exp(-(h1 @ w2 + b2)))
        y_hat = 1.0 / (1.0 + np.exp(-(h2 @ u + c)))
        loss = -np.mean(y * np.log(y_hat) + (1.0 - y) * np.log1p(-y_hat))
        d3 = (y_hat - y) / n
        d2 = (d3 @ u.T) * h2 * (1.0 - h2)
        d1 = (d2 @ w2.T) * (1.0 - h1 * h1)
        return loss, (x.T @ d1, d1.sum(0), h1.T @ d2, d2.sum(0), h2.T @ d3, d3.sum(0))

    def run(n, d, h1, h2):
        x, y, p = problem(np, n, d, h1, h2)
        return median_ms(lambda: grad(x, y, *p))

    return run


def jax_jit():
    import jax
    import numpy as np

    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy

    def loss(params, x, y):
        w1, b1, w2, b2, u, c = params
        h1 = jnp.tanh(x @ w1 + b1)
        h2 = jax.nn.sigmoid(h1 @ w2 + b2)
        y_hat = jax.nn.sigmoid(h2 @ u + c)
        return -jnp.mean(y * jnp.log(y_hat) + (1.0 - y) * jnp.log1p(-y_hat))

    grad = jax.jit(jax.value_and_grad(loss))

    def run(n, d, h1, h2):
        x, y, p = problem(np, n, d, h1, h2)
        x, y, p = jnp.asarray(x), jnp.asarray(y), [jnp.asarray(a) for a in p]
        return median_ms(lambda: jax.block_until_ready(grad(p, x, y)))

    return run


def torch_eager():
    import numpy as np
    import torch

    def run(n, d, h1, h2):
        x, y, p = problem(np, n, d, h1, h2)
        x, y = torch.from_numpy(x), torch.from_numpy(y)
        p = [torch.from_numpy(a).requires_grad_() for a in p]

        def step():
            w1, b1, w2, b2, u, c = p
            h1 = torch.tanh(x @ w1 + b1)
            h2 = torch.sigmoid(h1 @ w2 + b2)
            y_hat = torch.sigmoid(h2 @ u + c)
            loss = torch.nn.functional.binary_cross_entropy(y_hat, y)
            return loss.item(), torch.autograd.grad(loss, p)

        return median_ms(step)

    return run


def main():
    peers = [
        ("NumPy by hand", numpy_by_hand),
        ("JAX (jit)", jax_jit),
        ("PyTorch (eager)", torch_eager),
    ]
    columns = []
    for name, make in peers:
        try:
            columns.append((name, make()))
        except ImportError as missing:
            print(f"skipping {name}: {missing}")
    print("| N, D, hidden | " + " | ".join(name for name, _ in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for n, d, h1, h2 in SIZES:
        cells = [f"{run(n, d, h1, h2):.3f} ms" for _, run in columns]
        print(f"| {n}, {d}, {h1}×{h2} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
