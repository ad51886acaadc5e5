"""``pytorch_grad_cam.utils.reshape_transforms``: layer outputs -> ``(B, C, H, W)``."""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["fasterrcnn_reshape_transform", "swinT_reshape_transform", "vit_reshape_transform"]


def fasterrcnn_reshape_transform(x: Mapping[str, Tensor]) -> Tensor:
    """An FPN's dict of feature maps -> their absolute values, resized to the ``"pool"`` level
    (bilinear) and concatenated over channels."""
    target_size = x["pool"].size()[-2:]
    activations = [
        F.interpolate(torch.abs(value), target_size, mode="bilinear") for value in x.values()
    ]
    return torch.cat(activations, dim=1)


def swinT_reshape_transform(tensor: Tensor, height: int = 7, width: int = 7) -> Tensor:
    """Swin tokens ``(B, H*W, C)`` -> ``(B, C, H, W)``."""
    result = tensor.reshape(tensor.size(0), height, width, tensor.size(2))
    return result.transpose(2, 3).transpose(1, 2)


def vit_reshape_transform(tensor: Tensor, height: int = 14, width: int = 14) -> Tensor:
    """ViT tokens ``(B, 1 + H*W, C)`` -> drop the class token -> ``(B, C, H, W)``."""
    result = tensor[:, 1:, :].reshape(tensor.size(0), height, width, tensor.size(2))
    return result.transpose(2, 3).transpose(1, 2)
