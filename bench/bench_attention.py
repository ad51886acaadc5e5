"""Time the attention methods (rollout, Chefer, LeGrad) against their floors, and check memory.

    .venv/bin/python bench/bench_attention.py                 # full run: batches 1 and 4
    .venv/bin/python bench/bench_attention.py --quick         # smoke run: batch 1, 3 rounds
    .venv/bin/python bench/bench_attention.py --calls 1000    # memory: calls per method
    .venv/bin/python bench/bench_attention.py --model vit_base_patch16_224   # ViT-B/16

Model: timm ``vit_tiny_patch16_224`` (``--model``: any timm ViT; random weights, seed 0, eval
mode, fused attention on:
``F.scaled_dot_product_attention``), ``(B, 3, 224, 224)`` input, image i explained for class
``(17 + 97 i) % 1000``, all blocks (12 in ViT-Tiny and ViT-B). Entries, each a ratio to its
floor in the same run:

* ``forward``: ``model(x)`` under ``torch.no_grad`` (the fused kernel).
* ``forward, explicit attention``: the same weights with timm's own explicit attention
  (``fused_attn`` off): what computing the probabilities at all costs, capture aside.
* ``forward, capture on``: the same forward with camlens' attention capture on (every block's
  attention explicit and recorded): ratio to ``forward``, target ≤ 1.05.
* ``rollout``: ``AttentionRollout(model)(x)``: ratio to ``forward``, target ≤ 1.1.
* ``floor (fwd + attention kept + grad to attention)``: the least work of a gradient attention
  method, written by hand on the same weights with timm's explicit attention (``fused_attn``
  off): parameters frozen, a forward hook on each block's ``attn_drop`` keeps its input (the
  post-softmax probabilities, made a graph leaf in the first block), one ``torch.autograd.grad``
  of the target logits to all of them.
* ``chefer``, ``legrad``: ``CheferRelevance(model)(x)``, ``LeGrad(model)(x)``: ratio to the floor,
  target ≤ 1.3.

Time: warm-up calls, then rounds; each round runs every entry once, the order rotated each round;
medians and inter-quartile ranges of wall time (or process CPU time with ``--clock cpu``), and
three ratios to the floor: of the medians, the median of the per-round ratios (each round's entry
against the same round's floor: drift cancels), and of the fastest calls (the least disturbed by
other work on the machine, as ``timeit`` advises).
Memory: ``--calls`` calls of each method on a 64×64 input (16 tokens + class token: fast), the
process's resident memory and the count of live tensors after the first 10 calls and at the end.
"""

from __future__ import annotations

import argparse
import copy
import gc
import statistics
import time
from collections.abc import Callable

import timm
import torch
from torch import Tensor, nn

import camlens
from camlens.core.attention import AttentionMode, find_attention
from camlens.core.capture import frozen_parameters


