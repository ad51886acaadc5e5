"""Mirror of ``pytorch_grad_cam.grad_cam``."""

from __future__ import annotations

from ... import methods
from .base_cam import BaseCAM

__all__ = ["GradCAM"]


class GradCAM(BaseCAM, methods.GradCAM):
    """Grad-CAM: channels weighted by the spatial mean of their gradients."""
