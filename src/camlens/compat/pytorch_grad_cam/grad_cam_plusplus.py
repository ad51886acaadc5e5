"""Mirror of ``pytorch_grad_cam.grad_cam_plusplus``."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from torch import Tensor, nn

from ... import methods
from .base_cam import BaseCAM, numpy_cam_weights

__all__ = ["GradCAMPlusPlus"]


class GradCAMPlusPlus(BaseCAM, methods.GradCAMPlusPlus):
    """Grad-CAM++ with pytorch-grad-cam's ``eps=1e-6`` (alpha's denominator)."""

    native_options: ClassVar[dict[str, Any]] = {"eps": 1e-6}

    def get_cam_weights(
        self,
        input_tensor: Tensor | None,
        target_layer: nn.Module | None,
        target_category: object,
        activations: np.ndarray,
        grads: np.ndarray,
    ) -> np.ndarray:
        """pytorch-grad-cam's hook: ``(B, C)`` weights from ``(B, C, *spatial)`` numpy
        activations and gradients (only those two are read; callable on the class)."""
        return numpy_cam_weights(GradCAMPlusPlus, activations, grads)
