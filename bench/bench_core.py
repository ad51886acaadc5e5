"""Time and memory of camlens against pytorch-grad-cam, torchcam and captum, and against the floor.

    .venv/bin/python bench/bench_core.py                 # full run: batches 1 and 8, all methods
    .venv/bin/python bench/bench_core.py --quick         # smoke run: batch 1, Grad-CAM, 3 repeats

Set-up: torchvision ResNet-50 (random weights, seed 0, eval mode), target layer ``layer4``, input
``(B, 3, 224, 224)``; image i of a batch is explained for class ``(17 + 97 i) % 1000`` by every
library. Each library gets its own copy of the model (same weights), builds its extractor inside
the timed call (its documented ``with`` usage), and must leave no hooks behind.

The floor is what any Grad-CAM must do at least: one forward whose autograd graph starts at the
target layer (parameters frozen, a hook makes ``layer4``'s output a graph leaf), the target logits
gathered, and ``torch.autograd.grad`` to that layer. For Eigen-CAM (no gradients) the floor is one
forward pass under ``torch.no_grad()``.

Time: after warm-up, every (library, method) runs once per round, round-robin, the order rotated
each round, so drift on a shared machine hits all of them alike; we report medians. A round during
which other processes took more than ``--busy`` of the CPUs is set aside and run again (``Quiet``).
Memory: the extra peak resident memory of one call over the state just before it, measured in a
fresh subprocess per library with ``MALLOC_MMAP_THRESHOLD_`` fixed (see ``memory_worker``).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import ctypes
import datetime as dt
import functools
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torch import Tensor, nn

SEED = 0
SIZE = 224
LAYER = "layer4"
NUM_CLASSES = 1000
RESULTS = Path(__file__).resolve().parent / "results"
# glibc returns every block above this size to the OS on free (see memory_worker).
MMAP_THRESHOLD = "65536"

LIBRARIES = ("floor", "camlens", "pytorch-grad-cam", "torchcam", "captum")
METHODS = ("gradcam", "gradcam++", "xgradcam", "layercam", "hirescam", "eigencam")
GRADIENT_FREE = {"eigencam"}

Runner = Callable[[Tensor, list[int]], object]


# --- the set-up every library shares ----------------------------------------------------------
def make_model() -> nn.Module:
    torch.manual_seed(SEED)
    return torchvision.models.resnet50(weights=None).eval()


def make_input(batch: int) -> tuple[Tensor, list[int]]:
    generator = torch.Generator().manual_seed(SEED + batch)
    x = torch.randn(batch, 3, SIZE, SIZE, generator=generator)
    return x, [(17 + 97 * i) % NUM_CLASSES for i in range(batch)]


def normalize(maps: Tensor) -> Tensor:
    """Per-image min-max to [0, 1] (a constant map becomes zeros)."""
    flat = maps.flatten(1)
    shifted = flat - flat.min(dim=1, keepdim=True).values
    top = shifted.max(dim=1, keepdim=True).values
    return torch.where(top > 0, shifted / torch.where(top > 0, top, 1), 0).view_as(maps)


def to_input_size(maps: Tensor) -> Tensor:
    """``(B, h, w)`` low-resolution maps -> ``(B, 224, 224)`` in [0, 1]: what camlens and
    pytorch-grad-cam return, added to torchcam and captum so all do the same work."""
    up = F.interpolate(maps[:, None].float(), size=(SIZE, SIZE), mode="bilinear")
    return normalize(up[:, 0])


# --- the floor ----------------------------------------------------------------------------------
def floor_runner(model: nn.Module, method: str) -> Runner:
    if method in GRADIENT_FREE:

        def forward(x: Tensor, classes: list[int]) -> object:
            with torch.no_grad():
                return model(x)

        return forward

    layer = model.get_submodule(LAYER)

    def forward_and_grad(x: Tensor, classes: list[int]) -> object:
        params = list(model.parameters())
        leaves: list[Tensor] = []

        def leaf(module: nn.Module, inputs: object, output: Tensor) -> Tensor:
            output = output.detach().requires_grad_(True)
            leaves.append(output)
            return output

        for p in params:
            p.requires_grad_(False)
        handle = layer.register_forward_hook(leaf)
        try:
            with torch.enable_grad():
                logits = model(x)
                index = torch.tensor(classes, device=logits.device)
                scores = logits.gather(1, index[:, None])
                (grad,) = torch.autograd.grad(scores.sum(), leaves[0])
        finally:
            handle.remove()
            for p in params:
                p.requires_grad_(True)
        return grad

    return forward_and_grad


# --- the libraries, used as their docs show ----------------------------------------------------
def camlens_runner(model: nn.Module, method: str) -> Runner | None:
    import camlens

    cls = {
        "gradcam": camlens.GradCAM,
        "gradcam++": camlens.GradCAMPlusPlus,
        "xgradcam": camlens.XGradCAM,
        "layercam": camlens.LayerCAM,
        "hirescam": camlens.HiResCAM,
        "eigencam": camlens.EigenCAM,
    }.get(method)
    if cls is None:
        return None

    def run(x: Tensor, classes: list[int]) -> Tensor:
        with cls(model, target_layers=LAYER) as cam:
            return cam(x, targets=[camlens.ClassTarget(c) for c in classes])

    return run


def grad_cam_runner(model: nn.Module, method: str) -> Runner | None:
    import pytorch_grad_cam as pgc
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    cls = {
        "gradcam": pgc.GradCAM,
        "gradcam++": pgc.GradCAMPlusPlus,
        "xgradcam": pgc.XGradCAM,
        "layercam": pgc.LayerCAM,
        "hirescam": pgc.HiResCAM,
        "eigencam": pgc.EigenCAM,
    }.get(method)
    if cls is None:
        return None
    layer = model.get_submodule(LAYER)

    def run(x: Tensor, classes: list[int]) -> np.ndarray:
        with cls(model=model, target_layers=[layer]) as cam:
            return cam(input_tensor=x, targets=[ClassifierOutputTarget(c) for c in classes])

    return run


def torchcam_runner(model: nn.Module, method: str) -> Runner | None:
    from torchcam import methods as tcm

    cls = {
        "gradcam": tcm.GradCAM,
        "gradcam++": tcm.GradCAMpp,
        "xgradcam": tcm.XGradCAM,
        "layercam": tcm.LayerCAM,
    }.get(method)
    if cls is None:
        return None

    def run(x: Tensor, classes: list[int]) -> Tensor:
        with cls(model, LAYER) as extractor:
            scores = model(x)
            (maps,) = extractor(class_idx=classes, scores=scores)
        return to_input_size(maps)

    return run


def captum_runner(model: nn.Module, method: str) -> Runner | None:
    if method != "gradcam":
        return None
    from captum.attr import LayerAttribution, LayerGradCam

    layer = model.get_submodule(LAYER)

    def run(x: Tensor, classes: list[int]) -> Tensor:
        attr = LayerGradCam(model, layer).attribute(x, target=classes, relu_attributions=True)
        up = LayerAttribution.interpolate(attr, (SIZE, SIZE), interpolate_mode="bilinear")
        return normalize(up[:, 0])

    return run


FACTORIES: dict[str, Callable[[nn.Module, str], Runner | None]] = {
    "floor": floor_runner,
    "camlens": camlens_runner,
    "pytorch-grad-cam": grad_cam_runner,
    "torchcam": torchcam_runner,
    "captum": captum_runner,
}


def floor_kind(method: str) -> str:
    return "forward" if method in GRADIENT_FREE else "grad"


def build_entries(
    models: dict[str, nn.Module], methods: list[str], libraries: list[str]
) -> dict[tuple[str, str], Runner]:
    """``(library, method) -> runner``; the floor appears once per kind, keyed by method
    ``"grad"`` or ``"forward"``."""
    entries: dict[tuple[str, str], Runner] = {}
    for method in methods:
        for library in libraries:
            if library == "floor":
                key = ("floor", floor_kind(method))
                if key not in entries:
                    entries[key] = floor_runner(models["floor"], method)
                continue
            runner = FACTORIES[library](models[library], method)
            if runner is not None:
                entries[(library, method)] = runner
    return entries


def reset(model: nn.Module) -> None:
    """State before every call: no parameter gradients (pytorch-grad-cam leaves them)."""
    for p in model.parameters():
        p.grad = None


def check_clean(model: nn.Module, library: str) -> None:
    """A library must leave the shared model as it found it: no hooks, parameters trainable."""
    for name, module in model.named_modules():
        hooks = (
            module._forward_hooks,
            module._forward_pre_hooks,
            module._backward_hooks,
            module._backward_pre_hooks,
        )
        if any(hooks):
            raise RuntimeError(f"{library} left a hook on {name or 'the model'}")
    if not all(p.requires_grad for p in model.parameters()):
        raise RuntimeError(f"{library} left parameters frozen")


def as_maps(out: object) -> Tensor:
    return torch.from_numpy(out) if isinstance(out, np.ndarray) else torch.as_tensor(out)


# --- time ---------------------------------------------------------------------------------------
class CpuMonitor:
    """Share of the machine's CPU time used by *other* processes (from /proc/stat minus our own
    CPU time), so a report says how contended the run was."""

    def __init__(self) -> None:
        self.start = self._sample()

    @staticmethod
    def _sample() -> tuple[int, int, float]:
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        total = sum(fields[:8])  # guest time is already counted in user
        return total - idle, total, time.process_time()

    def others(self) -> float:
        busy0, total0, own0 = self.start
        busy1, total1, own1 = self._sample()
        if total1 <= total0:
            return 0.0
        own_jiffies = (own1 - own0) * os.sysconf("SC_CLK_TCK")
        return max(0.0, (busy1 - busy0 - own_jiffies) / (total1 - total0))


class Quiet:
    """Keeps timing away from other processes' bursts on a shared machine.

    Before each round, wait (at most ``max_wait`` s each time, ``budget`` s in all) for a
    ``window`` in which other processes use less than ``busy`` of the CPUs. A round during which
    any call ran while they used more is *contended*: it is set aside and another round is run,
    up to ``extra_rounds`` more than asked. If clean rounds are still missing then, the least
    contended set-aside rounds fill in (the report counts them). Whole rounds are kept or set
    aside, by a criterion external to the libraries, so every library is treated alike.
    """

    def __init__(
        self, max_wait: float, busy: float, extra_rounds: int, budget: float, window: float = 0.5
    ) -> None:
        self.max_wait, self.busy, self.window = max_wait, busy, window
        self.extra_rounds, self.budget = extra_rounds, budget
        self.waited = 0.0

    def wait(self) -> None:
        start = time.perf_counter()
        limit = min(self.max_wait, self.budget - self.waited)
        while time.perf_counter() - start < limit:
            monitor = CpuMonitor()
            time.sleep(self.window)
            if monitor.others() < self.busy:
                break
        self.waited += time.perf_counter() - start


def timed(
    runner: Runner, model: nn.Module, x: Tensor, classes: list[int]
) -> tuple[float, float, float]:
    """Wall seconds, process CPU seconds, and other processes' CPU share during one call."""
    reset(model)
    gc.collect()
    gc.disable()
    try:
        monitor = CpuMonitor()
        wall, cpu = time.perf_counter(), time.process_time()
        out = runner(x, classes)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        others = monitor.others()
    finally:
        gc.enable()
    del out
    return wall, cpu, others


