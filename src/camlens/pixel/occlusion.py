"""Occlusion — Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014
(arXiv:1311.2901), sec. 4.2 (the reference the Grad-CAM paper compares with): slide a patch of
``fill`` over the image and record how much the target score drops.

For each window position p (an ``h × w`` patch covering all channels, stride ``s``), with x_p the
image whose patch p is set to ``fill``:

    d_p       = y^c(x) − y^c(x_p)
    A_{c,i,j} = Σ_{p ∋ (i,j)} d_p / #{p ∋ (i,j)}          (the mean drop over the windows covering
                                                          the pixel, as captum's ``Occlusion``)

Windows start at 0, s, 2s, ... up to ⌈(H − h)/s⌉·s (the last one clipped at the border), so every
pixel is covered — captum's ``Occlusion(sliding_window_shapes=(C, h, w), strides=(C, s_h, s_w))``
places them the same way. The ``B × P`` occluded copies are scored in chunks of ``batch_size``
under ``torch.inference_mode``. Shapes: ``(B, C, H, W)`` -> ``(B, C, H, W)``, equal over channels.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..core.errors import InvalidInputError
from ..core.progress import track
from ..errors import OptionError
from ._base import (
    PixelAttribution,
    PixelExplanation,
    clean_forward,
    image_input,
    score_batch,
)


def _pair(value: int | tuple[int, int], name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or any(not isinstance(v, int) or v < 1 for v in pair):
        raise OptionError(f"{name} must be a positive int or a pair of them, got {value!r}.")
    return pair


def window_starts(size: int, window: int, stride: int) -> list[int]:
    """Start of each window along one axis: 0, s, ..., ⌈(size − window)/s⌉·s (captum's rule)."""
    if window > size:
        raise InvalidInputError(f"the patch ({window}) is larger than the input ({size}).")
    if stride > window and window < size:
        raise OptionError(
            f"stride {stride} > patch {window} would leave pixels unoccluded; use stride <= patch."
        )
    return [k * stride for k in range(math.ceil((size - window) / stride) + 1)]


class Occlusion(PixelAttribution):
    """Mean drop of the target score over the occluding patches that cover each pixel.

    Args:
        model: the classifier: a torch module, or any model camlens has an adapter for (an
            ONNX file or session, a Keras model), run through the adapter's ``predict``.
        patch_size: ``h`` or ``(h, w)`` of the patch (all channels are occluded).
        stride: ``s`` or ``(s_h, s_w)``; at most the patch size.
        fill: the occluding value: a number, or a tensor broadcastable to the input
            ``(B, C, H, W)`` (e.g. per-channel means ``(C, 1, 1)`` or blurred images).
        batch_size: occluded copies per forward pass.

    Formula, reference and shapes: the docstring of ``camlens.pixel.occlusion``.

    Example:
        >>> occlusion = Occlusion(model, patch_size=16, stride=8)
        >>> drops = occlusion(x, targets=[ClassTarget(281)])  # (B, C, H, W), equal over C
    """

    black_box = True  # scores only: any adapter's model (ONNX, Keras) runs through predict

    def __init__(
        self,
        model: nn.Module,
        patch_size: int | tuple[int, int] = 16,
        stride: int | tuple[int, int] = 8,
        fill: float | Tensor = 0.0,
        *,
        batch_size: int = 64,
    ) -> None:
        super().__init__(model)
        self.patch_size = _pair(patch_size, "patch_size")
        self.stride = _pair(stride, "stride")
        if batch_size < 1:
            raise OptionError(f"batch_size must be >= 1, got {batch_size}.")
        self.fill = fill
        self.batch_size = batch_size

    def explain(self, input_tensor: Tensor, targets: object = None) -> PixelExplanation:
        x = image_input(input_tensor, images_only=True)
        self.warn_if_training()
        batch, _, height, width = x.shape
        (ph, pw), (sh, sw) = self.patch_size, self.stride
        rows = torch.tensor(window_starts(height, ph, sh), device=x.device)
        cols = torch.tensor(window_starts(width, pw, sw), device=x.device)
        # in_row[p, i]: row i lies in window row p (the last windows are clipped by the border)
        grid_h, grid_w = torch.arange(height, device=x.device), torch.arange(width, device=x.device)
        in_row = (grid_h >= rows[:, None]) & (grid_h < rows[:, None] + ph)
        in_col = (grid_w >= cols[:, None]) & (grid_w < cols[:, None] + pw)
        fill = torch.as_tensor(self.fill, dtype=x.dtype, device=x.device).expand_as(x)

        x = x.detach()
        logits, resolved, base = clean_forward(self.runner, x, targets)
        positions = len(rows) * len(cols)
        drops = torch.empty(batch * positions, dtype=base.dtype, device=x.device)
        with track(batch * positions, "Occlusion") as tracker:
            for start in range(0, batch * positions, self.batch_size):
                pair = torch.arange(
                    start, min(start + self.batch_size, batch * positions), device=x.device
                )
                image, position = pair // positions, pair % positions
                mask = (
                    in_row[position // len(cols)][:, None, :, None]
                    & in_col[position % len(cols)][:, None, None, :]
                )  # (n, 1, H, W)
                copies = torch.where(mask, fill[image], x[image])
                scores = score_batch(self.runner, copies, [resolved[i] for i in image.tolist()])
                drops[pair] = base[image] - scores
                tracker.update(len(pair))

        grid = drops.view(batch, len(rows), len(cols)).to(x.dtype)
        row_hits, col_hits = in_row.to(x.dtype), in_col.to(x.dtype)
        total = torch.einsum("pi,bpq,qj->bij", row_hits, grid, col_hits)
        count = row_hits.sum(0)[:, None] * col_hits.sum(0)[None, :]
        attributions = (total / count)[:, None].expand_as(x).contiguous()
        return PixelExplanation(attributions, logits, base, resolved)
