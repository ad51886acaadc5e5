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
(camlens cannot run an arbitrary replacement module).

* :class:`AblationLayerFasterRCNN`: the target layer returns a dict of FPN levels (a torchvision
  detector's ``model.backbone``), explained through ``fasterrcnn_reshape_transform`` (the levels
  resized to the smallest and concatenated along channels, in the dict's order). Channel k of the
  concatenation is channel ``k − offset`` of the level it falls in, and is set to −1000 in that
  level. pytorch-grad-cam assumes five levels of 256 channels named ``'0'``–``'3'``, ``'pool'``
  (``k // 256``); camlens takes the levels and their widths from the dict, which is the same on
  that layout and also runs on three-level FPNs (``fasterrcnn_mobilenet_v3_large_320_fpn``),
  where pytorch-grad-cam raises ``KeyError: '2'``. A detector's later stages need the whole
  batch of images, so the whole network runs on the ablated copies (``last_path == "full"``), as
  in pytorch-grad-cam.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from ...methods.ablationcam import _pgc_channel_selection

__all__ = ["AblationLayer", "AblationLayerFasterRCNN", "AblationLayerVit"]


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


class AblationLayerFasterRCNN(AblationLayer):
    """pytorch-grad-cam's ablation of FPN channels (a dict of levels); see the module docstring."""

    #: What an ablated channel is set to (pytorch-grad-cam's constant).
    value: float = -1000.0
