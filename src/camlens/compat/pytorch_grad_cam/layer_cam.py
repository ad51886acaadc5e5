"""Mirror of ``pytorch_grad_cam.layer_cam``."""

from __future__ import annotations

from ... import methods
from .base_cam import BaseCAM

__all__ = ["LayerCAM"]


class LayerCAM(BaseCAM, methods.LayerCAM):
    """LayerCAM: activations weighted by the positive part of their gradients."""
