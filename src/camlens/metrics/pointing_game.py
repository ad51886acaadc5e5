"""Pointing game (Zhang et al., "Top-down neural attention by excitation backprop", ECCV 2016).

A hit when the map's maximum lies on the object, with a tolerance: the maximum point p counts as a
hit if some object pixel q has ``||p - q||_2 < tolerance`` (15 pixels, as in the paper and
TorchRay's benchmark). Score = hits / images; higher is better.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ..core.errors import InvalidInputError
from ._utils import as_maps, check_inputs, region_masks
from .base import PerImageMetric


class PointingGame(PerImageMetric):
    """Share of images whose map maximum falls on the object (mask or boxes) ± ``tolerance`` px.

    Ties: the first maximum in row-major order. An image without object pixels is an error.

    ``mean_i [argmax L_i within tolerance of the object]``; higher is better.
    Shapes: ``maps (B, H, W)``, ``masks (B, H, W)`` bool (or ``boxes``, xyxy pixels);
    ``compute()`` -> a float, ``per_image`` -> ``(N,)``.

    Example:
        >>> import torch
        >>> maps = torch.zeros(1, 4, 4)
        >>> maps[0, 0, 0] = 1.0
        >>> masks = torch.zeros(1, 4, 4, dtype=torch.bool)
        >>> masks[0, :2, :2] = True
        >>> metric = PointingGame(tolerance=0)
        >>> metric.update(inputs=torch.rand(1, 3, 4, 4), maps=maps, masks=masks)
        >>> metric.compute()
        1.0
    """

    name = "pointing_game"
    higher_is_better = True
    requires = frozenset({"masks_or_boxes"})

    def __init__(self, tolerance: float = 15.0) -> None:
        self.tolerance = float(tolerance)
        super().__init__()

    def update(
        self,
        *,
        inputs: Tensor,
        maps: Tensor,
        targets: Any = None,
        model: nn.Module | None = None,
        masks: Tensor | None = None,
        boxes: Any = None,
        **kwargs: Any,
    ) -> None:
        inputs = check_inputs(inputs)
        maps = as_maps(maps, inputs)
        b, h, w = maps.shape
        region = region_masks(masks, boxes, b, (h, w), maps.device)
        empty = ~region.flatten(1).any(dim=1)
        if empty.any():
            raise InvalidInputError(
                f"images {empty.nonzero().flatten().tolist()} have no object pixels; "
                "leave out images without an object."
            )
        flat = maps.flatten(1).argmax(dim=1)
        row, col = flat // w, flat % w
        rows = torch.arange(h, device=maps.device)[None, :, None]
        cols = torch.arange(w, device=maps.device)[None, None, :]
        dist2 = (rows - row[:, None, None]) ** 2 + (cols - col[:, None, None]) ** 2
        near = dist2 < self.tolerance**2 if self.tolerance > 0 else dist2 == 0
        self._values.append((near & region).flatten(1).any(dim=1).float())
