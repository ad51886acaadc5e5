"""Time camlens' Grad-CAM on a Flax model against the floor: one jitted forward + gradient to
the layer.

    .venv/bin/python bench/bench_jax.py                 # batch 8, 112×112, 9 rounds
    .venv/bin/python bench/bench_jax.py --quick         # batch 2, 64×64, 3 rounds
    .venv/bin/python bench/bench_jax.py --threads 1     # one XLA and torch thread (shared machines)

Model: a Flax linen CNN (four 3×3 conv + ReLU stages of 32, 64, 128, 256 channels, max-pool 2
between them, global average pool, dense 1000; random weights, seed 0); target layer ``stage4``
(its output, channels last in Flax); image i explained for class ``(17 + 97 i) % 1000``.

* ``floor``: one ``jax.jit``-compiled function that runs the forward pass with the layer's output
  tapped (``flax.linen.intercept_methods``, δ = 0 added to it) under ``jax.vjp`` and pulls the
  one-hot cotangent of the target logits back to the layer: logits, activations and gradients,
  the least work of any Grad-CAM (no CAM arithmetic, no conversion, targets known in advance).
* ``camlens``: ``camlens.GradCAM(FlaxModel(module, variables), "stage4")(x, targets)`` — torch
  targets scored on the logits, the cotangent pulled back by a second jitted program, the
  activations and gradients converted to torch channels first, the map computed, upsampled and
  normalised — the input a numpy NHWC batch.

Both are compiled before timing (warm-up calls). Each round runs both once, in alternating order;
medians over the rounds of wall time and of this process's CPU time, and the ratio to the floor
three ways (the machine is noisy): of the medians, the median of the per-round ratios, and of the
fastest calls.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.batch, args.size, args.rounds, args.warmup = 2, 64, 3, 1
    if args.threads is not None:  # before JAX starts its runtime
        os.environ["XLA_FLAGS"] = (
            os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
            f" intra_op_parallelism_threads={args.threads}"
        )

    import flax.linen as nn
    import jax
    import jax.numpy as jnp
    import numpy as np
    import torch

    import camlens
    from camlens.jax import FlaxModel

    if args.threads is not None:
        torch.set_num_threads(args.threads)

    class Stage(nn.Module):
        features: int

        @nn.compact
        def __call__(self, x):
            return nn.relu(nn.Conv(self.features, (3, 3), padding="SAME", name="conv")(x))

    class Net(nn.Module):
        @nn.compact
        def __call__(self, x):
            for i, features in enumerate((32, 64, 128, 256), start=1):
                x = Stage(features, name=f"stage{i}")(x)
                if i < 4:
                    x = nn.max_pool(x, (2, 2), (2, 2))
            return nn.Dense(1000, name="head")(x.mean(axis=(1, 2)))

    module = Net()
    x = np.random.default_rng(0).random((args.batch, args.size, args.size, 3), dtype=np.float32)
    variables = module.init(jax.random.PRNGKey(0), x)
    classes = [(17 + 97 * i) % 1000 for i in range(args.batch)]
    onehot = jax.nn.one_hot(jnp.array(classes), 1000, dtype=jnp.float32)

    def tapped(variables, x, delta):
        kept = []

        def interceptor(next_fun, a, kw, context):
            out = next_fun(*a, **kw)
            if context.method_name == "__call__" and tuple(context.module.path) == ("stage4",):
                out = out + delta
                kept.append(out)
            return out

        with nn.intercept_methods(interceptor):
            logits = module.apply(variables, x)
        return logits, kept[0]

    shape = jax.eval_shape(lambda: tapped(variables, x, 0.0))[1]

    @jax.jit
    def floor(variables, x, onehot):
        zeros = jnp.zeros(shape.shape, shape.dtype)
        (logits, acts), vjp = jax.vjp(lambda d: tapped(variables, x, d), zeros)
        (grads,) = vjp((onehot, jnp.zeros_like(acts)))
        return logits, acts, grads

    cam = camlens.GradCAM(FlaxModel(module, variables), "stage4")

    def run_floor():
        jax.block_until_ready(floor(variables, jnp.asarray(x), onehot))

    def run_camlens():
        cam(x, targets=classes)

    entries = {"floor": run_floor, "camlens": run_camlens}
    for _ in range(args.warmup):
        for run in entries.values():
            run()
    wall: dict[str, list[float]] = {k: [] for k in entries}
    cpu: dict[str, list[float]] = {k: [] for k in entries}
    for r in range(args.rounds):
        order = list(entries) if r % 2 == 0 else list(reversed(entries))
        for name in order:
            w0, c0 = time.perf_counter(), time.process_time()
            entries[name]()
            wall[name].append(time.perf_counter() - w0)
            cpu[name].append(time.process_time() - c0)

    print(
        f"JAX {jax.__version__}, Flax linen CNN, batch {args.batch}, {args.size}x{args.size}, "
        f"{args.rounds} rounds, threads {args.threads or 'default'}, {sys.platform}"
    )
    print(
        "| entry | wall median (ms) | wall ratio: medians / per-round / fastest "
        "| CPU median (ms) | CPU ratio of medians |"
    )
    print("| --- | --- | --- | --- | --- |")
    base_w, base_c = statistics.median(wall["floor"]), statistics.median(cpu["floor"])
    for name in entries:
        w, c = statistics.median(wall[name]), statistics.median(cpu[name])
        per_round = statistics.median(a / b for a, b in zip(wall[name], wall["floor"], strict=True))
        fastest = min(wall[name]) / min(wall["floor"])
        print(
            f"| {name} | {1e3 * w:.1f} | {w / base_w:.3f} / {per_round:.3f} / {fastest:.3f} "
            f"| {1e3 * c:.1f} | {c / base_c:.3f} |"
        )


if __name__ == "__main__":
    main()
