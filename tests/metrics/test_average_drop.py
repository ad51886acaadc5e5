"""Average drop %: hand-computed on a region-sum model; parity with torchcam and grad-cam."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch
from pytorch_grad_cam.metrics.cam_mult_image import DropInConfidence
from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget
from torchcam.metrics import ClassificationMetric

from camlens import InvalidInputError
from camlens.metrics import AverageDrop

torch.set_num_threads(1)


def test_hand_computed_on_region_sum_model(region_model, region) -> None:
    x = torch.ones(2, 1, 8, 8)
    maps = torch.zeros(2, 8, 8)
    maps[0][region] = 1.0  # keeps the whole object: no drop
    maps[1][region] = 0.5  # halves it: logit 9 -> 4.5
    metric = AverageDrop(score="logit")
    metric.update(inputs=x, maps=maps, targets=0, model=region_model)
    assert metric.per_image.tolist() == pytest.approx([0.0, 50.0], abs=1e-4)
    prob = AverageDrop()  # softmax of [s, 0]: sigmoid(s)
    prob.update(inputs=x[1:], maps=maps[1:], targets=0, model=region_model)
    y, o = torch.sigmoid(torch.tensor(9.0)), torch.sigmoid(torch.tensor(4.5))
    assert prob.compute() == pytest.approx(float(100 * (y - o) / y), rel=1e-5)


def test_parity_with_torchcam_classification_metric(torchcam_case) -> None:
    model, x, classes, extractor, maps = torchcam_case
    reference = ClassificationMetric(extractor, partial(torch.softmax, dim=-1))
    reference.update(x, classes)
    metric = AverageDrop()
    metric.update(inputs=x, maps=maps, targets=classes, model=model)
    assert metric.compute() == pytest.approx(100 * reference.summary()["avg_drop"], rel=1e-5)


def test_relation_to_pytorch_grad_cam_drop_in_confidence(torchcam_case) -> None:
    """pytorch-grad-cam's DropInConfidence is max(0, Y - O), not divided by Y."""
    model, x, classes, _, maps = torchcam_case
    targets = [ClassifierOutputSoftmaxTarget(c) for c in classes]
    absolute = DropInConfidence()(x, maps.numpy(), targets, model)
    y = model(x).softmax(-1)[torch.arange(4), classes].detach().numpy()
    metric = AverageDrop()
    metric.update(inputs=x, maps=maps, targets=torch.tensor(classes), model=model)
    np.testing.assert_allclose(metric.per_image.numpy() / 100, absolute / (y + 1e-7), atol=1e-6)


def test_needs_a_model_and_unit_maps(region_model) -> None:
    x = torch.ones(1, 1, 8, 8)
    with pytest.raises(InvalidInputError, match="needs model"):
        AverageDrop().update(inputs=x, maps=torch.ones(1, 8, 8), targets=0)
    with pytest.raises(InvalidInputError, match=r"\[0, 1\]"):
        AverageDrop().update(inputs=x, maps=3 * torch.ones(1, 8, 8), model=region_model)
    with pytest.raises(InvalidInputError, match="score must be one of"):
        AverageDrop(score="softmax")
