"""Small wrappers that put a model's input in the ``(B, C, *spatial)`` layout camlens explains."""

from __future__ import annotations

from torch import Tensor, nn


class VideoChannelsFirst(nn.Module):
    """Explain a Hugging Face video model (VideoMAE, TimeSformer, ViViT) on ``(B, C, T, H, W)``.

    Those models take ``pixel_values`` shaped ``(B, T, C, H, W)``; camlens reads the dimensions
    after the channel dimension as the map's ``(T, H, W)``. The wrapper transposes and forwards,
    so maps come back as ``(B, T, H, W)``. Layer names gain a ``model.`` prefix.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> class TinyVideoModel(nn.Module):  # takes pixel_values (B, T, C, H, W)
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.conv = nn.Conv3d(3, 4, 1)
        ...     def forward(self, pixel_values):
        ...         return self.conv(pixel_values.transpose(1, 2)).mean(dim=(2, 3, 4))
        >>> VideoChannelsFirst(TinyVideoModel())(torch.rand(2, 3, 4, 8, 8)).shape  # (B, C, T, H, W)
        torch.Size([2, 4])
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> object:
        return self.model(pixel_values=x.transpose(1, 2))
