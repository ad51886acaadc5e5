"""HiResCAM — Draelos & Carin, "Use HiResCAM instead of Grad-CAM for faithful explanations of
convolutional neural networks", 2020 (arXiv:2011.08891).

    L^c = ReLU(Σ_k ∂y^c/∂A^k ⊙ A^k)        (element-wise; no spatial averaging of gradients)

Shapes: A, ∂y/∂A ``(B, C, *spatial)`` -> map ``(B, *spatial)``.
"""

from __future__ import annotations

from torch import Tensor

from ..core.base import BaseCAM, LayerContext


class HiResCAM(BaseCAM):
    """HiResCAM: gradients times activations element-wise, without spatial averaging.

    ``L^c = ReLU(Σ_k ∂y^c/∂A^k ⊙ A^k)``. Shapes: A, ∂y/∂A ``(B, C, h, w)`` -> map ``(B, H, W)``.
    Reference: the docstring of ``camlens.methods.hirescam``.

    Example:
        >>> cam = HiResCAM(model, target_layers="layer4")
        >>> maps = cam(x, targets=[ClassTarget(281)])  # (B, H, W) in [0, 1]
    """

    def weighted_activations(
        self, activations: Tensor, gradients: Tensor, ctx: LayerContext
    ) -> Tensor:
        return gradients * activations
