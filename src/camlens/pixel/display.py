"""Turn ``(B, C, H, W)`` attributions into pictures, in torch on their device.

* :func:`saliency_map` -> ``(B, H, W)`` in [0, 1]: Simonyan et al.'s ``max_c |w_c|`` (or another
  channel reduction), then per-image min-max.
* :func:`deprocess` -> ``(B, C, H, W)`` in [0, 1] (or uint8): the contrast stretch the Grad-CAM
  authors' code and pytorch-grad-cam's ``deprocess_image`` apply to guided backprop and guided
  Grad-CAM images: ``clip((a - mean) / (std + 1e-5) · 0.1 + 0.5, 0, 1)`` per image.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from ..core.postprocess import normalize
from ..errors import InvalidInputError, OptionError

Reduction = Literal["max_abs", "abs_sum", "sum", "l2"]


def saliency_map(
    attributions: Tensor, reduction: Reduction = "max_abs", *, normalized: bool = True
) -> Tensor:
    """``(B, C, *spatial)`` -> ``(B, *spatial)``: reduce the channels, then min-max per image.

    reduction: ``"max_abs"`` max_c |a_c| (Simonyan et al. 2014), ``"abs_sum"`` Σ_c |a_c|,
    ``"sum"`` Σ_c a_c (signed), ``"l2"`` sqrt(Σ_c a_c²).
    """
    if attributions.ndim < 3:
        raise InvalidInputError(
            f"attributions must be (B, C, *spatial), got shape {tuple(attributions.shape)}."
        )
    if reduction == "max_abs":
        maps = attributions.abs().amax(dim=1)
    elif reduction == "abs_sum":
        maps = attributions.abs().sum(dim=1)
    elif reduction == "sum":
        maps = attributions.sum(dim=1)
    elif reduction == "l2":
        maps = attributions.pow(2).sum(dim=1).sqrt()
    else:
        raise OptionError(
            f"reduction must be 'max_abs', 'abs_sum', 'sum' or 'l2', got {reduction!r}."
        )
    return normalize(maps) if normalized else maps


def deprocess(attributions: Tensor, *, uint8: bool = False) -> Tensor:
    """Per image: ``clip((a - mean) / (std + 1e-5) · 0.1 + 0.5, 0, 1)`` (population std).

    ``(B, C, H, W)`` -> same shape in [0, 1]; ``uint8=True`` gives pytorch-grad-cam's
    ``np.uint8(img * 255)`` (truncated), for ``deprocess_image(a[i].permute(1, 2, 0))``.
    """
    if attributions.ndim < 2:
        raise InvalidInputError(
            f"attributions must be (B, ...), got shape {tuple(attributions.shape)}."
        )
    flat = attributions.flatten(1)
    mean = flat.mean(dim=1, keepdim=True)
    std = flat.std(dim=1, correction=0, keepdim=True)
    out = ((flat - mean) / (std + 1e-5) * 0.1 + 0.5).clamp(0, 1).view_as(attributions)
    return (out * 255).to(torch.uint8) if uint8 else out
