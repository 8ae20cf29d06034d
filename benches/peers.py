#!/usr/bin/env python3
"""Gradients timed with the peers the benches are compared against, in f64. Each peer runs
only where it is installed (`pip install numpy jax torch`); a missing one is reported and
skipped.

    python3 benches/peers.py            # the three-layer network: a Markdown table
    python3 benches/peers.py --gmm      # the Gaussian mixture: a Markdown table

Default: one value-and-gradient of the lectures' three-layer network (tanh, sigmoid, sigmoid,
mean binary cross-entropy), as in benches/mlp.rs, with NumPy by hand (the lecture's matrix
formulas), JAX (jit of value_and_grad) and PyTorch (eager autograd). Sizes and data layout
match `benches/mlp.rs`: X is N×D, W¹ D×H₁, W² H₁×H₂, U H₂×1.

`--gmm`: ADBench's / GradBench's Gaussian-mixture objective on ADBench's N = 1000 instances,
as in benches/gmm_loops.rs, with JAX: the objective (jit) and its value and gradient with
respect to α, μ and icf (jit of value_and_grad). It first checks the objective on ADBench's
test instance against ADBench's reference value.
"""

import argparse
import math
import statistics
import time
from pathlib import Path

SIZES = [(256, 30, 64, 32), (1024, 64, 256, 128)]

GMM_DATA = Path(__file__).resolve().parent.parent / "data" / "adbench-gmm"
GMM_INSTANCES = ["1k_gmm_d2_K5.txt", "1k_gmm_d10_K50.txt", "1k_gmm_d64_K10.txt"]
# ADBench's objective on its test instance (tests/gmm_loops.rs checks the same).
GMM_TEST = ("test.txt", 8.07380408004975791)


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


