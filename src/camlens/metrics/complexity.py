"""Complexity (pytorch-grad-cam's ARCC family; Chalasani et al. 2020 / arXiv:2104.10252).

    complexity_i = ||L_i||_1 / (H·W)

the mean absolute value of the map: 0 for an all-zero map, 1 for an all-one map. Lower is better
(a simpler explanation). Same numbers as ``pytorch_grad_cam.metrics.arcc.Complexity``.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from ._utils import as_maps
from .base import PerImageMetric


class Complexity(PerImageMetric):
    """Mean |map| per image, averaged over images.

    ``complexity_i = ‖L_i‖₁ / (H·W)``; lower is better.
    Shapes: ``maps (B, H, W)``; ``compute()`` -> a float, ``per_image`` -> ``(N,)``.

    Example:
        >>> import torch
        >>> metric = Complexity()
        >>> metric.update(inputs=torch.rand(1, 3, 4, 4), maps=torch.full((1, 4, 4), 0.25))
        >>> metric.compute()
        0.25
    """

    name = "complexity"
    higher_is_better = False
    requires = frozenset[str]()

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
        self._values.append(complexity(as_maps(maps, inputs)))


def complexity(maps: Tensor) -> Tensor:
    """``(B,)`` mean absolute value of each ``(B, H, W)`` map."""
    return maps.flatten(1).abs().mean(dim=1)
