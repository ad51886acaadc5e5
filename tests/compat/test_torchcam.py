"""camlens.compat.torchcam against torchcam 0.5: its documented usage with only the import
changed, and every extractor camlens provides, to <= 1e-5 on the same model and input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import camlens.compat.torchcam.methods as compat
from camlens.compat.torchcam.utils import overlay_mask

torchcam = pytest.importorskip("torchcam.methods")
torchcam_utils = pytest.importorskip("torchcam.utils")
torchvision = pytest.importorskip("torchvision")
to_pil_image = torchvision.transforms.functional.to_pil_image

GRADIENT = ["GradCAM", "GradCAMpp", "SmoothGradCAMpp", "XGradCAM", "LayerCAM"]
SCORE = ["ScoreCAM", "SSCAM", "ISCAM"]
ALL = ["CAM", *GRADIENT, *SCORE]
OPTIONS = {"SSCAM": {"num_samples": 3, "batch_size": 7}, "ISCAM": {"num_samples": 4}}


class Net(nn.Module):
    """Two conv stages (8×8 then 4×4 maps at a 16×16 input), GAP, one linear layer."""

    def __init__(self) -> None:
        super().__init__()
        self.stage1 = nn.Sequential(nn.Conv2d(3, 6, 3, stride=2, padding=1), nn.ReLU())
        self.stage2 = nn.Sequential(nn.Conv2d(6, 10, 3, stride=2, padding=1), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(10, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.stage2(self.stage1(x))).flatten(1))


@pytest.fixture(scope="module")
def net() -> nn.Module:
    torch.manual_seed(0)
    return Net().eval()


@pytest.fixture(scope="module")
def x() -> torch.Tensor:
    return torch.randn(3, 3, 16, 16, generator=torch.Generator().manual_seed(1))


def maps(module, name, model, x, layers, class_idx, **call) -> list[torch.Tensor]:
    """Run ``module.name`` torchcam-style: hooks on, the user's forward pass, the extractor."""
    with getattr(module, name)(model, layers, **OPTIONS.get(name, {})) as extractor:
        scores = model(x)
        torch.manual_seed(7)  # the noise of SS-CAM / Smooth Grad-CAM++
        return extractor(class_idx, scores, **call)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("normalized", [True, False])
def test_maps_match_torchcam(net, x, name: str, normalized: bool) -> None:
    for class_idx in (2, [0, 4, 1]):
        ours = maps(compat, name, net, x, "stage2", class_idx, normalized=normalized)
        theirs = maps(torchcam, name, net, x, "stage2", class_idx, normalized=normalized)
        assert len(ours) == len(theirs) == 1 and ours[0].shape == theirs[0].shape == (3, 4, 4)
        assert theirs[0].abs().max() > 0
        torch.testing.assert_close(ours[0], theirs[0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", [n for n in ALL if n != "CAM"])
def test_several_layers_and_fuse_cams_match_torchcam(net, x, name: str) -> None:
    layers = ["stage1", net.stage2]
    ours = maps(compat, name, net, x, layers, [1, 1, 3])
    theirs = maps(torchcam, name, net, x, layers, [1, 1, 3])
    assert [m.shape for m in ours] == [m.shape for m in theirs] == [(3, 8, 8), (3, 4, 4)]
    for o, t in zip(ours, theirs, strict=True):
        torch.testing.assert_close(o, t, atol=1e-5, rtol=1e-5)
    fused = getattr(compat, name).fuse_cams(ours)
    torch.testing.assert_close(fused, getattr(torchcam, name).fuse_cams(theirs), atol=1e-5, rtol=0)
    resized = getattr(compat, name).fuse_cams(ours, (16, 16))
    expected = getattr(torchcam, name).fuse_cams(theirs, (16, 16))
    torch.testing.assert_close(resized, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", GRADIENT)
def test_gradient_methods_match_torchcam_on_resnet18(name: str) -> None:
    torch.manual_seed(0)
    model = torchvision.models.resnet18().eval()
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    ours = maps(compat, name, model, x, ["layer3", "layer4"], [5, 900])
    theirs = maps(torchcam, name, model, x, ["layer3", "layer4"], [5, 900])
    for o, t in zip(ours, theirs, strict=True):
        torch.testing.assert_close(o, t, atol=1e-5, rtol=1e-5)


def test_documented_usage_with_only_the_import_changed(net) -> None:
    """torchcam's README: SmoothGradCAMpp(model) without a layer, the user's forward pass,
    ``cam_extractor(class, out)``, and ``overlay_mask`` of a PIL image."""
    img = (torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(3)) * 255).byte()
    input_tensor = torchvision.transforms.functional.normalize(
        img / 255.0, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    )
    results = []
    for methods, utils in ((compat, None), (torchcam, torchcam_utils)):
        with methods.SmoothGradCAMpp(net) as cam_extractor:
            out = net(input_tensor.unsqueeze(0))
            torch.manual_seed(0)
            activation_map = cam_extractor(out.squeeze(0).argmax().item(), out)
        show = overlay_mask if utils is None else utils.overlay_mask
        result = show(to_pil_image(img), to_pil_image(activation_map[0].squeeze(0), mode="F"))
        results.append((activation_map, result))
        assert not net._forward_pre_hooks and not net._forward_hooks  # hooks removed on exit
    (ours_map, ours_img), (theirs_map, theirs_img) = results
    torch.testing.assert_close(ours_map[0], theirs_map[0], atol=1e-5, rtol=1e-5)
    assert ours_img.size == theirs_img.size == (16, 16) and ours_img.mode == "RGB"
    assert np.abs(np.asarray(ours_img, int) - np.asarray(theirs_img, int)).max() <= 1


@pytest.mark.parametrize("alpha", [0.5, 0.7])
@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_overlay_mask_matches_torchcam(mode: str, alpha: float) -> None:
    rng = np.random.default_rng(4)
    img = to_pil_image(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).convert(mode)
    mask = to_pil_image(torch.from_numpy(rng.random((5, 7), dtype=np.float32)), mode="F")
    ours = overlay_mask(img, mask, alpha=alpha)
    theirs = torchcam_utils.overlay_mask(img, mask, alpha=alpha)
    assert ours.mode == theirs.mode and np.array_equal(np.asarray(ours), np.asarray(theirs))
    for bad in ((np.zeros((4, 4)), mask, 0.5), (img, mask, 1.0), (img, mask, 1)):
        for fn in (overlay_mask, torchcam_utils.overlay_mask):
            with pytest.raises((TypeError, ValueError)):
                fn(*bad[:2], alpha=bad[2])


def test_misuse_raises_as_torchcam(net, x) -> None:
    for module in (compat, torchcam):
        with module.GradCAM(net, "stage2") as extractor:
            with pytest.raises(AssertionError):
                extractor(1, torch.zeros(3, 5))  # no forward pass yet
            scores = net(x)
            with pytest.raises(ValueError):
                extractor(None, scores)
            with pytest.raises(ValueError):
                extractor(1)  # gradient methods need the scores
            with pytest.raises(ValueError):
                extractor([1, 2], scores)  # one class per image
            with pytest.raises(ValueError):
                extractor(-1, scores)
        with pytest.raises(ValueError):
            module.CAM(net, ["stage1", "stage2"])
        with pytest.raises(TypeError):
            module.GradCAM(net, 3)
