"""LayerCAM — Jiang et al., "LayerCAM: Exploring Hierarchical Class Activation Maps for
Localization", IEEE TIP 2021. Good at shallow layers.

    L^c = ReLU(Σ_k ReLU(∂y^c/∂A^k) ⊙ A^k)

Shapes: A, ∂y/∂A ``(B, C, *spatial)`` -> map ``(B, *spatial)``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..core.base import BaseCAM, LayerContext


class LayerCAM(BaseCAM):
    name = "layercam"

    def weighted_activations(
        self, activations: Tensor, gradients: Tensor, ctx: LayerContext
    ) -> Tensor:
        return torch.relu(gradients) * activations
