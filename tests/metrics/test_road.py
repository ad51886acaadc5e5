"""ROAD: same numbers as pytorch-grad-cam's ROADCombined; the oracle map beats a random one."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pytorch_grad_cam.metrics.perturbation_confidence import (
    AveragerAcrossThresholds,
    PerturbationConfidenceMetric,
    RemoveLeastRelevantFirst,
    RemoveMostRelevantFirst,
)
from pytorch_grad_cam.metrics.road import NoisyLinearImputer, ROADCombined
from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget
from tiny_models import SmallCNN

from camlens.metrics import ROAD

torch.set_num_threads(1)
PERCENTILES = [10, 20, 30, 40, 50, 60, 70, 80, 90]


def case() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor, list[int]]:
    torch.manual_seed(0)
    model = SmallCNN().eval()
    return model, torch.randn(3, 3, 12, 12), torch.rand(3, 12, 12), [1, 4, 7]


def test_parity_with_road_combined_under_the_same_seed() -> None:
    model, x, maps, classes = case()
    targets = [ClassifierOutputSoftmaxTarget(c) for c in classes]
    torch.manual_seed(5)
    reference = ROADCombined(percentiles=PERCENTILES)(x, maps.numpy(), targets, model)
    torch.manual_seed(5)
    metric = ROAD()
    metric.update(inputs=x, maps=maps, targets=classes, model=model)
    np.testing.assert_allclose(metric.per_image.numpy(), reference, atol=1e-6)


def test_parity_without_noise_per_percentile() -> None:
    model, x, maps, classes = case()
    targets = [ClassifierOutputSoftmaxTarget(c) for c in classes]

    def averager(remove):
        imputer = NoisyLinearImputer(noise=0.0)
        return AveragerAcrossThresholds(
            lambda p: PerturbationConfidenceMetric(remove(p, imputer)), PERCENTILES
        )

    lerf = averager(RemoveLeastRelevantFirst)(x, maps.numpy(), targets, model)
    morf = averager(RemoveMostRelevantFirst)(x, maps.numpy(), targets, model)
    metric = ROAD(noise=0.0)
    metric.update(inputs=x, maps=maps, targets=classes, model=model)
    np.testing.assert_allclose(metric.lerf.mean(dim=1).numpy(), lerf, atol=1e-6)
    np.testing.assert_allclose(metric.morf.mean(dim=1).numpy(), morf, atol=1e-6)
    np.testing.assert_allclose(metric.per_image.numpy(), (lerf - morf) / 2, atol=1e-6)
    assert metric.morf.shape == (3, 9)


def test_oracle_map_scores_higher_than_a_random_map(region_model, region) -> None:
    x = torch.ones(2, 1, 8, 8)
    x[:, :, region] = 5.0  # logit 45; the background imputed into the object gives ~9
    gen = torch.Generator().manual_seed(0)
    oracle = region.float() + 0.01 * torch.rand(8, 8, generator=gen)  # no ties
    maps = torch.stack([oracle, torch.rand(8, 8, generator=gen)])
    metric = ROAD(noise=0.0, score="logit")
    metric.update(inputs=x, maps=maps, targets=0, model=region_model)
    assert metric.per_image[0] > 10 and metric.per_image[0] > metric.per_image[1]
    assert metric.lerf[0].abs().max() < 1e-4  # removing background keeps the object's score


def test_seeded_runs_repeat() -> None:
    model, x, maps, classes = case()
    runs = []
    for _ in range(2):
        metric = ROAD(percentiles=(50,), seed=3)
        metric.update(inputs=x, maps=maps, targets=classes, model=model)
        runs.append(metric.compute())
    assert runs[0] == pytest.approx(runs[1], abs=0)


def test_bad_options_are_typed_errors() -> None:
    from camlens import InvalidInputError

    with pytest.raises(InvalidInputError, match=r"percentiles must be in \[0, 100\]"):
        ROAD(percentiles=(50, 120))
    with pytest.raises(InvalidInputError, match="score must be one of"):
        ROAD(score="prob")
