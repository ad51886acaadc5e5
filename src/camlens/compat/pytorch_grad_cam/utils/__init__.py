"""Mirror of ``pytorch_grad_cam.utils``: targets, images, reshape transforms, layer search and
SVD projections."""

from __future__ import annotations

from . import find_layers, image, model_targets, reshape_transforms, svd_on_activations
from .image import deprocess_image

__all__ = [
    "deprocess_image",
    "find_layers",
    "image",
    "model_targets",
    "reshape_transforms",
    "svd_on_activations",
]
