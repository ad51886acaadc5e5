"""A procedural ground-truth benchmark: shapes on clutter, with masks, boxes and a spurious cue.

Each image ``i`` of ``make_benchmark(n, seed, split)`` is drawn from its own generator
``numpy.random.default_rng([seed, SPLITS.index(split), i])``, so a set is deterministic from its
seed, a longer set extends a shorter one, and splits never share images.

Drawing order: textured background, 2–4 distractors (lines, thin outlines, soft blobs), then the
class object (label ``i % 5``, random size, rotation, colour contrasting with the background under
it, placed clear of the top-left corner), then — where the cue mode asks for it — the watermark:
a fixed yellow/magenta checkerboard patch in the top-left corner (``CUE_BOX``, 8×8 at size 64).
The watermark uses no random numbers, so the same seed with and without the cue gives the same
images except inside the cue box.

The *biased* variant: with ``split="train", biased=True`` every image of the biased class
("triangle") carries the watermark and no other image does. Test splits carry no cue unless
``cue=`` asks for one: ``"biased_class"`` (the training distribution) or ``"all"``.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from ..core.errors import InvalidInputError
from .background import add_distractors, background, blend
from .shapes import CLASSES, extent, shape_alpha

SPLITS: tuple[str, ...] = ("train", "val", "test")
CUE_MODES: tuple[str, ...] = ("none", "biased_class", "all")
BIASED_CLASS: int = CLASSES.index("triangle")
CUE_COLOURS = np.array([[1.0, 0.95, 0.0], [1.0, 0.0, 0.85]], dtype=np.float32)  # yellow, magenta
MIN_SIZE = 32


def cue_box(size: int = 64) -> tuple[int, int, int, int]:
    """The watermark's pixel box ``(x0, y0, x1, y1)`` (end-exclusive): 8×8 at (4, 4) for 64."""
    start, side = size // 16, size // 8
    return (start, start, start + side, start + side)


def keep_out(size: int = 64) -> int:
    """Objects stay out of the corner square ``[0, keep_out) × [0, keep_out)`` (the cue's)."""
    return size // 4


@dataclass
class BenchmarkSet(Dataset):
    """A generated benchmark: images with ground truth (a ``torch.utils.data.Dataset``).

    images    ``(N, 3, S, S)`` float32 in [0, 1]
    labels    ``(N,)`` int64, indices into ``classes``
    masks     ``(N, S, S)`` bool, the object's pixels (coverage > 0.5)
    boxes     ``(N, 4)`` float32 ``(x0, y0, x1, y1)``, the mask's tight box, end-exclusive pixels
    cue_masks ``(N, S, S)`` bool, the watermark's pixels (all False where there is none)
    ``ds[i]`` is a dict with keys image, label, mask, box, cue_mask.

    Example:
        >>> from camlens.datasets import make_benchmark
        >>> ds = make_benchmark(4, size=32)
        >>> ds.images.shape, ds.masks.shape
        (torch.Size([4, 3, 32, 32]), torch.Size([4, 32, 32]))
        >>> sorted(ds[0])
        ['box', 'cue_mask', 'image', 'label', 'mask']
    """

    images: Tensor
    labels: Tensor
    masks: Tensor
    boxes: Tensor
    cue_masks: Tensor
    classes: list[str] = field(default_factory=lambda: list(CLASSES))
    biased_class: int = BIASED_CLASS
    split: str = "test"
    seed: int = 0
    biased: bool = False
    cue: str = "none"
    size: int = 64

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        return {
            "image": self.images[i],
            "label": self.labels[i],
            "mask": self.masks[i],
            "box": self.boxes[i],
            "cue_mask": self.cue_masks[i],
        }

    @property
    def has_cue(self) -> Tensor:
        """``(N,)`` bool: which images carry the watermark."""
        return self.cue_masks.flatten(1).any(dim=1)

    def __repr__(self) -> str:
        return (
            f"BenchmarkSet(n={len(self)}, size={self.size}, split={self.split!r}, "
            f"seed={self.seed}, "
            f"biased={self.biased}, cue={self.cue!r}, classes={self.classes})"
        )


def _object_colour(rng: np.random.Generator, under: np.ndarray) -> np.ndarray:
    """A colour at least 0.45 (RGB Euclidean) from ``under`` (the mean background colour)."""
    for _ in range(32):
        colour = rng.uniform(0, 1, size=3).astype(np.float32)
        if np.linalg.norm(colour - under) >= 0.45:
            return colour
    return (under < 0.5).astype(np.float32)  # the farthest corner of the colour cube


