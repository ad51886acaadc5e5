"""HiResCAM — Draelos & Carin, "Use HiResCAM instead of Grad-CAM for faithful explanations of
convolutional neural networks", 2020 (arXiv:2011.08891).

    L^c = ReLU(Σ_k ∂y^c/∂A^k ⊙ A^k)        (element-wise; no spatial averaging of gradients)

Shapes: A, ∂y/∂A ``(B, C, *spatial)`` -> map ``(B, *spatial)``.
"""

from __future__ import annotations

from torch import Tensor

from ..core.base import BaseCAM, LayerContext


class HiResCAM(BaseCAM):
    name = "hirescam"

    def weighted_activations(
        self, activations: Tensor, gradients: Tensor, ctx: LayerContext
    ) -> Tensor:
        return gradients * activations
