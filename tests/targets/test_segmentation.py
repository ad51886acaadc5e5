"""Segmentation targets: the score by hand and against pytorch-grad-cam, receptive fields, and
Grad-CAM on torchvision's DeepLabV3 / FCN / LR-ASPP and a small U-Net (random weights)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import camlens
from camlens.methods.gradcam import GradCAM
from camlens.methods.hirescam import HiResCAM
from camlens.targets.segmentation import SegmentationTarget

SIZE = 32


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Detection/segmentation networks run many tiny ops: on a busy 2-core machine, a second
    intra-op thread mostly spins. One thread here; the previous setting is restored after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


class SmallUNet(nn.Module):
    """Two levels: enc (H²) -> down -> bottleneck ((H/2)²) -> up -> cat skip -> dec -> 1x1 head."""

    def __init__(self, classes: int = 3, width: int = 8) -> None:
        super().__init__()
        self.enc = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU())
        self.down = nn.MaxPool2d(2)
        self.bottleneck = nn.Sequential(nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU())
        self.up = nn.ConvTranspose2d(2 * width, width, 2, stride=2)
        self.dec = nn.Sequential(nn.Conv2d(2 * width, width, 3, padding=1), nn.ReLU())
        self.head = nn.Conv2d(width, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.enc(x)
        deep = self.up(self.bottleneck(self.down(skip)))
        return self.head(self.dec(torch.cat([skip, deep], dim=1)))


class TwoConvFCN(nn.Module):
    """features (= the input) -> conv3x3 -> tanh -> conv3x3 -> logits: a receptive field of 5x5."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Identity()
        self.conv1 = nn.Conv2d(2, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 2, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(torch.tanh(self.conv1(self.features(x))))


def test_segmentation_target_by_hand_and_like_pytorch_grad_cam():
    from pytorch_grad_cam.utils.model_targets import SemanticSegmentationTarget

    torch.manual_seed(0)
    out = torch.randn(3, 4, 5)
    mask = np.zeros((4, 5), dtype=np.float32)
    mask[1:3, 2:4] = 1.0
    expected = out[2, 1:3, 2:4].sum()
    torch.testing.assert_close(SegmentationTarget(2, mask)(out), expected)
    torch.testing.assert_close(SegmentationTarget(2, mask.astype(bool))(out), expected)
    torch.testing.assert_close(SegmentationTarget(2, torch.from_numpy(mask))(out), expected)
    torch.testing.assert_close(
        SegmentationTarget(2, mask)(out), SemanticSegmentationTarget(2, mask)(out)
    )
    torch.testing.assert_close(SegmentationTarget(1)(out), out[1].sum())  # no mask: all pixels
    predicted = SegmentationTarget.predicted(out, 0)
    torch.testing.assert_close(predicted(out), out[0][out.argmax(0) == 0].sum())
    # 3-D outputs (classes, D, H, W) work the same way
    vol = torch.randn(2, 2, 3, 3)
    vmask = torch.zeros(2, 3, 3, dtype=torch.bool)
    vmask[1, 2, 0] = True
    torch.testing.assert_close(SegmentationTarget(1, vmask)(vol), vol[1, 1, 2, 0])


def test_segmentation_target_errors():
    out = torch.zeros(3, 4, 4)
    with pytest.raises(camlens.TargetError, match="out of range"):
        SegmentationTarget(3)(out)
    with pytest.raises(camlens.TargetError, match="mask has shape"):
        SegmentationTarget(0, torch.ones(5, 5))(out)
    with pytest.raises(camlens.TargetError, match="int >= 0"):
        SegmentationTarget(-1)
    with pytest.raises(camlens.TargetError, match=r"\(classes, \*spatial\)"):
        SegmentationTarget(0)(torch.zeros(3))


def test_map_of_a_pixel_is_zero_outside_its_receptive_field():
    torch.manual_seed(0)
    model = TwoConvFCN().eval()
    x = torch.randn(1, 2, 12, 12)
    mask = torch.zeros(12, 12)
    mask[6, 5] = 1.0
    # HiResCAM: Σ_k G_k ⊙ A_k; G = ∂(logit at (6, 5))/∂x vanishes beyond two 3x3 convs (±2 px)
    raw = HiResCAM(model, "features").explain(x, [SegmentationTarget(1, mask)]).raw["features"][0]
    inside = torch.zeros(12, 12, dtype=torch.bool)
    inside[4:9, 3:8] = True
    assert torch.equal(raw[~inside], torch.zeros(int((~inside).sum())))
    # and the field is not smaller: its border (distance exactly 2) has gradient
    x.requires_grad_(True)
    grad = torch.autograd.grad(model(x)[0, 1, 6, 5], x)[0][0].abs().sum(0)
    assert grad[4, 3] > 0 and grad[8, 7] > 0 and grad[6, 3] > 0 and grad[6, 7] > 0
    assert torch.equal(grad[~inside], torch.zeros(int((~inside).sum())))


def test_unet_layer_before_a_1x1_head_maps_only_the_region():
    torch.manual_seed(0)
    model = SmallUNet().eval()
    x = torch.rand(1, 3, SIZE, SIZE)
    mask = torch.zeros(SIZE, SIZE)
    mask[8:12, 20:26] = 1.0
    # the head is 1x1: ∂(Σ_mask y^c)/∂dec is zero off the mask, so HiResCAM's map is too
    e = HiResCAM(model, "dec").explain(x, [SegmentationTarget(0, mask)])
    assert torch.equal(e.raw["dec"][0][mask == 0], torch.zeros(int((mask == 0).sum())))
    assert e.raw["dec"][0][mask == 1].abs().max() > 0
    with torch.no_grad():
        torch.testing.assert_close(e.scores, (model(x)[0, 0] * mask).sum()[None])
    # Grad-CAM at the bottleneck (16x16): a (1, 32, 32) map in [0, 1]
    g = GradCAM(model, "bottleneck").explain(x, [SegmentationTarget(0, mask)])
    assert g.raw["bottleneck"].shape == (1, 16, 16) and g.maps.shape == (1, SIZE, SIZE)
    assert bool(torch.isfinite(g.maps).all()) and g.maps.min() >= 0 and g.maps.max() <= 1


def _fcn_resnet18() -> nn.Module:
    """torchvision's FCN on a ResNet-18 (its builders only offer ResNet-50/101)."""
    from torchvision.models import resnet18
    from torchvision.models._utils import IntermediateLayerGetter
    from torchvision.models.segmentation.fcn import FCN, FCNHead

    backbone = IntermediateLayerGetter(resnet18(), {"layer4": "out"})
    return FCN(backbone, FCNHead(512, 3))


@pytest.mark.parametrize(
    ("builder", "layer"),
    [
        ("deeplabv3_mobilenet_v3_large", "backbone.16"),
        ("fcn", "backbone.layer4"),
        ("lraspp_mobilenet_v3_large", "backbone.16"),
    ],
)
def test_gradcam_on_torchvision_segmentation_models(builder, layer):
    from torchvision.models import segmentation

    torch.manual_seed(0)
    if builder == "fcn":
        model = _fcn_resnet18()
    else:
        model = getattr(segmentation, builder)(weights=None, weights_backbone=None, num_classes=3)
    model.eval()
    x = torch.rand(1, 3, 48, 48)
    with torch.no_grad():
        out = model(x)["out"]
    assert out.shape == (1, 3, 48, 48)
    target = SegmentationTarget.predicted(out[0], 1)
    e = GradCAM(model, layer).explain(x, [target])
    assert e.maps.shape == (1, 48, 48)
    assert bool(torch.isfinite(e.maps).all()) and e.maps.min() >= 0 and e.maps.max() <= 1
    expected = out[0, 1][out[0].argmax(0) == 1].sum()
    torch.testing.assert_close(e.scores, expected[None], rtol=1e-4, atol=1e-4)
