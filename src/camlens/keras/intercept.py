"""Keras' stand-in for torch forward hooks: wrap a layer's ``call`` for the duration of a block.

Keras 3 runs ``layer(x)`` as ``Layer.__call__`` -> ``self.call(...)`` (or ``self.quantized_call``
for quantised layers), also inside functional, sequential and nested models. An instance
attribute of that name shadows the class's method, so a wrapper set on the instance sees (and may
replace) the layer's output; deleting it restores the layer exactly as it was. Nothing else of
the model is touched.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

#: ``hook(layer, args, kwargs, call) -> output``: ``call(*args, **kwargs)`` runs the layer.
Hook = Callable[[object, tuple, dict, Callable], object]


def _attribute(layer: object) -> str:
    return "quantized_call" if getattr(layer, "quantization_mode", None) is not None else "call"


@contextlib.contextmanager
def intercept(hooks: Sequence[tuple[object, Hook]]) -> Iterator[None]:
    """Route each layer's call through its hooks (several hooks on one layer nest, first
    outermost) for the block; always restored."""
    patched: list[tuple[object, str, bool, object]] = []
    by_layer: dict[int, tuple[object, list[Hook]]] = {}
    for layer, hook in hooks:
        by_layer.setdefault(id(layer), (layer, []))[1].append(hook)
    try:
        for layer, layer_hooks in by_layer.values():
            name = _attribute(layer)
            had = name in vars(layer)
            original = getattr(layer, name)
            call = original
            for hook in reversed(layer_hooks):
                call = _wrap(layer, hook, call)
            patched.append((layer, name, had, vars(layer).get(name)))
            vars(layer)[name] = call
        yield
    finally:
        for layer, name, had, previous in reversed(patched):
            if had:
                vars(layer)[name] = previous
            else:
                vars(layer).pop(name, None)


def _wrap(layer: object, hook: Hook, call: Callable) -> Callable:
    def wrapper(*args: object, **kwargs: object) -> object:
        return hook(layer, args, kwargs, call)

    return wrapper
