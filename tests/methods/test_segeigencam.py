"""Seg-Eigen-CAM by hand on rank-one weighted activations, and against pytorch-grad-cam.

Readout: ∂y^0/∂A = G with G0 = 1, G1 = -2 everywhere, and A1 = A0, so |G| ⊙ A = (A0, 2·A0):
the centred (N, C) matrix is (A0 - mean) ⊗ (1, 2), v1 = ±(1, 2)/√5 and p = ±√5 (A0 - mean).
"""

import copy
import functools
import math

import numpy as np
import pytest
import torch
from tiny_models import Readout

from camlens.core.postprocess import fuse_pytorch_grad_cam
from camlens.methods.segeigencam import SegEigenCAM, projection_with_sign_correction

torchvision = pytest.importorskip("torchvision")

G = torch.stack([torch.ones(2, 2), -2 * torch.ones(2, 2)])


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Many small ops: on a busy 2-core machine a second intra-op thread mostly spins (the
    torchvision comparisons run 5-20x slower with two). One thread here, restored after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _explain(a0: torch.Tensor) -> torch.Tensor:
    model = Readout(torch.stack([G, -G])).eval()
    x = torch.stack([a0, a0])[None]
    return SegEigenCAM(model, "features").explain(x, targets=[0]).raw["features"][0]


def test_segeigencam_hand_computed():
    # A0 - mean = [-1, -1, -1, 3]: the larger extreme is +3 -> p = √5·[-1, -1, -1, 3].
    raw = _explain(torch.tensor([[0.0, 0.0], [0.0, 4.0]]))
    torch.testing.assert_close(raw, torch.tensor([[0.0, 0.0], [0.0, 3 * math.sqrt(5)]]))


def test_segeigencam_sign_makes_the_larger_extreme_positive():
    # A0 - mean = [1, 1, 1, -3]: |min| > |max|, so the map is flipped and the single low
    # position is the salient one (eq. 13), unlike Eigen-CAM's "agree with A" rule.
    raw = _explain(torch.tensor([[4.0, 4.0], [4.0, 0.0]]))
    torch.testing.assert_close(raw, torch.tensor([[0.0, 0.0], [0.0, 3 * math.sqrt(5)]]))


def test_projection_is_batched_and_ignores_nan():
    a = torch.randn(3, 4, 5, 5, generator=torch.Generator().manual_seed(0))
    batched = projection_with_sign_correction(a)
    single = torch.cat([projection_with_sign_correction(a[i : i + 1]) for i in range(3)])
    torch.testing.assert_close(batched, single)
    a[0, 0, 0, 0] = float("nan")
    assert torch.isfinite(projection_with_sign_correction(a)).all()


@functools.cache
def _resnet(dtype: torch.dtype) -> torch.nn.Module:
    torch.manual_seed(0)
    return copy.deepcopy(torchvision.models.resnet18(num_classes=10).eval()).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_segeigencam_matches_pytorch_grad_cam(dtype):
    pgc = pytest.importorskip("pytorch_grad_cam")
    targets = pytest.importorskip("pytorch_grad_cam.utils.model_targets")
    model = _resnet(dtype)
    x = torch.randn(2, 3, 48, 48, generator=torch.Generator().manual_seed(1)).to(dtype)
    theirs = pgc.SegEigenCAM(model, [model.layer3])(
        x, [targets.ClassifierOutputTarget(c) for c in (1, 7)]
    )
    cam = SegEigenCAM(model, "layer3")
    cam.fuse = fuse_pytorch_grad_cam
    assert np.abs(theirs - cam(x, [1, 7]).numpy()).max() < 1e-5
