"""XGrad-CAM — Fu et al., "Axiom-based Grad-CAM", BMVC 2020 (arXiv:2008.02312).

    w_k^c = Σ_ij (A^k_ij / Σ_ab A^k_ab) · ∂y^c/∂A^k_ij          (0 where Σ_ab A^k_ab = 0)
    L^c   = ReLU(Σ_k w_k^c A^k)

pytorch-grad-cam divides by ``Σ A + 1e-7``; ``XGradCAM(..., eps=1e-7)`` reproduces it.
Shapes: A, ∂y/∂A ``(B, C, *spatial)`` -> w ``(B, C)``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..core.base import BaseCAM, LayerContext


class XGradCAM(BaseCAM):
    """XGrad-CAM: gradients averaged with the activations' own normalised weights.

    ``w_k^c = Σ_ij (A^k_ij / Σ_ab A^k_ab) ∂y^c/∂A^k_ij``, ``L^c = ReLU(Σ_k w_k^c A^k)``;
    ``eps=1e-7`` reproduces pytorch-grad-cam. Shapes: A, ∂y/∂A ``(B, C, h, w)`` -> w ``(B, C)``
    -> map ``(B, H, W)``. Reference: the docstring of ``camlens.methods.xgradcam``.

    Example:
        >>> cam = XGradCAM(model, target_layers="layer4")
        >>> maps = cam(x, targets=[ClassTarget(281)])  # (B, H, W) in [0, 1]
    """

    def __init__(self, *args, eps: float = 0.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.eps = eps

    def channel_weights(self, activations: Tensor, gradients: Tensor, ctx: LayerContext) -> Tensor:
        spatial = tuple(range(2, activations.ndim))
        sum_a = activations.sum(dim=spatial, keepdim=True) + self.eps
        safe = torch.where(sum_a != 0, sum_a, 1)
        return torch.where(sum_a != 0, gradients * activations / safe, 0).sum(dim=spatial)
