"""Mirror of ``torchcam.methods.gradient``: the gradient-based extractors.

Each is the camlens method with torchcam's numbers:

* ``GradCAM``: ``w_k = mean_ij g_k`` (camlens' Grad-CAM);
* ``GradCAMpp``: torchcam 0.5 computes α = g² / (2g² + Σ_ij g³A) by dividing a boolean-masked
  *copy* in place, which leaves α = g²; its weights are therefore ``w_k = Σ_ij g_k² ReLU(g_k)``.
  That is what it returns, so that is what this class returns (camlens' ``GradCAMPlusPlus`` is
  the paper's eq. 19);
* ``SmoothGradCAMpp``: camlens' ``SmoothGradCAMPlusPlus(convention="torchcam")`` (noise from
  torch's global RNG in torchcam's order);
* ``XGradCAM``: ``w_k = Σ_ij g_k A_k / (Σ_ij A_k + 1e-8)``;
* ``LayerCAM``: ``Σ_k ReLU(g_k) ⊙ A_k``; its ``fuse_cams`` scales each map by ``tanh(2·L)`` first.

``scores`` must be passed (except to ``SmoothGradCAMpp``), as in torchcam.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from .... import methods
from ....core.base import BaseCAM, LayerContext
from .core import _CAM, LayerSpec

__all__ = ["GradCAM", "GradCAMpp", "LayerCAM", "SmoothGradCAMpp", "XGradCAM"]


class _GradCAM(_CAM):
    _score_used: ClassVar[bool] = True
    native: ClassVar[type[BaseCAM]]
    native_options: ClassVar[dict[str, Any]] = {}

    def _method(self, model, target_layer, reshape_transform, **options: Any) -> BaseCAM:
        return self.native(model, target_layer, reshape_transform, **self.native_options)


class GradCAM(_GradCAM):
    """Grad-CAM: channels weighted by their spatially averaged gradients."""

    native = methods.GradCAM


class _TorchcamGradCAMPlusPlus(methods.GradCAMPlusPlus):
    """Grad-CAM++ as torchcam 0.5 computes it: ``w_k = Σ_ij g² · ReLU(g)`` (see the module)."""

    def channel_weights(self, activations: Tensor, gradients: Tensor, ctx: LayerContext) -> Tensor:
        return (gradients.pow(2) * torch.relu(gradients)).flatten(2).sum(dim=2)


class GradCAMpp(_GradCAM):
    """Grad-CAM++ with torchcam 0.5's numbers (see the module docstring)."""

    native = _TorchcamGradCAMPlusPlus


class XGradCAM(_GradCAM):
    """XGrad-CAM with torchcam's ``eps=1e-8`` added to the activation sum."""

    native = methods.XGradCAM
    native_options: ClassVar[dict[str, Any]] = {"eps": 1e-8}


class LayerCAM(_GradCAM):
    """Layer-CAM: activations weighted element-wise by their positive gradients."""

    native = methods.LayerCAM

    @staticmethod
    def _scale_cams(cams: list[Tensor], gamma: float = 2.0) -> list[Tensor]:
        return [torch.tanh(gamma * cam) for cam in cams]


class SmoothGradCAMpp(_GradCAM):
    """Smooth Grad-CAM++ with torchcam 0.5's numbers: ``num_samples`` noisy copies of the input
    (σ = ``std``); ``scores`` is not needed."""

    _score_used: ClassVar[bool] = False

    def __init__(
        self,
        model: nn.Module,
        target_layer: LayerSpec = None,
        num_samples: int = 4,
        std: float = 0.3,
        input_shape: tuple[int, ...] = (3, 224, 224),
        **kwargs: Any,
    ) -> None:
        self.num_samples = num_samples
        self.std = std
        super().__init__(model, target_layer, input_shape, **kwargs)

    def _method(self, model, target_layer, reshape_transform, **options: Any) -> BaseCAM:
        return methods.SmoothGradCAMPlusPlus(
            model,
            target_layer,
            reshape_transform,
            num_samples=self.num_samples,
            std=self.std,
            convention="torchcam",
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(target_layer={self.target_names}, "
            f"num_samples={self.num_samples}, std={self.std})"
        )
