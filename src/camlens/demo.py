"""``camlens demo``: Grad-CAM of a real ImageNet MobileNetV2 on photos that installed packages ship.

Six photos (scikit-image's chelsea, coffee, astronaut, rocket; scikit-learn's china and flower)
go through the model in one batch; ``GradCAM.topk`` gives the maps of each photo's three best
classes from that one forward pass. Written to the output folder: one PNG per photo (the crop and
its three overlays), a contact sheet ``index.png`` of all photos, and ``index.html``.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np
import torch

from .extras import require
from .methods import GradCAM
from .models._pretrained import (
    MissingDependencyError,
    imagenet_categories,
    imagenet_preprocess,
    mobilenet_v2_imagenet,
)
from .viz import save_grid

PHOTOS = ("chelsea", "coffee", "astronaut", "rocket", "china", "flower")
SOURCES = {
    "chelsea": "skimage.data.chelsea()",
    "coffee": "skimage.data.coffee()",
    "astronaut": "skimage.data.astronaut()",
    "rocket": "skimage.data.rocket()",
    "china": "sklearn.datasets.load_sample_images(): china.jpg",
    "flower": "sklearn.datasets.load_sample_images(): flower.jpg",
}
DEMO_MODULES = ("torchvision", "skimage", "sklearn")  # what the [demo] extra installs
TARGET_LAYER = "features.18"
TOP_K = 3


def load_photos() -> list[tuple[str, np.ndarray]]:
    """``[(name, (H, W, 3) uint8), ...]`` for :data:`PHOTOS`, from scikit-image and scikit-learn."""
    try:
        from skimage import data
        from sklearn.datasets import load_sample_images
    except ImportError as exc:
        raise MissingDependencyError(
            f"the demo photos come from scikit-image and scikit-learn ({exc.name} is missing): "
            "pip install 'camlens[demo]'."
        ) from exc
    photos = [(name, getattr(data, name)()) for name in PHOTOS[:4]]
    samples = load_sample_images()
    by_name = {Path(f).stem: img for f, img in zip(samples.filenames, samples.images, strict=True)}
    photos += [(name, by_name[name]) for name in PHOTOS[4:]]
    return photos


@dataclass
class PhotoResult:
    """One photo's top classes (``classes``, ``indices``, softmax ``probabilities``) and PNG."""

    name: str
    classes: list[str]
    indices: list[int]
    probabilities: list[float]
    png: Path

    def labels(self) -> list[str]:
        """``["tabby 13.0%", ...]``: each class with its softmax probability."""
        return [
            f"{c} {100 * p:.1f}%" for c, p in zip(self.classes, self.probabilities, strict=True)
        ]

    def summary(self) -> str:
        """One line: the photo's name and its top classes with their probabilities."""
        return f"{self.name:<10} " + " | ".join(self.labels())


@dataclass
class DemoResult:
    """What :func:`run_demo` wrote: per-photo results, ``index.png``, ``index.html``."""

    photos: list[PhotoResult]
    contact_sheet: Path
    html: Path
    seconds: float = 0.0
    files: list[Path] = field(default_factory=list)


def _write_html(path: Path, photos: list[PhotoResult], sheet: Path) -> None:
    rows = []
    for photo in photos:
        items = "".join(f"<li>{html.escape(label)}</li>" for label in photo.labels())
        rows.append(
            f"<section><h2>{html.escape(photo.name)}</h2>"
            f"<p><small>{html.escape(SOURCES.get(photo.name, ''))}</small></p><ol>{items}</ol>"
            f'<img src="{html.escape(photo.png.name)}" alt="{html.escape(photo.name)}: '
            f'Grad-CAM of its top-{len(photo.classes)} classes"></section>'
        )
    path.write_text(
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>camlens demo</title><style>body{font-family:sans-serif;max-width:1100px;"
        "margin:auto}img{max-width:100%}section{margin:2em 0}</style></head><body>\n"
        "<h1>camlens demo: Grad-CAM of MobileNetV2 (ImageNet), top-3 classes</h1>\n"
        f"<p>Layer <code>{TARGET_LAYER}</code>; red is where the evidence for the class is. "
        "Percentages are softmax probabilities.</p>\n"
        f'<p><img src="{html.escape(sheet.name)}" alt="contact sheet of all photos"></p>\n'
        + "\n".join(rows)
        + "\n</body></html>\n",
        encoding="utf-8",
    )


def run_demo(
    out_dir: str | PathLike[str] = "camlens-demo",
    *,
    weights: str | PathLike[str] | None = None,
    echo: Callable[[str], object] | None = print,
) -> DemoResult:
    """Explain the six photos and write the PNGs, ``index.png`` and ``index.html`` to ``out_dir``.

    ``weights``: a local ``mobilenet_v2-b0353104.pth`` (else the one in torch's hub cache, as
    :func:`camlens.models._pretrained.mobilenet_v2_imagenet` finds it; nothing is downloaded).
    ``echo`` gets one summary line per photo, then the path of ``index.html``; ``None`` prints
    nothing.
    """
    start = time.perf_counter()
    say = echo or (lambda line: None)
    for module in DEMO_MODULES:  # the [demo] extra, checked before the weights are looked for
        require(module, "the camlens demo", extra="demo")
    model = mobilenet_v2_imagenet(weights)
    categories = imagenet_categories()
    photos = load_photos()
    prepared = [imagenet_preprocess(image) for _, image in photos]
    batch = torch.cat([p.tensor for p in prepared])  # (6, 3, 224, 224)
    with GradCAM(model, target_layers=TARGET_LAYER) as cam:
        top = cam.topk(batch, k=TOP_K)  # maps (6, 3, 224, 224): one forward for all photos
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for i, (name, _) in enumerate(photos):
        indices = [int(c) for c in top.indices[i]]
        result = PhotoResult(
            name=name,
            classes=[categories[c] for c in indices],
            indices=indices,
            probabilities=[float(p) for p in top.probabilities[i]],
            png=out / f"{name}.png",
        )
        save_grid(
            [prepared[i].image],
            top.maps[i : i + 1],
            result.png,
            col_labels=[f"{r + 1}. {label}" for r, label in enumerate(result.labels())],
            image_label=name,
            cell_size=2.6,
        )
        results.append(result)
        say(f"{result.summary()}  -> {result.png}")
    sheet = save_grid(
        [p.image for p in prepared],
        top.maps,
        out / "index.png",
        row_labels=[r.name for r in results],
        col_labels=[f"top-{r + 1}" for r in range(TOP_K)],
        cell_labels=[r.labels() for r in results],
        cell_size=2.0,
        dpi=90,
    )
    page = out / "index.html"
    _write_html(page, results, sheet)
    say(str(page.resolve()))
    return DemoResult(
        photos=results,
        contact_sheet=sheet,
        html=page,
        seconds=time.perf_counter() - start,
        files=[r.png for r in results] + [sheet, page],
    )
