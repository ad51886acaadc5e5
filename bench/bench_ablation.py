"""Ablation-CAM against its floor and pytorch-grad-cam, and the cost of Score-CAM's re-fold.

    /work/main/.venv/bin/python bench/bench_ablation.py             # ResNet-18 and -50, 160 px
    /work/main/.venv/bin/python bench/bench_ablation.py --size 224 --pgc-ratio 0.0625

Set-up: torchvision ResNet-18 and ResNet-50, random weights (seed 0), eval mode, target layer
``layer4`` (= ``layer4[-1]``'s output), one seeded image ``(1, 3, S, S)`` explained for class 17,
one thread (``torch.set_num_threads(1)``). Per entry: wall and process-CPU seconds, median of
``--repeats`` calls (pytorch-grad-cam: one call); ratios use CPU time, which other processes on a
shared machine barely move with one thread.

- ``floor``: one plain forward pass of the image (``torch.inference_mode``): the least any
  Ablation-CAM must do (it needs the layer's activations and the target score).
- ``tail only``: the part no model-agnostic Ablation-CAM can avoid once the layer's output is
  known: every ablated copy of it made (chunks of 512) and run through avgpool + fc.
- ``camlens``: ``camlens.AblationCAM`` (default options: chunks from a 512 MiB budget).
- ``compat bs=N`` (``--batch-sizes``, default 1, 32, 512):
  ``camlens.compat.pytorch_grad_cam.AblationCAM`` with that ``batch_size`` (pytorch-grad-cam's
  ablation values, which depend on a copy's place in its
  chunk of ``batch_size``).
- ``pytorch-grad-cam``: its ``AblationCAM`` (batch_size 32), which runs the whole network for
  every ablated copy. On ResNet-50 (2048 channels) a full run takes minutes on one thread, so by
  default it runs with ``ratio_channels_to_ablate=--pgc-ratio`` (it then ablates about
  ``2·ratio·C`` channels, each still a full forward pass) and the time is extrapolated linearly
  to all channels: ``t · C / n_ablated``. The compat class is run with the same ratio, and their
  maps are compared. ``--pgc-ratio 1`` times the full run.

The last path camlens took (``last_path``: ``affine``, ``head-once``, ``tail`` or ``full``) is
printed. ``pgc / this`` is pytorch-grad-cam's CPU time over the row's.
Score-CAM's BatchNorm-folded copy is made again from the current weights on every call (so an
edit through ``.data`` is always seen): the table's second part times that re-fold against one
forward pass.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
import torchvision

ARCHS = ("resnet18", "resnet50")
CLASS = 17


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float, object]:
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), out


def as_array(maps: object) -> np.ndarray:
    return maps.detach().cpu().numpy() if isinstance(maps, torch.Tensor) else np.asarray(maps)


def bench_arch(arch: str, args: argparse.Namespace) -> list[dict]:
    import camlens
    from camlens.compat import pytorch_grad_cam as compat

    torch.manual_seed(0)
    model = getattr(torchvision.models, arch)().eval()
    x = torch.randn(1, 3, args.size, args.size, generator=torch.Generator().manual_seed(1))
    layer = model.layer4
    channels = layer[-1].conv1.in_channels if arch == "resnet18" else 2048
    rows: list[dict] = []

    def forward() -> object:
        with torch.inference_mode():
            return model(x)

    forward()  # warm-up (allocator, one-time initialisation)
    wall, cpu, _ = timed(forward, args.repeats * 2)
    rows.append({"arch": arch, "entry": "floor (one forward)", "wall": wall, "cpu": cpu})

    with torch.inference_mode():
        acts = model.layer4(
            model.layer3(
                model.layer2(model.layer1(model.maxpool(model.relu(model.bn1(model.conv1(x))))))
            )
        )

    def tail_floor() -> object:  # every ablated copy made and run through avgpool + fc
        with torch.inference_mode():
            for start in range(0, channels, 512):
                n = min(512, channels - start)
                copies = acts.expand(n, *acts.shape[1:]).clone()
                copies[torch.arange(n), torch.arange(start, start + n)] = 0.0
                model.fc(torch.flatten(model.avgpool(copies), 1))

    wall, cpu, _ = timed(tail_floor, args.repeats)
    rows.append({"arch": arch, "entry": f"tail only ({channels} copies)", "wall": wall, "cpu": cpu})

    def native() -> object:
        cam = camlens.AblationCAM(model, "layer4")
        out = cam(x, [CLASS])
        native.path = cam.last_path
        return out

    wall, cpu, _ = timed(native, args.repeats)
    rows.append({"arch": arch, "entry": "camlens", "wall": wall, "cpu": cpu, "path": native.path})

    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    targets = [ClassifierOutputTarget(CLASS)]
    compat_maps = {}
    for batch_size in args.batch_sizes:

        def run(batch_size: int = batch_size) -> object:
            cam = compat.AblationCAM(model, [layer], batch_size=batch_size)
            out = cam(x, targets)
            run.path = cam.last_path
            return out

        wall, cpu, maps = timed(run, args.repeats)
        compat_maps[batch_size] = as_array(maps)
        rows.append(
            {
                "arch": arch,
                "entry": f"compat bs={batch_size}",
                "wall": wall,
                "cpu": cpu,
                "path": run.path,
            }
        )

    if not args.no_pgc:
        import pytorch_grad_cam as pgc

        ratio = 1.0 if arch == "resnet18" else args.pgc_ratio
        ablated = {}

        class Counting(pgc.ablation_layer.AblationLayer):
            def set_next_batch(self, input_batch_index, activations, num_channels_to_ablate):
                ablated["n"] = ablated.get("n", 0) + num_channels_to_ablate
                return super().set_next_batch(
                    input_batch_index, activations, num_channels_to_ablate
                )

        def theirs() -> object:
            ablated.clear()
            cam = pgc.AblationCAM(
                model,
                [layer],
                ablation_layer=Counting(),
                batch_size=32,
                ratio_channels_to_ablate=ratio,
            )
            return cam(x, targets)

        wall, cpu, maps = timed(theirs, 1)
        n = ablated.get("n", channels)
        scale = channels / n
        if ratio < 1.0:
            ours = compat.AblationCAM(model, [layer], batch_size=32, ratio_channels_to_ablate=ratio)
            diff = float(np.abs(as_array(ours(x, targets)) - as_array(maps)).max())
        else:
            diff = (
                float(np.abs(compat_maps[32] - as_array(maps)).max()) if 32 in compat_maps else ""
            )
        rows.append(
            {
                "arch": arch,
                "entry": "pytorch-grad-cam bs=32"
                + (f" (ran {n} of {channels} channels, ×{scale:.1f})" if scale > 1 else ""),
                "wall": wall * scale,
                "cpu": cpu * scale,
                "diff": diff,
            }
        )
    return rows


def bench_refold(arch: str, args: argparse.Namespace) -> dict:
    from camlens.methods import _perturb

    torch.manual_seed(0)
    model = getattr(torchvision.models, arch)().eval()
    x = torch.randn(1, 3, args.size, args.size, generator=torch.Generator().manual_seed(1))
    folder = _perturb.FoldedBatchNorm()
    _, first_cpu, _ = timed(lambda: folder.get(model, x), 1)  # pairing + check
    _, cpu, _ = timed(lambda: folder.get(model, x), args.repeats * 2)

    def forward() -> object:
        with torch.inference_mode():
            return model(x)

    forward()
    _, fwd_cpu, _ = timed(forward, args.repeats * 2)
    return {
        "arch": arch,
        "first_cpu": first_cpu,
        "refold_cpu": cpu,
        "forward_cpu": fwd_cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--archs", default=",".join(ARCHS))
    parser.add_argument("--size", type=int, default=160)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pgc-ratio", type=float, default=1 / 16)
    parser.add_argument("--no-pgc", action="store_true")
    parser.add_argument(
        "--batch-sizes", default="1,32,512", help="compat AblationCAM batch_size values"
    )
    parser.add_argument("--no-refold", action="store_true", help="skip the Score-CAM table")
    args = parser.parse_args()
    args.batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    if not args.no_pgc and 32 not in args.batch_sizes:
        args.batch_sizes.append(32)  # the pytorch-grad-cam comparison uses batch_size 32
    torch.set_num_threads(1)
    print(f"# Ablation-CAM, layer4, {args.size} px, batch 1, 1 thread, torch {torch.__version__}")
    print(
        "| model | entry | wall (s) | CPU (s) | CPU / floor | pgc / this | path | max \\|Δmap\\| |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | --- | ---: |")
    for arch in args.archs.split(","):
        rows = bench_arch(arch, args)
        floor = rows[0]["cpu"]
        pgc = next((r["cpu"] for r in rows if r["entry"].startswith("pytorch")), None)
        for r in rows:
            ratio = (
                "" if pgc is None or r["entry"].startswith("pytorch") else f"{pgc / r['cpu']:.0f}×"
            )
            diff = f"{r['diff']:.1e}" if isinstance(r.get("diff"), float) else ""
            print(
                f"| {arch} | {r['entry']} | {r['wall']:.3f} | {r['cpu']:.3f} | "
                f"{r['cpu'] / floor:.2f}× | {ratio} | {r.get('path', '')} | {diff} |",
                flush=True,
            )
    if args.no_refold:
        return
    print()
    print("# Score-CAM: re-folding BatchNorm on every call (CPU s)")
    print("| model | first call (pairing + check) | each later call | one forward | ratio |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for arch in args.archs.split(","):
        r = bench_refold(arch, args)
        print(
            f"| {arch} | {r['first_cpu']:.3f} | {r['refold_cpu']:.4f} | {r['forward_cpu']:.3f} | "
            f"{r['refold_cpu'] / r['forward_cpu']:.2f}× |",
            flush=True,
        )


if __name__ == "__main__":
    main()
