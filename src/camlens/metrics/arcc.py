"""ARCC: the harmonic mean of coherency, simplicity and ROAD (pytorch-grad-cam's ``ARCC``).

    road'_i = clip(2 · ROAD_i, 0, 1)            (ROAD over percentiles 20, 40, 60, 80)
    ARCC_i = 3 / (1/(coherency_i + 1e-8) + 1/(1 - complexity_i + 1e-8) + 1/(road'_i + 1e-8))

Higher is better (coherent, simple, faithful). Needs the model and the method. Same numbers as
``pytorch_grad_cam.metrics.arcc.ARCC`` given the same method and a softmax target (its ROAD draws
noise after coherency, as here, so equal torch seeds give equal numbers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ._method import MethodSpec, as_method
from ._utils import as_maps, check_inputs, check_score, class_indices, model_logits, need
from .base import PerImageMetric
from .coherency import coherency
from .complexity import complexity
from .road import road_changes


class ARCC(PerImageMetric):
    """Harmonic mean of coherency, 1 - complexity and rescaled ROAD; higher is better.

    ``ARCC = 3 / (1/coherency + 1/(1 − complexity) + 1/ROAD')`` per image, ROAD rescaled to [0, 1]
    (pytorch-grad-cam's ``ARCC``).
    Shapes: ``inputs (B, C, H, W)``, ``maps (B, H, W)`` in [0, 1], ``targets`` B class indices;
    ``compute()`` -> a float, ``per_image`` -> ``(N,)``.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        ...                       nn.Flatten(), nn.Linear(4, 3)).eval()
        >>> x, maps = torch.rand(2, 3, 8, 8), torch.rand(2, 8, 8)
        >>> metric = ARCC(road_percentiles=(50,), noise=0.0)
        >>> metric.update(inputs=x, maps=maps, targets=[0, 2], model=model,
        ...               method="gradcam", method_kwargs={"target_layers": "0"})
        >>> 0.0 <= metric.compute() <= 1.0
        True
    """

    name = "arcc"
    higher_is_better = True
    requires = frozenset({"model", "method"})

    def __init__(
        self,
        method: MethodSpec | None = None,
        method_kwargs: Mapping[str, Any] | None = None,
        road_percentiles: Sequence[float] = (20, 40, 60, 80),
        noise: float = 0.01,
        score: str = "probability",
        seed: int | None = None,
        batch_size: int = 64,
    ) -> None:
        self.method, self.method_kwargs = method, method_kwargs
        self.road_percentiles, self.noise = tuple(road_percentiles), noise
        self.score = check_score(score)
        self.seed, self.batch_size = seed, batch_size
        super().__init__()

    def reset(self) -> None:
        super().reset()
        self._generator = None if self.seed is None else torch.Generator().manual_seed(self.seed)

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
        logits = model_logits(model, inputs, self.batch_size)
        index = class_indices(targets, inputs.shape[0], logits.device, logits)
        simple = 1 - complexity(maps).double()
        coherent = coherency(run, model, inputs, maps, index)
        lerf, morf = road_changes(
            model,
            inputs,
            maps,
            index,
            self.road_percentiles,
            noise=self.noise,
            score=self.score,
            generator=self._generator,
            batch_size=self.batch_size,
            logits=logits,
        )
        road = (2 * ((lerf - morf) / 2).mean(dim=1).double()).clamp(0, 1)
        parts = (
            coherent + 1e-8,
            simple.to(coherent.device) + 1e-8,
            road.to(coherent.device) + 1e-8,
        )
        self._values.append(3 / sum(1 / p for p in parts))