def load_gmm(np, name):
    """An instance of data/adbench-gmm/ (the format `Gmm::parse` in examples/common/gmm.rs
    reads: `D K N`, K α, K rows of μ, K rows of icf, N points, `γ m`) as
    (alphas, means, icf, x, gamma, m)."""
    values = np.array((GMM_DATA / name).read_text().split(), dtype=np.float64)
    d, k, n = (int(v) for v in values[:3])
    sizes = [k, k * d, k * d * (d + 1) // 2, n * d]
    ends = np.cumsum([3] + sizes)
    alphas, means, icf, x = (values[a:b] for a, b in zip(ends[:-1], ends[1:]))
    gamma, m = values[ends[-1]], int(values[ends[-1] + 1])
    return alphas, means.reshape(k, d), icf.reshape(k, -1), x.reshape(n, d), gamma, m


def wishart_constant(d, gamma, m):
    """The Wishart prior's constant νD(ln γ − ½ ln 2) − ln Γ_D(ν/2), ν = D + m + 1, with
    ln Γ_D(a) = ¼D(D−1) ln π + Σⱼ₌₁..D ln Γ(a + (1 − j)/2)."""
    nu = d + m + 1
    multigamma = 0.25 * d * (d - 1) * math.log(math.pi) + sum(
        math.lgamma(0.5 * nu + 0.5 * (1 - j)) for j in range(1, d + 1)
    )
    return nu * d * (math.log(gamma) - 0.5 * math.log(2.0)) - multigamma


def factor_indices(np, d):
    """Where each entry of a row of icf goes in the D × D factor Q: the D diagonal entries
    first, then the strictly lower triangle column by column, as (rows, columns)."""
    lower = [(r, c) for c in range(d) for r in range(c + 1, d)]
    rows = list(range(d)) + [r for r, _ in lower]
    cols = list(range(d)) + [c for _, c in lower]
    return np.array(rows), np.array(cols)


def gmm_jax():
    """JAX's GMM: for an instance, its objective's value, and the medians of the objective
    (jit) and of its value and gradient with respect to α, μ, icf (jit of value_and_grad)."""
    import jax
    import numpy as np
    from jax.scipy.special import logsumexp

    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy

    def make_objective(n, d, k, gamma, m):
        """The objective of examples/common/gmm.rs for these sizes and prior: per point the
        log-sum-exp over k of αₖ + Σⱼ qₖⱼ − ½‖Qₖ(xᵢ − μₖ)‖², minus N·LSE(α), plus the Wishart
        prior ½γ²‖Qₖ‖²_F − m Σⱼ qₖⱼ per component and its constant."""
        rows, cols = factor_indices(np, d)
        constant = -0.5 * n * d * math.log(2.0 * math.pi)
        constant -= k * wishart_constant(d, gamma, m)

        def objective(alphas, means, icf, x):
            q = icf[:, :d]
            entries = jnp.concatenate([jnp.exp(q), icf[:, d:]], axis=1)
            factors = jnp.zeros((k, d, d)).at[:, rows, cols].set(entries)
            z = jnp.einsum("kij,nkj->nki", factors, x[:, None, :] - means[None, :, :])
            beta = alphas + q.sum(axis=1) - 0.5 * (z * z).sum(axis=2)
            prior = 0.5 * gamma * gamma * (entries * entries).sum() - m * q.sum()
            return constant + logsumexp(beta, axis=1).sum() - n * logsumexp(alphas) + prior

        return objective

    def setup(instance):
        alphas, means, icf, x, gamma, m = instance
        objective = make_objective(x.shape[0], x.shape[1], len(alphas), gamma, m)
        return objective, [jnp.asarray(a) for a in (alphas, means, icf, x)]

    def value(instance):
        objective, args = setup(instance)
        return float(jax.jit(objective)(*args))

    def run(instance):
        objective, args = setup(instance)
        f = jax.jit(objective)
        grad = jax.jit(jax.value_and_grad(objective, argnums=(0, 1, 2)))
        return (
            median_ms(lambda: jax.block_until_ready(f(*args))),
            median_ms(lambda: jax.block_until_ready(grad(*args))),
        )

    return value, run


def available(peers):
    """(name, what make() returned) for each peer whose modules import."""
    made = []
    for name, make in peers:
        try:
            made.append((name, make()))
        except ImportError as missing:
            print(f"skipping {name}: {missing}")
    return made


def main_gmm():
    """Checks each peer's objective on ADBench's test instance, then prints the table of
    objective and gradient medians on the 1k instances."""
    columns = available([("JAX (jit)", gmm_jax)])
    if not columns:
        return
    import numpy as np  # every peer here imports it

    name, expected = GMM_TEST
    for peer, (value, _) in columns:
        got = value(load_gmm(np, name))
        print(f"{name}: {peer} {got:.17f} (ADBench {expected:.17f})")
        assert abs(got - expected) <= 1e-12 * expected, f"{peer}: objective on {name}"
    measures = ["objective", "gradient", "gradient / objective"]
    header = " | ".join(f"{peer} {what}" for peer, _ in columns for what in measures)
    print("| D, K (N = 1000) | " + header + " |")
    print("|---|" + "---|" * (len(measures) * len(columns)))
    for file in GMM_INSTANCES:
        instance = load_gmm(np, file)
        cells = []
        for _, (_, run) in columns:
            objective, gradient = run(instance)
            cells += [
                f"{objective:.3f} ms",
                f"{gradient:.3f} ms",
                f"{gradient / objective:.2f}×",
            ]
        d, k = instance[3].shape[1], len(instance[0])
        print(f"| D = {d}, K = {k} | " + " | ".join(cells) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gmm", action="store_true", help="time the Gaussian mixture")
    if parser.parse_args().gmm:
        main_gmm()
        return
    columns = available(
        [
            ("NumPy by hand", numpy_by_hand),
            ("JAX (jit)", jax_jit),
            ("PyTorch (eager)", torch_eager),
        ]
    )
    print("| N, D, hidden | " + " | ".join(name for name, _ in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for n, d, h1, h2 in SIZES:
        cells = [f"{run(n, d, h1, h2):.3f} ms" for _, run in columns]
        print(f"| {n}, {d}, {h1}×{h2} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
