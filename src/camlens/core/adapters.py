"""Pick the framework adapter for a model: PyTorch modules, else Keras 3 (TensorFlow backend).

An adapter produces a :class:`~camlens.core.capture.Capture` (activations and gradients as torch
tensors, channels first) and runs forward passes for the perturbation methods; the method math
never sees the framework. Keras 3 on the PyTorch backend makes ``torch.nn.Module`` s, so those
take the PyTorch path.
"""

from __future__ import annotations

from torch import nn

from .capture import ReshapeTransform, TorchAdapter
from .layers import LayersSpec


def is_keras_model(model: object) -> bool:
    """True for a Keras model that is not also a ``torch.nn.Module`` (without importing Keras)."""
    if isinstance(model, nn.Module):
        return False
    return any(cls.__module__.split(".")[0] in {"keras", "tf_keras"} for cls in type(model).__mro__)


def is_keras_torch_model(model: object) -> bool:
    """True for a Keras 3 model on the PyTorch backend (a ``torch.nn.Module`` made by Keras)."""
    return isinstance(model, nn.Module) and any(
        cls.__module__.split(".")[0] == "keras" for cls in type(model).__mro__
    )


def require_torch_model(model: object, method: str) -> None:
    """Raise :class:`~camlens.errors.KerasSupportError` if a PyTorch-only method is given
    a Keras model (for methods that need torch modules, e.g. ``FullGrad``'s bias layers)."""
    if is_keras_model(model) or is_keras_torch_model(model):
        from ..errors import KerasSupportError

        raise KerasSupportError(
            f"{method} needs a PyTorch model (it reads torch modules or keeps a torch graph); "
            "for Keras models see the methods listed in docs/keras.md."
        )


def make_adapter(
    model: object,
    target_layers: LayersSpec | None,
    reshape_transform: ReshapeTransform | None = None,
):
    """The adapter for ``model``: :class:`TorchAdapter` or the Keras adapter."""
    if is_keras_model(model):
        from ..keras.adapter import KerasAdapter

        return KerasAdapter(model, target_layers, reshape_transform)
    if is_keras_torch_model(model):
        from ..keras.torch_backend import KerasTorchAdapter

        return KerasTorchAdapter(model, target_layers, reshape_transform)
    return TorchAdapter(model, target_layers, reshape_transform)
