"""Tensors across the framework boundary: Keras (NHWC, numpy / ``tf.Tensor``) and camlens'
method code (torch, channels first ``(B, C, *spatial)``).

Keras images are channels last ``(B, H, W, C)``; camlens' maps, activations and gradients are
channels first. Conversions copy through numpy on the CPU (TensorFlow and torch do not share
memory here); they are cheap next to a forward pass.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import torch
from torch import Tensor

from ..core.capture import check_input
from ..core.errors import InvalidInputError


def to_torch(value: object) -> Tensor:
    """A ``tf.Tensor`` / numpy array as a CPU torch tensor (same layout, same dtype)."""
    if isinstance(value, Tensor):
        return value
    array = value.numpy() if hasattr(value, "numpy") else np.asarray(value)
    return torch.from_numpy(np.require(array, requirements="C"))  # a 0-d array stays 0-d


def to_tf(value: Tensor) -> tf.Tensor:
    """A torch tensor as a ``tf.Tensor`` (same layout, same dtype)."""
    return tf.convert_to_tensor(value.detach().cpu().numpy())


def channels_first(value: Tensor) -> Tensor:
    """``(B, *spatial, C)`` -> ``(B, C, *spatial)``."""
    return value.movedim(-1, 1)


def channels_last(value: Tensor) -> Tensor:
    """``(B, C, *spatial)`` -> ``(B, *spatial, C)``."""
    return value.movedim(1, -1)


def input_batch(x: object, expected_rank: int | None = None) -> Tensor:
    """The input batch as camlens sees it: a torch tensor ``(B, C, *spatial)``.

    numpy arrays and ``tf.Tensor`` s are Keras images, channels last ``(B, H, W, C)``; a torch
    tensor is already channels first ``(B, C, H, W)`` (camlens' own convention, also what
    ``Capture.inputs`` holds). ``expected_rank``: the model's input rank, if it declares one.
    """
    if isinstance(x, Tensor):
        batch = check_input(x)
        layout = "(B, C, H, W) (a torch tensor is taken as channels first)"
    else:
        if not (isinstance(x, np.ndarray | tf.Tensor) or hasattr(x, "__array__")):
            raise InvalidInputError(
                f"input must be a numpy array or tf.Tensor of shape (B, H, W, C), or a torch "
                f"tensor (B, C, H, W); got {type(x).__name__}."
            )
        array = x.numpy() if isinstance(x, tf.Tensor) else np.asarray(x)
        if array.ndim < 3:
            raise InvalidInputError(
                f"input must be a batch (B, H, W, C); got shape {array.shape}. "
                "For one image add the batch dimension: x[None]."
            )
        if not np.issubdtype(array.dtype, np.floating):
            raise InvalidInputError(
                f"input must be floating point, got {array.dtype}; convert with "
                "x.astype('float32') and preprocess as the model expects."
            )
        batch = check_input(channels_first(to_torch(array)))
        layout = "(B, H, W, C)"
    if expected_rank is not None and batch.ndim != expected_rank:
        raise InvalidInputError(
            f"the model takes inputs of rank {expected_rank} {layout}; got shape "
            f"{tuple(x.shape)}. For one image add the batch dimension: x[None]."
        )
    return batch
