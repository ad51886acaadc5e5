"""Scenes of one or two shapes with captions: ground truth for text prompts.

``make_scenes(n, seed, split, objects=(1, 2))``: image ``i`` holds ``objects[i % len(objects)]``
shapes of distinct classes on the benchmark's clutter (the same backgrounds, distractors,
shapes and colours as :func:`~camlens.datasets.make_benchmark`), placed without overlap and
clear of the watermark's corner, and a caption naming what it holds: ``"a star"``,
``"a circle and a square"`` (the order of the names is random). Each image is drawn from its own
generator ``numpy.random.default_rng([seed, SPLITS.index(split), i, 2])``, so a set is
deterministic, a longer set extends a shorter one, and it shares no image with
``make_benchmark``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from ..core.errors import InvalidInputError
from .background import add_distractors, background, blend
from .benchmark import MIN_SIZE, SPLITS, _as_int, _object_colour, _place
from .shapes import CLASSES, extent, shape_alpha

MAX_OBJECTS = 2


def caption(names: Sequence[str]) -> str:
    """``["circle", "square"]`` -> ``"a circle and a square"``."""
    return " and ".join(f"a {name}" for name in names)


@dataclass
class SceneSet(Dataset):
    """Generated scenes with per-object ground truth (a ``torch.utils.data.Dataset``).

    images   ``(N, 3, S, S)`` float32 in [0, 1]
    labels   ``(N, 2)`` int64 class indices of the objects, ``-1`` where a scene has fewer
    masks    ``(N, 2, S, S)`` bool, each object's pixels (coverage > 0.5; empty for ``-1``)
    captions ``N`` strings naming the objects in a random order
    """

    images: Tensor
    labels: Tensor
    masks: Tensor
    captions: list[str]
    classes: list[str] = field(default_factory=lambda: list(CLASSES))
    split: str = "test"
    seed: int = 0
    size: int = 64

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __getitem__(self, i: int) -> dict[str, object]:
        return {
            "image": self.images[i],
            "labels": self.labels[i],
            "masks": self.masks[i],
            "caption": self.captions[i],
        }

    @property
    def counts(self) -> Tensor:
        """``(N,)``: how many objects each scene holds."""
        return (self.labels >= 0).sum(dim=1)


def _render(seed: int, split_index: int, i: int, size: int, count: int):
    rng = np.random.default_rng([seed, split_index, i, 2])
    labels = rng.choice(len(CLASSES), size=count, replace=False).tolist()
    img = background(rng, size)
    img = add_distractors(rng, img, int(rng.integers(2, 5)))
    low, high = (0.14, 0.25) if count == 1 else (0.11, 0.18)
    alphas: list[np.ndarray] = []
    for label in labels:
        name = CLASSES[label]
        for _ in range(200):  # resample until it does not touch the objects already drawn
            r = float(rng.uniform(low, high)) * size
            angle = float(rng.uniform(0, 2 * math.pi))
            cx, cy = _place(rng, size, extent(name, r))
            alpha = shape_alpha(name, size, cx, cy, r, angle)
            if all(((alpha > 0) & (other > 0)).sum() == 0 for other in alphas):
                break
        under = img[alpha > 0.5].mean(axis=0) if (alpha > 0.5).any() else img.mean(axis=(0, 1))
        img = blend(img, alpha, _object_colour(rng, under))
        alphas.append(alpha)
    order = rng.permutation(count).tolist()
    text = caption([CLASSES[labels[k]] for k in order])
    return np.clip(img, 0, 1).astype(np.float32), labels, alphas, text


def make_scenes(
    n: int = 200,
    seed: int = 0,
    split: str = "test",
    objects: Sequence[int] = (1, 2),
    size: int = 64,
) -> SceneSet:
    """Generate ``n`` captioned scenes (deterministic from ``seed``; no download); image ``i``
    holds ``objects[i % len(objects)]`` shapes (1 or 2)."""
    if split not in SPLITS:
        raise InvalidInputError(f"split must be one of {SPLITS}, got {split!r}.")
    objects = [int(k) for k in objects]
    if not objects or any(k not in range(1, MAX_OBJECTS + 1) for k in objects):
        raise InvalidInputError(f"objects must list counts of 1 or 2 shapes, got {objects!r}.")
    n = _as_int(n, "n", 0, "a non-negative int")
    size = _as_int(size, "size", MIN_SIZE, f"an int >= {MIN_SIZE} (pixels)")
    seed = _as_int(seed, "seed", 0, "a non-negative int")
    images = np.empty((n, 3, size, size), dtype=np.float32)
    labels = np.full((n, MAX_OBJECTS), -1, dtype=np.int64)
    masks = np.zeros((n, MAX_OBJECTS, size, size), dtype=bool)
    captions = []
    for i in range(n):
        count = objects[i % len(objects)]
        img, found, alphas, text = _render(seed, SPLITS.index(split), i, size, count)
        images[i] = img.transpose(2, 0, 1)
        labels[i, :count] = found
        for k, alpha in enumerate(alphas):
            masks[i, k] = alpha > 0.5
        captions.append(text)
    return SceneSet(
        images=torch.from_numpy(images),
        labels=torch.from_numpy(labels),
        masks=torch.from_numpy(masks),
        captions=captions,
        split=split,
        seed=seed,
        size=size,
    )
