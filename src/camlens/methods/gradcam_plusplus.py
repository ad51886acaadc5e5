"""Grad-CAM++ — Chattopadhyay et al., WACV 2018 (arXiv:1710.11063), eqs. 7 and 19.

With Y^c = exp(S^c), the higher derivatives reduce to powers of g = ∂S^c/∂A (S before softmax):

    α_ij^kc = g_ij² / (2 g_ij² + Σ_ab A^k_ab · g_ij³)      (eq. 19; 0 where the denominator is 0)
    w_k^c   = Σ_ij α_ij^kc · ReLU(g_ij)                     (eq. 7; exp(S^c) is a per-image
                                                              constant that normalisation removes)
    L^c     = ReLU(Σ_k w_k^c A^k)

Difference from pytorch-grad-cam: it adds ``eps=1e-6`` to the denominator, which changes α when
gradients are small (|g| ≲ 1e-3, common in deep nets). camlens follows the paper (``eps=0``);
``GradCAMPlusPlus(..., eps=1e-6)`` (and the compat module) reproduce pytorch-grad-cam exactly.
Shapes: A, g ``(B, C, *spatial)`` -> w ``(B, C)``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..core.base import BaseCAM, LayerContext


class GradCAMPlusPlus(BaseCAM):
    """Grad-CAM++: positive gradients weighted by the paper's closed-form α (eqs. 7, 19).

    ``α = g² / (2g² + Σ_ab A_ab · g³)``, ``w_k = Σ_ij α_ij ReLU(g_ij)``,
    ``L^c = ReLU(Σ_k w_k A^k)`` with g = ∂S^c/∂A; ``eps=1e-6`` reproduces pytorch-grad-cam.
    Shapes: A, g ``(B, C, h, w)`` -> w ``(B, C)`` -> map ``(B, H, W)``. Formula and reference:
    the docstring of ``camlens.methods.gradcam_plusplus``.

    Example:
        >>> cam = GradCAMPlusPlus(model, target_layers="layer4")
        >>> maps = cam(x, targets=[ClassTarget(281)])  # (B, H, W) in [0, 1]
    """

    def __init__(self, *args, eps: float = 0.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.eps = eps

    def channel_weights(self, activations: Tensor, gradients: Tensor, ctx: LayerContext) -> Tensor:
        g2 = gradients.pow(2)
        g3 = g2 * gradients
        spatial = tuple(range(2, activations.ndim))
        sum_a = activations.sum(dim=spatial, keepdim=True)
        denom = 2 * g2 + sum_a * g3 + self.eps
        alpha = torch.where((denom != 0) & (gradients != 0), g2 / denom, 0)
        return (alpha * torch.relu(gradients)).sum(dim=spatial)
