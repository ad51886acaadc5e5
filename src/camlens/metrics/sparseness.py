"""Sparseness: the Gini index of the map (Chalasani et al., "Concise explanations of neural
networks using adversarial training", ICML 2020; Hurley & Rickard 2009).

With v the n = H·W values of |L| sorted ascending (v_1 <= ... <= v_n):

    G = Σ_k (2k - n - 1) v_k / (n Σ_k v_k)

0 for a uniform map, (n - 1)/n for a map with a single non-zero pixel. Higher is better (a
sparser, more concise map). An all-zero map scores 0. Same formula as Quantus' ``Sparseness``
(which adds 1e-7 to every value; we do not).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ._utils import as_maps
from .base import PerImageMetric


class Sparseness(PerImageMetric):
    """Gini index of each map's absolute values, averaged over images.

    ``G = Σ_k (2k − n − 1) v_k / (n Σ_k v_k)`` with ``v`` the sorted ``|L|``; higher is better.
    Shapes: ``maps (B, H, W)``; ``compute()`` -> a float, ``per_image`` -> ``(N,)``.

    Example:
        >>> import torch
        >>> maps = torch.zeros(1, 4, 4)
        >>> maps[0, 0, 0] = 1.0
        >>> metric = Sparseness()
        >>> metric.update(inputs=torch.rand(1, 3, 4, 4), maps=maps)
        >>> metric.compute()  # (n − 1) / n for one non-zero pixel of 16
        0.9375
    """

    name = "sparseness"
    higher_is_better = True
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
        self._values.append(gini(as_maps(maps, inputs)))


def gini(maps: Tensor) -> Tensor:
    """``(B,)`` Gini index of each ``(B, *spatial)`` map's absolute values."""
    v = maps.flatten(1).abs().double().sort(dim=1).values
    n = v.shape[1]
    k = torch.arange(1, n + 1, device=v.device, dtype=v.dtype)
    total = v.sum(dim=1)
    g = ((2 * k - n - 1) * v).sum(dim=1) / (n * total.clamp(min=1e-300))
    return torch.where(total > 0, g, torch.zeros_like(g)).float()
