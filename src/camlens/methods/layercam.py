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
    """LayerCAM: activations weighted by their positive gradients, position by position.

    ``L^c = ReLU(Σ_k ReLU(∂y^c/∂A^k) ⊙ A^k)``; good at shallow layers. Shapes: A, ∂y/∂A
    ``(B, C, h, w)`` -> map ``(B, H, W)``. Reference: the docstring of
    ``camlens.methods.layercam``.

    Example:
        >>> cam = LayerCAM(model, target_layers="layer4")
        >>> maps = cam(x, targets=[ClassTarget(281)])  # (B, H, W) in [0, 1]
    """

    def weighted_activations(
        self, activations: Tensor, gradients: Tensor, ctx: LayerContext
    ) -> Tensor:
        return torch.relu(gradients) * activations
