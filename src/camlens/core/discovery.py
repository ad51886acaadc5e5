"""Find the layers worth explaining: ``camlens.layers(model, x)`` and ``target_layers=None``.

One probe (batch of one image, forward and backward from the input) records every module's output
and the gradient of the top-1 score with respect to it. A *candidate* is a module that ran once,
whose output lies on a grid of more than one position (after :func:`auto_reshape`), and whose
gradient reaches more than one of those positions — which rules out global pooling, classifier
heads, and a transformer's tokens after the last attention (there only the class token matters).
The automatic choice is the last candidate to run; for token models the last normalisation layer
among the candidates (the last block's normalised tokens, e.g. ViT's ``ln_1`` / ``norm1``).

Attention blocks (the modules whose attention :mod:`camlens.core.attention` captures, for rollout,
Chefer and LeGrad) are listed too, with ``attention`` set to the shape of their probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .contract import check_input, model_logits
from .errors import LayerNotFoundError, LayerOutputError
from .reshape import auto_reshape
from .torch_adapter import frozen_parameters

_EXCLUDED: tuple[type[nn.Module], ...] = (
    nn.AdaptiveAvgPool1d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveAvgPool3d,
    nn.AdaptiveMaxPool1d,
    nn.AdaptiveMaxPool2d,
    nn.AdaptiveMaxPool3d,
)


@dataclass
class LayerInfo:
    """One module's output in a probe forward pass (in the order the modules finished)."""

    name: str
    kind: str
    shape: tuple[int, ...]
    grid: tuple[int, ...] | None  # spatial grid after auto-reshaping, None if not reshapable
    positions_with_gradient: int  # grid positions the top-1 score's gradient reaches
    calls: int
    candidate: bool
    attention: tuple[int, ...] | None = None  # (1, heads, queries, keys) for attention blocks

    @property
    def tokens(self) -> bool:
        return self.grid is not None and len(self.shape) == 3 and len(self.grid) >= 2


def layers(model: nn.Module, example_input: Tensor | None = None) -> list[LayerInfo]:
    """Every module with a tensor output, in the order they finished, marked as candidate or not.

    ``example_input``: one batch like the ones you will explain (only its first image is used).
    An ONNX model (path, ``ModelProto``, session) lists its intermediate tensors with the shapes
    of ONNX shape inference instead (:func:`camlens.onnx.graph.layer_infos`; no input needed
    when the graph's input has a fixed size).
    """
    from .adapters import layer_tools

    tools = layer_tools(model)
    if tools is not None:  # a framework whose layers are not torch modules (ONNX tensors)
        found: list[LayerInfo] = tools.layer_infos(model, example_input)
        return found
    if example_input is None:
        raise TypeError("layers(model, example_input): give one batch like the ones to explain.")
    x = check_input(example_input)[:1].detach().clone().requires_grad_(True)
    records: list[tuple[str, nn.Module, Tensor]] = []
    calls: dict[str, int] = {}
    last_input: list[Tensor] = []

    def hook_for(name: str):
        def hook(module: nn.Module, inputs: object, output: object) -> object:
            calls[name] = calls.get(name, 0) + 1
            if isinstance(output, Tensor) and output.requires_grad:
                records.append((name, module, output))
                first = inputs[0] if isinstance(inputs, tuple) and inputs else None
                if isinstance(first, Tensor) and first.requires_grad:
                    last_input[:] = [first]
                return output.clone()  # later in-place ops must not alter the record
            return output

        return hook

    handles = [m.register_forward_hook(hook_for(n)) for n, m in model.named_modules() if n]
    try:
        with torch.inference_mode(False), torch.enable_grad(), frozen_parameters(model):
            logits = model_logits(model(x))
            outputs = [r[2] for r in records]
            score = logits.flatten(1)[0].max()
            grads = _grads(score, outputs)
            spatial = [g for g, o in zip(grads, outputs, strict=True) if o.ndim >= 3]
            if last_input and not any(g is not None and bool(g.any()) for g in spatial):
                # A zero-initialised head (torchvision's ViT) gives zero gradients everywhere:
                # probe with a fixed random direction at the head's input instead.
                features = last_input[0]
                direction = torch.randn(
                    features.shape, generator=torch.Generator().manual_seed(0)
                ).to(features)
                grads = _grads((features * direction).sum(), outputs)
    finally:
        for h in handles:
            h.remove()

    infos = []
    for (name, module, output), grad in zip(records, grads, strict=True):
        try:
            shaped = auto_reshape(output.detach(), x.shape, name)
            grid = tuple(shaped.shape[2:])
        except LayerOutputError:
            shaped, grid = None, None
        reached = 0
        if shaped is not None and grad is not None:
            g = auto_reshape(grad, x.shape, name)
            reached = int((g.abs().flatten(2).sum(1) > 0).sum())
        count = calls.get(name, 0)
        candidate = (
            grid is not None
            and count == 1
            and reached > 1
            and not isinstance(module, _EXCLUDED)
            and int(torch.tensor(grid).prod()) > 1
        )
        infos.append(
            LayerInfo(
                name, type(module).__name__, tuple(output.shape), grid, reached, count, candidate
            )
        )
    return _with_attention(model, x.detach(), infos)


