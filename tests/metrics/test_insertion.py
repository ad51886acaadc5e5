"""Insertion AUC: exact curves on a region-sum model; parity with torchcam."""

from __future__ import annotations

from functools import partial

import pytest
import torch
from torchcam.metrics import DeletionInsertionMetric

from camlens.metrics import Insertion

torch.set_num_threads(1)


def test_oracle_curve_is_exact_and_rises_faster_than_a_random_map(region_model, region) -> None:
    x = torch.ones(2, 1, 8, 8)
    maps = torch.stack(
        [region.float(), torch.rand(8, 8, generator=torch.Generator().manual_seed(0))]
    )
    metric = Insertion(steps=64, baseline="zeros", score="logit")
    metric.update(inputs=x, maps=maps, targets=0, model=region_model)
    counts = torch.arange(65)
    oracle, random = metric.curves
    assert torch.allclose(oracle, counts.clamp(max=9).float())
    assert (oracle >= random).all() and oracle.sum() > random.sum()
    assert metric.per_image[0] == pytest.approx((40.5 + 9 * 55) / 64)
    assert metric.per_image[0] > metric.per_image[1]


def test_default_baseline_is_rise_blur(region_model) -> None:
    """From a blurred constant image (= the image) inserting pixels changes nothing."""
    x = torch.full((1, 1, 8, 8), 0.25)
    metric = Insertion(steps=4, score="logit")
    metric.update(inputs=x, maps=torch.rand(1, 8, 8), targets=0, model=region_model)
    assert metric.baseline == "blur"
    assert torch.allclose(metric.curves, torch.full((1, 5), 9 * 0.25))


@pytest.mark.parametrize("steps", [20, 7])
def test_parity_with_torchcam(torchcam_case, steps) -> None:
    model, x, classes, extractor, maps = torchcam_case
    reference = DeletionInsertionMetric(extractor, partial(torch.softmax, dim=-1), steps=steps)
    reference.update(x, classes)
    metric = Insertion(steps=steps, baseline="zeros")
    metric.update(inputs=x, maps=maps, targets=classes, model=model)
    assert metric.compute() == pytest.approx(reference.summary()["insertion_auc"], abs=1e-6)
