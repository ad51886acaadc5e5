"""Fixtures of the metric tests: a model whose score is the sum of a known pixel region."""

from __future__ import annotations

import pytest
import torch
from torch import nn


class RegionSum(nn.Module):
    """logits = [Σ_{c, (i, j) in region} x_cij, 0]: class 0's logit is the region's pixel sum."""

    def __init__(self, region: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("region", region.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = (x * self.region).sum(dim=(1, 2, 3))
        return torch.stack([s, torch.zeros_like(s)], dim=1)


@pytest.fixture
def region() -> torch.Tensor:
    """(8, 8) bool: a 3x3 object at rows 1..3, cols 2..4 (9 pixels)."""
    r = torch.zeros(8, 8, dtype=torch.bool)
    r[1:4, 2:5] = True
    return r


@pytest.fixture
def region_model(region: torch.Tensor) -> RegionSum:
    return RegionSum(region).eval()


@pytest.fixture
def torchcam_case():
    """SmallCNN, 4 images, their classes, a torchcam Grad-CAM extractor and its maps of the
    softmax scores (what torchcam's metrics compute inside with ``logits_fn=softmax``), resized
    as torchcam does. Hooks are removed after the test."""
    from tiny_models import SmallCNN
    from torchcam.methods import GradCAM
    from torchcam.metrics import _resize_cam

    torch.manual_seed(0)
    model = SmallCNN(inplace=False).eval()
    x = torch.randn(4, 3, 16, 16)
    classes = [1, 2, 3, 4]
    extractor = GradCAM(model, target_layer="conv3")
    cams = extractor.fuse_cams(extractor(classes, model(x).softmax(-1)))
    yield model, x, classes, extractor, _resize_cam(cams, (16, 16)).detach()
    extractor.remove_hooks()
