"""Smooth Grad-CAM++: = Grad-CAM++ for a linear readout (the noise changes no gradient), torchcam's
convention by hand (last noisy activations), the noise draws, and torchcam's SmoothGradCAMpp."""

import copy
import functools

import pytest
import torch

import camlens
from camlens.core.errors import CamlensError
from camlens.core.postprocess import normalize
from camlens.methods.gradcam_plusplus import GradCAMPlusPlus
from camlens.methods.smoothgradcampp import SmoothGradCAMPlusPlus

torchvision = pytest.importorskip("torchvision")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Many small ops: on a busy 2-core machine a second intra-op thread mostly spins (the
    torchvision comparisons run 5-20x slower with two). One thread here, restored after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def test_linear_readout_gives_grad_cam_plus_plus(readout):
    # ∂y/∂A = G whatever the noise: D_p = G^p and the clean A is used, so the map is Grad-CAM++.
    model, x = readout
    smooth = SmoothGradCAMPlusPlus(model, "features", num_samples=3, std=0.5)
    e = smooth.explain(x, targets=[0])
    expected = GradCAMPlusPlus(model, "features").explain(x, targets=[0]).raw["features"]
    torch.testing.assert_close(e.raw["features"], expected)


def test_torchcam_convention_uses_the_last_noisy_activations(readout):
    # Readout: A = x, so the last sample's activations are x + ε_n. With g = G constant:
    # α = G² / (2G² + Σ_ab(G³ ⊙ A_clean) + 1e-8), w = Σ α ReLU(G), map = Σ_k w_k (x + ε_n)_k.
    model, x = readout
    cam = SmoothGradCAMPlusPlus(
        model,
        "features",
        num_samples=2,
        std=0.1,
        convention="torchcam",
        generator=torch.Generator().manual_seed(5),
    )
    raw = cam.explain(x, targets=[0]).raw["features"][0]
    generator = torch.Generator().manual_seed(5)
    noise = [0.1 * torch.randn(x.shape, generator=generator) for _ in range(2)]
    g = model.weight[0]
    alpha = g**2 / (2 * g**2 + (g**3 * x[0]).sum(dim=(1, 2), keepdim=True) + 1e-8)
    w = (alpha * torch.relu(g)).sum(dim=(1, 2))
    expected = torch.relu((w[:, None, None] * (x[0] + noise[-1][0])).sum(0))
    torch.testing.assert_close(raw, expected)


def test_noise_is_one_randn_draw_per_sample():
    cam = SmoothGradCAMPlusPlus(torch.nn.Conv2d(3, 3, 1), "", num_samples=3, std=0.2)
    x = torch.zeros(2, 3, 4, 4, dtype=torch.float64)
    torch.manual_seed(7)
    noise = cam.noise(x)
    torch.manual_seed(7)
    expected = torch.stack([0.2 * torch.randn(2, 3, 4, 4) for _ in range(3)]).double()
    assert noise.dtype == torch.float64
    torch.testing.assert_close(noise, expected)


@functools.cache
def _resnet(dtype: torch.dtype) -> torch.nn.Module:
    torch.manual_seed(0)
    return copy.deepcopy(torchvision.models.resnet18(num_classes=10).eval()).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matches_torchcam_with_the_same_seed(dtype):
    torchcam = pytest.importorskip("torchcam.methods")
    model = _resnet(dtype)
    x = torch.randn(2, 3, 48, 48, generator=torch.Generator().manual_seed(1)).to(dtype)
    with torchcam.SmoothGradCAMpp(model, "layer3", num_samples=3, std=0.3) as extractor:
        model(x)
        torch.manual_seed(123)
        theirs = extractor([1, 7])[0]
    cam = SmoothGradCAMPlusPlus(model, "layer3", num_samples=3, std=0.3, convention="torchcam")
    torch.manual_seed(123)
    raw = cam.explain(x, [1, 7]).raw["layer3"]
    assert (normalize(raw, eps=1e-8) - theirs).abs().max() < 1e-5
    # The paper's convention differs from torchcam's on the same noise.
    torch.manual_seed(123)
    paper = SmoothGradCAMPlusPlus(model, "layer3", num_samples=3, std=0.3).explain(x, [1, 7])
    assert (normalize(paper.raw["layer3"], eps=1e-8) - theirs).abs().max() > 1e-2


def test_aug_smooth_and_topk_run(small_cnn, images):
    cam = SmoothGradCAMPlusPlus(small_cnn, "conv3", num_samples=2)
    assert cam(images[:2], aug_smooth=True).shape == (2, 16, 16)
    assert cam.topk(images[:2], k=2).maps.shape == (2, 2, 16, 16)


def test_in_camlens_explain_it_runs_on_its_own(small_cnn, images):
    torch.manual_seed(3)
    results = camlens.explain(
        small_cnn, images[:1], [GradCAMPlusPlus, SmoothGradCAMPlusPlus], "conv3", [2]
    )
    torch.manual_seed(3)
    alone = SmoothGradCAMPlusPlus(small_cnn, "conv3")(images[:1], [2])
    torch.testing.assert_close(results["SmoothGradCAMPlusPlus"].maps, alone)
    with pytest.raises(CamlensError, match="SmoothGradCAMPlusPlus"):  # a plain capture is refused
        SmoothGradCAMPlusPlus(small_cnn, "conv3").explanations(
            GradCAMPlusPlus(small_cnn, "conv3").adapter.capture(images[:1], [[2]])
        )
