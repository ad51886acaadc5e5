"""Deep Feature Factorization: a rank-one batch by hand, the torch NMF against scikit-learn's, and
pytorch-grad-cam's DeepFeatureFactorization on a random ResNet-18."""

import copy
import functools
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from camlens.methods.dff import DeepFeatureFactorization, nmf

torchvision = pytest.importorskip("torchvision")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Many small ops: on a busy 2-core machine a second intra-op thread mostly spins (the
    torchvision comparisons run 5-20x slower with two). One thread here, restored after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


class Features(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Identity()
        self.head = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))


def test_rank_one_activations_by_hand():
    # A[b, c] = u_c · v_b with v ≥ 0 holding zeros: every channel's minimum is 0 (no offset), the
    # matrix is u ⊗ v exactly, and one concept reproduces it: H ∝ v, W ∝ u.
    u = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64)
    v = torch.tensor([[[0.0, 1.0], [2.0, 4.0]], [[3.0, 0.0], [1.0, 0.0]]], dtype=torch.float64)
    x = u[None, :, None, None] * v[:, None]
    model = Features().double().eval()
    f = DeepFeatureFactorization(model, "features", computation_on_concepts=model.head)(x, 1)
    w, h = f.concepts[:, 0], f.raw[:, 0]
    torch.testing.assert_close(w[:, None, None, None] * h[None], x.transpose(0, 1))
    torch.testing.assert_close(w / w.norm(), u / u.norm())
    expected = v / v.amax(dim=(1, 2), keepdim=True)  # per image: min 0, max 4 and 3
    torch.testing.assert_close(f.maps[:, 0], expected.float())
    torch.testing.assert_close(f.scores, model.head(f.concepts.T))
    assert f.maps.shape == (2, 1, 2, 2) and f.outputs.shape == (2, 2)


@pytest.mark.parametrize(
    ("dtype", "atol", "shape", "k"),
    [(torch.float64, 1e-12, (24, 40), 3), (torch.float32, 1e-4, (48, 60), 6)],
)
def test_nmf_matches_sklearn(dtype, atol, shape, k):
    decomposition = pytest.importorskip("sklearn.decomposition")
    x = torch.relu(torch.randn(*shape, generator=torch.Generator().manual_seed(0))).to(dtype)
    model = decomposition.NMF(n_components=k, init="random", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter
        w_ref = model.fit_transform(x.numpy())
    w, h, n_iter = nmf(x, k)
    assert n_iter == model.n_iter_
    assert np.abs(w.numpy() - w_ref).max() < atol
    assert np.abs(h.numpy() - model.components_).max() < atol


@functools.cache
def _resnet(dtype: torch.dtype) -> torch.nn.Module:
    torch.manual_seed(0)
    return copy.deepcopy(torchvision.models.resnet18(num_classes=10).eval()).to(dtype)


@pytest.mark.parametrize(("dtype", "atol"), [(torch.float64, 1e-6), (torch.float32, 1e-4)])
def test_dff_matches_pytorch_grad_cam(dtype, atol):
    pgc = pytest.importorskip("pytorch_grad_cam")
    model = _resnet(dtype)
    x = torch.randn(2, 3, 48, 48, generator=torch.Generator().manual_seed(1)).to(dtype)

    def head(concepts):  # pytorch-grad-cam hands the classifier float32 concepts
        return model.fc(concepts.to(dtype))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        concepts, maps, scores = pgc.DeepFeatureFactorization(
            model, model.layer4, computation_on_concepts=head
        )(x, 4)
    for solver in ("torch", "sklearn"):
        f = DeepFeatureFactorization(
            model,
            "layer4",
            computation_on_concepts=model.fc,
            solver=solver,
            normalization="pytorch-grad-cam",
        )(x, 4)
        assert np.abs(concepts - f.concepts.numpy()).max() < atol
        assert np.abs(np.stack(maps) - f.maps.numpy()).max() < atol
        assert np.abs(scores - f.scores.detach().numpy()).max() < atol * 10
