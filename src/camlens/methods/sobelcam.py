"""Sobel-CAM: the image's edge strength, a model-free baseline (pytorch-grad-cam's ``sobel_cam``).

It explains nothing about the model: it is the "does my saliency metric beat an edge detector?"
sanity check used with the CAM metrics. On the grey image Y = 0.299 R + 0.587 G + 0.114 B (the
channel mean for inputs that are not RGB):

    G_x = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]] ⋆ Y,   G_y = G_xᵀ ⋆ Y    (3×3 Sobel, mirrored border
    L   = ½ |G_x| + ½ |G_y|                                          without repeating the edge)

``SobelCAM`` computes L on the model's input batch, in torch, and min-max normalises it like any
map (the model still runs once, for ``Explanation.outputs``; ``Explanation.raw["input"]`` is L).
``sobel_cam(img)`` is pytorch-grad-cam's function on an ``(H, W, 3)`` RGB numpy image, with
OpenCV's rounding (grey level, ``convertScaleAbs`` and ``addWeighted`` to uint8), without OpenCV.
Shapes: input ``(B, C, H, W)`` -> map ``(B, H, W)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core.base import BaseCAM, CaptureOptions, LayerContext
from ..core.contract import Capture, ReshapeTransform, check_input, score_sets
from ..core.errors import InvalidInputError
from ..core.layers import LayersSpec

_LUMA = (0.299, 0.587, 0.114)


def _sobel(gray: Tensor) -> tuple[Tensor, Tensor]:
    """``(G_x, G_y)`` of ``(B, H, W)`` with reflect-101 borders (OpenCV's default)."""
    if gray.shape[-1] < 2 or gray.shape[-2] < 2:
        raise InvalidInputError(f"Sobel needs at least 2×2 pixels, got {tuple(gray.shape[-2:])}.")
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=gray.dtype)
    kernels = torch.stack([kx, kx.T])[:, None].to(gray.device)  # (2, 1, 3, 3)
    padded = F.pad(gray[:, None], (1, 1, 1, 1), mode="reflect")
    grads = F.conv2d(padded, kernels)
    return grads[:, 0], grads[:, 1]


def grayscale(images: Tensor) -> Tensor:
    """``(B, C, H, W)`` -> ``(B, H, W)``: ITU-R 601 luma for 3 channels, the mean otherwise."""
    if images.shape[1] == 3:
        weights = torch.tensor(_LUMA, dtype=images.dtype, device=images.device)
        return torch.einsum("bchw,c->bhw", images, weights)
    return images.mean(dim=1)


def sobel_map(images: Tensor) -> Tensor:
    """``(B, C, H, W)`` -> ``(B, H, W)``: ``½|G_x| + ½|G_y|`` of the grey image, in float."""
    gx, gy = _sobel(grayscale(images.detach()))
    return 0.5 * gx.abs() + 0.5 * gy.abs()


def sobel_cam(img: np.ndarray) -> np.ndarray:
    """pytorch-grad-cam's ``sobel_cam``: ``(H, W, 3)`` RGB (uint8, or float) -> ``(H, W)`` uint8.

    As OpenCV computes it: grey level (rounded fixed point for uint8), Sobel in float64,
    ``convertScaleAbs`` (|·| rounded half to even, saturated to 0..255), then
    ``addWeighted(·, 0.5, ·, 0.5, 0)`` rounded the same way.
    """
    array = np.asarray(img)
    if array.ndim != 3 or array.shape[2] != 3:
        raise InvalidInputError(f"sobel_cam needs an (H, W, 3) RGB image, got {array.shape}.")
    rgb = torch.from_numpy(np.ascontiguousarray(array))
    if array.dtype == np.uint8:
        # OpenCV's fixed-point RGB2GRAY: (R·9798 + G·19235 + B·3735 + 2^14) >> 15.
        coeffs = torch.tensor([9798, 19235, 3735], dtype=torch.int64)
        gray = ((rgb.to(torch.int64) * coeffs).sum(-1) + (1 << 14)) >> 15
        gray = gray.double()
    else:
        gray = (rgb.double() * torch.tensor(_LUMA, dtype=torch.float64)).sum(-1)
        gray = gray.to(torch.float32).double()  # OpenCV keeps the input's float precision
    gx, gy = _sobel(gray[None])
    abs_x = gx[0].abs().round().clamp(0, 255)
    abs_y = gy[0].abs().round().clamp(0, 255)
    return (0.5 * abs_x + 0.5 * abs_y).round().clamp(0, 255).to(torch.uint8).numpy()


class SobelCAM(BaseCAM):
    """Edge strength of the input (a baseline). No layer is needed (``target_layers`` is
    ignored); the model runs once, under ``inference_mode``, for the outputs and targets.

    Formula, reference and shapes: the docstring of ``camlens.methods.sobelcam``.

    Example:
        >>> cam = SobelCAM(model)  # no layer: the input's edges
        >>> maps = cam(x)  # (B, H, W) in [0, 1]
    """

    name = "sobelcam"

    uses_gradients = False

    def __init__(
        self,
        model: nn.Module,
        target_layers: LayersSpec | None = None,
        reshape_transform: ReshapeTransform | None = None,
        **kwargs,
    ) -> None:
        super().__init__(model, target_layers, reshape_transform, **kwargs)

    # aug_smooth changes nothing: the Sobel magnitude commutes with flips and scales with the
    # intensity, so the six normalised maps are the same map.
    augmentation_invariant = True

    def capture(self, x: Tensor, target_sets: Sequence[object], options: CaptureOptions) -> Capture:
        """The input as the one "layer" (named ``input``), and the outputs and targets of one
        inference pass."""
        x = check_input(x)
        if x.ndim != 4:
            raise InvalidInputError(f"SobelCAM needs images (B, C, H, W), got {tuple(x.shape)}.")
        logits = self.adapter.predict(x)
        targets, scores = score_sets(target_sets, logits, x.shape[0])
        return Capture(x, logits, [x], [], targets, scores, ["input"], self.adapter)

    def layer_map(
        self,
        activations: Tensor,
        gradients: Tensor | None,
        ctx: LayerContext,
        eigen_smooth: bool = False,
    ) -> Tensor:
        # The input's map, whatever the layer (also in a capture made for other methods).
        return sobel_map(ctx.input).float()
