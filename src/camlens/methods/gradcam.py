"""Grad-CAM — Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
Gradient-based Localization", ICCV 2017 (arXiv:1610.02391).

    α_k^c = (1/Z) Σ_ij ∂y^c/∂A^k_ij        (eq. 2: gradients global-average-pooled, Z = H·W)
    L^c   = ReLU(Σ_k α_k^c A^k)             (eq. 1)

Shapes: A, ∂y/∂A ``(B, C, *spatial)`` -> α ``(B, C)`` -> map ``(B, *spatial)``.
"""

from __future__ import annotations

from torch import Tensor

from ..core.base import BaseCAM, LayerContext


class GradCAM(BaseCAM):
    """Grad-CAM: channel weights are the spatially averaged gradients.

    ``α_k^c = (1/Z) Σ_ij ∂y^c/∂A^k_ij``, ``L^c = ReLU(Σ_k α_k^c A^k)`` (Selvaraju et al. 2017,
    eqs. 1-2). Shapes: A, ∂y/∂A ``(B, C, h, w)`` -> α ``(B, C)`` -> map ``(B, H, W)``.
    Reference: the docstring of ``camlens.methods.gradcam``.

    Example:
        >>> cam = GradCAM(model, target_layers="layer4")
        >>> maps = cam(x, targets=[ClassTarget(281)])  # (B, H, W) in [0, 1]
    """

    def channel_weights(self, activations: Tensor, gradients: Tensor, ctx: LayerContext) -> Tensor:
        return gradients.flatten(2).mean(dim=2)
