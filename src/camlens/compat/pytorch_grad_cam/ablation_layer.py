"""Mirror of ``pytorch_grad_cam.ablation_layer``: which ablation :class:`AblationCAM` applies.

pytorch-grad-cam swaps the target layer for an ``AblationLayer`` module that returns the cached
activations with one channel per copy overwritten. camlens swaps no module: the layer's output is
replaced during the forward pass (and only the network after the layer runs on the copies). These
classes select pytorch-grad-cam's ablation rule, number for number:

* :class:`AblationLayer`: channels are axis 1 of the layer's output (CNNs). Channel k of copy j
  is set to 0 when the output's minimum is 0, else to ``min − (j + 1)·1e7`` (pytorch-grad-cam
  re-reads the minimum after each copy it ablates).
* :class:`AblationLayerVit`: channels are the LAST axis of the layer's output (transformer tokens
  ``(B, tokens, C)``, Swin ``(B, H, W, C)``); channel k is ablated in every token, the class token
  included, with the same values.

They are markers: custom subclasses that change ``__call__`` are refused by :class:`AblationCAM`
(camlens cannot run an arbitrary replacement module). ``AblationLayerFasterRCNN`` is not provided:
camlens' compat layer does not drive detection models through a CAM yet.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from ...methods.ablationcam import _pgc_channel_selection

__all__ = ["AblationLayer", "AblationLayerVit"]


class AblationLayer(nn.Module):
    """pytorch-grad-cam's ablation of CNN channels (axis 1); see the module docstring."""

    #: Where the channels are in the layer's raw output: 1 (CNNs) or -1 (tokens).
    channel_axis: int = 1

    def activations_to_be_ablated(
        self, activations: np.ndarray | Tensor, ratio_channels_to_ablate: float = 1.0
    ) -> np.ndarray:
        """The channels of one image's ``(C, h, w)`` activations that :class:`AblationCAM`
        ablates: all of them, or pytorch-grad-cam's heuristic pick for a ratio below 1 (the
        ``ratio·C`` highest- and lowest-scoring channels, duplicates removed)."""
        if ratio_channels_to_ablate == 1.0:
            return np.arange(activations.shape[0], dtype=np.int32)
        picked = _pgc_channel_selection(torch.as_tensor(activations), ratio_channels_to_ablate)
        return picked.astype(np.int32)

    def forward(self, x: Tensor) -> Tensor:
        raise TypeError(
            f"{type(self).__name__} is not run as a layer in camlens: pass it to AblationCAM "
            "(ablation_layer=...), which replaces the target layer's output itself."
        )


class AblationLayerVit(AblationLayer):
    """pytorch-grad-cam's ablation of token channels (the last axis, every token)."""

    channel_axis = -1
