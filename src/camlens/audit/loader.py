"""Batched loading for the audit: a torch ``Dataset`` over a :class:`Source` and its collate.

Workers decode and preprocess; an image that fails to decode becomes an error entry instead of
stopping the run. Object masks go through the model's own ``preprocess`` so that they follow its
resize and crop exactly: the preprocess is an affine map per channel after its geometric steps,
so a pixel of the mask is inside when its preprocessed value is nearer the white reference than
the black one (references: the preprocess of a black and of a white image of the same size).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from ..core.errors import CamlensError
from ..errors import InvalidInputError
from .sources import Source

Preprocess = Callable[[Image.Image], Tensor]
# What counts as a corrupt image: PIL's decode errors (OSError, SyntaxError), bad dimensions
# (ValueError), decompression bombs, and the project's typed errors (InvalidImageError).
CORRUPT = (OSError, SyntaxError, ValueError, Image.DecompressionBombError, CamlensError)


class References:
    """Per image size, the preprocessed black and white images (the affine references)."""

    def __init__(self, preprocess: Preprocess) -> None:
        self.preprocess = preprocess
        self.cache: dict[tuple[int, int], tuple[Tensor, Tensor]] = {}

    def __call__(self, size: tuple[int, int]) -> tuple[Tensor, Tensor]:
        if size not in self.cache:
            black = self.preprocess(Image.new("RGB", size, (0, 0, 0)))
            white = self.preprocess(Image.new("RGB", size, (255, 255, 255)))
            self.cache[size] = (black, white)
        return self.cache[size]

    def unit(self, x: Tensor, size: tuple[int, int]) -> Tensor:
        """``(3, H, W)`` in [0, 1]: a preprocessed image mapped back to pixel intensities."""
        black, white = self(size)
        span = white - black
        span = torch.where(span.abs() > 1e-12, span, torch.ones_like(span))
        return ((x - black) / span).clamp(0, 1)

    def mask(self, mask: Image.Image) -> Tensor:
        """``(H, W)`` float {0, 1}: the mask after the preprocess's geometric steps."""
        x = self.unit(self.preprocess(mask.convert("RGB")), mask.size)
        return (x.mean(0) > 0.5).float()


class AuditDataset(Dataset):
    """Items ``indices`` of ``source``, preprocessed; errors are returned, not raised."""

    def __init__(
        self,
        source: Source,
        indices: Sequence[int],
        preprocess: Preprocess,
        *,
        crop: Callable[[Image.Image], Image.Image] | None = None,
        max_pixels: int | None = None,
        with_masks: bool = True,
    ) -> None:
        self.source = source
        self.indices = list(indices)
        self.preprocess = preprocess
        self.max_pixels = max_pixels
        self.with_masks = with_masks
        self.crop = crop
        self.references = References(preprocess)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, k: int) -> dict[str, Any]:
        index = self.indices[k]
        try:
            image = self.source.image(index, self.max_pixels)
            mask = self.source.mask(index, image.size) if self.with_masks else None
        except CORRUPT as exc:
            message = " ".join(str(exc).split()) or type(exc).__name__
            return {"index": index, "x": None, "mask": None, "error": message}
        x = self.preprocess(image)
        m = None if mask is None else self.mask_tensor(mask, (x.shape[-2], x.shape[-1]))
        return {"index": index, "x": x, "mask": m, "error": None}

    def mask_tensor(self, mask: Image.Image, size: tuple[int, int]) -> Tensor:
        """``(H, W)`` {0, 1}: the mask through the model's crop (or its preprocess, see above)."""
        if self.crop is None:
            m = self.references.mask(mask)
        else:
            m = torch.from_numpy(np.asarray(self.crop(mask.convert("L"))) > 127).float()
        if tuple(m.shape) != size:
            m = F.interpolate(m[None, None], size=size, mode="nearest")[0, 0]
        return m


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack the good items; keep the failed ones as ``errors`` ``[(index, message)]``."""
    good = [it for it in items if it["error"] is None]
    errors = [(it["index"], it["error"]) for it in items if it["error"] is not None]
    batch: dict[str, Any] = {"errors": errors, "index": [it["index"] for it in good]}
    if not good:
        batch.update(x=None, masks=None, has_mask=None)
        return batch
    shapes = {tuple(it["x"].shape) for it in good}
    if len(shapes) > 1:
        raise InvalidInputError(
            f"the preprocess gave images of different shapes {sorted(shapes)}; give a model "
            "whose preprocess resizes to one input size."
        )
    batch["x"] = torch.stack([it["x"] for it in good])
    has = torch.tensor([it["mask"] is not None for it in good])
    if has.any():
        size = batch["x"].shape[-2:]
        batch["masks"] = torch.stack(
            [it["mask"] if it["mask"] is not None else torch.zeros(size) for it in good]
        )
        batch["has_mask"] = has
    else:
        batch.update(masks=None, has_mask=None)
    return batch


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)


def make_loader(
    dataset: AuditDataset, batch_size: int, workers: int, pin_memory: bool = False
) -> DataLoader:
    """A DataLoader in item order with the error-keeping collate; workers use one thread each."""
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        collate_fn=collate,
        pin_memory=pin_memory,
        worker_init_fn=_worker_init if workers > 0 else None,
        persistent_workers=False,
        prefetch_factor=4 if workers > 0 else None,
    )
