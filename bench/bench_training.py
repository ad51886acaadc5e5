"""Cost of a training step with each camlens.training loss, against a plain step, in one run.

    .venv/bin/python bench/bench_training.py                # batch 64, 64×64, 15 rounds
    .venv/bin/python bench/bench_training.py --clock cpu    # CPU time (robust on a busy machine)

Set-up: the shapes-benchmark CNN (``camlens.models.zoo.benchmark_cnn.BenchmarkCNN``, 61k parameters,
random weights, seed 0), a batch of benchmark images with a must-not-use mask over the top-left
16×16 corner (on every image, or on ``--masked-share`` of them), AdamW. A *step* is forward, loss,
``zero_grad``, backward and ``optimiser.step()``. Kinds:

- ``plain``: cross-entropy only (the reference, 1.0×);
- ``cam_energy``: ``CAMEnergyLoss`` (Grad-CAM at ``block4``: one forward, a gradient to the
  layer with the graph kept, the backward of the total) — the floor is "one extra
  forward-backward", i.e. about 2×;
- ``rrr``: ``RRRLoss`` (input gradients with the graph kept, double backward);
- ``augment_evidence`` / ``augment_mask``: ``CAMGuidedAugment`` (erase) then a plain step.

Batch-norm: ``--bn frozen`` (default) fine-tunes with the batch-norm layers in eval mode (running
statistics, the usual way to fine-tune a trained model, and what scripts/debias_benchmark.py
does); ``--bn train`` uses batch statistics, whose second derivative makes RRR's double backward
markedly dearer (see docs/training.md).

Every kind runs once per round, round-robin with the order rotated, on its own model copy; we
report medians and three ratios to ``plain``: of the medians, the median of the per-round ratios
(drift cancels) and of the fastest steps (the least disturbed by other work on the machine).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
import torch.nn.functional as F

from camlens.datasets import make_benchmark
from camlens.models.zoo.benchmark_cnn import BenchmarkCNN
from camlens.training import CAMEnergyLoss, CAMGuidedAugment, RRRLoss

KINDS = ("plain", "cam_energy", "rrr", "augment_evidence", "augment_mask")


def make_step(kind: str, model: torch.nn.Module, bn: str):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    loss_fn = None
    if kind == "cam_energy":
        loss_fn = CAMEnergyLoss(model, "block4")
    elif kind == "rrr":
        loss_fn = RRRLoss(model, right_reasons=1.0)
    augment = None
    if kind.startswith("augment"):
        region = "evidence" if kind == "augment_evidence" else "mask"
        augment = CAMGuidedAugment(model, "block4", p=0.5, region=region)

    def step(x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> None:
        model.train(bn == "train")
        if augment is not None:
            x = augment(x, y, mask)
        loss = F.cross_entropy(model(x), y) if loss_fn is None else loss_fn(x, y, mask)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    parser.add_argument("--bn", choices=("frozen", "train"), default="frozen")
    parser.add_argument(
        "--masked-share",
        type=float,
        default=1.0,
        help="share of the batch with a mask (0.2: one class in five, as audit-derived masks)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    torch.manual_seed(0)
    base = BenchmarkCNN()
    data = make_benchmark(args.batch, seed=0, split="train", biased=True)
    x = (data.images - 0.5) / 0.25
    y = data.labels
    mask = torch.zeros(args.batch, 64, 64)
    mask[: round(args.masked_share * args.batch), :16, :16] = 1
    steps = {k: make_step(k, copy.deepcopy(base), args.bn) for k in KINDS}
    for step in steps.values():
        for _ in range(args.warmup):
            step(x, y, mask)
    times: dict[str, list[float]] = {k: [] for k in KINDS}
    order = list(KINDS)
    for r in range(args.rounds):
        for k in order[r % len(order) :] + order[: r % len(order)]:
            t0 = clock()
            steps[k](x, y, mask)
            times[k].append(clock() - t0)
    plain = statistics.median(times["plain"])
    print(
        f"batch {args.batch}, {args.threads} thread(s), {args.clock} clock, {args.rounds} rounds, "
        f"batch-norm {args.bn}, {args.masked_share:.0%} of the images masked"
    )
    print("| kind | median ms | × plain (medians) | × plain (median of per-round ratios) | "
          "× plain (fastest) |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: |")
    fastest = min(times["plain"])
    for k in KINDS:
        med = statistics.median(times[k])
        paired = statistics.median(a / b for a, b in zip(times[k], times["plain"], strict=True))
        print(f"| {k} | {1000 * med:.1f} | {med / plain:.2f} | {paired:.2f} | "
              f"{min(times[k]) / fastest:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
