"""Resolve target layers: modules, dotted names (``"layer4.1"``, ``"layer4[-1]"``) or lists."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any

from torch import nn

from .errors import LayerNotFoundError

LayerSpec = nn.Module | str
LayersSpec = LayerSpec | Sequence[LayerSpec]

# ASCII digits only: ``\d``, ``str.isdigit()`` and ``int()`` also take "١٨" or "¹", which would
# find ``features[18]`` under a name no module has
_TOKEN = re.compile(r"\[(-?[0-9]+)\]")
_INDEX = re.compile(r"-?[0-9]+")


def _tokens(name: str) -> list[str]:
    # "layer4[-1].conv2" -> ["layer4", "-1", "conv2"]
    return [t for t in _TOKEN.sub(r".\1", name).split(".") if t]


def _walk(model: nn.Module, name: str) -> nn.Module | None:
    module = model
    for token in _tokens(name):
        index = _INDEX.fullmatch(token) is not None
        child = getattr(module, token, None) if not index else None
        if child is None and index:
            try:
                child = module[int(token)]  # type: ignore[index]  # Sequential, ModuleList
            except (TypeError, IndexError, KeyError):
                child = module._modules.get(token)
        if not isinstance(child, nn.Module):
            return None
        module = child
    return module


def _unwrapped(model: nn.Module) -> nn.Module:
    """The inner model of DataParallel / DistributedDataParallel wrappers."""
    inner = getattr(model, "module", None)
    return inner if isinstance(inner, nn.Module) else model


def resolve_layers(model: nn.Module, target_layers: LayersSpec) -> list[tuple[str, nn.Module]]:
    """Return ``[(qualified_name, module), ...]`` for the target layers, in the order given.

    Raises :class:`LayerNotFoundError` listing close matches for an unknown name. For an ONNX
    model the layers are tensor names: ``[(name, name), ...]`` once each is found in the graph.
    """
    from .adapters import layer_tools

    tools = layer_tools(model)
    if tools is not None:  # a framework whose layers are not torch modules (ONNX tensors)
        resolved: list[tuple[str, Any]] = tools.resolve_layers(model, target_layers)
        return resolved
    specs = [target_layers] if isinstance(target_layers, str | nn.Module) else list(target_layers)
    if not specs:
        raise LayerNotFoundError("target_layers is empty: give at least one layer.")
    names = {id(m): n for n, m in model.named_modules()}
    resolved = []
    for spec in specs:
        if isinstance(spec, nn.Module):
            if id(spec) not in names:
                raise LayerNotFoundError(
                    f"the target layer {type(spec).__name__} is not a submodule of the model; "
                    "pass a module of this model or its dotted name."
                )
            resolved.append((names[id(spec)] or "<model>", spec))
            continue
        if not isinstance(spec, str):
            raise LayerNotFoundError(
                f"a target layer must be an nn.Module or a dotted name, not {type(spec).__name__}."
            )
        module = _walk(model, spec)
        if module is None and _unwrapped(model) is not model:
            module = _walk(_unwrapped(model), spec)
        if module is None or id(module) not in names:
            candidates = [n for n in names.values() if n]
            close = difflib.get_close_matches(spec, candidates, n=5, cutoff=0.5)
            hint = f" Close matches: {', '.join(close)}." if close else ""
            raise LayerNotFoundError(
                f"no layer named {spec!r} in {type(model).__name__}.{hint} "
                "List the names with [n for n, _ in model.named_modules()]."
            )
        resolved.append((names[id(module)], module))
    return resolved
