"""Draw the figures of docs/datasets.md from the generator and the shipped benchmark models.

    python scripts/benchmark_figures.py          # writes docs/img/benchmark-*.png

benchmark-samples.png: one row per class of the clean test split, the object's mask outlined.
benchmark-biased-train.png: the biased training split (the watermark on every triangle).
benchmark-gradcam.png: Grad-CAM of the "triangle" class under the clean and the biased model, on
triangles with the watermark (the training distribution), without it, and on other shapes with it.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
import torch
from PIL import Image
from scipy import ndimage

import camlens
from camlens import zoo
from camlens.datasets import BIASED_CLASS, CLASSES, make_benchmark

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img"
SCALE = 2


def _rgb(image: torch.Tensor) -> np.ndarray:
    return (image.permute(1, 2, 0).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)


def _outline(rgb: np.ndarray, mask: np.ndarray, colour=(255, 255, 255)) -> np.ndarray:
    edge = mask & ~ndimage.binary_erosion(mask)
    out = rgb.copy()
    out[edge] = colour
    return out


def _sheet(tiles: list[list[np.ndarray]], pad: int = 2) -> Image.Image:
    h, w = tiles[0][0].shape[:2]
    rows, cols = len(tiles), max(len(r) for r in tiles)
    sheet = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), 255, dtype=np.uint8)
    for r, row in enumerate(tiles):
        for c, tile in enumerate(row):
            y, x = pad + r * (h + pad), pad + c * (w + pad)
            sheet[y : y + h, x : x + w] = tile
    img = Image.fromarray(sheet)
    return img.resize((img.width * SCALE, img.height * SCALE), Image.Resampling.NEAREST)


def _shrink(path: Path) -> Path:
    """Re-save as a 256-colour PNG (a third of the size, no visible loss on these figures)."""
    image = Image.open(path).convert("RGB")
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path


def samples() -> Path:
    ds = make_benchmark(40, seed=0, split="test")
    tiles = [
        [
            _outline(_rgb(ds.images[i]), ds.masks[i].numpy())
            for i in range(len(ds))
            if ds.labels[i] == k
        ][:8]
        for k in range(len(CLASSES))
    ]
    path = OUT / "benchmark-samples.png"
    _sheet(tiles).save(path)
    return _shrink(path)


def biased_train() -> Path:
    ds = make_benchmark(20, seed=0, split="train", biased=True)
    tiles = [[_rgb(ds.images[i]) for i in range(r * 10, r * 10 + 10)] for r in range(2)]
    path = OUT / "benchmark-biased-train.png"
    _sheet(tiles).save(path)
    return _shrink(path)


def gradcam() -> Path:
    cued = make_benchmark(40, seed=3, split="test", cue="biased_class")
    plain = make_benchmark(40, seed=3, split="test", cue="none")
    every = make_benchmark(40, seed=3, split="test", cue="all")
    tri = [i for i in range(40) if cued.labels[i] == BIASED_CLASS][:2]
    other = [i for i in range(40) if cued.labels[i] != BIASED_CLASS][:2]
    images = [cued.images[i] for i in tri] + [plain.images[i] for i in tri]
    images += [every.images[i] for i in other]
    labels = ["triangle + cue"] * 2 + ["triangle, no cue"] * 2
    labels += [f"{CLASSES[int(cued.labels[i])]} + cue" for i in other]
    batch = torch.stack(images)
    cams, captions = [], []
    for name in ("benchmark-clean", "benchmark-biased"):
        zm = zoo.load(name)
        x = zm.preprocess(batch)
        maps = camlens.GradCAM(zm.model, zm.target_layer)(x, targets=BIASED_CLASS)
        with torch.no_grad():
            pred = zm.model(x).argmax(1)
        cams.append(maps)
        captions.append([f"predicts {zm.categories[int(p)]}" for p in pred])
    cam_grid = torch.stack(cams, dim=1).numpy()
    cell_labels = [[captions[0][r], captions[1][r]] for r in range(len(images))]
    path = OUT / "benchmark-gradcam.png"
    camlens.viz.save_grid(
        [_rgb(im) for im in images],
        cam_grid,
        path,
        row_labels=labels,
        col_labels=["clean model", "biased model"],
        cell_labels=cell_labels,
        image_label="image",
        cell_size=1.5,
    )
    return _shrink(path)


def main() -> None:
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    for fn in (samples, biased_train, gradcam):
        print(fn())


if __name__ == "__main__":
    main()
