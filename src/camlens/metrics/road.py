"""ROAD: RemOve And Debias (Rong et al., ICML 2022), combined MoRF/LeRF score.

For each percentile p (default 10, 20, ..., 90) the pixels at or above the p-th percentile of the
map (MoRF: the most relevant (100 - p)%) or of ``1 - map`` (LeRF: the least relevant) are removed
by :func:`~camlens.metrics.imputation.noisy_linear_impute`, and the class score is compared:

    morf_i(p) = s(x_i with MoRF pixels imputed) - s(x_i),  lerf_i(p) likewise
    ROAD_i = mean_p (lerf_i(p) - morf_i(p)) / 2

Higher is better (removing the least relevant pixels should keep the score, the most relevant
should drop it). Softmax probabilities by default (``score="logit"``). Same numbers as
``pytorch_grad_cam.metrics.road.ROADCombined`` with a ``ClassifierOutputSoftmaxTarget``: exactly
with ``noise=0``, and with noise when torch's global generator is seeded the same (``seed=None``)
— the noise is drawn in the reference's order (LeRF then MoRF, percentile, image).
``metric.morf`` / ``metric.lerf``: the (N, P) score changes. Imputation runs on the CPU (scipy).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..core.errors import InvalidInputError
from ._utils import as_maps, check_inputs, check_score, class_indices, model_logits, need, select
from .base import PerImageMetric
from .imputation import noisy_linear_impute


class ROAD(PerImageMetric):
    """(LeRF - MoRF) / 2 averaged over percentiles (see the module docstring).

    ``ROAD_i = mean_p (lerf_i(p) − morf_i(p)) / 2`` over the percentiles ``p`` (MoRF: the most
    relevant pixels imputed; LeRF: the least).
    Shapes: ``inputs (B, C, H, W)``, ``maps (B, H, W)`` in [0, 1], ``targets`` B class indices;
    ``compute()`` -> a float, ``per_image`` -> ``(N,)``.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        ...                       nn.Flatten(), nn.Linear(4, 3)).eval()
        >>> x, maps = torch.rand(2, 3, 8, 8), torch.rand(2, 8, 8)
        >>> metric = ROAD(percentiles=(50,), noise=0.0)
        >>> metric.update(inputs=x, maps=maps, targets=[0, 2], model=model)
        >>> -0.5 <= metric.compute() <= 0.5
        True
    """

    name = "road"
    higher_is_better = True
    requires = frozenset({"model"})

    def __init__(
        self,
        percentiles: Sequence[float] = (10, 20, 30, 40, 50, 60, 70, 80, 90),
        noise: float = 0.01,
        score: str = "probability",
        seed: int | None = None,
        batch_size: int = 64,
    ) -> None:
        self.percentiles = tuple(float(p) for p in percentiles)
        if not self.percentiles or not all(0 <= p <= 100 for p in self.percentiles):
            raise InvalidInputError(f"percentiles must be in [0, 100], got {percentiles!r}.")
        check_score(score)
        self.noise, self.score, self.seed, self.batch_size = noise, score, seed, batch_size
        super().__init__()

    def reset(self) -> None:
        super().reset()
        self._morf: list[Tensor] = []
        self._lerf: list[Tensor] = []
        self._generator = None
        if self.seed is not None:
            self._generator = torch.Generator().manual_seed(self.seed)

    @property
    def morf(self) -> Tensor:
        """``(N, P)`` score change with the most relevant pixels removed, per percentile."""
        return torch.cat(self._morf) if self._morf else torch.zeros(0, len(self.percentiles))

    @property
    def lerf(self) -> Tensor:
        """``(N, P)`` score change with the least relevant pixels removed, per percentile."""
        return torch.cat(self._lerf) if self._lerf else torch.zeros(0, len(self.percentiles))

    def update(
        self,
        *,
        inputs: Tensor,
        maps: Tensor,
        targets: Any = None,
        model: nn.Module | None = None,
        masks: Tensor | None = None,
        boxes: Any = None,
        **kwargs: Any,
    ) -> None:
        lerf, morf = road_changes(
            need(model, "model", "ROAD"),
            check_inputs(inputs),
            as_maps(maps, inputs),
            targets,
            self.percentiles,
            noise=self.noise,
            score=self.score,
            generator=self._generator,
            batch_size=self.batch_size,
        )
        self._lerf.append(lerf.cpu())
        self._morf.append(morf.cpu())
        self._values.append(((lerf - morf) / 2).mean(dim=1))


def road_changes(
    model: nn.Module,
    inputs: Tensor,
    maps: Tensor,
    targets: Any,
    percentiles: Sequence[float],
    *,
    noise: float,
    score: str,
    generator: torch.Generator | None,
    batch_size: int,
    logits: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """``(lerf, morf)``, each ``(B, P)``: score after imputation minus the original score.

    ``logits``: the model's outputs on ``inputs`` when the caller already has them.
    """
    if logits is None:
        logits = model_logits(model, inputs, batch_size)
    index = class_indices(targets, inputs.shape[0], logits.device, logits)
    original = select(logits, index, score)
    changes = []
    for relevance in (1 - maps, maps):  # LeRF first, as the reference draws its noise
        values = relevance.cpu().numpy()
        per_percentile = []
        for p in percentiles:
            imputed = torch.stack(
                [
                    noisy_linear_impute(
                        inputs[i], torch.from_numpy(v < np.percentile(v, p)), noise, generator
                    )
                    for i, v in enumerate(values)
                ]
            )
            after = select(model_logits(model, imputed, batch_size), index, score)
            per_percentile.append(after - original)
        changes.append(torch.stack(per_percentile, dim=1))
    return changes[0], changes[1]
