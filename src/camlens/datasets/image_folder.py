"""Write a :class:`BenchmarkSet` to disk as an ImageFolder tree with its ground truth.

Layout under ``root``::

    <class>/<i:05d>.png      the image (RGB, uint8), one subfolder per class (torchvision
                             ImageFolder reads it; its class order is alphabetical, see manifest)
    masks/<i:05d>.png        the object mask (L, 0 or 255)
    cue_masks/<i:05d>.png    the watermark mask, only for images that carry the cue
    manifest.csv             path,label,x0,y0,x1,y1,mask_path,class,cue_mask_path
                             (paths relative to root; label indexes BenchmarkSet.classes;
                             box end-exclusive pixels; cue_mask_path empty without a cue)
"""

from __future__ import annotations

import csv
from os import PathLike
from pathlib import Path

import numpy as np
from PIL import Image

from .benchmark import BenchmarkSet

MANIFEST_COLUMNS = (
    "path",
    "label",
    "x0",
    "y0",
    "x1",
    "y1",
    "mask_path",
    "class",
    "cue_mask_path",
)


def _to_uint8(image) -> np.ndarray:
    return (image.permute(1, 2, 0).numpy() * 255.0 + 0.5).clip(0, 255).astype(np.uint8)


def write_image_folder(ds: BenchmarkSet, path: str | PathLike[str]) -> Path:
    """Write ``ds`` under ``path`` (created if needed) and return the manifest's path."""
    root = Path(path)
    for name in ds.classes:
        (root / name).mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    has_cue = ds.has_cue
    if bool(has_cue.any()):
        (root / "cue_masks").mkdir(parents=True, exist_ok=True)
    manifest = root / "manifest.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(MANIFEST_COLUMNS)
        for i in range(len(ds)):
            label = int(ds.labels[i])
            name = ds.classes[label]
            image_rel = f"{name}/{i:05d}.png"
            mask_rel = f"masks/{i:05d}.png"
            Image.fromarray(_to_uint8(ds.images[i]), "RGB").save(root / image_rel)
            Image.fromarray(ds.masks[i].numpy().astype(np.uint8) * 255, "L").save(root / mask_rel)
            cue_rel = ""
            if bool(has_cue[i]):
                cue_rel = f"cue_masks/{i:05d}.png"
                cue = ds.cue_masks[i].numpy().astype(np.uint8) * 255
                Image.fromarray(cue, "L").save(root / cue_rel)
            x0, y0, x1, y1 = (int(v) for v in ds.boxes[i].tolist())
            writer.writerow([image_rel, label, x0, y0, x1, y1, mask_rel, name, cue_rel])
    return manifest
