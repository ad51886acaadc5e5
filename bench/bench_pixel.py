"""Time camlens' FullGrad and guided backpropagation against pytorch-grad-cam and captum.

    .venv/bin/python bench/bench_pixel.py              # full run: batches 1 and 8, 5 rounds
    .venv/bin/python bench/bench_pixel.py --quick      # smoke run: batch 1, 2 rounds
    .venv/bin/python bench/bench_pixel.py --threads 1  # one torch thread (shared machines)
    .venv/bin/python bench/bench_pixel.py --tasks guided   # guided backprop only (no FullGrad)

Set-up as in ``bench_core.py``: torchvision ResNet-50 (random weights, seed 0, eval mode, and
random batch-norm statistics so that FullGrad's bias terms are not all zero),
``(B, 3, 224, 224)`` input (seed ``SEED + B``), image i explained for class ``(17 + 97 i) % 1000``
by every library. Each library has its own copy of the model (same weights). Entries:

* ``floor (fwd + input grad)``: parameters frozen, one forward, the target logits gathered,
  ``torch.autograd.grad`` to the input — the least work of any input-gradient method.
* FullGrad: camlens ``FullGrad(model)`` (the authors' post-processing), camlens
  ``FullGrad(model, postprocess="pytorch-grad-cam")`` (pytorch-grad-cam's numbers), and
  pytorch-grad-cam's ``FullGrad(model, [])`` used as its docs show (``with ... as cam``).
* Guided backprop: camlens ``GuidedBackprop(model)``, captum ``GuidedBackprop(model)`` (both
  batched) and pytorch-grad-cam's ``GuidedBackpropReLUModel``, which explains only the first image
  of a batch: it is called once per image, so it does the same work.

Time: warm-up calls, then rounds; each round runs every entry once, round-robin, the order rotated
by one each round (drift on a shared machine hits all entries alike); before each round the bench
waits (up to ``--quiet-wait`` s) for other processes to use < 20 % of the CPUs. Medians and
inter-quartile ranges; parameter gradients are reset to None before every call (outside the
timing). After the warm-up the bench checks that camlens and captum left no hook, no frozen
parameter and no swapped module (pytorch-grad-cam's guided model swaps the ReLU modules: noted).
Agreement: max |Δ| of camlens' result against each peer's on the first warm-up call.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import gc
import json
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torchvision
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_core as core

SEED = 0
SIZE = 224
NUM_CLASSES = 1000
RESULTS = Path(__file__).resolve().parent / "results"

Runner = Callable[[Tensor, list[int]], object]
TASKS = {"fullgrad": "fullgrad", "guided": "guided backprop"}
# (task, library) in report order
ENTRIES = (
    ("input grad", "floor (fwd + input grad)"),
    ("fullgrad", "camlens"),
    ("fullgrad", "camlens (postprocess=pytorch-grad-cam)"),
    ("fullgrad", "pytorch-grad-cam"),
    ("guided backprop", "camlens"),
    ("guided backprop", "captum"),
    ("guided backprop", "pytorch-grad-cam (per image)"),
)


def make_model() -> nn.Module:
    """ResNet-50, random weights; batch-norm statistics drawn too (a fresh batch-norm has mean 0,
    variance 1 and bias 0, so every FullGrad bias term would be zero)."""
    torch.manual_seed(SEED)
    model = torchvision.models.resnet50(weights=None).eval()
    generator = torch.Generator().manual_seed(SEED)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(0.3 * torch.randn(n, generator=generator))
            m.running_var.copy_(0.5 + torch.rand(n, generator=generator))
            m.bias.data.copy_(0.2 * torch.randn(n, generator=generator))
    return model


def make_input(batch: int) -> tuple[Tensor, list[int]]:
    generator = torch.Generator().manual_seed(SEED + batch)
    x = torch.randn(batch, 3, SIZE, SIZE, generator=generator)
    return x, [(17 + 97 * i) % NUM_CLASSES for i in range(batch)]


# --- runners -------------------------------------------------------------------------------------
def floor_runner(model: nn.Module) -> Runner:
    def run(x: Tensor, classes: list[int]) -> Tensor:
        params = [p for p in model.parameters() if p.requires_grad]
        for p in params:
            p.requires_grad_(False)
        try:
            leaf = x.detach().requires_grad_(True)
            with torch.enable_grad():
                logits = model(leaf)
                index = torch.tensor(classes)
                (grad,) = torch.autograd.grad(logits.gather(1, index[:, None]).sum(), leaf)
        finally:
            for p in params:
                p.requires_grad_(True)
        return grad

    return run


def runners(models: dict[str, nn.Module], tasks: list[str]) -> dict[tuple[str, str], Runner]:
    from captum.attr import GuidedBackprop as CaptumGuided
    from pytorch_grad_cam import FullGrad as PgcFullGrad
    from pytorch_grad_cam import GuidedBackpropReLUModel
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    from camlens.methods.fullgrad import FullGrad
    from camlens.pixel import GuidedBackprop

    def camlens_fullgrad(postprocess: str) -> Runner:
        def run(x: Tensor, classes: list[int]) -> Tensor:
            with FullGrad(models["camlens"], postprocess=postprocess) as cam:
                return cam(x, targets=classes)

        return run

    def pgc_fullgrad(x: Tensor, classes: list[int]) -> np.ndarray:
        with PgcFullGrad(model=models["pgc-fullgrad"], target_layers=[]) as cam:
            return cam(input_tensor=x, targets=[ClassifierOutputTarget(c) for c in classes])

    def camlens_guided(x: Tensor, classes: list[int]) -> Tensor:
        return GuidedBackprop(models["camlens"])(x, targets=classes)

    def captum_guided(x: Tensor, classes: list[int]) -> Tensor:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return CaptumGuided(models["captum"]).attribute(x, target=classes)

    def pgc_guided(x: Tensor, classes: list[int]) -> np.ndarray:
        gb = GuidedBackpropReLUModel(models["pgc-guided"], device="cpu")
        return np.stack([gb(x[i : i + 1].clone(), c) for i, c in enumerate(classes)])

    every = {
        ENTRIES[0]: floor_runner(models["floor"]),
        ENTRIES[1]: camlens_fullgrad("paper"),
        ENTRIES[2]: camlens_fullgrad("pytorch-grad-cam"),
        ENTRIES[3]: pgc_fullgrad,
        ENTRIES[4]: camlens_guided,
        ENTRIES[5]: captum_guided,
        ENTRIES[6]: pgc_guided,
    }
    keep = {"input grad", *(TASKS[t] for t in tasks)}
    return {key: run for key, run in every.items() if key[0] in keep}


MODEL_OF = {
    "floor (fwd + input grad)": "floor",
    "camlens": "camlens",
    "camlens (postprocess=pytorch-grad-cam)": "camlens",
    "captum": "captum",
}


def model_key(task: str, library: str) -> str:
    if library.startswith("pytorch-grad-cam"):
        return "pgc-fullgrad" if task == "fullgrad" else "pgc-guided"
    return MODEL_OF[library]


# --- checks --------------------------------------------------------------------------------------
reset = core.reset  # no parameter gradients before every call


def structure(model: nn.Module) -> list[tuple[str, type, bool]]:
    return [(name, type(m), m.training) for name, m in model.named_modules()]


def modules_of(model: nn.Module) -> list[tuple[str, str, object]]:
    """Every module slot (shared modules counted at each place) with its type and inplace flag."""
    return [
        (name, type(m).__name__, getattr(m, "inplace", None))
        for name, m in model.named_modules(remove_duplicate=False)
    ]


def check_clean(model: nn.Module, reference: list, who: str) -> None:
    """bench_core's checks (no hooks left, parameters trainable), and no module swapped."""
    core.check_clean(model, who)
    if structure(model) != reference:
        raise RuntimeError(f"{who} changed the model's modules or training flags")


