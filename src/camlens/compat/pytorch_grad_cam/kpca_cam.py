"""Mirror of ``pytorch_grad_cam.kpca_cam``."""

from __future__ import annotations

from typing import Any, ClassVar

from torch import nn

from ...core.capture import ReshapeTransform
from ...core.layers import LayersSpec
from ...methods.kpcacam import KERNELS, KPCACAM
from .base_cam import BaseCAM

__all__ = ["KPCA_CAM"]


class KPCA_CAM(BaseCAM, KPCACAM):
    """KPCA-CAM: the first kernel principal component of the activations, signed as
    scikit-learn's ``KernelPCA`` signs it (what pytorch-grad-cam shows), computed in torch.

    kernel: ``"sigmoid"``, ``"rbf"``, ``"poly"``, ``"linear"`` or ``"cosine"`` (scikit-learn's
    definitions and defaults); gamma: ``None`` for 1 / channels.
    """

    native_options: ClassVar[dict[str, Any]] = {"sign": "sklearn"}

    def __init__(
        self,
        model: nn.Module,
        target_layers: LayersSpec,
        reshape_transform: ReshapeTransform | None = None,
        kernel: str = "sigmoid",
        gamma: float | None = None,
    ) -> None:
        if kernel not in KERNELS:
            raise ValueError(
                f"unknown kernel {kernel!r}; choose one of {', '.join(KERNELS)} (callable and "
                "precomputed kernels are not supported)."
            )
        super().__init__(model, target_layers, reshape_transform)
        self.kernel = kernel
        self.gamma = gamma