def _with_attention(model: nn.Module, x: Tensor, infos: list[LayerInfo]) -> list[LayerInfo]:
    """Mark the attention blocks (adding those whose output is not a tensor, e.g.
    ``nn.MultiheadAttention``'s tuple), all in forward order."""
    from .attention import find_attention
    from .reshape import token_grid

    blocks, finished = find_attention(model, x)
    by_name = {info.name: info for info in infos}
    for block in blocks:
        if block.name in by_name:
            by_name[block.name].attention = block.shape
            continue
        keys = token_grid(block.shape[-1], x.shape[2:])
        info = LayerInfo(
            block.name or "<model>", type(block.module).__name__, block.shape,
            keys[1] if keys else None, 0, 1, False, block.shape,
        )  # fmt: skip
        by_name[block.name] = info
        infos.append(info)
    infos.sort(key=lambda i: finished.get(i.name, len(finished)))
    return infos


def _grads(score: Tensor, outputs: list[Tensor]) -> tuple[Tensor | None, ...]:
    if not score.requires_grad:
        return (None,) * len(outputs)
    return torch.autograd.grad(score, outputs, allow_unused=True, retain_graph=True)


def choose_layer(model: nn.Module, example_input: Tensor) -> str:
    """The layer ``target_layers=None`` uses (see the module docstring for the rule)."""
    from .adapters import layer_tools

    tools = layer_tools(model)
    if tools is not None:
        name: str = tools.choose_layer(model, example_input)
        return name
    candidates = [info for info in layers(model, example_input) if info.candidate]
    if not candidates:
        raise LayerNotFoundError(
            f"found no layer of {type(model).__name__} with a spatial output that the score "
            "depends on; pass target_layers= explicitly (see camlens.layers(model, x))."
        )
    last = candidates[-1]
    if last.tokens:
        norms = [c for c in candidates if c.tokens and "Norm" in c.kind]
        if norms:
            return norms[-1].name
    return last.name


def format_layers(infos: list[LayerInfo]) -> str:
    """A plain-text table of :func:`layers` (candidates marked with ``*``)."""
    rows = [("", "layer", "type", "output shape", "grid", "grad positions")]
    for i in infos:
        grid = "x".join(map(str, i.grid)) if i.grid else "-"
        kind = f"{i.kind} (attention)" if i.attention is not None else i.kind
        rows.append(
            ("*" if i.candidate else "", i.name, kind, str(tuple(i.shape)), grid,
             str(i.positions_with_gradient))
        )  # fmt: skip
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows)
