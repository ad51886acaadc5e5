"""An empty batch gives empty maps, for every registered method (issue #12, item 8)."""

from __future__ import annotations

import warnings

import pytest
import torch
import torchvision

from camlens.methods import METHODS


@pytest.fixture(scope="module")
def resnet():
    torch.manual_seed(0)
    return torchvision.models.resnet18(num_classes=10).eval()


@pytest.mark.parametrize("name", sorted(METHODS))
def test_an_empty_batch_gives_empty_maps(resnet, name):
    cam = METHODS[name](resnet, "layer4")
    x = torch.randn(0, 3, 32, 32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = cam.explain(x)
        maps = cam(x, [])
    assert e.maps.shape == (0, 32, 32) and e.maps.dtype == torch.float32
    assert maps.shape == (0, 32, 32)
    names = set(e.per_layer) if cam.adapter is None else set(cam.adapter.layer_names)
    assert set(e.per_layer) == set(e.raw) == names  # FullGrad: its own layers, no adapter
    assert all(m.shape == (0, 32, 32) for m in e.per_layer.values())
    assert all(r.shape[0] == 0 for r in e.raw.values())
    assert e.scores.shape == (0,) and e.targets == []
    top = cam.topk(x, k=2)
    assert top.maps.shape == (0, 2, 32, 32) and top.indices.shape == (0, 2)
