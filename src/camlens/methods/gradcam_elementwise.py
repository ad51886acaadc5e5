"""GradCAMElementWise (pytorch-grad-cam): like HiResCAM, but the ReLU acts on each term.

    L^c = Σ_k ReLU(∂y^c/∂A^k ⊙ A^k)

Shapes: A, ∂y/∂A ``(B, C, *spatial)`` -> map ``(B, *spatial)``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..core.base import BaseCAM, LayerContext


class GradCAMElementWise(BaseCAM):
    """GradCAMElementWise: HiResCAM with the ReLU on each term.

    ``L^c = Σ_k ReLU(∂y^c/∂A^k ⊙ A^k)``. Shapes: A, ∂y/∂A ``(B, C, h, w)`` -> map ``(B, H, W)``.
    Formula: the docstring of ``camlens.methods.gradcam_elementwise``.

    Example:
        >>> cam = GradCAMElementWise(model, target_layers="layer4")
        >>> maps = cam(x, targets=[ClassTarget(281)])  # (B, H, W) in [0, 1]
    """

    def weighted_activations(
        self, activations: Tensor, gradients: Tensor, ctx: LayerContext
    ) -> Tensor:
        return torch.relu(gradients * activations)
