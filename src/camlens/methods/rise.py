"""RISE as a map method (``"rise"``): the black-box base is :mod:`camlens.methods._blackbox`,
the method :class:`camlens.pixel.RISE` (Petsiuk et al., BMVC 2018)."""

from __future__ import annotations

from ..pixel.rise import RISE
from ._blackbox import PixelMapMethod


class RISEMap(PixelMapMethod):
    """RISE (Petsiuk et al., BMVC 2018) as a map: see :class:`camlens.pixel.RISE`.

    The map is ``S = 1/(N·p) Σ_n y^c(x ⊙ M_n) M_n`` over ``N`` random masks (cells on with
    probability ``p``), min-max normalised per image.
    Shapes: input ``(B, C, H, W)`` -> maps ``(B, H, W)`` in [0, 1].

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        ...                       nn.Flatten(), nn.Linear(4, 3)).eval()
        >>> x = torch.rand(2, 3, 8, 8)
        >>> from camlens import ClassTarget
        >>> method = RISEMap(model, n_masks=50, seed=0)
        >>> maps = method(x, targets=[ClassTarget(0), ClassTarget(2)])
        >>> maps.shape
        torch.Size([2, 8, 8])
    """

    name = "rise"

    pixel_class = RISE