def as_tensor(out: object) -> Tensor:
    return torch.from_numpy(out) if isinstance(out, np.ndarray) else out.detach()


def agreement(outputs: dict[tuple[str, str], Tensor]) -> dict[tuple[str, str], str]:
    """camlens vs each peer: max |Δ| (guided: relative to camlens' max |value|)."""
    notes: dict[tuple[str, str], str] = {}
    if all(k in outputs for k in ENTRIES[1:4]):
        fg_compat, fg_pgc = outputs[ENTRIES[2]], outputs[ENTRIES[3]]
        notes[ENTRIES[3]] = f"{float((fg_compat - fg_pgc).abs().max()):.1e} (vs compat)"
        paper = float((outputs[ENTRIES[1]] - fg_pgc).abs().max())
        notes[ENTRIES[1]] = f"{paper:.2f} (paper ≠ pgc)"
    if all(k in outputs for k in ENTRIES[4:7]):
        ours = outputs[ENTRIES[4]]
        scale = float(ours.abs().max())
        captum = float((ours - outputs[ENTRIES[5]]).abs().max()) / scale
        notes[ENTRIES[5]] = f"{captum:.1e} (rel.)"
        pgc = float((ours - outputs[ENTRIES[6]].permute(0, 3, 1, 2)).abs().max()) / scale
        notes[ENTRIES[6]] = f"{pgc:.1e} (rel.)"
    return notes


