"""ARCC: the harmonic mean of its parts; same numbers as pytorch-grad-cam's ARCC."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pytorch_grad_cam import GradCAM as PgcGradCAM
from pytorch_grad_cam.metrics.arcc import ARCC as PgcARCC
from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget
from tiny_models import SmallCNN

from camlens.metrics import ARCC, ROAD, Coherency, Complexity

torch.set_num_threads(1)


def test_parity_with_pytorch_grad_cam_under_the_same_seed() -> None:
    torch.manual_seed(0)
    model = SmallCNN(inplace=False).eval()
    x, classes = torch.randn(3, 3, 12, 12), [1, 2, 3]
    cam = PgcGradCAM(model, target_layers=[model.conv3])
    targets = [ClassifierOutputSoftmaxTarget(c) for c in classes]
    maps = cam(input_tensor=x, targets=targets)
    torch.manual_seed(9)
    reference = PgcARCC(cam)(x, maps, targets, model)

    def same_method(m, inputs, t):
        return cam(input_tensor=inputs, targets=[ClassifierOutputSoftmaxTarget(int(c)) for c in t])

    torch.manual_seed(9)
    metric = ARCC(same_method)
    metric.update(inputs=x, maps=torch.from_numpy(maps), targets=classes, model=model)
    np.testing.assert_allclose(metric.per_image.numpy(), reference, rtol=1e-4, atol=1e-6)


def test_is_the_harmonic_mean_of_its_parts(region_model, region) -> None:
    x = torch.zeros(2, 1, 8, 8)
    x[:, :, region] = 0.5  # logit 4.5 (p 0.99); imputing the object from zeros: p ~ 0.5
    gen = torch.Generator().manual_seed(0)
    maps = torch.stack([region.float() * 0.9 + 0.05 * torch.rand(8, 8, generator=gen)] * 2)
    maps[1] = torch.rand(8, 8, generator=gen)

    def method(m, inputs, t):
        return inputs[:, 0] / inputs.flatten(1).amax(dim=1)[:, None, None]

    parts = {}
    for cls, kw in [(Complexity, {}), (Coherency, {"method": method}), (ROAD, {})]:
        options = {"percentiles": (20, 40, 60, 80), "noise": 0.0} if cls is ROAD else {}
        metric = cls(**kw, **options)
        metric.update(inputs=x, maps=maps, targets=0, model=region_model)
        parts[cls.name] = metric.per_image
    road = (2 * parts["road"]).clamp(0, 1)
    expected = 3 / (
        1 / (parts["coherency"] + 1e-8) + 1 / (1 - parts["complexity"] + 1e-8) + 1 / (road + 1e-8)
    )
    metric = ARCC(method, noise=0.0)
    metric.update(inputs=x, maps=maps, targets=0, model=region_model)
    assert metric.per_image.tolist() == pytest.approx(expected.tolist(), rel=1e-6)
    assert metric.per_image[0] > 0.5  # the oracle map: coherent, sparse, faithful
    assert metric.per_image[0] > metric.per_image[1]  # ... unlike a random map
