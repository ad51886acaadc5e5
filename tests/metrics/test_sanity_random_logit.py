"""Random-logit test: another class's map; a class-blind method shows no change."""

from __future__ import annotations

import pytest
import torch
from scipy.stats import spearmanr
from tiny_models import SmallCNN

import camlens
from camlens.metrics import SanityRandomLogit

torch.set_num_threads(1)


def test_class_blind_method_shows_no_change_and_classes_differ() -> None:
    torch.manual_seed(0)
    model, x = SmallCNN(inplace=False).eval(), torch.randn(4, 3, 16, 16)
    fixed = torch.rand(16, 16, generator=torch.Generator().manual_seed(1))
    metric = SanityRandomLogit(lambda m, inputs, targets: fixed.expand(len(inputs), -1, -1))
    metric.update(inputs=x, maps=fixed.expand(4, -1, -1), targets=[0, 1, 2, 3], model=model)
    assert metric.compute() == 1.0
    assert (metric.random_classes != torch.tensor([0, 1, 2, 3])).all()


def test_grad_cam_on_a_two_class_readout_is_compared_with_the_other_class(readout) -> None:
    """Readout: class 1's gradient is -G, so its Grad-CAM weights are class 0's negated. On A,
    class 0's map is 0.5·A0 + 0.5·A1 > 0 and class 1's is ReLU(negative) = 0: a constant map,
    which has no ranking, so rho = 0 (the constant-map rule) for both images."""
    model, x = readout
    x = x.repeat(2, 1, 1, 1)
    maps = camlens.GradCAM(model, "features")(x, targets=[0, 1])
    assert maps[1].abs().max() == 0 and maps[0].std() > 0
    metric = SanityRandomLogit("gradcam", {"target_layers": "features"})
    metric.update(inputs=x, maps=maps, targets=[0, 1], model=model)
    assert metric.random_classes.tolist() == [1, 0]  # the only other class
    assert metric.per_image.tolist() == [0.0, 0.0]


def test_grad_cam_equals_scipy_spearman_with_the_random_class_map() -> None:
    torch.manual_seed(0)
    model, x = SmallCNN(inplace=False).eval(), torch.randn(4, 3, 16, 16)
    cam = camlens.GradCAM(model, "conv3")
    maps = cam(x, targets=[0, 1, 2, 3])
    metric = SanityRandomLogit("gradcam", {"target_layers": "conv3"}, seed=2)
    metric.update(inputs=x, maps=maps, targets=[0, 1, 2, 3], model=model)
    other = cam(x, targets=metric.random_classes)
    for rho, a, b in zip(metric.per_image, maps, other, strict=True):
        assert float(rho) == pytest.approx(spearmanr(a.flatten(), b.flatten())[0], abs=1e-9)


def test_grad_cam_on_a_cnn_changes() -> None:
    torch.manual_seed(0)
    model, x = SmallCNN(inplace=False).eval(), torch.randn(4, 3, 16, 16)
    maps = camlens.GradCAM(model, "conv3")(x)
    metric = SanityRandomLogit("gradcam", {"target_layers": "conv3"}, seed=1)
    metric.update(inputs=x, maps=maps, model=model)  # targets=None: the top-1 classes
    assert metric.compute() < 0.9
