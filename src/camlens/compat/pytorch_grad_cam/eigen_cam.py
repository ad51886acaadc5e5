"""Mirror of ``pytorch_grad_cam.eigen_cam``."""

from __future__ import annotations

from ... import methods
from .base_cam import BaseCAM

__all__ = ["EigenCAM"]


class EigenCAM(BaseCAM, methods.EigenCAM):
    """Eigen-CAM: the activations' first principal component, signed as camlens signs it."""
