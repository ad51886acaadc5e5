"""Pick the framework adapter for a model: PyTorch modules, else Keras 3 (TensorFlow backend).

An adapter produces a :class:`~camlens.core.contract.Capture` (activations and gradients as torch
tensors, channels first) and runs forward passes for the perturbation methods; the method math
never sees the framework. Keras 3 on the PyTorch backend makes ``torch.nn.Module`` s, so those
take the PyTorch path.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from .contract import Adapter, ReshapeTransform
from .layers import LayersSpec
from .torch_adapter import TorchAdapter


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
    if is_jax_model(model):
        from ..errors import UnsupportedByAdapterError

        raise UnsupportedByAdapterError(
            f"{method} needs a PyTorch model (it reads torch modules or keeps a torch graph); "
            "for Flax models see the methods listed in docs/models/jax.md."
        )


@dataclass(frozen=True)
class AdapterSource:
    """One entry of the adapter registry: ``detects(model)`` says whether the adapter at
    ``factory`` (``"module:Class"``, imported only when used) takes the model.

    ``layers``: for a framework whose layers are not torch modules, the module (imported only
    when used) that lists, chooses and resolves them — ``layer_infos(model, x)``,
    ``choose_layer(model, x) -> name`` and ``resolve_layers(model, target_layers)`` — which
    :func:`camlens.layers`, ``target_layers=None`` and layer names use for that framework.
    """

    name: str
    detects: Callable[[object], bool]
    factory: str
    layers: str | None = None


def _module_root(model: object) -> set[str]:
    return {cls.__module__.split(".")[0] for cls in type(model).__mro__}


def is_onnx_model(model: object) -> bool:
    """A ``.onnx`` path, the bytes of a model (as ``InferenceSession`` takes them), an
    ``onnx.ModelProto``, an ``onnxruntime.InferenceSession`` or a :class:`camlens.onnx.OnnxModel`
    (an ONNX graph as a torch module). Bytes stand for nothing else camlens reads; bytes that are
    not a model are :class:`~camlens.errors.OnnxModelError`."""
    if getattr(type(model), "camlens_framework", None) == "onnx" or isinstance(
        model, bytes | bytearray
    ):
        return True
    if isinstance(model, (str, os.PathLike)):
        return os.fspath(model).lower().endswith(".onnx")
    return bool(_module_root(model) & {"onnx", "onnxruntime"})


def is_jax_model(model: object) -> bool:
    """A Flax module bound to its variables (see :mod:`camlens.jax`)."""
    return getattr(type(model), "camlens_framework", None) == "jax" or "flax" in _module_root(model)


#: Tried in order; the first whose ``detects`` is true builds the adapter; PyTorch is the default.
ADAPTERS: list[AdapterSource] = [
    AdapterSource("keras", is_keras_model, "camlens.keras.adapter:KerasAdapter"),
    AdapterSource(
        "keras-torch", is_keras_torch_model, "camlens.keras.torch_backend:KerasTorchAdapter"
    ),
    AdapterSource(
        "onnx", is_onnx_model, "camlens.onnx.adapter:OnnxAdapter", layers="camlens.onnx.graph"
    ),
    AdapterSource("jax", is_jax_model, "camlens.jax.adapter:JaxAdapter"),
]


def source_for(model: object) -> AdapterSource | None:
    """The first registered source that detects ``model`` (None: a PyTorch model)."""
    return next((source for source in ADAPTERS if source.detects(model)), None)


def layer_tools(model: object) -> Any | None:
    """The ``layers`` module of ``model``'s source (None: its layers are torch modules)."""
    source = source_for(model)
    return (
        None if source is None or source.layers is None else importlib.import_module(source.layers)
    )


def register_adapter(source: AdapterSource, *, first: bool = False) -> None:
    """Add a framework: its adapter is tried before PyTorch (and before the others if ``first``)."""
    ADAPTERS.insert(0 if first else len(ADAPTERS), source)


def make_adapter(
    model: object,
    target_layers: LayersSpec | None,
    reshape_transform: ReshapeTransform | None = None,
) -> Adapter:
    """The adapter for ``model``: the first registered source that detects it, else PyTorch."""
    source = source_for(model)
    if source is None:
        return TorchAdapter(model, target_layers, reshape_transform)
    module, _, name = source.factory.partition(":")
    cls = getattr(importlib.import_module(module), name)
    adapter: Adapter = cls(model, target_layers, reshape_transform)
    return adapter
