"""FEM by hand (k = 1) and against pytorch-grad-cam's FEM.

Channel 0 = [[0, 0], [0, 4]]: μ = 1, σ = √3, threshold 1 + √3 ≈ 2.73 -> only (1, 1) passes.
Channel 1 = [[1, 1], [1, 1]]: σ = 0, threshold 1, nothing is > 1 -> empty mask.
Paper: L = μ0·M0 + μ1·M1 = 1 at (1, 1). pytorch-grad-cam: L = (1/4)·A0 + 0·A1.
"""

import copy
import functools

import numpy as np
import pytest
import torch
from tiny_models import Readout

from camlens.core.postprocess import fuse_pytorch_grad_cam
from camlens.methods.fem import FEM, fem_masks

torchvision = pytest.importorskip("torchvision")

X = torch.tensor([[[[0.0, 0.0], [0.0, 4.0]], [[1.0, 1.0], [1.0, 1.0]]]])


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Many small ops: on a busy 2-core machine a second intra-op thread mostly spins (the
    torchvision comparisons run 5-20x slower with two). One thread here, restored after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _readout():
    return Readout(torch.zeros(3, 2, 2, 2)).eval()


def test_fem_paper_hand_computed():
    e = FEM(_readout(), "features", k=1.0).explain(X)
    torch.testing.assert_close(e.raw["features"][0], torch.tensor([[0.0, 0.0], [0.0, 1.0]]))


def test_fem_pytorch_grad_cam_weighting_hand_computed():
    e = FEM(_readout(), "features", k=1.0, weighting="pytorch-grad-cam").explain(X)
    torch.testing.assert_close(e.raw["features"][0], torch.tensor([[0.0, 0.0], [0.0, 1.0]]))
    # Channel 0 = [[0, 2], [0, 6]], k = 0: μ0 = 2, only 6 is > 2 -> fraction 1/4.
    # pytorch-grad-cam: A0 / 4; paper: μ0 · M0 = 2 at (1, 1).
    x = X.clone()
    x[0, 0] = torch.tensor([[0.0, 2.0], [0.0, 6.0]])
    pgc = FEM(_readout(), "features", k=0.0, weighting="pytorch-grad-cam").explain(x)
    torch.testing.assert_close(pgc.raw["features"][0], torch.tensor([[0.0, 0.5], [0.0, 1.5]]))
    paper = FEM(_readout(), "features", k=0.0).explain(x)
    torch.testing.assert_close(paper.raw["features"][0], torch.tensor([[0.0, 0.0], [0.0, 2.0]]))


def test_fem_masks_use_population_std():
    masks, means = fem_masks(X, k=1.0)
    torch.testing.assert_close(means, torch.tensor([[1.0, 1.0]]))
    assert masks.sum().item() == 1.0
    # σ with ddof=1 would be 2 and the threshold 3 < 4: the same here; at k = 1.6 they differ
    # (population: 1 + 1.6·√3 ≈ 3.77 < 4 passes; sample: 1 + 3.2 = 4.2 does not).
    masks, _ = fem_masks(X, k=1.6)
    assert masks[0, 0, 1, 1] == 1


def test_fem_needs_no_gradients(small_cnn, images):
    cam = FEM(small_cnn, "conv3")
    assert not cam.uses_gradients
    with torch.no_grad():
        assert cam(images).shape == (4, 16, 16)


@functools.cache
def _resnet(dtype: torch.dtype) -> torch.nn.Module:
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10).eval()
    return copy.deepcopy(model).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fem_matches_pytorch_grad_cam(dtype):
    pgc = pytest.importorskip("pytorch_grad_cam")
    model = _resnet(dtype)
    x = torch.randn(2, 3, 48, 48, generator=torch.Generator().manual_seed(1)).to(dtype)
    theirs = pgc.FEM(model, [model.layer3])(x, None)
    cam = FEM(model, "layer3", weighting="pytorch-grad-cam")
    cam.fuse = fuse_pytorch_grad_cam
    ours = cam(x).numpy()
    assert np.abs(theirs - ours).max() < 1e-5
    # the paper's weighting gives a different map on the same activations
    assert np.abs(FEM(model, "layer3")(x).numpy() - ours).max() > 1e-2
