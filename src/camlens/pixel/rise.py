"""RISE — Petsiuk, Das & Saenko, "RISE: Randomized Input Sampling for Explanation of Black-box
Models", BMVC 2018 (arXiv:1806.07421), sec. 3, with the authors' mask generator
(github.com/eclique/RISE, ``generate_masks``).

    S^c_ij = 1/(N·p) · Σ_{n=1..N} y^c(x ⊙ M_n) · M_n,ij          (eq. 6, Monte Carlo)

Masks: N binary ``s × s`` grids with cells on with probability ``p``; each is bilinearly
upsampled to ``(s + 1)·⌈H/s⌉ × (s + 1)·⌈W/s⌉`` (half-pixel centres, as ``skimage``'s
``resize(order=1)``) and cropped to ``H × W`` at a random shift in ``[0, ⌈H/s⌉) × [0, ⌈W/s⌉)``.
Masks come from a seeded ``torch.Generator`` and are built chunk by chunk on the input's device
(never all N at once); the ``B × N`` masked copies are scored in chunks of ``batch_size`` under
``torch.inference_mode``. The paper explains class probabilities: pass
``camlens.SoftmaxTarget(c)`` for that; ``None`` explains the top-1 class score (logit), as every
camlens method. Masked-out pixels become ``fill`` (the paper: 0, i.e. ``x ⊙ M``).
Shapes: ``(B, C, H, W)`` -> ``(B, C, H, W)``, equal over channels.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
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


class RISE(PixelAttribution):
    """Σ_n score(x ⊙ M_n) · M_n / (N·p) over random smooth masks.

    Args:
        model: the classifier: a torch module, or any model camlens has an adapter for (an
            ONNX file or session, a Keras model), run through the adapter's ``predict``.
        n_masks: N (the paper: 4000 for ResNet-50).
        grid_size: s, the number of cells per side (an int or ``(s_h, s_w)``; the paper: 7).
        p: probability that a cell is kept (the paper: 0.5).
        fill: value of the masked-out pixels: ``x ⊙ M + fill · (1 − M)`` (number or tensor
            broadcastable to the input).
        batch_size: masked copies per forward pass.
        seed: seed of the mask generator (same seed, same masks).
        masks: fixed ``(N, H, W)`` masks to use instead of random ones (``p`` still divides).

    Formula, reference and shapes: the docstring of ``camlens.pixel.rise``.

    Example:
        >>> rise = RISE(model, n_masks=1000, grid_size=7)
        >>> saliency = rise(x, targets=[ClassTarget(281)])  # (B, C, H, W), equal over C
    """

    black_box = True  # scores only: any adapter's model (ONNX, Keras) runs through predict

    def __init__(
        self,
        model: nn.Module,
        n_masks: int = 4000,
        grid_size: int | tuple[int, int] = 7,
        p: float = 0.5,
        *,
        fill: float | Tensor = 0.0,
        batch_size: int = 64,
        seed: int = 0,
        masks: Tensor | None = None,
    ) -> None:
        super().__init__(model)
        grid = (grid_size, grid_size) if isinstance(grid_size, int) else tuple(grid_size)
        if len(grid) != 2 or min(grid) < 1:
            raise OptionError(f"grid_size must be a positive int or pair, got {grid_size!r}.")
        if not 0 < p <= 1:
            raise OptionError(f"p must be in (0, 1], got {p}.")
        if batch_size < 1:
            raise OptionError(f"batch_size must be >= 1, got {batch_size}.")
        if masks is not None:
            if masks.ndim != 3:
                raise InvalidInputError(f"masks must be (N, H, W), got shape {tuple(masks.shape)}.")
            n_masks = masks.shape[0]
        if n_masks < 1:
            raise OptionError(f"n_masks must be >= 1, got {n_masks}.")
        self.n_masks = n_masks
        self.grid_size: tuple[int, int] = grid
        self.p = p
        self.fill = fill
        self.batch_size = batch_size
        self.seed = seed
        self.masks = masks

    # --- masks -------------------------------------------------------------------------------
    def mask_parameters(self) -> tuple[Tensor, Tensor]:
        """The seeded random draws: grids ``(N, s_h, s_w)`` bool and shifts ``(N, 2)`` in cells
        of the upsampled mask (before division by the cell size)."""
        generator = torch.Generator().manual_seed(self.seed)
        grids = torch.rand(self.n_masks, *self.grid_size, generator=generator) < self.p
        shifts = torch.rand(self.n_masks, 2, generator=generator)
        return grids, shifts

    def build_masks(
        self, grids: Tensor, shifts: Tensor, size: tuple[int, int], dtype: torch.dtype
    ) -> Tensor:
        """``(n, H, W)`` masks from grids ``(n, s_h, s_w)`` and shifts ``(n, 2)`` in [0, 1)."""
        (height, width), (gh, gw) = size, self.grid_size
        cell_h, cell_w = math.ceil(height / gh), math.ceil(width / gw)
        up = F.interpolate(
            grids[:, None].to(dtype),
            size=((gh + 1) * cell_h, (gw + 1) * cell_w),
            mode="bilinear",
            align_corners=False,
        )[:, 0]
        dy = (shifts[:, 0] * cell_h).long().clamp_max(cell_h - 1)  # uniform in [0, cell)
        dx = (shifts[:, 1] * cell_w).long().clamp_max(cell_w - 1)
        device = up.device
        rows = dy[:, None] + torch.arange(height, device=device)  # (n, H)
        cols = dx[:, None] + torch.arange(width, device=device)  # (n, W)
        index = torch.arange(up.shape[0], device=device)[:, None, None]
        return up[index, rows[:, :, None], cols[:, None, :]]

    def generate_masks(
        self, size: tuple[int, int], device: torch.device | str = "cpu", dtype=torch.float32
    ) -> Tensor:
        """All ``(N, H, W)`` masks at once (for inspection; :meth:`explain` builds them in
        chunks)."""
        if self.masks is not None:
            return self.masks.to(device=device, dtype=dtype)
        grids, shifts = self.mask_parameters()
        return self.build_masks(grids.to(device), shifts.to(device), size, dtype)

    # --- saliency ----------------------------------------------------------------------------
    def explain(self, input_tensor: Tensor, targets: object = None) -> PixelExplanation:
        x = image_input(input_tensor, images_only=True).detach()
        self.warn_if_training()
        batch, _, height, width = x.shape
        if self.masks is not None and tuple(self.masks.shape[1:]) != (height, width):
            raise InvalidInputError(
                f"masks of size {tuple(self.masks.shape[1:])} do not fit the input "
                f"{(height, width)}."
            )
        logits, resolved, scores = clean_forward(self.runner, x, targets)
        fill = torch.as_tensor(self.fill, dtype=x.dtype, device=x.device).expand_as(x)
        grids, shifts = self.mask_parameters() if self.masks is None else (None, None)

        saliency = torch.zeros(batch, height, width, dtype=x.dtype, device=x.device)
        total = self.n_masks * batch
        with track(total, "RISE") as tracker:
            for start in range(0, total, self.batch_size):
                pair = torch.arange(start, min(start + self.batch_size, total), device=x.device)
                mask_index, image = pair // batch, pair % batch  # mask-major: each mask built once
                first, last = int(mask_index[0]), int(mask_index[-1]) + 1
                if self.masks is not None:
                    masks = self.masks[first:last].to(device=x.device, dtype=x.dtype)
                else:
                    masks = self.build_masks(
                        grids[first:last].to(x.device),
                        shifts[first:last].to(x.device),
                        (height, width),
                        x.dtype,
                    )
                m = masks[mask_index - first]  # (n, H, W)
                copies = torch.lerp(fill[image], x[image], m[:, None])  # x·M + fill·(1 − M)
                chunk = score_batch(self.runner, copies, [resolved[i] for i in image.tolist()])
                saliency.index_add_(0, image, chunk.to(x.dtype)[:, None, None] * m)
                tracker.update(len(pair))
        saliency /= self.n_masks * self.p
        attributions = saliency[:, None].expand_as(x).contiguous()
        return PixelExplanation(attributions, logits, scores, resolved)