def time_batch(
    entries: dict[tuple[str, str], Runner],
    models: dict[str, nn.Module],
    batch: int,
    repeats: int,
    warmup: int,
    quiet: Quiet,
) -> tuple[dict[tuple[str, str], list[dict]], dict[tuple[str, str], float], dict]:
    """Samples of every entry from the kept rounds (wall and CPU seconds, contention), max
    |map - camlens map| per entry, and how many rounds were run, clean, or contended."""
    x, classes = make_input(batch)
    keys = list(entries)
    maps: dict[tuple[str, str], Tensor] = {}
    for key in keys:
        library, method = key
        for i in range(warmup):
            reset(models[library])
            out = entries[key](x, classes)
            check_clean(models[library], library)
            if i == 0 and library != "floor":
                maps[key] = as_maps(out).detach().float()
            del out
    diffs = {}
    for (library, method), m in maps.items():
        ref = maps.get(("camlens", method))
        if ref is not None:
            if m.shape != ref.shape:
                raise RuntimeError(f"{library} {method}: maps {tuple(m.shape)} != {ref.shape}")
            diffs[(library, method)] = float((m - ref).abs().max())

    clean: list[dict] = []
    contended: list[dict] = []
    run = 0
    while len(clean) < repeats and run < repeats + quiet.extra_rounds:
        quiet.wait()
        shift = run % len(keys)
        samples = {}
        for key in keys[shift:] + keys[:shift]:
            wall, cpu, others = timed(entries[key], models[key[0]], x, classes)
            samples[key] = {"wall": wall, "cpu": cpu, "others": others, "round": run}
        worst = max(s["others"] for s in samples.values())
        (clean if worst <= quiet.busy else contended).append({"worst": worst, "samples": samples})
        run += 1
        done = ", ".join(
            f"{lib} {meth} {1e3 * s['wall']:.0f}/{1e3 * s['cpu']:.0f}"
            for (lib, meth), s in samples.items()
        )
        state = "clean" if worst <= quiet.busy else f"contended, set aside ({100 * worst:.0f}%)"
        print(
            f"  batch {batch} round {run} [{state}; {len(clean)}/{repeats} clean] "
            f"(wall/CPU ms): {done}",
            file=sys.stderr,
        )
    contended.sort(key=lambda r: r["worst"])
    fill = contended[: repeats - len(clean)]
    kept = clean + fill
    rounds = {
        "run": run,
        "clean": len(clean),
        "contended_kept": len(fill),
        "set_aside": len(contended) - len(fill),
        "worst_others_kept": max(r["worst"] for r in kept),
    }
    return {key: [r["samples"][key] for r in kept] for key in keys}, diffs, rounds


