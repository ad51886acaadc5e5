"""utils.reshape_transforms against pytorch-grad-cam's, and a ViT end to end."""

from __future__ import annotations

import functools
from collections import OrderedDict

import numpy as np
import pytest
import torch

import camlens.compat.pytorch_grad_cam as compat
from camlens.compat.pytorch_grad_cam.utils import reshape_transforms as ours
from camlens.compat.pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

theirs = pytest.importorskip("pytorch_grad_cam.utils.reshape_transforms")
pgc = pytest.importorskip("pytorch_grad_cam")
torchvision = pytest.importorskip("torchvision")


def test_vit_and_swin_like_pgc() -> None:
    generator = torch.Generator().manual_seed(0)
    tokens = torch.randn(2, 1 + 14 * 14, 8, generator=generator)
    assert torch.equal(ours.vit_reshape_transform(tokens), theirs.vit_reshape_transform(tokens))
    tokens = torch.randn(2, 1 + 3 * 5, 8, generator=generator)
    assert torch.equal(
        ours.vit_reshape_transform(tokens, 3, 5), theirs.vit_reshape_transform(tokens, 3, 5)
    )
    assert ours.vit_reshape_transform(tokens, 3, 5).shape == (2, 8, 3, 5)
    grid = torch.randn(2, 7 * 7, 8, generator=generator)
    assert torch.equal(ours.swinT_reshape_transform(grid), theirs.swinT_reshape_transform(grid))
    grid = torch.randn(2, 2 * 3, 8, generator=generator)
    assert torch.equal(
        ours.swinT_reshape_transform(grid, 2, 3), theirs.swinT_reshape_transform(grid, 2, 3)
    )


def test_fasterrcnn_like_pgc() -> None:
    generator = torch.Generator().manual_seed(0)
    features = OrderedDict(
        (key, torch.randn(1, 4, size, size, generator=generator))
        for key, size in [("0", 16), ("1", 8), ("2", 4), ("pool", 2)]
    )
    mine = ours.fasterrcnn_reshape_transform(features)
    assert mine.shape == (1, 16, 2, 2)
    assert torch.equal(mine, theirs.fasterrcnn_reshape_transform(features))


def test_vit_maps_like_pgc() -> None:
    torch.manual_seed(0)
    model = torchvision.models.VisionTransformer(
        image_size=32,
        patch_size=8,
        num_layers=2,
        num_heads=2,
        hidden_dim=16,
        mlp_dim=32,
        num_classes=10,
    ).eval()
    x = torch.randn(3, 3, 32, 32)
    targets = [ClassifierOutputTarget(c) for c in (1, 5, 9)]
    layer = model.encoder.layers[-1].ln_1
    for name in ("GradCAM", "LayerCAM", "GradCAMPlusPlus"):
        with getattr(compat, name)(
            model, [layer], functools.partial(ours.vit_reshape_transform, height=4, width=4)
        ) as cam:
            mine = cam(x, targets)
        with getattr(pgc, name)(
            model, [layer], functools.partial(theirs.vit_reshape_transform, height=4, width=4)
        ) as cam:
            expected = cam(x, targets)
        assert mine.shape == (3, 32, 32)
        assert np.abs(mine - expected).max() <= 1e-5, name
