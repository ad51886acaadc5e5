"""Coherency (pytorch-grad-cam's ARCC family; arXiv:2104.10252): is the map stable when the
input is masked by the map itself?

    coherency_i = (pearson(L_i, L'_i) + 1) / 2,   L'_i = method(model, x_i ⊙ L_i, target_i)

with pearson = cov / (std · std + 1e-8) (unbiased, as the reference). Higher is better (1: the
same map). Needs the model and the method (see :mod:`camlens.metrics._method`); maps in [0, 1].
Same numbers as ``pytorch_grad_cam.metrics.arcc.Coherency`` given the same method.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import Tensor, nn

from ._method import MethodFn, MethodSpec, as_method
from ._utils import as_maps, check_inputs, class_indices, model_logits, need
from .base import PerImageMetric


def pearson(a: Tensor, b: Tensor) -> Tensor:
    """``(B,)`` Pearson correlation of flattened maps, eps 1e-8 in the denominator."""
    a, b = a.flatten(1).double(), b.flatten(1).to(a.device).double()
    a, b = a - a.mean(dim=1, keepdim=True), b - b.mean(dim=1, keepdim=True)
    n = a.shape[1] - 1
    cov = (a * b).sum(dim=1) / n
    std = ((a**2).sum(dim=1) / n).sqrt() * ((b**2).sum(dim=1) / n).sqrt()
    return cov / (std + 1e-8)


def coherency(
    run: MethodFn, model: nn.Module, inputs: Tensor, maps: Tensor, index: Tensor
) -> Tensor:
    """``(B,)`` coherency of ``maps`` (B, H, W) in [0, 1] under method ``run``."""
    again = as_maps(run(model, inputs * maps[:, None].to(inputs.dtype), index), inputs)
    return (pearson(again, maps) + 1) / 2


class Coherency(PerImageMetric):
    """(Pearson(L, method(x ⊙ L)) + 1) / 2 per image; higher is better.

    ``coherency_i = (Pearson(L_i, method(x_i ⊙ L_i)) + 1) / 2``.
    Shapes: ``inputs (B, C, H, W)``, ``maps (B, H, W)`` in [0, 1], ``targets`` B class indices;
    ``compute()`` -> a float, ``per_image`` -> ``(N,)``.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        ...                       nn.Flatten(), nn.Linear(4, 3)).eval()
        >>> x, maps = torch.rand(2, 3, 8, 8), torch.rand(2, 8, 8)
        >>> metric = Coherency()
        >>> metric.update(inputs=x, maps=maps, targets=[0, 2], model=model,
        ...               method="gradcam", method_kwargs={"target_layers": "0"})
        >>> 0.0 <= metric.compute() <= 1.0
        True
    """

    name = "coherency"
    higher_is_better = True
    requires = frozenset({"model", "method"})

    def __init__(
        self, method: MethodSpec | None = None, method_kwargs: Mapping[str, Any] | None = None
    ) -> None:
        self.method, self.method_kwargs = method, method_kwargs
        super().__init__()

    def update(
        self,
        *,
        inputs: Tensor,
        maps: Tensor,
        targets: Any = None,
        model: nn.Module | None = None,
        masks: Tensor | None = None,
        boxes: Any = None,
        method: MethodSpec | None = None,
        method_kwargs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        inputs, model = check_inputs(inputs), need(model, "model", type(self).__name__)
        maps = as_maps(maps, inputs, unit=True)
        run = as_method(method or self.method, model, method_kwargs or self.method_kwargs)
        logits = model_logits(model, inputs) if targets is None else None
        index = class_indices(targets, inputs.shape[0], inputs.device, logits)
        self._values.append(coherency(run, model, inputs, maps, index))
