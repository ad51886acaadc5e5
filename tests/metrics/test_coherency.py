"""Coherency: hand cases; same numbers as pytorch-grad-cam's Coherency given the same method."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pytorch_grad_cam import GradCAM as PgcGradCAM
from pytorch_grad_cam.metrics.arcc import Coherency as PgcCoherency
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from tiny_models import SmallCNN

from camlens.metrics import Coherency

torch.set_num_threads(1)


def pgc_case():
    torch.manual_seed(0)
    model = SmallCNN(inplace=False).eval()
    x, classes = torch.randn(3, 3, 16, 16), [1, 2, 3]
    cam = PgcGradCAM(model, target_layers=[model.conv3])
    maps = cam(input_tensor=x, targets=[ClassifierOutputTarget(c) for c in classes])
    return model, x, classes, cam, maps


def test_parity_with_pytorch_grad_cam() -> None:
    model, x, classes, cam, maps = pgc_case()
    targets = [ClassifierOutputTarget(c) for c in classes]
    reference = PgcCoherency()(x, maps, targets, model, cam)

    def same_method(m, inputs, t):
        return cam(input_tensor=inputs, targets=[ClassifierOutputTarget(int(c)) for c in t])

    metric = Coherency(same_method)
    metric.update(inputs=x, maps=torch.from_numpy(maps), targets=classes, model=model)
    np.testing.assert_allclose(metric.per_image.numpy(), reference, atol=1e-6)
    camlens_gradcam = Coherency("gradcam", {"target_layers": model.conv3})
    camlens_gradcam.update(inputs=x, maps=torch.from_numpy(maps), targets=classes, model=model)
    np.testing.assert_allclose(camlens_gradcam.per_image.numpy(), reference, atol=1e-4)


def test_hand_cases(region_model) -> None:
    x = torch.ones(2, 1, 8, 8)
    maps = torch.rand(2, 8, 8, generator=torch.Generator().manual_seed(0))
    same = Coherency(lambda m, inputs, t: maps)  # the same map again: pearson 1
    same.update(inputs=x, maps=maps, targets=0, model=region_model)
    assert same.per_image.tolist() == pytest.approx([1.0, 1.0])
    flipped = Coherency(lambda m, inputs, t: 1 - maps)  # pearson -1
    flipped.update(inputs=x, maps=maps, targets=0, model=region_model)
    assert flipped.per_image.tolist() == pytest.approx([0.0, 0.0], abs=1e-7)
