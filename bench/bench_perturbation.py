"""Time and memory of camlens' perturbation CAMs against pytorch-grad-cam and torchcam.

    .venv/bin/python bench/bench_perturbation.py                # ResNet-50 layer4, 224 px, batch 1
    .venv/bin/python bench/bench_perturbation.py --quick        # 96 px: a smoke run (~2-4 min)

Set-up (shared with bench_core.py): torchvision ResNet-50, random weights (seed 0), eval mode,
target layer ``layer4`` (2048 channels, 7×7 at 224 px), input ``(B, 3, S, S)`` seeded, image i
explained for class ``(17 + 97 i) % 1000``. Each library has its own copy of the model and
builds its extractor inside the timed call.

- Ablation-CAM: camlens (tail-only path, chunks from its default 512 MiB budget, with
  pytorch-grad-cam's ablation value and plain division so the maps can be compared) against
  pytorch-grad-cam's ``AblationCAM`` (batch_size 32, the whole network per ablated copy).
- Score-CAM: camlens (pytorch-grad-cam's mask convention, default 512 MiB budget) against
  pytorch-grad-cam's ``ScoreCAM`` (batch 16, all B·C masked copies built at once) and torchcam's
  ``ScoreCAM`` (batch 32; its 7×7 map is upsampled and normalised inside the timed call).
  camlens and pytorch-grad-cam use the same masks, so their maps are compared; torchcam
  normalises before upsampling, so its maps differ by design (its difference is shown too).

These runs are slow on a CPU (Score-CAM is 2048 forward passes of ResNet-50 per image), so by
default each entry runs once (``--repeats``), without a warm-up call (a call is hundreds of
forward passes: lazy initialisation is lost in it; a warm-up would double the run). Time: wall and
process CPU seconds of the call, and how busy other processes kept the machine meanwhile.
Threads: one by default (``--threads``). On a shared 2-core machine, two OpenMP threads spin
while they wait for each other when other processes hold a core, and a forward pass then takes up
to 30× its CPU time (resnet18, 32 px, batch 4: 17 ms with one thread, 0.3-0.6 s with two); one
thread keeps every library's numbers about the work done.
Memory: the extra peak resident memory of the same call over the state just before it, with
``MALLOC_MMAP_THRESHOLD_`` fixed (the script re-executes itself with it set) so freed tensor
buffers go back to the OS and RSS follows live memory (see bench_core.py).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_core as core  # its set-up, clean-up checks and meters

RESULTS = Path(__file__).resolve().parent / "results"
ENTRIES = {
    "ablation": ("camlens", "pytorch-grad-cam"),
    "score": ("camlens", "pytorch-grad-cam", "torchcam"),
}
Runner = Callable[[Tensor, list[int]], object]


def runner(library: str, method: str, model: nn.Module, args: argparse.Namespace) -> Runner:
    layer = model.get_submodule(core.LAYER)
    if library == "camlens":
        from camlens.core.postprocess import fuse_pytorch_grad_cam
        from camlens.methods.ablationcam import AblationCAM
        from camlens.methods.scorecam import ScoreCAM

        if method == "ablation":

            class Ablation(AblationCAM):
                fuse = staticmethod(fuse_pytorch_grad_cam)

            def run(x: Tensor, classes: list[int]) -> Tensor:
                cam = Ablation(
                    model,
                    core.LAYER,
                    ablation_value="pytorch-grad-cam",
                    denominator="plain",
                    max_memory=args.max_memory,
                )
                return cam(x, classes)

            return run

        class Score(ScoreCAM):
            fuse = staticmethod(fuse_pytorch_grad_cam)

        def run(x: Tensor, classes: list[int]) -> Tensor:
            cam = Score(
                model,
                core.LAYER,
                align_corners=True,
                mask_eps=1e-8,
                skip_constant="zero",
                max_memory=args.max_memory,
            )
            return cam(x, classes)

        return run

    if library == "pytorch-grad-cam":
        import pytorch_grad_cam as pgc
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

        cls = pgc.AblationCAM if method == "ablation" else pgc.ScoreCAM

        def run(x: Tensor, classes: list[int]) -> np.ndarray:
            with cls(model=model, target_layers=[layer]) as cam:
                return cam(input_tensor=x, targets=[ClassifierOutputTarget(c) for c in classes])

        return run

    from torchcam.methods import ScoreCAM as TorchcamScoreCAM

    def run(x: Tensor, classes: list[int]) -> Tensor:
        with TorchcamScoreCAM(model, core.LAYER) as extractor:
            with torch.no_grad():
                model(x)
            (maps,) = extractor(class_idx=classes)
        up = torch.nn.functional.interpolate(maps[:, None], size=x.shape[2:], mode="bilinear")
        return core.normalize(up[:, 0])

    return run


def make_input(batch: int, size: int) -> tuple[Tensor, list[int]]:
    generator = torch.Generator().manual_seed(core.SEED + batch)
    x = torch.randn(batch, 3, size, size, generator=generator)
    return x, [(17 + 97 * i) % core.NUM_CLASSES for i in range(batch)]


def one_call(run: Runner, model: nn.Module, x: Tensor, classes: list[int]) -> tuple[dict, Tensor]:
    core.reset(model)
    gc.collect()
    out_box: list[object] = []

    def call() -> object:
        monitor = core.CpuMonitor()
        wall, cpu = time.perf_counter(), time.process_time()
        out_box.append(run(x, classes))
        out_box.append((time.perf_counter() - wall, time.process_time() - cpu, monitor.others()))
        return None

    extra = core.extra_peak_rss(call)
    out, (wall, cpu, others) = out_box
    maps = core.as_maps(out).detach().float()
    return {"wall": wall, "cpu": cpu, "others": others, "extra_peak_bytes": extra}, maps


def bench(args: argparse.Namespace) -> dict:
    base = core.make_model()
    results = []
    for batch in args.batches:
        x, classes = make_input(batch, args.size)
        for method in args.methods:
            libraries = [lib for lib in ENTRIES[method] if lib in args.libraries]
            models = {lib: copy.deepcopy(base) for lib in libraries}
            runs = {lib: runner(lib, method, models[lib], args) for lib in libraries}
            samples: dict[str, list[dict]] = {lib: [] for lib in libraries}
            maps: dict[str, Tensor] = {}
            for r in range(args.repeats):
                shift = (r + args.rotate) % len(libraries)
                order = libraries[shift:] + libraries[:shift]
                for lib in order:
                    sample, out = one_call(runs[lib], models[lib], x, classes)
                    core.check_clean(models[lib], lib)
                    samples[lib].append(sample)
                    maps.setdefault(lib, out)
                    print(
                        f"  {method} batch {batch} {lib}: {sample['wall']:.1f} s wall, "
                        f"{sample['cpu']:.1f} s CPU, +{sample['extra_peak_bytes'] / 2**20:.0f} MiB"
                        f" (others {100 * sample['others']:.0f}% busy)",
                        file=sys.stderr,
                    )
            for lib in libraries:
                s = samples[lib]
                results.append(
                    {
                        "method": method,
                        "library": lib,
                        "batch": batch,
                        "size": args.size,
                        "wall_s": statistics.median(v["wall"] for v in s),
                        "cpu_s": statistics.median(v["cpu"] for v in s),
                        "others_busy": statistics.median(v["others"] for v in s),
                        "extra_peak_mib": statistics.median(v["extra_peak_bytes"] for v in s)
                        / 2**20,
                        "max_abs_diff_vs_camlens": float((maps[lib] - maps["camlens"]).abs().max()),
                        "samples": s,
                    }
                )
    return {
        "date": dt.date.today().isoformat(),
        "machine": core.machine(),
        "args": {k: v for k, v in vars(args).items() if k != "out"},
        "results": results,
    }


def table(report: dict) -> str:
    rows = [
        "| method | batch | library | wall (s) | CPU (s) | camlens faster by | extra peak "
        "(MiB) | max \\|Δmap\\| vs camlens | others' CPU use |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    names = {"ablation": "Ablation-CAM", "score": "Score-CAM"}
    ours = {(r["method"], r["batch"]): r for r in report["results"] if r["library"] == "camlens"}
    for r in report["results"]:
        ref = ours[(r["method"], r["batch"])]
        ratio = "" if r["library"] == "camlens" else f"{r['wall_s'] / ref['wall_s']:.1f}×"
        diff = "—" if r["library"] == "camlens" else f"{r['max_abs_diff_vs_camlens']:.1e}"
        rows.append(
            f"| {names[r['method']]} | {r['batch']} | {r['library']} | {r['wall_s']:.1f} | "
            f"{r['cpu_s']:.1f} | {ratio} | {r['extra_peak_mib']:.0f} | {diff} | "
            f"{100 * r['others_busy']:.0f}% |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", default="1", help="batch sizes, e.g. 1,8")
    parser.add_argument("--methods", default="ablation,score", help="ablation,score")
    parser.add_argument("--libraries", default="camlens,pytorch-grad-cam,torchcam")
    parser.add_argument("--size", type=int, default=core.SIZE, help="input side in pixels")
    parser.add_argument("--repeats", type=int, default=1, help="timed calls per entry")
    parser.add_argument("--max-memory", default="512MiB", help="camlens' chunk budget")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument(
        "--rotate", type=int, default=0, help="start the round-robin at library N (0: camlens)"
    )
    parser.add_argument("--quick", action="store_true", help="96-px input: a smoke run")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    args.batches = [int(b) for b in args.batches.split(",")]
    args.methods = args.methods.split(",")
    args.libraries = ["camlens", *[lib for lib in args.libraries.split(",") if lib != "camlens"]]
    if args.quick:
        args.size = 96
    if os.environ.get("MALLOC_MMAP_THRESHOLD_") != core.MMAP_THRESHOLD:
        env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=core.MMAP_THRESHOLD)
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    torch.set_num_threads(args.threads)
    torch.manual_seed(core.SEED)
    report = bench(args)
    text = table(report)
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"perturbation-{report['date']}" + ("-quick" if args.quick else "")
    (out / f"{stem}.md").write_text(text + "\n")
    (out / f"{stem}.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
