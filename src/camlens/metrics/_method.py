"""Re-running an explanation (sanity checks, coherency): method specs and map correlations.

A method is a callable ``(model, inputs, targets) -> (B, H, W) maps`` where ``targets`` is a (B,)
long tensor of class indices; or a CAM class (or its name, e.g. ``"gradcam"``) plus keyword
arguments, called as ``cls(model, **kwargs)(inputs, targets=targets)``. Modules given in those
keyword arguments (``target_layers=model.layer4``) are turned into their names, so the class also
runs on a copy of the model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

from ..core.errors import InvalidInputError

MethodFn = Callable[[nn.Module, Tensor, Tensor], Any]
MethodSpec = str | type | MethodFn


def as_method(
    spec: MethodSpec | None, model: nn.Module, kwargs: Mapping[str, Any] | None
) -> MethodFn:
    """A callable ``(model, inputs, targets) -> maps`` for a method spec (see the module doc)."""
    if spec is None:
        raise InvalidInputError(
            "this metric re-runs the explanation: pass method= (a callable (model, inputs, "
            "targets) -> maps, a CAM class or its name) to the metric or to update()."
        )
    if isinstance(spec, str):
        from ..methods import get_method

        spec = get_method(spec)
    if isinstance(spec, type):
        cls, names = spec, {id(m): n for n, m in model.named_modules()}
        options = {k: _by_name(v, names) for k, v in (kwargs or {}).items()}

        def run(m: nn.Module, inputs: Tensor, targets: Tensor) -> Tensor:
            return cls(m, **options)(inputs, targets=targets)

        return run
    if callable(spec):
        if kwargs:
            raise InvalidInputError("method_kwargs go with a CAM class, not with a callable.")
        return spec
    raise InvalidInputError(f"method must be a callable, a CAM class or a name, got {spec!r}.")


def _by_name(value: Any, names: dict[int, str]) -> Any:
    if isinstance(value, nn.Module) and id(value) in names:
        return names[id(value)]
    if isinstance(value, list | tuple):
        return type(value)(_by_name(v, names) for v in value)
    return value


def _average_ranks(values: Tensor) -> Tensor:
    """Ranks 1..n of a 1-D tensor, ties sharing their average rank (as scipy.stats.rankdata)."""
    _, inverse, counts = torch.unique(values, return_inverse=True, return_counts=True)
    ends = counts.cumsum(0).double()
    return (ends - (counts.double() - 1) / 2)[inverse]


def spearman(a: Tensor, b: Tensor) -> Tensor:
    """``(B,)`` Spearman rank correlation of each pair of flattened maps.

    A constant map has no ranking: the pair scores 1 if both maps are equal, else 0.
    """
    a, b = a.flatten(1).double(), b.flatten(1).to(a.device).double()
    out = torch.empty(a.shape[0], dtype=torch.float64, device=a.device)
    for i in range(a.shape[0]):
        ra, rb = _average_ranks(a[i]), _average_ranks(b[i])
        ra, rb = ra - ra.mean(), rb - rb.mean()
        norm = ra.norm() * rb.norm()
        if norm > 0:
            out[i] = (ra * rb).sum() / norm
        else:
            out[i] = float(torch.equal(a[i], b[i]))
    return out
