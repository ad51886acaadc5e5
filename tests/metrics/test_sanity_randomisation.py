"""Cascading model randomisation: a model-blind method shows no change; Grad-CAM changes."""

from __future__ import annotations

import pytest
import torch
from tiny_models import SmallCNN

import camlens
from camlens import InvalidInputError
from camlens.metrics import SanityRandomisation
from camlens.metrics.sanity_randomisation import parameterised_layers, randomise

torch.set_num_threads(1)


def case() -> tuple[torch.nn.Module, torch.Tensor, list[int]]:
    torch.manual_seed(0)
    return SmallCNN(inplace=False).eval(), torch.randn(3, 3, 16, 16), [1, 2, 3]


def test_method_that_ignores_the_model_shows_no_change() -> None:
    model, x, classes = case()
    fixed = torch.rand(16, 16, generator=torch.Generator().manual_seed(1))

    def blind(m, inputs, targets):
        return fixed.expand(len(inputs), -1, -1)

    def edges(m, inputs, targets):  # depends on the input only
        return inputs.abs().sum(1)

    metric = SanityRandomisation(method=blind)
    metric.update(inputs=x, maps=fixed.expand(3, -1, -1), targets=classes, model=model)
    assert metric.layer_names == ["fc", "conv3", "conv2", "conv1"]  # top down
    assert metric.correlations.shape == (3, 4)
    assert torch.equal(metric.correlations, torch.ones(3, 4, dtype=torch.float64))
    assert metric.compute() == 1.0
    metric.reset()
    metric.update(inputs=x, maps=edges(model, x, None), model=model, method=edges)
    assert metric.compute() == pytest.approx(1.0)


def test_grad_cam_changes_and_the_users_model_is_untouched() -> None:
    model, x, classes = case()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    maps = camlens.GradCAM(model, "conv3")(x, targets=classes)
    metric = SanityRandomisation("gradcam", {"target_layers": model.conv3}, seed=0)
    metric.update(inputs=x, maps=maps, targets=classes, model=model)
    assert metric.compute() < 0.5
    assert (metric.correlations[:, 0] < 0.9).all()  # the head alone already changes it
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert torch.equal(rng, torch.get_rng_state())
    again = SanityRandomisation("gradcam", {"target_layers": "conv3"}, seed=0)
    again.update(inputs=x, maps=maps, targets=classes, model=model)
    assert torch.equal(again.correlations, metric.correlations)


class HeadFirst(torch.nn.Module):
    """Registers its head before its body, and has a layer that never runs."""

    def __init__(self) -> None:
        super().__init__()
        self.head = torch.nn.Linear(4, 3)
        self.unused = torch.nn.Linear(4, 4)
        self.body = torch.nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x).mean(dim=(2, 3)))


def test_randomise_and_layer_order() -> None:
    model = SmallCNN()
    assert parameterised_layers(model) == ["fc", "conv3", "conv2", "conv1"]
    assert parameterised_layers(model, torch.randn(2, 3, 8, 8)) == ["fc", "conv3", "conv2", "conv1"]
    odd = HeadFirst()
    assert parameterised_layers(odd) == ["body", "unused", "head"]  # registration: wrong
    assert parameterised_layers(odd, torch.randn(1, 3, 5, 5)) == ["head", "body"]  # forward
    assert not odd.head._forward_hooks  # hooks removed
    bare = torch.nn.Module()
    bare.weight = torch.nn.Parameter(torch.ones(4, 25))
    randomise(bare, 0)
    assert 0.1 < float(bare.weight.detach().std()) < 0.3  # N(0, 1/25): std 0.2
    first = model.fc.weight.clone()
    randomise(model.fc, 0)
    assert not torch.equal(first, model.fc.weight)


def test_needs_method_and_model() -> None:
    model, x, _ = case()
    with pytest.raises(InvalidInputError, match="pass method="):
        SanityRandomisation().update(inputs=x, maps=torch.rand(3, 16, 16), model=model)
    with pytest.raises(InvalidInputError, match="needs model"):
        SanityRandomisation("gradcam").update(inputs=x, maps=torch.rand(3, 16, 16))
