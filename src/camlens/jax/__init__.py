"""JAX / Flax support: ``camlens.GradCAM(camlens.jax.FlaxModel(module, variables), "block2")``.

Flax linen modules are bound to their variables with :class:`FlaxModel`; NNX modules hold their
state and may be given as they are. :class:`JaxAdapter` captures activations and their
gradients with jitted ``jax.vjp`` programs and hands torch tensors, channels first, to the same
method code as the PyTorch path. Installed with ``pip install 'camlens[jax]'``; JAX is imported
only when a Flax model is explained. See docs/models/jax.md.
"""

from __future__ import annotations

import importlib

from .model import FlaxModel, module_kind

_LAZY = {
    "JaxAdapter": ("adapter", "JaxAdapter"),
    "layer_names": ("adapter", "layer_names"),
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from ..extras import require

        require("jax", "camlens.jax", "jax")
        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(f".{module}", __name__), attribute)
    raise AttributeError(f"module 'camlens.jax' has no attribute {name!r}")


__all__ = ["FlaxModel", "JaxAdapter", "layer_names", "module_kind"]