# --- time ----------------------------------------------------------------------------------------
class CpuMonitor:
    """Share of the machine's CPU time used by other processes (/proc/stat minus our own)."""

    def __init__(self) -> None:
        self.start = self._sample()

    @staticmethod
    def _sample() -> tuple[int, int, float]:
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
        idle = fields[3] + fields[4]
        total = sum(fields[:8])
        return total - idle, total, time.process_time()

    def others(self) -> float:
        busy0, total0, own0 = self.start
        busy1, total1, own1 = self._sample()
        if total1 <= total0:
            return 0.0
        own = (own1 - own0) * os.sysconf("SC_CLK_TCK")
        return max(0.0, (busy1 - busy0 - own) / (total1 - total0))


def wait_for_quiet(max_wait: float, threshold: float = 0.2) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < max_wait:
        monitor = CpuMonitor()
        time.sleep(1.0)
        if monitor.others() < threshold:
            break
    return time.perf_counter() - start


def timed(runner: Runner, model: nn.Module, x: Tensor, classes: list[int]) -> float:
    reset(model)
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        out = runner(x, classes)
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
    del out
    return elapsed


def time_batch(
    entries: dict[tuple[str, str], Runner],
    models: dict[str, nn.Module],
    batch: int,
    args: argparse.Namespace,
) -> tuple[dict, dict, list[float]]:
    x, classes = make_input(batch)
    references = {k: structure(m) for k, m in models.items()}
    outputs = {}
    for key, runner in entries.items():
        model = models[model_key(*key)]
        for i in range(args.warmup):
            reset(model)
            out = runner(x, classes)
            if i == 0:
                outputs[key] = as_tensor(out).float()
            if key[1].startswith(("camlens", "captum", "floor")):
                check_clean(model, references[model_key(*key)], key[1])
    notes = agreement(outputs)
    keys = list(entries)
    times: dict[tuple[str, str], list[float]] = {k: [] for k in keys}
    others = []
    for r in range(args.repeats):
        if args.quiet_wait > 0:
            wait_for_quiet(args.quiet_wait)
        monitor = CpuMonitor()
        shift = r % len(keys)
        for key in keys[shift:] + keys[:shift]:
            times[key].append(timed(entries[key], models[model_key(*key)], x, classes))
        others.append(monitor.others())
        done = ", ".join(f"{t} {lib} {1e3 * v[-1]:.0f} ms" for (t, lib), v in times.items())
        print(
            f"  batch {batch} round {r + 1}/{args.repeats} (others used {100 * others[-1]:.0f}% "
            f"CPU): {done}",
            file=sys.stderr,
        )
    return times, notes, others


# --- report --------------------------------------------------------------------------------------
def build_rows(results: dict[int, tuple[dict, dict, list]]) -> list[dict]:
    rows = []
    for batch, (times, notes, _) in results.items():
        floor = statistics.median(times[ENTRIES[0]])
        ours = [key for key in (ENTRIES[1], ENTRIES[4]) if key in times]
        camlens = {key[0]: statistics.median(times[key]) for key in ours}
        for key in ENTRIES:
            if key not in times:
                continue
            task, library = key
            samples = times[key]
            median = statistics.median(samples)
            q1, _, q3 = statistics.quantiles(samples, n=4) if len(samples) > 1 else (0, 0, 0)
            rows.append(
                {
                    "batch": batch,
                    "task": task,
                    "library": library,
                    "median_ms": 1e3 * median,
                    "iqr_ms": 1e3 * (q3 - q1),
                    "time_vs_floor": median / floor,
                    "peer_vs_camlens": (
                        median / camlens[task]
                        if task in camlens and not library.startswith("camlens")
                        else None
                    ),
                    "agreement": notes.get(key, "—"),
                    "times_ms": [1e3 * t for t in samples],
                }
            )
    return rows


