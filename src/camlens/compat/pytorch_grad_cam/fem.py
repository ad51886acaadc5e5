"""Mirror of ``pytorch_grad_cam.fem``."""

from __future__ import annotations

from typing import Any, ClassVar

from torch import Tensor, nn

from ...core.base import LayerContext
from ...core.capture import ReshapeTransform
from ...core.layers import LayersSpec
from ...methods.fem import FEM as _FEM
from .base_cam import BaseCAM

__all__ = ["FEM"]


class FEM(BaseCAM, _FEM):
    """FEM as pytorch-grad-cam computes it: each channel A^k weighted by the fraction of its
    positions above ``mean + k·std``; gradient-free and class-agnostic.

    ``eigen_smooth`` is ignored, as pytorch-grad-cam ignores it for FEM. (camlens' own
    ``camlens.methods.fem.FEM`` follows the paper: channel means times the binary maps.)
    """

    native_options: ClassVar[dict[str, Any]] = {"weighting": "pytorch-grad-cam"}

    def __init__(
        self,
        model: nn.Module,
        target_layers: LayersSpec,
        reshape_transform: ReshapeTransform | None = None,
        k: float = 2,
    ) -> None:
        super().__init__(model, target_layers, reshape_transform)
        self.k = k

    def layer_map(
        self,
        activations: Tensor,
        gradients: Tensor | None,
        ctx: LayerContext,
        eigen_smooth: bool = False,
    ) -> Tensor:
        return super().layer_map(activations, gradients, ctx, eigen_smooth=False)
