"""Occlusion as a map method (``"occlusion"``): the black-box base is
:mod:`camlens.methods._blackbox`, the method :class:`camlens.pixel.Occlusion` (Zeiler & Fergus,
ECCV 2014)."""

from __future__ import annotations

from ..pixel.occlusion import Occlusion
from ._blackbox import PixelMapMethod


class OcclusionMap(PixelMapMethod):
    """Occlusion (Zeiler & Fergus, ECCV 2014) as a map: see :class:`camlens.pixel.Occlusion`.

    The map is the score drop when a patch covering the pixel is replaced by the baseline, averaged
    over the patches, min-max normalised per image.
    Shapes: input ``(B, C, H, W)`` -> maps ``(B, H, W)`` in [0, 1].

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        ...                       nn.Flatten(), nn.Linear(4, 3)).eval()
        >>> x = torch.rand(2, 3, 8, 8)
        >>> from camlens import ClassTarget
        >>> method = OcclusionMap(model, patch_size=4, stride=4)
        >>> maps = method(x, targets=[ClassTarget(0), ClassTarget(2)])
        >>> maps.shape
        torch.Size([2, 8, 8])
    """

    name = "occlusion"

    pixel_class = Occlusion