def markdown_table(rows: list[dict]) -> str:
    lines = [
        "| batch | task | library | median ms | IQR ms | × floor | peer time / camlens time "
        "| max abs Δ vs camlens |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        ratio = "—" if r["peer_vs_camlens"] is None else f"{r['peer_vs_camlens']:.2f}"
        lines.append(
            f"| {r['batch']} | {r['task']} | {r['library']} | {r['median_ms']:.0f} "
            f"| {r['iqr_ms']:.0f} | {r['time_vs_floor']:.2f} | {ratio} | {r['agreement']} |"
        )
    return "\n".join(lines)


def verdict(rows: list[dict]) -> list[str]:
    """Target: camlens FullGrad takes at most half of pytorch-grad-cam's time."""
    by = {(r["batch"], r["task"], r["library"]): r for r in rows}
    out = []
    for batch in sorted({r["batch"] for r in rows}):
        pgc = by.get((batch, "fullgrad", "pytorch-grad-cam"))
        for library in ("camlens", "camlens (postprocess=pytorch-grad-cam)"):
            ours = by.get((batch, "fullgrad", library))
            if pgc is None or ours is None:
                continue
            share = ours["median_ms"] / pgc["median_ms"]
            mark = "PASS" if share <= 0.5 else "FAIL"
            out.append(
                f"- {mark}: FullGrad batch {batch}, {library}: {share:.3f}× pytorch-grad-cam's "
                f"time ({ours['median_ms']:.0f} ms vs {pgc['median_ms']:.0f} ms; target ≤ 0.5×)"
            )
    return out


def machine() -> dict:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    from importlib.metadata import version

    versions = {"torch": torch.__version__, "torchvision": torchvision.__version__}
    for name in ("camlens", "grad-cam", "captum"):
        try:
            versions[name] = version(name)
        except Exception:
            versions[name] = "?"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "versions": versions,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", default="1,8", help="comma-separated batch sizes (1,8)")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds per batch (5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls per entry first (1)")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        help="before each round wait up to this many s for other processes to use < 20%% of the "
        "CPUs (30; 0 = never)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch intra-op threads (0 = torch's default). On a shared machine 1 thread is far "
        "less sensitive to other processes than several, which spin-wait on each other",
    )
    parser.add_argument(
        "--tasks", default="fullgrad,guided", help="comma-separated: fullgrad, guided (both)"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: batch 1, 2 rounds")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for .md and .json")
    args = parser.parse_args(argv)
    if args.quick:
        args.batches, args.repeats = "1", 2
    args.batches = [int(b) for b in args.batches.split(",") if b.strip()]
    args.tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = set(args.tasks) - set(TASKS)
    if unknown:
        parser.error(f"unknown tasks {sorted(unknown)}; known: {', '.join(TASKS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    info = machine()
    print(
        f"camlens pixel bench: {info['cpu']}, {info['cores']} cores, {info['torch_threads']} "
        f"threads; batches {args.batches}, {args.repeats} rounds",
        file=sys.stderr,
    )
    base = make_model()
    models = {k: copy.deepcopy(base) for k in ("floor", "camlens", "captum")}
    models["pgc-fullgrad"] = copy.deepcopy(base)
    models["pgc-guided"] = copy.deepcopy(base)
    started = time.perf_counter()
    results = {}
    for batch in args.batches:
        results[batch] = time_batch(runners(models, args.tasks), models, batch, args)
    rows = build_rows(results)
    swapped = modules_of(models["pgc-guided"]) != modules_of(base)
    pgc_note = (
        "pytorch-grad-cam's GuidedBackpropReLUModel left its model changed (ReLU modules "
        "replaced by one shared non-in-place nn.ReLU)."
        if swapped
        else ""
    )
    now = dt.datetime.now()
    contention = ", ".join(
        f"batch {b}: median {100 * statistics.median(o):.0f}%"
        for b, (_, _, o) in results.items()
        if o
    )
    report = [
        f"# camlens pixel bench — {now:%Y-%m-%d %H:%M}",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, torch {info['versions']['torch']} "
        f"({info['torch_threads']} threads), Python {info['python']}. Versions: "
        + ", ".join(f"{k} {v}" for k, v in info["versions"].items())
        + ".",
        f"ResNet-50 (random weights, eval), {SIZE}×{SIZE}; {args.repeats} rounds round-robin "
        f"after {args.warmup} warm-up call(s); medians.",
        "",
        markdown_table(rows),
        "",
        f"Other processes' share of the CPUs during the rounds: {contention}.",
        "",
        "Targets:",
        "",
        *(verdict(rows) or ["- FullGrad not measured (see --tasks)."]),
        "",
        pgc_note,
        "",
        f"Wall time: {time.perf_counter() - started:.0f} s.",
    ]
    text = "\n".join(report)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"pixel-{now:%Y-%m-%d}" + ("-quick" if args.quick else "")
    (args.out / f"{stem}.md").write_text(text + "\n")
    (args.out / f"{stem}.json").write_text(
        json.dumps({"machine": info, "args": vars(args) | {"out": str(args.out)}, "rows": rows})
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
