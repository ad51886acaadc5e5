"""Automatic reshaping of a layer's output to ``(B, C, *grid)``.

- CNN feature maps ``(B, C, H, W)`` (and 1-D ``(B, C, L)``, 3-D ``(B, C, D, H, W)``) pass through.
- Channel-last maps ``(B, H, W, C)`` (Swin) are permuted.
- Transformer tokens ``(B, N, D)`` (or sequence-first ``(N, B, D)``, as open_clip's blocks give)
  of an image model: the leading extra tokens (class, distillation,
  register tokens) are dropped and the rest laid out on the patch grid, whose size is inferred from
  the input size (``N - extra = h·w`` with ``h/w`` the input's aspect ratio); for a video/volume
  input ``(B, C, T, H, W)`` on a ``t×h×w`` grid.
An explicit ``reshape_transform=`` always wins over this.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import Tensor

from .errors import LayerOutputError

MAX_EXTRA_TOKENS = 8


def _fits(dims: Sequence[int], spatial: Sequence[int]) -> bool:
    """Could ``dims`` be a grid over the input's ``spatial`` size at all?"""
    return len(dims) == len(spatial) and all(
        1 <= d <= s for d, s in zip(dims, spatial, strict=True)
    )


def _grid_like(dims: Sequence[int], spatial: Sequence[int]) -> bool:
    """Do ``dims`` look like the input's ``spatial`` size downsampled by one common stride k
    (each ``d`` within 1 of ``s / k``, so odd sizes and padding are allowed)?"""
    if not _fits(dims, spatial):
        return False
    return any(
        all(abs(d - s / k) <= 1 for d, s in zip(dims, spatial, strict=True))
        for k in range(1, max(spatial) + 1)
    )


def channels_last_grid(dims: Sequence[int], spatial: Sequence[int]) -> bool:
    """Whether a same-rank output's ``dims`` (its shape after the batch axis) lie channels last
    ``(*grid, C)`` for an input of ``spatial`` size: only its trailing axes look like a grid
    (channels first wins when both do)."""
    return not _grid_like(dims[1:], spatial) and _grid_like(dims[:-1], spatial)


def _patch_grid(dims: Sequence[int], spatial: Sequence[int]) -> bool:
    """Is ``dims`` the grid of square patches tiling ``spatial`` exactly?"""
    if any(s % d for d, s in zip(dims, spatial, strict=True)):
        return False
    return len({s // d for d, s in zip(dims, spatial, strict=True)}) == 1


def token_grid(tokens: int, spatial: Sequence[int]) -> tuple[int, tuple[int, ...]] | None:
    """``(extra, grid)`` with ``tokens = extra + h·w``, ``(h, w)`` the patch grid of ``spatial``.

    The fewest extra (leading) tokens that leave a grid of square patches tiling the input win.
    """
    for extra in range(MAX_EXTRA_TOKENS + 1):
        n = tokens - extra
        if n < 2:
            break
        if len(spatial) == 2:
            w = round(math.sqrt(n * spatial[1] / spatial[0]))
            for cand_w in {w - 1, w, w + 1}:
                if cand_w >= 1 and n % cand_w == 0 and _patch_grid((n // cand_w, cand_w), spatial):
                    return extra, (n // cand_w, cand_w)
    return None


def video_token_grid(tokens: int, spatial: Sequence[int]) -> tuple[int, tuple[int, ...]] | None:
    """Like :func:`token_grid` for ``(T, H, W)`` inputs: try temporal strides 1, 2, 4."""
    t, h, w = spatial
    for tubelet in (2, 1, 4):
        if t % tubelet:
            continue
        frames = t // tubelet
        for extra in range(MAX_EXTRA_TOKENS + 1):
            n = tokens - extra
            if n % frames:
                continue
            found = token_grid(n // frames, (h, w))
            if found and found[0] == 0:
                return extra, (frames, *found[1])
    return None


def auto_reshape(output: Tensor, input_shape: Sequence[int], name: str = "layer") -> Tensor:
    """Return ``output`` as ``(B, C, *grid)`` for an input of shape ``input_shape``."""
    spatial = tuple(input_shape[2:])
    nd = len(spatial)
    if output.ndim == nd + 2:
        first = output.shape[2:]
        if _grid_like(first, spatial):
            return output  # channels first, as CNNs give
        if channels_last_grid(output.shape[1:], spatial):
            return output.movedim(-1, 1)  # channels last (Swin, TensorFlow exports)
        if _fits(first, spatial):
            return output  # channels first with uneven strides (e.g. stride (4, 1))
    if output.ndim == 3 and nd in (2, 3):
        grid_of = token_grid if nd == 2 else video_token_grid
        found = grid_of(output.shape[1], spatial)
        if found is None and output.shape[1] == input_shape[0] != output.shape[0]:
            # sequence-first tokens (N, B, D), as open_clip's blocks run
            found = grid_of(output.shape[0], spatial)
            output = output.transpose(0, 1) if found is not None else output
        if found is not None:
            extra, grid = found
            grid_tokens = output[:, extra:, :]
            return grid_tokens.transpose(1, 2).reshape(output.shape[0], output.shape[2], *grid)
    raise LayerOutputError(
        f"cannot lay the output of {name!r} (shape {tuple(output.shape)}) on a grid for an input "
        f"of shape {tuple(input_shape)}; pass reshape_transform= (a function returning "
        "(B, C, *grid)) or choose a layer with a spatial output."
    )
