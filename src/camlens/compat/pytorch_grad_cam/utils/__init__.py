"""Mirror of ``pytorch_grad_cam.utils``: targets, images and reshape transforms."""

from __future__ import annotations

from . import image, model_targets, reshape_transforms
from .image import deprocess_image

__all__ = ["deprocess_image", "image", "model_targets", "reshape_transforms"]
