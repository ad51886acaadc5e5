"""Eigen-CAM — Muhammad & Yeasin, IJCNN 2020 (arXiv:2008.00299). No gradients, no class.

    L = ReLU(X v1)   with X the (N, C) activations at N positions, centred, v1 its first right
                     singular vector, signed so the map agrees with the activations.

Shapes: A ``(B, C, *spatial)`` -> map ``(B, *spatial)``. Runs without an autograd graph.
"""

from __future__ import annotations

from torch import Tensor

from ..core.base import BaseCAM, LayerContext
from ..core.projection import first_principal_component


class EigenCAM(BaseCAM):
    """Eigen-CAM: the activations' first principal component; no gradients, no class.

    ``L = ReLU(X v1)``, X the centred ``(N, C)`` activations, v1 their first right singular
    vector. Shapes: A ``(B, C, h, w)`` -> map ``(B, H, W)``. Formula and reference: the
    docstring of ``camlens.methods.eigencam``.

    Example:
        >>> cam = EigenCAM(model, target_layers="layer4")
        >>> maps = cam(x, targets=[ClassTarget(281)])  # (B, H, W) in [0, 1]
    """

    uses_gradients = False

    def layer_map(
        self,
        activations: Tensor,
        gradients: Tensor | None,
        ctx: LayerContext,
        eigen_smooth: bool = False,
    ) -> Tensor:
        return first_principal_component(activations)
