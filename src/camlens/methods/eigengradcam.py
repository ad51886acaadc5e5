"""EigenGradCAM (pytorch-grad-cam): Eigen-CAM on ``∂y^c/∂A ⊙ A``, so it is class-discriminative.

    L^c = ReLU(X v1)   with X the (N, C) matrix of ∂y^c/∂A ⊙ A, centred; v1 as in Eigen-CAM.

Shapes: A, ∂y/∂A ``(B, C, *spatial)`` -> map ``(B, *spatial)``.
"""

from __future__ import annotations

from torch import Tensor

from ..core.base import BaseCAM, LayerContext
from ..core.projection import first_principal_component


class EigenGradCAM(BaseCAM):
    """EigenGradCAM: Eigen-CAM on ``∂y^c/∂A ⊙ A``, so it is class-discriminative.

    ``L^c = ReLU(X v1)``, X the centred ``(N, C)`` matrix of ``∂y^c/∂A ⊙ A``. Shapes: A, ∂y/∂A
    ``(B, C, h, w)`` -> map ``(B, H, W)``. Formula: the docstring of
    ``camlens.methods.eigengradcam``.

    Example:
        >>> cam = EigenGradCAM(model, target_layers="layer4")
        >>> maps = cam(x, targets=[ClassTarget(281)])  # (B, H, W) in [0, 1]
    """

    def layer_map(
        self,
        activations: Tensor,
        gradients: Tensor,
        ctx: LayerContext,
        eigen_smooth: bool = False,
    ) -> Tensor:
        return first_principal_component(gradients * activations)
