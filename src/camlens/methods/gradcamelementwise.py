"""GradCAMElementWise (pytorch-grad-cam): like HiResCAM, but the ReLU acts on each term.

    L^c = Σ_k ReLU(∂y^c/∂A^k ⊙ A^k)

Shapes: A, ∂y/∂A ``(B, C, *spatial)`` -> map ``(B, *spatial)``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..core.base import BaseCAM, LayerContext


class GradCAMElementWise(BaseCAM):
    name = "gradcamelementwise"

    def weighted_activations(
        self, activations: Tensor, gradients: Tensor, ctx: LayerContext
    ) -> Tensor:
        return torch.relu(gradients * activations)
