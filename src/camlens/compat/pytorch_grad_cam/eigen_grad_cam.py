"""Mirror of ``pytorch_grad_cam.eigen_grad_cam``."""

from __future__ import annotations

from ... import methods
from .base_cam import BaseCAM

__all__ = ["EigenGradCAM"]


class EigenGradCAM(BaseCAM, methods.EigenGradCAM):
    """EigenGradCAM: first principal component of gradients x activations."""
