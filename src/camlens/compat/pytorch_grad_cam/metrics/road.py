"""``pytorch_grad_cam.metrics.road``: ROAD, RemOve And Debias (Rong et al., ICML 2022).

For a percentile p, MoRF imputes the pixels at or above the p-th percentile of the map (the most
relevant), LeRF those of ``1 - map`` (the least relevant), with noisy linear imputation
(:func:`camlens.metrics.imputation.noisy_linear_impute`), and reports the score change:

    MoRF_i(p) = target_i(model(impute(x_i, L_i >= q_p))) - target_i(model(x_i))
    ROADCombined_i = mean_p (LeRF_i(p) - MoRF_i(p)) / 2

The imputation noise (std ``noise``) comes from torch's global generator in pytorch-grad-cam's
order (for ``ROADCombined``: LeRF then MoRF, by percentile, by image), so the same
``torch.manual_seed`` gives the same numbers. The imputation builds its sparse system in one
vectorised step instead of filling a ``lil_matrix`` (faster, same system); it runs on the CPU.
Not provided: ``NoisyLinearImputer.setup_sparse_system`` / ``add_offset_to_indices`` (the
reference's internal helpers).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from torch import Tensor, nn

from ....metrics.imputation import NEIGHBOURS, noisy_linear_impute
from .perturbation_confidence import (
    AveragerAcrossThresholds,
    PerturbationConfidenceMetric,
    RemoveLeastRelevantFirst,
    RemoveMostRelevantFirst,
)

__all__ = [
    "NoisyLinearImputer",
    "ROADCombined",
    "ROADLeastRelevantFirst",
    "ROADLeastRelevantFirstAverage",
    "ROADMostRelevantFirst",
    "ROADMostRelevantFirstAverage",
    "neighbors_weights",
]

#: ``((d_row, d_col), weight)`` of the 8 neighbours, in the reference's order.
neighbors_weights: list[tuple[tuple[int, int], float]] = list(NEIGHBOURS)

_PERCENTILES = [10, 20, 30, 40, 50, 60, 70, 80, 90]


class NoisyLinearImputer:
    """``imputer(img (C, H, W), mask (H, W))``: pixels where ``mask == 0`` imputed, plus noise.

    ``weighting`` is accepted and, as in pytorch-grad-cam, not used (the 8-neighbour weights
    ``neighbors_weights`` always apply).
    """

    def __init__(
        self,
        noise: float = 0.01,
        weighting: list[tuple[tuple[int, int], float]] = neighbors_weights,
    ) -> None:
        self.noise = noise
        self.weighting = neighbors_weights

    def __call__(self, img: Tensor, mask: Tensor) -> Tensor:
        return noisy_linear_impute(img, mask != 0, self.noise)


class ROADMostRelevantFirst(PerturbationConfidenceMetric):
    """``(B,)`` score change with the pixels above the ``percentile``-th percentile imputed."""

    def __init__(self, percentile: float | str = 80) -> None:
        super().__init__(RemoveMostRelevantFirst(percentile, NoisyLinearImputer()))


class ROADLeastRelevantFirst(PerturbationConfidenceMetric):
    """``(B,)`` score change with the least relevant ``100 - percentile`` % imputed."""

    def __init__(self, percentile: float | str = 20) -> None:
        super().__init__(RemoveLeastRelevantFirst(percentile, NoisyLinearImputer()))


class ROADMostRelevantFirstAverage(AveragerAcrossThresholds):
    """:class:`ROADMostRelevantFirst` averaged over ``percentiles``."""

    def __init__(self, percentiles: list[float] = _PERCENTILES) -> None:
        super().__init__(ROADMostRelevantFirst, percentiles)


class ROADLeastRelevantFirstAverage(AveragerAcrossThresholds):
    """:class:`ROADLeastRelevantFirst` averaged over ``percentiles``."""

    def __init__(self, percentiles: list[float] = _PERCENTILES) -> None:
        super().__init__(ROADLeastRelevantFirst, percentiles)


class ROADCombined:
    """``(B,)`` float32 ``(LeRF average - MoRF average) / 2``; higher is better."""

    def __init__(self, percentiles: list[float] = _PERCENTILES) -> None:
        self.percentiles = percentiles
        self.morf_averager = ROADMostRelevantFirstAverage(percentiles)
        self.lerf_averager = ROADLeastRelevantFirstAverage(percentiles)

    def __call__(
        self,
        input_tensor: Tensor,
        cams: np.ndarray,
        targets: list[Callable],
        model: nn.Module,
    ) -> np.ndarray:
        scores_lerf = self.lerf_averager(input_tensor, cams, targets, model)
        scores_morf = self.morf_averager(input_tensor, cams, targets, model)
        return (scores_lerf - scores_morf) / 2
