"""``camlens evaluate --model MODEL --data DATA``: every method × every metric as a table.

DATA is ``benchmark`` (the synthetic shapes set with object masks, see :mod:`camlens.datasets`),
``cifar10`` (the CIFAR-10 test set from the shared data folder), or a folder of images: with one
sub-folder per class (``cat/``, ``dog/`` — matched to the model's class names, else taken in
sorted order as class indices) or images alone (then ``--targets predicted``).

The table goes to stdout as Markdown; ``--out table.md|table.csv`` and ``--plot plot.png`` save it.
"""

from __future__ import annotations

import ast
import functools
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ._common import (
    GuardedCommand,
    bars_shown,
    batch_progress,
    complete_methods,
    debug_option,
    device_option,
    load_model_for_cli,
    model_options,
    note,
    parse_methods,
    progress_option,
    resolve_layer_option,
    say,
    split_list,
)

if TYPE_CHECKING:
    import torch

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".jfif"}
DEFAULT_METHODS = "gradcam,gradcam++,xgradcam,layercam,eigencam,randomcam"


def _parse_options(values: tuple[str, ...], option: str) -> dict[str, dict[str, Any]]:
    """``("deletion.steps=10", ...)`` -> ``{"deletion": {"steps": 10}}`` (Python literals)."""
    out: dict[str, dict[str, Any]] = {}
    for text in values:
        key, sep, raw = text.partition("=")
        name, dot, arg = key.strip().rpartition(".")
        if not sep or not dot or not name or not arg:
            raise click.BadParameter(f"{text!r}: write NAME.OPTION=VALUE.", param_hint=option)
        try:
            value = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError):
            value = raw.strip()
        out.setdefault(name, {})[arg] = value
    return out


def _check_metric_options(options: dict[str, dict[str, Any]]) -> None:
    """A usage error (exit 2) for a ``--metric-option`` its metric does not take or cannot use,
    found by building the metric with it before any model is loaded."""
    from ..metrics import METRICS

    for name, kwargs in options.items():
        if name not in METRICS:
            raise click.BadParameter(
                f"unknown metric {name!r}; known: {', '.join(METRICS)}.",
                param_hint="--metric-option",
            )
        try:
            METRICS[name](**kwargs)
        except (TypeError, ValueError) as exc:  # InvalidInputError is a ValueError
            raise click.BadParameter(f"{name}: {exc}", param_hint="--metric-option") from None


def _Folder(files: list[Path], labels: list[int] | None, preprocess: Any) -> Any:
    """Images of a folder, preprocessed for the model; labels from class sub-folders."""
    return _folder_class()(files, labels, preprocess)


@functools.cache
def _folder_class() -> type:
    import torch  # here, not at the top: `camlens --help` lists this command without torch

    class Folder(torch.utils.data.Dataset):
        """Images of a folder, preprocessed for the model; labels from class sub-folders."""

        def __init__(self, files: list[Path], labels: list[int] | None, preprocess: Any) -> None:
            self.files, self.labels, self.preprocess = files, labels, preprocess

        def __len__(self) -> int:
            return len(self.files)

        def __getitem__(self, i: int) -> dict[str, Any]:
            from ..images import load_image

            item: dict[str, Any] = {"image": self.preprocess(load_image(self.files[i]))}
            if self.labels is not None:
                item["label"] = self.labels[i]
            return item

    return Folder


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _folder_data(folder: Path, loaded: Any, targets: str) -> tuple[Any, str]:
    from ..core.errors import InvalidInputError

    classes = sorted(p for p in folder.iterdir() if p.is_dir() and _images_in(p))
    if not classes:
        files = _images_in(folder)
        if not files:
            raise InvalidInputError(f"{folder}: no images and no class sub-folders with images.")
        if targets == "label":
            raise click.BadParameter(
                f"{folder} has no class sub-folders, so no labels: use --targets predicted.",
                param_hint="--targets",
            )
        return _Folder(files, None, loaded.preprocess), f"{len(files)} images in {folder}"
    files, labels = [], []
    if loaded.categories is not None:
        try:
            indices = [loaded.class_index(c.name.replace("_", " ")) for c in classes]
        except InvalidInputError:
            try:
                indices = [loaded.class_index(c.name) for c in classes]
            except InvalidInputError as exc:
                if targets != "label":  # labels only count the accuracy then
                    note(f"sub-folders of {folder} are not {loaded.name}'s classes: no accuracy.")
                    files = [p for c in classes for p in _images_in(c)]
                    return _Folder(files, None, loaded.preprocess), f"{len(files)} images"
                raise InvalidInputError(
                    f"the sub-folders of {folder} must be the model's class names: {exc}"
                ) from None
    else:
        indices = list(range(len(classes)))
        note(f"{loaded.name} has no class names: sub-folder i (sorted) is class index i.")
    for index, sub in zip(indices, classes, strict=True):
        for path in _images_in(sub):
            files.append(path)
            labels.append(index)
    text = f"{len(files)} images in {len(classes)} class folders of {folder}"
    return _Folder(files, labels, loaded.preprocess), text


