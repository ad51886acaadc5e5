"""Mirror of ``pytorch_grad_cam.utils.find_layers``: find and replace submodules.

camlens itself never swaps a model's modules; these helpers are for scripts that do (for
example replacing every ``ReLU`` before guided backpropagation). Modules are compared by
identity and visited depth first in registration order, as in pytorch-grad-cam.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from torch import nn

__all__ = [
    "find_layer_predicate_recursive",
    "find_layer_types_recursive",
    "replace_all_layer_type_recursive",
    "replace_layer_recursive",
]


def replace_layer_recursive(model: nn.Module, old_layer: nn.Module, new_layer: nn.Module) -> bool:
    """Put ``new_layer`` where ``old_layer`` is (its first place); ``True`` if it was found."""
    for name, layer in model._modules.items():
        if layer is old_layer:
            model._modules[name] = new_layer
            return True
        if layer is not None and replace_layer_recursive(layer, old_layer, new_layer):
            return True
    return False


def replace_all_layer_type_recursive(
    model: nn.Module, old_layer_type: type | tuple[type, ...], new_layer: nn.Module
) -> None:
    """Put ``new_layer`` in place of every submodule that is an ``old_layer_type``."""
    for name, layer in model._modules.items():
        if layer is None:
            continue
        if isinstance(layer, old_layer_type):
            model._modules[name] = new_layer
        replace_all_layer_type_recursive(layer, old_layer_type, new_layer)


def find_layer_types_recursive(model: nn.Module, layer_types: Iterable[type]) -> list[nn.Module]:
    """Every submodule whose exact type is in ``layer_types``, depth first."""
    types = tuple(layer_types)
    return find_layer_predicate_recursive(model, lambda layer: type(layer) in types)


def find_layer_predicate_recursive(
    model: nn.Module, predicate: Callable[[nn.Module], bool]
) -> list[nn.Module]:
    """Every submodule for which ``predicate`` is true, depth first (the model itself excluded)."""
    result: list[nn.Module] = []
    for layer in model._modules.values():
        if layer is None:
            continue
        if predicate(layer):
            result.append(layer)
        result.extend(find_layer_predicate_recursive(layer, predicate))
    return result
