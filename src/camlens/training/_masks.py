"""Annotation masks for the explanation losses: one check, one resize."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..core.errors import MaskError


def check_mask(mask: object, images: Tensor, name: str = "mask") -> Tensor:
    """``mask`` as a float ``(B, H, W)`` tensor on the images' device, values in [0, 1].

    Accepts ``(B, H, W)`` or ``(B, 1, H, W)``, bool or floating, the images' batch and spatial
    size; anything else is a :class:`MaskError` that says what was expected.
    """
    if not isinstance(mask, Tensor):
        raise MaskError(f"{name} must be a torch.Tensor, not {type(mask).__name__}.")
    expected = (images.shape[0], *images.shape[2:])
    if mask.ndim == images.ndim and mask.shape[1] == 1:
        mask = mask[:, 0]
    if tuple(mask.shape) != expected:
        raise MaskError(
            f"{name} has shape {tuple(mask.shape)}; expected {expected} (batch and spatial size "
            f"of the images {tuple(images.shape)}), one mask per image."
        )
    if mask.dtype == torch.bool:
        return mask.to(device=images.device, dtype=images.dtype)
    if not mask.is_floating_point():
        raise MaskError(
            f"{name} has dtype {mask.dtype}; give a bool mask or a float mask in [0, 1]."
        )
    if mask.numel() and (mask.min() < 0 or mask.max() > 1 or not torch.isfinite(mask).all()):
        raise MaskError(f"{name} must hold values in [0, 1] (a float mask) or be bool.")
    return mask.to(device=images.device, dtype=images.dtype)


def resize_mask(mask: Tensor, size: tuple[int, ...]) -> Tensor:
    """``(B, *spatial)`` mask area-averaged (or bilinearly resized up) to ``size``."""
    if tuple(mask.shape[1:]) == tuple(size):
        return mask
    shrink = all(s <= m for s, m in zip(size, mask.shape[1:], strict=True))
    if shrink:
        return F.adaptive_avg_pool2d(mask[:, None], size)[:, 0]
    return F.interpolate(mask[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]