def _tensor_data(images: torch.Tensor, fields: dict[str, Any], loaded: Any) -> dict[str, Any]:
    """Images in [0, 1] through the model's preprocessing; masks kept when the size is kept."""
    import torch

    from ..models.transforms import Preprocess

    if isinstance(loaded.preprocess, Preprocess):  # takes a batch of tensors
        inputs = loaded.preprocess(images)
    else:
        from torchvision.transforms.functional import to_pil_image

        inputs = torch.stack([loaded.preprocess(to_pil_image(img)) for img in images])
    out = {"images": inputs, **{k: v for k, v in fields.items() if v is not None}}
    if inputs.shape[2:] != images.shape[2:]:
        for key in ("masks", "boxes", "cue_masks"):
            out.pop(key, None)
        note(
            f"the model's input is {tuple(inputs.shape[2:])}, the data's {tuple(images.shape[2:])}:"
            " masks and boxes are left out (metrics that need them are skipped)."
        )
    return out


def _load_data(
    spec: str, loaded: Any, targets: str, limit: int | None, cue: str, seed: int
) -> tuple[Any, str]:
    import torch

    if spec == "benchmark":
        from ..datasets import make_benchmark

        n = limit or 500
        bench = make_benchmark(n, seed=seed, split="test", cue=cue)
        fields = {
            "labels": bench.labels,
            "masks": bench.masks,
            "boxes": bench.boxes,
            "cue_masks": bench.cue_masks,
        }
        text = f"make_benchmark({n}, seed={seed}, split='test', cue={cue!r})"
        return _tensor_data(bench.images, fields, loaded) | {"classes": bench.classes}, text
    if spec == "cifar10":
        from ..models.zoo import cifar10_test

        base = cifar10_test(normalize=False)
        n = min(limit or 1000, len(base))
        step = max(len(base) // n, 1)  # every step-th image: all classes, in equal numbers
        chosen = torch.utils.data.Subset(base, list(range(0, step * n, step))[:n])
        images = torch.stack([chosen[i][0] for i in range(len(chosen))])
        labels = torch.tensor([chosen[i][1] for i in range(len(chosen))])
        return _tensor_data(images, {"labels": labels}, loaded), (
            f"CIFAR-10 test set, every {step}th image ({n})"
        )
    folder = Path(spec).expanduser()
    if folder.is_dir():
        return _folder_data(folder, loaded, targets)
    from ..core.errors import InvalidInputError

    raise InvalidInputError(f"--data {spec!r} is neither 'benchmark', 'cifar10' nor a folder.")


@click.command(name="evaluate", cls=GuardedCommand)
@model_options()
@click.option(
    "--data",
    "data_spec",
    required=True,
    metavar="benchmark|cifar10|FOLDER",
    help="The synthetic benchmark (with object masks), the CIFAR-10 test set from the shared "
    "data folder, or a folder of images (class sub-folders give labels).",
)
@click.option(
    "--methods",
    default=DEFAULT_METHODS,
    show_default=True,
    shell_complete=complete_methods,
    help="Comma-separated camlens method names.",
)
@click.option(
    "--metrics",
    default=None,
    help="Comma-separated metric names (camlens.metrics.METRICS); default: the usual ones the "
    "data supports (mask/box metrics only with masks).",
)
@click.option("--layer", default="auto", show_default=True, metavar="NAME|auto")
@click.option(
    "--targets",
    default="label",
    show_default=True,
    metavar="label|predicted|CLASS",
    help="Explain each image's true class, the model's top-1 class, or one class (an index or "
    "a class name) on every image.",
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most N images.")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option(
    "--cue",
    type=click.Choice(["none", "biased_class", "all"]),
    default="none",
    show_default=True,
    help="benchmark: put the spurious watermark on no image, the biased class, or all.",
)
@click.option(
    "--on-cue",
    is_flag=True,
    help="benchmark: mask metrics measure the watermark's region instead of the object's, "
    "with per-class figures (how much of each class's map is on the spurious cue).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="benchmark: its seed.")
@click.option(
    "--metric-option",
    "metric_options",
    multiple=True,
    metavar="METRIC.OPTION=VALUE",
    help="E.g. deletion.steps=10 or pointing_game.tolerance=4 (repeatable).",
)
@click.option(
    "--method-option",
    "method_options",
    multiple=True,
    metavar="METHOD.OPTION=VALUE",
    help="E.g. scorecam.batch_size=64 (repeatable).",
)
@click.option(
    "--out",
    "outs",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the table: .md (Markdown) or .csv, by suffix (repeatable).",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Save the figure (bars per metric, deletion/insertion curves): .png, .svg, .pdf.",
)
@progress_option
@device_option
@debug_option
def command(
    model: str,
    weights: str | None,
    labels: str | None,
    size: int | None,
    data_spec: str,
    methods: str,
    metrics: str | None,
    layer: str,
    targets: str,
    limit: int | None,
    batch_size: int,
    cue: str,
    on_cue: bool,
    seed: int,
    metric_options: tuple[str, ...],
    method_options: tuple[str, ...],
    outs: tuple[Path, ...],
    plot: Path | None,
    show_progress: bool | None,
    device: str,
    debug: bool,
) -> None:
    """Score explanation methods with faithfulness and localisation metrics, as a table."""
    from ..evaluation import evaluate

    for path in outs:
        if path.suffix.lower() not in (".md", ".csv"):
            raise click.BadParameter(f"{path}: use a .md or .csv file.", param_hint="--out")
    method_names = parse_methods(methods)
    metric_names = split_list(metrics) or None
    if metric_names is not None:
        from ..metrics import METRICS

        unknown = [m for m in metric_names if m not in METRICS]
        if unknown:
            raise click.BadParameter(
                f"unknown metric(s) {', '.join(unknown)}; known: {', '.join(METRICS)}.",
                param_hint="--metrics",
            )
    if on_cue and data_spec != "benchmark":
        raise click.BadParameter("--on-cue needs --data benchmark.", param_hint="--on-cue")
    metric_kwargs = _parse_options(metric_options, "--metric-option")
    _check_metric_options(metric_kwargs)
    method_kwargs = _parse_options(method_options, "--method-option")
    start = time.perf_counter()
    loaded = load_model_for_cli(model, weights, device, labels, size)
    target: str | int = targets
    if targets not in ("label", "predicted"):
        from ..core.errors import InvalidInputError

        try:
            target = loaded.class_index(targets)
        except InvalidInputError as exc:
            raise click.BadParameter(str(exc), param_hint="--targets") from None
    data, description = _load_data(data_spec, loaded, targets, limit, cue, seed)
    example = data["images"][:1] if isinstance(data, dict) else data[0]["image"][None]
    layers = resolve_layer_option(loaded, layer, example.to(loaded.device))
    with batch_progress(show_progress):
        result = evaluate(
            loaded.model,
            data,
            methods=method_names,
            metrics=metric_names,
            target_layers=layers,
            targets=target,
            batch_size=batch_size,
            device=loaded.device,
            progress=bars_shown(show_progress),
            method_kwargs=method_kwargs,
            metric_kwargs=metric_kwargs,
            limit=limit,
            mask_key="cue_masks" if on_cue else "masks",
            by_class=on_cue,
            class_names=loaded.categories,
        )
    seconds = time.perf_counter() - start
    target_text = (
        targets if isinstance(target, str) else f"class {target} ({loaded.category(target)})"
    )
    accuracy = (
        f", top-1 accuracy {100 * result.accuracy:.1f}%" if result.accuracy is not None else ""
    )
    say(
        f"{loaded.name} on {description}: {result.n_images} images, layer {', '.join(layers)}, "
        f"targets {target_text}{accuracy}; {seconds:.1f} s"
    )
    for name, reason in result.info.get("skipped_metrics", {}).items():
        note(f"metric {name} left out: it {reason}.")
    say("")
    say(result.to_markdown().rstrip())
    if on_cue:
        for column in result.columns:
            say("")
            say(f"{column} on the spurious cue, per class:")
            say(result.by_class_markdown(column).rstrip())
    for path in outs:
        if path.suffix.lower() == ".csv":
            result.to_csv(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(result.to_markdown(), encoding="utf-8")
        note(f"wrote {path}")
    if plot is not None:
        result.plot(plot, title=f"{loaded.name}: {description}")
        note(f"wrote {plot}")
