"""Keras 3 support: ``camlens.GradCAM(keras_model, "block5_conv3")(images)``.

On the TensorFlow backend :class:`KerasAdapter` captures with ``tf.GradientTape``; on the PyTorch
backend Keras models are ``torch.nn.Module`` s and :class:`KerasTorchAdapter` takes the PyTorch
path. Installed with ``pip install camlens[keras]``; imported only when a Keras model is
explained (the PyTorch-only install never imports TensorFlow). Inputs are Keras batches
``(B, H, W, C)`` (numpy or ``tf.Tensor``) or torch ``(B, C, H, W)``; maps come back as torch
tensors ``(B, H, W)`` in [0, 1] — ``maps.numpy()`` for numpy. See docs/keras.md.
"""

from __future__ import annotations

import importlib

from .errors import KerasSupportError
from .layers import resolve_layers, walk

# TensorFlow is imported only by the TensorFlow-backend modules, on first use.
_LAZY = {
    "KerasAdapter": ("adapter", "KerasAdapter"),
    "KerasTorchAdapter": ("torch_backend", "KerasTorchAdapter"),
    "as_torch": ("convert", "input_batch"),
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(f".{module}", __name__), attribute)
    raise AttributeError(f"module 'camlens.keras' has no attribute {name!r}")


def layer_names(model: object) -> list[str]:
    """Every layer's path in ``model`` (nested models as ``outer/inner``), in model order."""
    return [path for path, _ in walk(model)]


__all__ = [
    "KerasAdapter",
    "KerasSupportError",
    "KerasTorchAdapter",
    "as_torch",
    "layer_names",
    "resolve_layers",
]
