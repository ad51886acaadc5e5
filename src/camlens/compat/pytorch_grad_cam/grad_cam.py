"""Mirror of ``pytorch_grad_cam.grad_cam``."""

from __future__ import annotations

import numpy as np
from torch import Tensor, nn

from ... import methods
from .base_cam import BaseCAM, numpy_cam_weights

__all__ = ["GradCAM"]


class GradCAM(BaseCAM, methods.GradCAM):
    """Grad-CAM: channels weighted by the spatial mean of their gradients."""

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
        return numpy_cam_weights(GradCAM, activations, grads)
