"""Mirror of ``pytorch_grad_cam.grad_cam_elementwise``."""

from __future__ import annotations

from ... import methods
from .base_cam import BaseCAM

__all__ = ["GradCAMElementWise"]


class GradCAMElementWise(BaseCAM, methods.GradCAMElementWise):
    """GradCAMElementWise: the channel sum of ReLU(gradients x activations)."""