# --- memory -------------------------------------------------------------------------------------
def _status_bytes(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def extra_peak_rss(call: Callable[[], object]) -> int:
    """Bytes of resident memory the call added at its peak over the state before it.

    Writing "5" to /proc/self/clear_refs resets the peak (VmHWM) to the current RSS.
    """
    gc.collect()
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    baseline = _status_bytes("VmRSS")
    out = call()
    peak = _status_bytes("VmHWM")
    del out
    return peak - baseline


def torch_alloc_peak(call: Callable[[], object]) -> int | None:
    """Cross-check: peak bytes held by torch's CPU allocator during the call (torch.profiler).
    Sees torch tensors only (not numpy arrays); None if this torch's profiler lacks the API."""
    try:
        from torch._C._profiler import _EventType
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            out = call()
            del out

        def walk(events):
            for event in events:
                yield event
                yield from walk(event.children)

        tree = prof.profiler.kineto_results.experimental_event_tree()
        events = sorted(
            (e for e in walk(tree) if e.tag == _EventType.Allocation), key=lambda e: e.start_time_ns
        )
        if not events:
            return 0
        # The profiler's running total also counts blocks from earlier profiled calls that were
        # freed unprofiled: measure from the total just before the first event of this call.
        first = events[0].typed[1]
        start = first.total_allocated - first.alloc_size
        return max(0, *(e.typed[1].total_allocated - start for e in events))
    except Exception as exc:  # a private API: degrade to "not measured"
        print(f"  torch.profiler cross-check unavailable: {exc!r}", file=sys.stderr)
        return None


def memory_worker(library: str, batches: list[int], methods: list[str], repeats: int) -> dict:
    """Run in a subprocess started with MALLOC_MMAP_THRESHOLD_ fixed.

    By default glibc raises its mmap threshold after a large block is freed (up to 32 MiB), so
    later tensors come from the heap, whose freed pages it keeps: RSS then depends on the history
    of the process. With a fixed 64 KiB threshold every tensor buffer is its own mapping, returned
    to the OS on free, so RSS follows the live memory and the extra peak is repeatable.
    """
    model = make_model()
    entries = build_entries({library: model}, methods, [library])
    probe = 64 * 2**20
    self_check = extra_peak_rss(lambda: torch.ones(probe // 4)) / probe
    rows = []
    for batch in batches:
        x, classes = make_input(batch)
        for (lib, method), runner in entries.items():
            reset(model)
            runner(x, classes)  # warm-up: lazy initialisation is not the call's memory
            call = functools.partial(runner, x, classes)
            samples = []
            for _ in range(repeats):
                reset(model)
                samples.append(extra_peak_rss(call))
            reset(model)
            alloc = torch_alloc_peak(call)
            rows.append(
                {
                    "library": lib,
                    "method": method,
                    "batch": batch,
                    "extra_peak_bytes": statistics.median(samples),
                    "samples": samples,
                    "torch_alloc_peak_bytes": alloc,
                }
            )
            print(
                f"  memory {lib} {method} batch {batch}: "
                + ", ".join(f"{s / 2**20:.1f}" for s in samples)
                + " MiB",
                file=sys.stderr,
            )
    return {"self_check": self_check, "rows": rows}


def measure_memory(libraries: list[str], args: argparse.Namespace) -> tuple[dict, dict]:
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=MMAP_THRESHOLD)
    rows, checks = {}, {}
    for library in libraries:
        cmd = [
            sys.executable,
            __file__,
            "--memory-worker",
            library,
            "--batches",
            ",".join(map(str, args.batches)),
            "--methods",
            ",".join(args.methods),
            "--mem-repeats",
            str(args.mem_repeats),
            "--threads",
            str(args.threads),
        ]
        done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, check=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        checks[library] = result["self_check"]
        for row in result["rows"]:
            rows[(row["library"], row["method"], row["batch"])] = row
    return rows, checks


# --- report -------------------------------------------------------------------------------------
def machine() -> dict:
    model_name = platform.processor() or "unknown"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model_name = line.split(":", 1)[1].strip()
    versions = {"torch": torch.__version__, "torchvision": torchvision.__version__}
    for name, module in (
        ("camlens", "camlens"),
        ("grad-cam", "pytorch_grad_cam"),
        ("torchcam", "torchcam"),
        ("captum", "captum"),
    ):
        try:
            from importlib.metadata import version

            versions[name] = version(name)
        except Exception:
            versions[name] = getattr(__import__(module), "__version__", "?")
    commit = "unknown"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        root = Path(__file__).resolve().parent.parent
        git = ["git", "-C", str(root)]
        commit = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", "src"], capture_output=True, text=True, check=True
        ).stdout.strip()
        commit += " + uncommitted changes in src/" if dirty else ""
    return {
        "camlens_commit": commit,
        "cpu": model_name,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "versions": versions,
    }


def fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def build_rows(times, diffs, memory, args) -> list[dict]:
    rows = []
    for batch in args.batches:
        for method in args.methods:
            kind = floor_kind(method)
            floor_t = statistics.median(s[args.clock] for s in times[batch][("floor", kind)])
            floor_m = memory.get(("floor", kind, batch), {}).get("extra_peak_bytes")
            for library in LIBRARIES:
                key = ("floor", kind) if library == "floor" else (library, method)
                if key not in times[batch]:
                    continue
                samples = [s[args.clock] for s in times[batch][key]]
                contended = sum(s["others"] > args.busy for s in times[batch][key])
                q1, _, q3 = statistics.quantiles(samples, n=4) if len(samples) > 1 else [0] * 3
                mem = memory.get((key[0], key[1], batch), {})
                extra = mem.get("extra_peak_bytes")
                mem_ratio = None if extra is None or not floor_m else extra / floor_m
                median = statistics.median(samples)
                rows.append(
                    {
                        "library": library,
                        "method": method,
                        "floor": kind,
                        "batch": batch,
                        "median_ms": 1e3 * median,
                        "iqr_ms": 1e3 * (q3 - q1),
                        "time_vs_floor": median / floor_t,
                        "extra_peak_mib": None if extra is None else extra / 2**20,
                        "memory_vs_floor": mem_ratio,
                        "torch_alloc_peak_mib": (
                            None
                            if mem.get("torch_alloc_peak_bytes") is None
                            else mem["torch_alloc_peak_bytes"] / 2**20
                        ),
                        "max_abs_diff_vs_camlens": diffs[batch].get(key),
                        "clock": args.clock,
                        "wall_median_ms": 1e3
                        * statistics.median(s["wall"] for s in times[batch][key]),
                        "cpu_median_ms": 1e3
                        * statistics.median(s["cpu"] for s in times[batch][key]),
                        "contended_samples": contended,
                        "samples": times[batch][key],
                    }
                )
    return rows


def contention_summary(times: dict, rounds: dict, busy: float, quiet: Quiet) -> str:
    """How busy other processes kept the machine during the kept rounds."""
    samples = [s for per_batch in times.values() for per_key in per_batch.values() for s in per_key]
    others = [s["others"] for s in samples]
    per_batch = "; ".join(
        f"batch {b}: {r['run']} rounds run, {r['clean']} clean"
        + (f", {r['contended_kept']} contended kept" if r["contended_kept"] else "")
        + (f", {r['set_aside']} set aside" if r["set_aside"] else "")
        for b, r in rounds.items()
    )
    return (
        f"Contention: a round is clean if other processes used at most {100 * busy:.0f}% of the "
        f"CPUs during each of its calls — {per_batch}. During the kept calls they used a median "
        f"{100 * statistics.median(others):.0f}% (max {100 * max(others):.0f}%); "
        f"{quiet.waited:.0f} s were spent waiting for quiet."
    )


def markdown_table(rows: list[dict]) -> str:
    clock = "CPU" if rows and rows[0]["clock"] == "cpu" else "wall"
    lines = [
        f"| batch | method | library | median {clock} ms | IQR ms | × floor time | extra peak MiB "
        "| × floor memory | max abs Δ vs camlens |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        library = r["library"]
        if library == "floor":
            library = "floor (fwd, no grad)" if r["floor"] == "forward" else "floor (fwd + grad)"
        lines.append(
            f"| {r['batch']} | {r['method']} | {library} | {r['median_ms']:.1f} "
            f"| {r['iqr_ms']:.1f} | {r['time_vs_floor']:.2f} | {fmt(r['extra_peak_mib'], '.1f')} "
            f"| {fmt(r['memory_vs_floor'], '.2f')} | {fmt(r['max_abs_diff_vs_camlens'], '.1e')} |"
        )
    return "\n".join(lines)


def crosscheck_table(rows: list[dict]) -> str:
    lines = [
        "| batch | method | library | extra peak RSS MiB | torch allocator peak MiB |",
        "| ---: | --- | --- | ---: | ---: |",
    ]
    seen = set()
    for r in rows:
        key = (r["batch"], r["library"], r["floor"] if r["library"] == "floor" else r["method"])
        if key in seen:
            continue
        seen.add(key)
        method = r["floor"] + " floor" if r["library"] == "floor" else r["method"]
        lines.append(
            f"| {r['batch']} | {method} | {r['library']} | {fmt(r['extra_peak_mib'], '.1f')} "
            f"| {fmt(r['torch_alloc_peak_mib'], '.1f')} |"
        )
    return "\n".join(lines)


def paired_ratios(a: dict, b: dict) -> list[float]:
    """Per-round ratios a/b: the rounds interleave the entries, so each ratio compares calls made
    within seconds of each other and drift cancels."""
    clock = a["clock"]
    return [x[clock] / y[clock] for x, y in zip(a["samples"], b["samples"], strict=True)]


def verdict(rows: list[dict]) -> list[str]:
    """The targets, on Grad-CAM at batch 8 (same run). A time target is judged on the ratio of
    medians; the per-round paired ratios (median, range) show how firm that is."""
    by = {(r["library"], r["method"], r["batch"]): r for r in rows}
    cam = by.get(("camlens", "gradcam", 8))
    floor = by.get(("floor", "gradcam", 8))
    if cam is None or floor is None:
        return ["Targets need Grad-CAM at batch 8 with camlens and the floor: not measured."]

    def check(ok: bool | None, text: str) -> str:
        mark = "n/a" if ok is None else ("PASS" if ok else "FAIL")
        return f"- {mark}: {text}"

    def spread(a: dict, b: dict) -> str:
        ratios = paired_ratios(a, b)
        return (
            f"per-round ratios: median {statistics.median(ratios):.3f}, "
            f"range {min(ratios):.3f}–{max(ratios):.3f}"
        )

    out = [
        check(
            cam["time_vs_floor"] <= 1.05,
            f"time ≤ 1.05× floor — camlens {cam['median_ms']:.0f} ms = "
            f"{cam['time_vs_floor']:.3f}× floor ({floor['median_ms']:.0f} ms); "
            + spread(cam, floor),
        )
    ]
    if cam["memory_vs_floor"] is None:
        out.append(check(None, "extra peak memory ≤ 1.5× floor — not measured"))
    else:
        out.append(
            check(
                cam["memory_vs_floor"] <= 1.5,
                f"extra peak memory ≤ 1.5× floor — camlens {cam['extra_peak_mib']:.1f} MiB = "
                f"{cam['memory_vs_floor']:.2f}× floor ({floor['extra_peak_mib']:.1f} MiB)",
            )
        )
    pgc = by.get(("pytorch-grad-cam", "gradcam", 8))
    if pgc is not None:
        speedup = pgc["median_ms"] / cam["median_ms"]
        out.append(
            check(
                speedup >= 2,
                f"≥ 2× faster than pytorch-grad-cam — {speedup:.2f}× "
                f"({pgc['median_ms']:.0f} ms vs {cam['median_ms']:.0f} ms); " + spread(pgc, cam),
            )
        )
    for peer in ("torchcam", "captum"):
        other = by.get((peer, "gradcam", 8))
        if other is not None:
            out.append(
                check(
                    cam["median_ms"] <= other["median_ms"],
                    f"no slower than {peer} — camlens {cam['median_ms']:.0f} ms vs "
                    f"{other['median_ms']:.0f} ms (camlens/{peer} "
                    f"{cam['median_ms'] / other['median_ms']:.3f}); " + spread(cam, other),
                )
            )
    return out


def parse_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", default="1,8", help="comma-separated batch sizes (1,8)")
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds per batch (7)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls per entry first (2)")
    parser.add_argument(
        "--methods", default=",".join(METHODS), help=f"comma-separated, of {', '.join(METHODS)}"
    )
    parser.add_argument(
        "--libraries", default=",".join(LIBRARIES), help="comma-separated; the floor is required"
    )
    parser.add_argument(
        "--threads", type=int, default=0, help="torch threads (0: torch's default, the cores)"
    )
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="what the table reports: wall time (default) or the process's CPU time, which "
        "other processes barely disturb when --threads 1",
    )
    parser.add_argument("--mem-repeats", type=int, default=2, help="memory samples per entry (2)")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        help="before each round wait up to this many s for other processes to calm down "
        "(30; 0 = never wait)",
    )
    parser.add_argument(
        "--busy",
        type=float,
        default=0.15,
        help="a round is contended if other processes used more than this share of the CPUs "
        "during one of its calls (0.15)",
    )
    parser.add_argument(
        "--extra-rounds",
        type=int,
        default=None,
        help="rounds that may be run on top of --repeats to replace contended ones (= --repeats)",
    )
    parser.add_argument(
        "--wait-budget", type=float, default=900.0, help="total s to spend waiting (900)"
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurement")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: batch 1, gradcam, 3 repeats, 1 warm-up"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for .md and .json")
    parser.add_argument("--memory-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.batches, args.methods, args.repeats, args.warmup, args.mem_repeats = (
            "1",
            "gradcam",
            3,
            1,
            1,
        )
    if args.extra_rounds is None:
        args.extra_rounds = args.repeats
    args.batches = [int(b) for b in parse_list(args.batches)]
    args.methods = parse_list(args.methods)
    args.libraries = parse_list(args.libraries)
    unknown = set(args.methods) - set(METHODS)
    if unknown:
        parser.error(f"unknown methods {sorted(unknown)}; known: {', '.join(METHODS)}")
    unknown = set(args.libraries) - set(LIBRARIES)
    if unknown or "floor" not in args.libraries:
        parser.error(f"libraries must include floor and be among {', '.join(LIBRARIES)}")
    args.libraries = [lib for lib in LIBRARIES if lib in args.libraries]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_worker:
        result = memory_worker(args.memory_worker, args.batches, args.methods, args.mem_repeats)
        print(json.dumps(result))
        return 0

    info = machine()
    print(
        f"camlens bench: {info['cpu']}, {info['cores']} cores, torch {info['versions']['torch']}, "
        f"{info['torch_threads']} threads; batches {args.batches}, methods {args.methods}, "
        f"{args.repeats} rounds",
        file=sys.stderr,
    )
    base = make_model()
    models = {lib: copy.deepcopy(base) for lib in args.libraries}
    started = time.perf_counter()
    quiet = Quiet(args.quiet_wait, args.busy, args.extra_rounds, args.wait_budget)
    times, diffs, rounds = {}, {}, {}
    for batch in args.batches:
        entries = build_entries(models, args.methods, args.libraries)
        times[batch], diffs[batch], rounds[batch] = time_batch(
            entries, models, batch, args.repeats, args.warmup, quiet
        )
    memory, checks = ({}, {}) if args.no_memory else measure_memory(args.libraries, args)
    rows = build_rows(times, diffs, memory, args)

    now = dt.datetime.now()
    header = [
        f"# camlens core bench — {now:%Y-%m-%d %H:%M}",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, torch {info['versions']['torch']} "
        f"({info['torch_threads']} threads), Python {info['python']}. Versions: "
        + ", ".join(f"{k} {v}" for k, v in info["versions"].items())
        + f". camlens at {info['camlens_commit']}.",
        f"ResNet-50 (random weights, eval), `{LAYER}`, {SIZE}×{SIZE}; {args.repeats} rounds "
        f"round-robin after {args.warmup} warm-up calls; medians of "
        + ("wall-clock time." if args.clock == "wall" else "the process's CPU time."),
        "",
        markdown_table(rows),
        "",
        contention_summary(times, rounds, args.busy, quiet),
        "",
        "Targets (Grad-CAM, batch 8):",
        "",
        *verdict(rows),
    ]
    if memory:
        header += [
            "",
            "Memory method self-check (a 64 MiB tensor, per worker, measured/expected): "
            + ", ".join(f"{lib} {v:.3f}" for lib, v in checks.items()),
            "",
            crosscheck_table(rows),
        ]
    header += ["", f"Wall time: {time.perf_counter() - started:.0f} s."]
    report = "\n".join(header) + "\n"
    print(report)

    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"core-{now:%Y-%m-%d}" + ("-quick" if args.quick else "")
    (args.out / f"{stem}.md").write_text(report)
    payload = {
        "date": now.isoformat(timespec="seconds"),
        "machine": info,
        "config": {
            "batches": args.batches,
            "methods": args.methods,
            "libraries": args.libraries,
            "repeats": args.repeats,
            "warmup": args.warmup,
            "mem_repeats": args.mem_repeats,
            "threads": torch.get_num_threads(),
            "clock": args.clock,
            "model": "torchvision resnet50, random weights (seed 0), eval",
            "layer": LAYER,
            "size": SIZE,
            "malloc_mmap_threshold_for_memory": int(MMAP_THRESHOLD),
        },
        "memory_self_check": checks,
        "contention": contention_summary(times, rounds, args.busy, quiet),
        "rounds": {str(b): r for b, r in rounds.items()},
        "rows": rows,
        "verdict": verdict(rows),
    }
    (args.out / f"{stem}.json").write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {args.out / stem}.md and .json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
