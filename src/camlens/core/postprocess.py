"""Post-processing, all in torch on the maps' device: upsample, per-image min-max normalise."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import InvalidInputError

_MODES = {1: "linear", 2: "bilinear", 3: "trilinear"}


def upsample(maps: Tensor, size: Sequence[int]) -> Tensor:
    """Resize ``(B, *spatial)`` maps to ``size``: linear / bilinear / trilinear, no corner align."""
    size = tuple(int(s) for s in size)
    if tuple(maps.shape[1:]) == size:
        return maps
    mode = _MODES.get(maps.ndim - 1)
    if mode is None:
        raise InvalidInputError(
            f"can only upsample 1-D, 2-D or 3-D maps, got shape {tuple(maps.shape)}."
        )
    return F.interpolate(maps[:, None], size=size, mode=mode, align_corners=False)[:, 0]


# A map is constant when it varies by at most this fraction of its largest magnitude: the rounding
# of float32 sums and of bilinear upsampling (~5e-7 relative) is far below, any real map far above
CONSTANT_RTOL = 1e-5


def is_constant(maps: Tensor) -> Tensor:
    """``(B,)`` bool: ``max - min <= CONSTANT_RTOL * max |x|`` per map (all zeros included)."""
    flat = maps.flatten(1)
    return _constant(flat.amin(dim=1), flat.amax(dim=1))


def _constant(low: Tensor, high: Tensor) -> Tensor:
    """Per map, from its minimum and maximum: ``max - min <= CONSTANT_RTOL * max |x|``."""
    return high - low <= CONSTANT_RTOL * torch.maximum(high.abs(), low.abs())


def normalize(maps: Tensor, eps: float = 0.0, *, low_res: Tensor | None = None) -> Tensor:
    """Per-image min-max to [0, 1]: ``(x - min) / (max - min)``.

    With ``eps=0`` (camlens) a constant map becomes zeros, never NaN: constant as
    :func:`is_constant` decides on ``low_res`` (the layer's map before upsampling, whose values are
    exact) when given, else on ``maps``; a 1x1 map is always constant. ``eps > 0`` divides by
    ``max + eps`` instead, as pytorch-grad-cam does (``1e-7``); it differs only for tiny maps.
    """
    # amin/amax (vectorised: a tenth of the time of aminmax or min/max with a dim, which also
    # track indices) and in-place arithmetic: few ops, as each runs with caches a forward cooled
    flat = maps.flatten(1)
    low, high = flat.amin(dim=1, keepdim=True), flat.amax(dim=1, keepdim=True)
    shifted = flat - low
    span = high - low
    if eps > 0:
        return shifted.div_(span + eps).view_as(maps)
    constant = ~(span > 0)  # a NaN span too
    if low_res is None:
        constant |= _constant(low, high)
    else:
        constant |= is_constant(low_res)[:, None]
    return shifted.div_(span.masked_fill_(constant, 1)).masked_fill_(constant, 0).view_as(maps)


def fuse_paper(raw: Sequence[Tensor], size: Sequence[int]) -> tuple[list[Tensor], Tensor]:
    """camlens: each layer upsampled then normalised (constant as its low-res map says); the fused
    map is the normalised mean."""
    per_layer = [normalize(upsample(m, size), low_res=m) for m in raw]
    fused = per_layer[0] if len(per_layer) == 1 else normalize(torch.stack(per_layer).mean(0))
    return per_layer, fused


def fuse_pytorch_grad_cam(
    raw: Sequence[Tensor], size: Sequence[int]
) -> tuple[list[Tensor], Tensor]:
    """pytorch-grad-cam's order: normalise by ``max + 1e-7``, then resize; mean; normalise again."""
    per_layer = [upsample(normalize(m, eps=1e-7), size) for m in raw]
    fused = normalize(torch.stack(per_layer).clamp_min(0).mean(0), eps=1e-7)
    return per_layer, fused
