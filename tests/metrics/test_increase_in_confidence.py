"""Increase in confidence %: hand-computed; parity with torchcam and pytorch-grad-cam."""

from __future__ import annotations

from functools import partial

import pytest
import torch
from pytorch_grad_cam.metrics.cam_mult_image import IncreaseInConfidence as PgcIncrease
from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget
from torchcam.metrics import ClassificationMetric

from camlens.metrics import IncreaseInConfidence

torch.set_num_threads(1)


def test_hand_computed_on_region_sum_model(region_model, region) -> None:
    x = torch.ones(3, 1, 8, 8)
    x[2] = -1.0  # class 0 logit -9
    maps = torch.zeros(3, 8, 8)
    maps[0][region] = 1.0  # 9 -> 9: no increase
    maps[1][region] = 0.5  # 9 -> 4.5: a drop
    maps[2][region] = 0.5  # -9 -> -4.5: an increase
    metric = IncreaseInConfidence(score="logit")
    metric.update(inputs=x, maps=maps, targets=0, model=region_model)
    assert metric.per_image.tolist() == [0.0, 0.0, 100.0]
    assert metric.compute() == pytest.approx(100 / 3)


def test_parity_with_torchcam_and_pytorch_grad_cam(torchcam_case) -> None:
    model, x, classes, extractor, maps = torchcam_case
    reference = ClassificationMetric(extractor, partial(torch.softmax, dim=-1))
    reference.update(x, classes)
    metric = IncreaseInConfidence()
    metric.update(inputs=x, maps=maps, targets=classes, model=model)
    assert metric.compute() == pytest.approx(100 * reference.summary()["conf_increase"])
    pgc = PgcIncrease()(x, maps.numpy(), [ClassifierOutputSoftmaxTarget(c) for c in classes], model)
    assert metric.per_image.tolist() == (100 * pgc).tolist()
    assert 0 < metric.compute() < 100  # the case exercises both outcomes
