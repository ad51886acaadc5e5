"""Evidence statistics of low-resolution maps, batched in torch.

A map ``M`` of shape ``(B, h, w)`` (after ReLU, before upsampling) is read as an energy
distribution over its cells: ``p = M / Σ M``. Each cell stands for the block of input pixels it
covers, so the share of a pixel region ``R`` is ``Σ_cells p · coverage_R``, where ``coverage_R`` is
the fraction of each cell's pixels inside ``R`` (``adaptive_avg_pool2d`` of the region's pixel
mask to ``(h, w)``). All statistics are ``NaN`` for a map with no energy (all zeros).

- ``object_share``: share inside the object mask (or box), ``NaN`` when none is given;
- ``peak_on_object``: 1 when the map's highest cell overlaps the object, else 0 (the pointing
  game at the map's resolution), ``NaN`` when no mask is given;
- ``border_share``: share in the border band (the pixels within ``border · H`` of the top or
  bottom edge or ``border · W`` of the left or right edge);
- ``q_tl, q_tr, q_bl, q_br``: share in each image quadrant (they sum to 1);
- ``peak_y, peak_x``: centre of the map's highest cell in [0, 1] image coordinates;
- ``entropy``: ``-Σ p log p / log(h · w)`` in [0, 1] (1 = spread evenly, 0 = one cell).
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import InvalidInputError, OptionError

STAT_NAMES = (
    "object_share",
    "peak_on_object",
    "border_share",
    "q_tl",
    "q_tr",
    "q_bl",
    "q_br",
    "peak_y",
    "peak_x",
    "entropy",
)


def coverage(masks: Tensor, size: tuple[int, int]) -> Tensor:
    """``(B, h, w)``: the fraction of each map cell's pixels that lie in ``masks`` ``(B, H, W)``."""
    return F.adaptive_avg_pool2d(masks.float()[:, None], size)[:, 0]


@lru_cache(maxsize=32)
def _region_masks(height: int, width: int, border: float) -> Tensor:
    """``(5, H, W)`` pixel masks: border band, then the quadrants TL, TR, BL, BR."""
    rows = torch.arange(height, dtype=torch.float32)[:, None] + 0.5
    cols = torch.arange(width, dtype=torch.float32)[None, :] + 0.5
    band_y, band_x = border * height, border * width
    band = (rows < band_y) | (rows > height - band_y) | (cols < band_x) | (cols > width - band_x)
    top, left = rows < height / 2, cols < width / 2
    quads = [top & left, top & ~left, ~top & left, ~top & ~left]
    return torch.stack([band.expand(height, width), *(q.expand(height, width) for q in quads)])


def region_coverage(
    input_size: tuple[int, int], map_size: tuple[int, int], border: float = 0.125
) -> Tensor:
    """``(5, h, w)`` coverage of the border band and the four quadrants on the map's grid."""
    if not 0.0 <= border < 0.5:
        raise OptionError(f"border must be in [0, 0.5), got {border}.")
    regions = _region_masks(int(input_size[0]), int(input_size[1]), float(border))
    return coverage(regions, (int(map_size[0]), int(map_size[1])))


def evidence_stats(
    maps: Tensor,
    input_size: tuple[int, int],
    object_masks: Tensor | None = None,
    has_object: Tensor | None = None,
    border: float = 0.125,
) -> dict[str, Tensor]:
    """Statistics of ``maps`` ``(B, h, w)`` (non-negative), each a ``(B,)`` float32 tensor.

    object_masks: ``(B, H, W)`` pixel masks at the input resolution (1 inside the object);
    has_object: ``(B,)`` bool, False where an image has no mask (its ``object_share`` is NaN).
    """
    if maps.ndim != 3:
        raise InvalidInputError(f"maps must be (B, h, w), got shape {tuple(maps.shape)}.")
    maps = maps.float().clamp_min(0)
    b, h, w = maps.shape
    flat = maps.reshape(b, h * w)
    total = flat.sum(1)
    empty = ~(total > 0)
    p = (flat / torch.where(empty, 1.0, total)[:, None]).view(b, h, w)
    nan = torch.full((b,), math.nan, device=maps.device)

    regions = region_coverage(input_size, (h, w), border).to(maps.device)
    shares = torch.einsum("bhw,rhw->rb", p, regions)
    out = {
        "border_share": shares[0],
        "q_tl": shares[1],
        "q_tr": shares[2],
        "q_bl": shares[3],
        "q_br": shares[4],
    }
    peak = flat.argmax(1)
    if object_masks is None:
        out["object_share"] = nan.clone()
        out["peak_on_object"] = nan.clone()
    else:
        cov = coverage(object_masks.to(maps.device), (h, w))
        share = (p * cov).flatten(1).sum(1)
        hit = (cov.flatten(1).gather(1, peak[:, None])[:, 0] > 0).float()
        if has_object is not None:
            share = torch.where(has_object.to(maps.device), share, nan)
            hit = torch.where(has_object.to(maps.device), hit, nan)
        out["object_share"] = share
        out["peak_on_object"] = hit
    out["peak_y"] = ((peak // w).float() + 0.5) / h
    out["peak_x"] = ((peak % w).float() + 0.5) / w
    pf = p.flatten(1)
    ent = -(pf * torch.log(torch.where(pf > 0, pf, 1.0))).sum(1)
    out["entropy"] = ent / math.log(h * w) if h * w > 1 else torch.zeros_like(ent)
    return {k: torch.where(empty, nan, out[k]).float() for k in STAT_NAMES}