def _place(rng: np.random.Generator, size: int, ext: float) -> tuple[float, float]:
    """A centre keeping the shape inside the image and out of the cue's corner."""
    lo, hi, corner = ext + 1.0, size - ext - 1.0, keep_out(size)
    for _ in range(100):
        cx, cy = rng.uniform(lo, hi, size=2).tolist()
        if cx - ext >= corner or cy - ext >= corner:
            return cx, cy
    return hi, hi


def render(seed: int, split_index: int, i: int, size: int) -> tuple[np.ndarray, int, np.ndarray]:
    """One image without the cue: ``(image (S, S, 3) float32, label, coverage (S, S))``."""
    rng = np.random.default_rng([seed, split_index, i])
    label = i % len(CLASSES)
    name = CLASSES[label]
    img = background(rng, size)
    img = add_distractors(rng, img, int(rng.integers(2, 5)))
    r = float(rng.uniform(0.14, 0.25)) * size
    angle = float(rng.uniform(0, 2 * math.pi))
    cx, cy = _place(rng, size, extent(name, r))
    alpha = shape_alpha(name, size, cx, cy, r, angle)
    under = img[alpha > 0.5].mean(axis=0) if (alpha > 0.5).any() else img.mean(axis=(0, 1))
    colour = _object_colour(rng, under)
    img = blend(img, alpha, colour)
    return np.clip(img, 0, 1).astype(np.float32), label, alpha


def watermark(size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """``(patch (3, S, S) float32, mask (S, S) bool)``: the checkerboard and where it goes."""
    x0, y0, x1, y1 = cue_box(size)
    check = max(1, size // 32)
    yy, xx = np.mgrid[0:size, 0:size]
    parity = ((yy - y0) // check + (xx - x0) // check) % 2
    patch = CUE_COLOURS[parity].transpose(2, 0, 1).astype(np.float32)
    mask = np.zeros((size, size), dtype=bool)
    mask[y0:y1, x0:x1] = True
    return patch, mask


def _as_int(value: object, name: str, low: int, what: str) -> int:
    """``value`` as an int (numpy ints accepted; bools and floats refused) no less than ``low``."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise InvalidInputError(f"{name} must be {what}, got {value!r}.")
    number = operator.index(value)
    if number < low:
        raise InvalidInputError(f"{name} must be {what}, got {value!r}.")
    return number


def make_benchmark(
    n: int = 500,
    seed: int = 0,
    split: str = "test",
    biased: bool = False,
    size: int = 64,
    cue: str | None = None,
) -> BenchmarkSet:
    """Generate ``n`` benchmark images (deterministic from ``seed``; no download).

    cue: ``None`` picks the split's own distribution — ``"biased_class"`` for
    ``split="train", biased=True``, else ``"none"``; or one of ``"none"``, ``"biased_class"``
    (the watermark on every image of the biased class), ``"all"`` (on every image).
    """
    if split not in SPLITS:
        raise InvalidInputError(f"split must be one of {SPLITS}, got {split!r}.")
    if cue is None:
        cue = "biased_class" if (biased and split == "train") else "none"
    if cue not in CUE_MODES:
        raise InvalidInputError(f"cue must be None or one of {CUE_MODES}, got {cue!r}.")
    n = _as_int(n, "n", 0, "a non-negative int")
    size = _as_int(size, "size", MIN_SIZE, f"an int >= {MIN_SIZE} (pixels)")
    seed = _as_int(seed, "seed", 0, "a non-negative int")
    split_index = SPLITS.index(split)
    images = np.empty((n, 3, size, size), dtype=np.float32)
    labels = np.empty(n, dtype=np.int64)
    masks = np.empty((n, size, size), dtype=bool)
    boxes = np.zeros((n, 4), dtype=np.float32)
    cue_masks = np.zeros((n, size, size), dtype=bool)
    patch, patch_mask = watermark(size)
    for i in range(n):
        img, label, alpha = render(seed, split_index, i, size)
        images[i] = img.transpose(2, 0, 1)
        labels[i] = label
        masks[i] = alpha > 0.5
        rows, cols = np.nonzero(masks[i])
        boxes[i] = (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
        if cue == "all" or (cue == "biased_class" and label == BIASED_CLASS):
            images[i][:, patch_mask] = patch[:, patch_mask]
            cue_masks[i] = patch_mask
    return BenchmarkSet(
        images=torch.from_numpy(images),
        labels=torch.from_numpy(labels),
        masks=torch.from_numpy(masks),
        boxes=torch.from_numpy(boxes),
        cue_masks=torch.from_numpy(cue_masks),
        split=split,
        seed=seed,
        biased=biased,
        cue=cue,
        size=size,
    )
