"""Energy-based pointing game (Wang et al., Score-CAM, CVPR-W 2020, sec. 4.2).

    proportion_i = Σ_{(u,v) in object} L⁺_uv / Σ_{(u,v)} L⁺_uv,   L⁺ = max(L, 0)

averaged over images; higher is better. A map without positive energy scores 0.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from ._utils import as_maps, check_inputs, region_masks
from .base import PerImageMetric


class EnergyPointingGame(PerImageMetric):
    """Share of the map's positive energy inside the object (mask, or union of the boxes).

    ``Σ_{object} L⁺ / Σ L⁺`` per image, ``L⁺ = max(L, 0)``; higher is better.
    Shapes: ``maps (B, H, W)``, ``masks (B, H, W)`` bool (or ``boxes``, xyxy pixels);
    ``compute()`` -> a float, ``per_image`` -> ``(N,)``.

    Example:
        >>> import torch
        >>> maps = torch.zeros(1, 4, 4)
        >>> maps[0, 0, 0] = 1.0
        >>> masks = torch.zeros(1, 4, 4, dtype=torch.bool)
        >>> masks[0, :2, :2] = True
        >>> metric = EnergyPointingGame()
        >>> metric.update(inputs=torch.rand(1, 3, 4, 4), maps=maps, masks=masks)
        >>> metric.compute()
        1.0
    """

    name = "energy_pointing_game"
    higher_is_better = True
    requires = frozenset({"masks_or_boxes"})

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
        maps = as_maps(maps, inputs).clamp(min=0)
        region = region_masks(masks, boxes, maps.shape[0], maps.shape[1:], maps.device)
        total = maps.flatten(1).sum(dim=1)
        inside = (maps * region).flatten(1).sum(dim=1)
        self._values.append(inside / total.clamp(min=1e-12))