def _model(name: str, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return timm.create_model(name, pretrained=False).eval()


def _classes(batch: int) -> list[int]:
    return [(17 + 97 * i) % 1000 for i in range(batch)]


def floor(model: nn.Module) -> Callable[[Tensor, list[int]], list[Tensor]]:
    """One forward with every block's attention kept, one gradient to the attention maps."""
    explicit = copy.deepcopy(model)
    for block in explicit.blocks:
        block.attn.fused_attn = False

    def run(x: Tensor, classes: list[int]) -> list[Tensor]:
        kept: list[Tensor] = []

        def keep(module: nn.Module, args: tuple) -> tuple:
            a = args[0]
            if not a.requires_grad:
                a = a.detach().requires_grad_(True)
            kept.append(a)
            return (a,)

        handles = [b.attn.attn_drop.register_forward_pre_hook(keep) for b in explicit.blocks]
        try:
            with frozen_parameters(explicit), torch.enable_grad():
                logits = explicit(x)
                score = logits.gather(1, torch.tensor(classes)[:, None]).sum()
                return list(torch.autograd.grad(score, kept))
        finally:
            for h in handles:
                h.remove()

    return run


def entries(model: nn.Module, x: Tensor) -> dict[str, Callable[[Tensor, list[int]], object]]:
    blocks = [(b.name, b.module) for b in find_attention(model, x)[0]]

    def forward(x: Tensor, classes: list[int]) -> Tensor:
        with torch.no_grad():
            return model(x)

    def forward_capture(x: Tensor, classes: list[int]) -> Tensor:
        mode = AttentionMode(blocks, batch=x.shape[0], track_graph=False)
        with torch.no_grad(), mode.hooked():
            return model(x)

    explicit = copy.deepcopy(model)
    for block in explicit.blocks:
        block.attn.fused_attn = False

    def forward_explicit(x: Tensor, classes: list[int]) -> Tensor:
        with torch.no_grad():
            return explicit(x)

    rollout = camlens.AttentionRollout(model)
    chefer = camlens.CheferRelevance(model)
    legrad = camlens.LeGrad(model)
    return {
        "forward": forward,
        "forward, explicit attention (timm fused_attn off)": forward_explicit,
        "forward, capture on": forward_capture,
        "rollout": lambda x, c: rollout(x, targets=c),
        "floor (fwd + attention kept + grad to attention)": floor(model),
        "chefer": lambda x, c: chefer(x, targets=c),
        "legrad": lambda x, c: legrad(x, targets=c),
    }


RATIOS = {  # entry: (its floor, target)
    "forward, explicit attention (timm fused_attn off)": ("forward", None),
    "forward, capture on": ("forward", 1.05),
    "rollout": ("forward", 1.1),
    "chefer": ("floor (fwd + attention kept + grad to attention)", 1.3),
    "legrad": ("floor (fwd + attention kept + grad to attention)", 1.3),
}


def clock(kind: str) -> Callable[[], float]:
    return time.process_time if kind == "cpu" else time.perf_counter


def time_batch(
    name: str, batch: int, repeats: int, warmup: int, kind: str
) -> dict[str, list[float]]:
    model = _model(name)
    x = torch.randn(batch, 3, 224, 224, generator=torch.Generator().manual_seed(batch))
    classes = _classes(batch)
    runs = entries(model, x)
    now = clock(kind)
    for run in runs.values():
        for _ in range(warmup):
            run(x, classes)
    samples: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            start = now()
            runs[name](x, classes)
            samples[name].append(now() - start)
    return samples


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import resource

    return pages * resource.getpagesize() / 2**20


def live_tensors() -> int:
    gc.collect()
    return sum(issubclass(type(o), Tensor) for o in gc.get_objects())


def memory(calls: int) -> list[tuple[str, float, float, int, int]]:
    torch.manual_seed(0)
    model = timm.create_model(
        "vit_tiny_patch16_224", pretrained=False, img_size=64, num_classes=10
    ).eval()
    x = torch.randn(2, 3, 64, 64)
    rows = []
    for method in (camlens.AttentionRollout, camlens.CheferRelevance, camlens.LeGrad):
        cam = method(model)
        for _ in range(10):
            cam(x, targets=[1, 2])
        rss0, t0 = rss_mb(), live_tensors()
        for _ in range(calls - 10):
            cam(x, targets=[1, 2])
        rows.append((method.__name__, rss0, rss_mb(), t0, live_tensors()))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="vit_tiny_patch16_224", help="a timm ViT")
    parser.add_argument("--batches", default="1,4")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.batches, args.repeats, args.warmup, args.calls = "1", 3, 1, 50
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, timm {timm.__version__}, {args.threads} thread(s), "
          f"{args.clock} clock, {args.model} at 224x224, every block")  # fmt: skip
    for batch in [int(b) for b in args.batches.split(",")]:
        samples = time_batch(args.model, batch, args.repeats, args.warmup, args.clock)
        med = {k: statistics.median(v) for k, v in samples.items()}
        low = {k: min(v) for k, v in samples.items()}
        print(f"\n| batch {batch} | median ms | IQR ms | fastest ms | ratio of medians | "
              "median of per-round ratios | ratio of fastest | to | target |")  # fmt: skip
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
        for name, values in samples.items():
            q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
            base, target = RATIOS.get(name, (None, None))
            ratios = ["", "", ""]
            if base:
                paired = [a / b for a, b in zip(values, samples[base], strict=True)]
                ratios = [f"{med[name] / med[base]:.2f}", f"{statistics.median(paired):.2f}",
                          f"{low[name] / low[base]:.2f}"]  # fmt: skip
            print(f"| {name} | {med[name] * 1e3:.1f} | {(q[2] - q[0]) * 1e3:.1f} | "
                  f"{low[name] * 1e3:.1f} | {' | '.join(ratios)} | {base or ''} | "
                  f"{target or ''} |")  # fmt: skip
    print(f"\n| method ({args.calls} calls, 64x64, batch 2) | RSS after 10 MB | RSS at end MB | "
          "live tensors after 10 | at end |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, rss0, rss1, t0, t1 in memory(args.calls):
        print(f"| {name} | {rss0:.1f} | {rss1:.1f} | {t0} | {t1} |")


if __name__ == "__main__":
    main()
