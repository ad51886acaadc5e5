"""Keras target layers: a layer object, its name, or a path through nested models.

Names: ``"block5_conv3"`` (a layer's own name, found at any depth if it is unique), or a path
``"vgg16/block5_conv3"`` (``.`` works as a separator too) through nested models and layers.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from typing import Any

from ..core.errors import (
    AutoLayerWarning,
    LayerNotFoundError,
    LayerNotReachedError,
    warn_at_caller,
)


def _children(layer: Any) -> list[Any]:
    """The direct sub-layers of a model or layer (Keras 3 tracks them on every layer)."""
    flatten = getattr(layer, "_flatten_layers", None)
    if flatten is not None:
        return list(flatten(include_self=False, recursive=False))
    return list(getattr(layer, "layers", []))


def walk(model: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(path, layer)`` for every layer inside ``model``, depth first, paths joined by ``/``.

    Input layers are left out (they hold no computation to explain).
    """
    for layer in _children(model):
        if type(layer).__name__ == "InputLayer":
            continue
        path = f"{prefix}{layer.name}"
        yield path, layer
        yield from walk(layer, f"{path}/")


def is_leaf(layer: Any) -> bool:
    """Whether a Keras layer has no sub-layers."""
    return not _children(layer)


def _last_non_pooling(candidates: list[tuple[str, Any]]) -> tuple[str, Any] | None:
    for path, layer in reversed(candidates):
        if "Pooling" not in type(layer).__name__:
            return path, layer
    return candidates[-1] if candidates else None


def auto_choice(model: Any, candidates: list[tuple[str, Any]]) -> tuple[str, Any]:
    """``target_layers=None``: the last candidate that is not a pooling layer (the last conv
    block's output, as the Keras Grad-CAM tutorial takes), else the last candidate.

    For the adapters' ``ensure_layers``: warns :class:`AutoLayerWarning` naming the choice;
    :class:`LayerNotReachedError` when there is no candidate.
    """
    chosen = _last_non_pooling(candidates)
    if chosen is None:
        raise LayerNotReachedError(
            "target_layers=None found no layer with a spatial output; pass target_layers=."
        )
    warn_at_caller(
        f"target_layers=None: explaining layer {chosen[0]!r} of {model.name!r}.",
        AutoLayerWarning,
    )
    return chosen


def resolve_layers(model: Any, target_layers: Any) -> list[tuple[str, Any]]:
    """``[(path, layer), ...]`` for the target layers, in the order given.

    Raises :class:`LayerNotFoundError` for an unknown layer (listing close matches) or a name
    that is ambiguous across nested models (listing the paths to choose from).
    """
    single = isinstance(target_layers, str) or not isinstance(target_layers, Sequence)
    specs = [target_layers] if single else list(target_layers)
    if not specs:
        raise LayerNotFoundError("target_layers is empty: give at least one layer.")
    layers = list(walk(model))
    by_id = {id(layer): path for path, layer in layers}
    resolved = []
    for spec in specs:
        if isinstance(spec, str):
            resolved.append(_by_name(model, layers, spec))
        elif id(spec) in by_id:
            resolved.append((by_id[id(spec)], spec))
        else:
            what = getattr(spec, "name", type(spec).__name__)
            raise LayerNotFoundError(
                f"the target layer {what!r} is not a layer of model {model.name!r}; pass one "
                "of its layers or its name (see [l.name for l in model.layers])."
            )
    return resolved


def _by_name(model: Any, layers: list[tuple[str, Any]], name: str) -> tuple[str, Any]:
    paths = dict(layers)
    for candidate in (name, name.replace(".", "/")):
        if candidate in paths:
            return candidate, paths[candidate]
    found = [(path, layer) for path, layer in layers if layer.name == name]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise LayerNotFoundError(
            f"{len(found)} layers are named {name!r} in model {model.name!r}: "
            f"{', '.join(p for p, _ in found)}; give the path of the one you mean."
        )
    names = list(dict.fromkeys([layer.name for _, layer in layers] + list(paths)))
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
    hint = f" Close matches: {', '.join(close)}." if close else ""
    raise LayerNotFoundError(
        f"no layer named {name!r} in model {model.name!r}.{hint} "
        "List the names with [l.name for l in model.layers] (nested models: 'outer/inner')."
    )


def output_layer(model: Any) -> Any | None:
    """The layer that computes the model's (first) output, looking inside nested models;
    ``None`` for a subclassed model, whose graph is not known before it runs."""
    outputs = getattr(model, "outputs", None)
    try:
        outputs = list(outputs) if outputs else []
    except (AttributeError, ValueError):  # an unbuilt model has no outputs yet
        outputs = []
    if not outputs:
        return None
    history = getattr(outputs[0], "_keras_history", None)
    layer = getattr(history, "operation", None)
    if layer is None:
        return None
    inner = output_layer(layer) if _children(layer) and hasattr(layer, "outputs") else None
    return inner if inner is not None else layer
