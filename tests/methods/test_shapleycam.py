"""Shapley-CAM: a quadratic tail by hand, = Grad-CAM for a linear tail, token layers against an
independent Hessian-vector product, and pytorch-grad-cam's ShapleyCAM on a random ResNet-18."""

import copy
import functools

import numpy as np
import pytest
import torch
from tiny_models import A, G
from torch import nn

import camlens
from camlens.core.errors import CamlensError
from camlens.core.postprocess import fuse_pytorch_grad_cam
from camlens.methods.gradcam import GradCAM
from camlens.methods.shapleycam import ReSTTarget, ShapleyCAM

torchvision = pytest.importorskip("torchvision")

V = torch.tensor([[[0.5, 0.0], [1.0, 0.0]], [[0.0, 1.0], [0.0, 0.5]]])


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Many small ops: on a busy 2-core machine a second intra-op thread mostly spins (the
    torchvision comparisons run 5-20x slower with two). One thread here, restored after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


class Quadratic(nn.Module):
    """y_c = Σ W_c·A + ½ (V·A)² with A = features(x): ∂y/∂A = W_c + s V, H·A = s V (s = V·A)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Identity()
        self.weight = nn.Parameter(torch.stack([G, -G]))
        self.v = nn.Parameter(V.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.features(x)
        s = torch.einsum("bkij,kij->b", a, self.v)
        return torch.einsum("bkij,ckij->bc", a, self.weight) + 0.5 * s[:, None] ** 2


def test_shapleycam_quadratic_tail_by_hand():
    # s = V·A = 0.5·1 + 1·3 + 1·1 + 0.5·0 = 4.5; ∂y0/∂A - ½ H·A = G + s V - ½ s V = G + 2.25 V.
    # Channel means: G -> (0.5, 0.5), V -> (0.375, 0.375): w = 0.5 + 2.25·0.375 = 1.34375 each.
    model = Quadratic().eval()
    e = ShapleyCAM(model, "features").explain(A[None].clone(), targets=[0])
    w = 0.5 + 2.25 * 0.375
    torch.testing.assert_close(e.raw["features"][0], w * (A[0] + A[1]))
    # Grad-CAM of the same score uses G + s V: w = 0.5 + 4.5·0.375.
    g = GradCAM(model, "features").explain(A[None].clone(), targets=[0]).raw["features"][0]
    torch.testing.assert_close(g, (0.5 + 4.5 * 0.375) * (A[0] + A[1]))


def test_shapleycam_is_gradcam_for_a_linear_tail(readout):
    model, x = readout
    shapley = ShapleyCAM(model, "features").explain(x, targets=[0]).raw["features"]
    gradcam = GradCAM(model, "features").explain(x, targets=[0]).raw["features"]
    torch.testing.assert_close(shapley, gradcam)


def test_shapleycam_forms_no_parameter_gradient(small_cnn, images):
    ShapleyCAM(small_cnn, "conv2").explain(images[:2], targets=[ReSTTarget(3)])
    assert all(p.grad is None and p.requires_grad for p in small_cnn.parameters())


def test_shapleycam_differentiable_map_has_a_graph(small_cnn, images):
    x = images[:1].clone().requires_grad_(True)
    maps = ShapleyCAM(small_cnn, "conv2", differentiable=True)(x, [ReSTTarget(3)])
    (grad,) = torch.autograd.grad(maps.sum(), x)
    assert grad.shape == x.shape


def test_rest_target_is_logit_plus_log_softmax():
    out = torch.tensor([1.0, 2.0, 0.5])
    expected = out[1] + torch.log_softmax(out, 0)[1]
    torch.testing.assert_close(ReSTTarget(1)(out), expected)


class TinyViT(nn.Module):
    """Patch embedding, one class token, a GELU MLP block (the target layer) on tokens."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Conv2d(3, 6, 4, stride=4)
        self.cls = nn.Parameter(torch.randn(1, 1, 6))
        self.block = nn.Sequential(nn.Linear(6, 12), nn.GELU(), nn.Linear(12, 6))
        self.head = nn.Sequential(nn.Linear(6, 6), nn.Tanh(), nn.Linear(6, 5))

    def tail(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(tokens.mean(dim=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.embed(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls.expand(x.shape[0], -1, -1), tokens], dim=1)
        return self.tail(self.block(tokens))


def test_shapleycam_on_tokens_matches_an_independent_hessian_vector_product():
    model = TinyViT().eval()
    x = torch.randn(2, 3, 8, 12, generator=torch.Generator().manual_seed(2))
    e = ShapleyCAM(model, "block").explain(x, targets=[1, 3])
    with torch.no_grad():
        tokens = model.embed(x).flatten(2).transpose(1, 2)
        tokens = model.block(torch.cat([model.cls.expand(2, -1, -1), tokens], dim=1))
    expected = []
    for b, c in enumerate((1, 3)):

        def score(t, b=b, c=c):
            return model.tail(t[None])[0, c]

        grad = torch.autograd.functional.jacobian(score, tokens[b])
        _, hvp = torch.autograd.functional.hvp(score, tokens[b], tokens[b])
        shapley = (grad - 0.5 * hvp)[1:]  # drop the class token, as the grid does
        weights = shapley.mean(dim=0)  # (D,)
        grid = tokens[b, 1:].T.reshape(6, 2, 3)
        expected.append(torch.relu((weights[:, None, None] * grid).sum(0)))
    torch.testing.assert_close(e.raw["block"], torch.stack(expected), rtol=1e-4, atol=1e-6)


def test_shapleycam_in_camlens_explain_runs_on_its_own(small_cnn, images):
    x = images[:2]
    for order in ([ShapleyCAM, GradCAM], [GradCAM, ShapleyCAM]):
        results = camlens.explain(small_cnn, x, order, "conv2", [ReSTTarget(1)])
        alone = GradCAM(small_cnn, "conv2")(x, [ReSTTarget(1)])
        torch.testing.assert_close(results["GradCAM"].maps, alone)
        shapley = ShapleyCAM(small_cnn, "conv2")(x, [ReSTTarget(1)])
        torch.testing.assert_close(results["ShapleyCAM"].maps, shapley)
    with pytest.raises(CamlensError, match="ShapleyCAM"):  # a plain capture is still refused
        ShapleyCAM(small_cnn, "conv2").explanations(
            GradCAM(small_cnn, "conv2").adapter.capture(x, [[ReSTTarget(1)]])
        )


@functools.cache
def _resnet(dtype: torch.dtype) -> torch.nn.Module:
    torch.manual_seed(0)
    return copy.deepcopy(torchvision.models.resnet18(num_classes=10).eval()).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shapleycam_matches_pytorch_grad_cam(dtype):
    pgc = pytest.importorskip("pytorch_grad_cam")
    targets = pytest.importorskip("pytorch_grad_cam.utils.model_targets")
    model = _resnet(dtype)
    x = torch.randn(2, 3, 48, 48, generator=torch.Generator().manual_seed(1)).to(dtype)
    # ReST (log-softmax) makes the Hessian of the ReLU network's tail non-zero.
    theirs = pgc.ShapleyCAM(model, [model.layer3])(
        x, [targets.ClassifierOutputReST(c) for c in (1, 7)]
    )
    cam = ShapleyCAM(model, "layer3")
    cam.fuse = fuse_pytorch_grad_cam
    ours = cam(x, [ReSTTarget(1), ReSTTarget(7)]).numpy()
    assert np.abs(theirs - ours).max() < 1e-5
    gradcam = GradCAM(model, "layer3")
    gradcam.fuse = fuse_pytorch_grad_cam
    assert np.abs(gradcam(x, [ReSTTarget(1), ReSTTarget(7)]).numpy() - ours).max() > 1e-3
