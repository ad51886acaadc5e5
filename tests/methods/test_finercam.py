"""Finer-CAM: contrastive gradients by hand on a linear readout, the choice of comparison classes,
and pytorch-grad-cam's / torchcam's FinerCAM on a random ResNet-18."""

import copy
import functools

import numpy as np
import pytest
import torch
from tiny_models import A, Readout

import camlens
from camlens.core.errors import CamlensError
from camlens.core.postprocess import fuse_pytorch_grad_cam, normalize
from camlens.methods.finercam import FinerCAM, FinerTarget
from camlens.methods.gradcam import GradCAM
from camlens.methods.layercam import LayerCAM

torchvision = pytest.importorskip("torchvision")

# Readout with 4 classes; W[c] = c-th 2×2×2 block. Logits y_c = Σ W_c·A with A from tiny_models:
# channel sums ΣA0 = 10, ΣA1 = 3.
W = torch.stack(
    [
        torch.stack([torch.full((2, 2), 1.0), torch.full((2, 2), 0.0)]),  # y0 = 10
        torch.stack([torch.full((2, 2), 0.5), torch.full((2, 2), 1.0)]),  # y1 = 8
        torch.stack([torch.full((2, 2), 0.0), torch.full((2, 2), 3.0)]),  # y2 = 9
        torch.stack([torch.full((2, 2), -1.0), torch.full((2, 2), 0.0)]),  # y3 = -10
    ]
)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Many small ops: on a busy 2-core machine a second intra-op thread mostly spins (the
    torchvision comparisons run 5-20x slower with two). One thread here, restored after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _model():
    return Readout(W).eval()


def test_comparison_classes_are_the_closest_logits():
    t = FinerTarget(ranks=(1, 2)).resolve(torch.tensor([10.0, 8.0, 9.0, -10.0]))
    assert (t.category, t.comparisons) == (0, [2, 1])
    t = FinerTarget(3, ranks=(1,)).resolve(torch.tensor([10.0, 8.0, 9.0, -10.0]))
    assert (t.category, t.comparisons) == (3, [1])


def test_finercam_mean_weighting_by_hand():
    # y0 - 0.5·mean(y2, y1): ∂/∂A = W0 - 0.25 (W2 + W1) -> channel means 1 - 0.125 = 0.875 and
    # -0.25·(3 + 1) = -1; map = ReLU(0.875 A0 - A1).
    cam = FinerCAM(_model(), "features", alpha=0.5, ranks=(1, 2), weighting="mean")
    e = cam.explain(A[None].clone())
    assert (e.targets[0].category, e.targets[0].comparisons) == (0, [2, 1])
    expected = torch.relu(0.875 * A[0] - A[1])
    torch.testing.assert_close(e.raw["features"][0], expected)


def test_finercam_softmax_weighting_one_comparison_by_hand():
    # One comparison: p2 (y0 - α y2) / (p2 + 1e-9) has gradient W0 - α W2 up to O(1e-9 / p2).
    cam = FinerCAM(_model(), "features", alpha=0.2, ranks=(1,))
    e = cam.explain(A[None].clone(), targets=[0])
    expected = torch.relu(1.0 * A[0] - 0.6 * A[1])
    torch.testing.assert_close(e.raw["features"][0], expected, rtol=1e-5, atol=1e-5)


def test_explicit_finer_target_and_topk():
    cam = FinerCAM(_model(), "features")
    e = cam.explain(A[None].clone(), targets=[FinerTarget(1, [3], alpha=1.0, weighting="mean")])
    # W1 - W3 -> channel means 1.5, 1
    torch.testing.assert_close(e.raw["features"][0], 1.5 * A[0] + A[1])
    top = cam.topk(A[None].clone(), k=2)
    assert top.indices.tolist() == [[0, 2]]


@functools.cache
def _resnet(dtype: torch.dtype) -> torch.nn.Module:
    torch.manual_seed(0)
    return copy.deepcopy(torchvision.models.resnet18(num_classes=20).eval()).to(dtype)


def _batch(dtype):
    return torch.randn(2, 3, 48, 48, generator=torch.Generator().manual_seed(1)).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_finercam_matches_pytorch_grad_cam(dtype):
    pgc = pytest.importorskip("pytorch_grad_cam")
    targets = pytest.importorskip("pytorch_grad_cam.utils.model_targets")
    model, x = _resnet(dtype), _batch(dtype)

    def ours(**kwargs):
        cam = FinerCAM(model, "layer3", **kwargs)
        cam.base.fuse = fuse_pytorch_grad_cam
        return cam

    theirs = pgc.FinerCAM(model, [model.layer3])(x)
    assert np.abs(theirs - ours()(x).numpy()).max() < 1e-5
    theirs = pgc.FinerCAM(model, [model.layer3], base_method=pgc.LayerCAM)(
        x, target_idx=5, alpha=0.5, comparison_categories=[1, 4]
    )
    got = ours(base_method=LayerCAM, alpha=0.5, ranks=(1, 4))(x, 5).numpy()
    assert np.abs(theirs - got).max() < 1e-5
    theirs = pgc.FinerCAM(model, [model.layer3])(
        x, [targets.FinerWeightedTarget(2, [3, 4], 0.7), targets.FinerWeightedTarget(0, [9], 1)]
    )
    got = ours()(x, [FinerTarget(2, [3, 4], alpha=0.7), FinerTarget(0, [9])]).numpy()
    assert np.abs(theirs - got).max() < 1e-5


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_finercam_matches_torchcam(dtype):
    torchcam = pytest.importorskip("torchcam.methods")
    model, x = _resnet(dtype), _batch(dtype)
    with torchcam.FinerCAM(model, "layer3", input_shape=(3, 48, 48)) as extractor:
        scores = model(x)
        theirs = extractor([4, 11], scores)[0]
    cam = FinerCAM(model, "layer3", base_method=GradCAM, alpha=0.6, weighting="mean")
    raw = cam.explain(x, [4, 11]).raw["layer3"]
    assert (normalize(raw, eps=1e-8) - theirs).abs().max() < 1e-5


def test_finercam_in_camlens_explain_runs_on_its_own(small_cnn, images):
    results = camlens.explain(small_cnn, images[:1], [GradCAM, FinerCAM], "conv3")
    alone = FinerCAM(small_cnn, "conv3")(images[:1])
    torch.testing.assert_close(results["FinerCAM"].maps, alone)
    with pytest.raises(CamlensError, match="FinerCAM"):  # a plain shared capture is refused
        FinerCAM(small_cnn, "conv3").explanations(
            GradCAM(small_cnn, "conv3").adapter.capture(images[:1], [None])
        )
