"""Semantic segmentation targets: explain the class logits over a region of pixels.

Per image a segmentation model outputs ``(classes, *spatial)`` logits (torchvision's DeepLabV3,
FCN and LR-ASPP return ``{"out": (B, K, H, W), ...}``; camlens reads ``"out"``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..errors import TargetError

__all__ = ["SegmentationTarget"]


class SegmentationTarget:
    """``Σ_p mask_p · y^c_p``: class ``category``'s logits summed over the mask's pixels.

    pytorch-grad-cam's ``SemanticSegmentationTarget(category, mask)`` (same number).

    Args:
        category: the class whose logits are explained.
        mask: ``(*spatial)`` of the model output (``(H, W)`` for images): bool, 0/1 or float
            weights; numpy or torch. ``None`` sums over every pixel.

    Shapes: one image's logits ``(classes, *spatial)`` -> a scalar ``()``.

    Example:
        >>> import torch
        >>> logits = torch.ones(3, 4, 4)
        >>> mask = torch.zeros(4, 4, dtype=torch.bool)
        >>> mask[:2] = True
        >>> SegmentationTarget(2, mask)(logits)  # 8 pixels of logit 1
        tensor(8.)
    """

    def __init__(self, category: int, mask: Tensor | Any | None = None) -> None:
        if isinstance(category, bool) or int(category) != category or int(category) < 0:
            raise TargetError(f"category must be an int >= 0, got {category!r}.")
        self.category = int(category)
        if mask is None:
            self.mask = None
        else:
            tensor = mask if isinstance(mask, Tensor) else torch.as_tensor(mask)
            if tensor.dtype == torch.bool or not tensor.is_floating_point():
                tensor = tensor.float()
            self.mask = tensor.detach()

    @classmethod
    def predicted(cls, output: Tensor, category: int) -> SegmentationTarget:
        """The pixels one image's ``output (classes, *spatial)`` assigns to ``category``."""
        return cls(category, output.detach().argmax(dim=0) == category)

    def __call__(self, output: Tensor) -> Tensor:
        if not isinstance(output, Tensor) or output.ndim < 2:
            shape = tuple(output.shape) if isinstance(output, Tensor) else type(output).__name__
            raise TargetError(
                f"SegmentationTarget needs one image's logits (classes, *spatial), got {shape}."
            )
        if self.category >= output.shape[0]:
            raise TargetError(
                f"category {self.category} is out of range for an output with "
                f"{output.shape[0]} classes."
            )
        logits = output[self.category]
        if self.mask is None:
            return logits.sum()
        if tuple(self.mask.shape) != tuple(logits.shape):
            raise TargetError(
                f"the mask has shape {tuple(self.mask.shape)} but the model outputs maps of "
                f"shape {tuple(logits.shape)}; give a mask of the output's size."
            )
        return (logits * self.mask.to(device=logits.device, dtype=logits.dtype)).sum()

    def __repr__(self) -> str:
        pixels = "all" if self.mask is None else f"{int((self.mask != 0).sum())} pixels"
        return f"SegmentationTarget({self.category}, mask={pixels})"
