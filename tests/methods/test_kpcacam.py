"""KPCA-CAM: by hand on two positions, = Eigen-CAM for the linear kernel, = scikit-learn's
KernelPCA (every kernel, dense and ARPACK sizes), = pytorch-grad-cam's KPCA_CAM."""

import copy
import functools
import math

import numpy as np
import pytest
import torch
from tiny_models import Readout

from camlens.core.postprocess import fuse_pytorch_grad_cam
from camlens.methods.eigencam import EigenCAM
from camlens.methods.kpcacam import KERNELS, KPCACAM, kernel_pca_projection

torchvision = pytest.importorskip("torchvision")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Many small ops: on a busy 2-core machine a second intra-op thread mostly spins (the
    torchvision comparisons run 5-20x slower with two). One thread here, restored after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def test_kpcacam_two_positions_by_hand():
    # Positions (1, 0) and (3, 2): centred ±(1, 1), γ = 1/2, sigmoid kernel tanh(γ x·y + 1):
    # K = [[tanh 2, tanh 0], [tanh 0, tanh 2]]; centred K̃ = a [[1, -1], [-1, 1]], a = tanh(2)/2,
    # λ1 = 2a, u1 = (1, -1)/√2 -> projection √λ1·u1 = ±√a (1, -1); the activations are larger
    # at position 1, so the sign makes it positive there.
    x = torch.tensor([[[[1.0, 3.0]], [[0.0, 2.0]]]])
    model = Readout(torch.zeros(1, 2, 1, 2)).eval()
    raw = KPCACAM(model, "features").explain(x).raw["features"][0]
    torch.testing.assert_close(raw, torch.tensor([[0.0, math.sqrt(math.tanh(2.0) / 2)]]))


def test_cancelling_channel_sums_take_the_largest_entry_positive_whatever_the_rounding():
    # Channels a and -a (LayerNorm-like) sum to zero at every position: they cannot sign the
    # component, so the entry of largest magnitude is positive, and rounding-sized sums of either
    # sign (±1e-9) do not flip it (as for Eigen-CAM: camlens.core.projection.orient).
    a = torch.tensor([0.0, 1.0, 5.0, 2.0], dtype=torch.float64)
    maps = [
        kernel_pca_projection(torch.stack([a, -a + noise])[None, :, None, :], "rbf", 0.1)[0, 0]
        for noise in (0.0, 1e-9, -1e-9)
    ]
    assert float(maps[0][2]) == float(maps[0].abs().max()) > 0
    for other in maps[1:]:
        torch.testing.assert_close(other, maps[0])


def test_linear_kernel_is_eigencam(small_cnn, images):
    kpca = KPCACAM(small_cnn, "conv3", kernel="linear").explain(images).raw["conv3"]
    eigen = EigenCAM(small_cnn, "conv3").explain(images).raw["conv3"]
    torch.testing.assert_close(kpca, eigen, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("positions", [16, 210])  # 210 > 200: scikit-learn switches to ARPACK
def test_projection_matches_sklearn_kernel_pca(kernel, positions):
    decomposition = pytest.importorskip("sklearn.decomposition")
    a = torch.relu(torch.randn(2, 6, positions, 1, generator=torch.Generator().manual_seed(0)))
    ours = kernel_pca_projection(a.double(), kernel, None, sign="sklearn")
    for b in range(2):
        x = a[b].reshape(6, -1).T.double().numpy()
        x = x - x.mean(axis=0)
        ref = decomposition.KernelPCA(n_components=1, kernel=kernel).fit_transform(x)[:, 0]
        assert np.abs(ref - ours[b, :, 0].numpy()).max() < 1e-10


@functools.cache
def _resnet(dtype: torch.dtype) -> torch.nn.Module:
    torch.manual_seed(0)
    return copy.deepcopy(torchvision.models.resnet18(num_classes=10).eval()).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_kpcacam_matches_pytorch_grad_cam(dtype):
    pgc = pytest.importorskip("pytorch_grad_cam")
    model = _resnet(dtype)
    x = torch.randn(2, 3, 48, 48, generator=torch.Generator().manual_seed(1)).to(dtype)
    theirs = pgc.KPCA_CAM(model, [model.layer3])(x, None)
    cam = KPCACAM(model, "layer3", sign="sklearn")
    cam.fuse = fuse_pytorch_grad_cam
    assert np.abs(theirs - cam(x).numpy()).max() < 1e-5
    rbf = pgc.KPCA_CAM(model, [model.layer3], kernel="rbf", gamma=0.01)(x, None)
    cam = KPCACAM(model, "layer3", kernel="rbf", gamma=0.01, sign="sklearn")
    cam.fuse = fuse_pytorch_grad_cam
    assert np.abs(rbf - cam(x).numpy()).max() < 1e-5


def test_unknown_kernel_is_refused(small_cnn):
    with pytest.raises(ValueError, match="unknown kernel"):
        KPCACAM(small_cnn, "conv3", kernel="laplacian")
