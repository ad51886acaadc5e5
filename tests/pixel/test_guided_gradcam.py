"""Guided Grad-CAM = guided backprop ⊙ upsampled Grad-CAM.

By hand on the Readout model (tests/tiny_models.py): the target layer is the input itself and
there is no ReLU, so guided backprop is the plain gradient W[0] = G, and Grad-CAM's map at the
input's resolution is ReLU(0.5·A0 + 0.5·A1) = [[1, 1.5], [2, 2]] (normalised: [[0, .5], [1, 1]]).
"""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from tiny_models import G, SmallCNN

from camlens.methods.gradcam import GradCAM
from camlens.pixel.guided_backprop import GuidedBackprop
from camlens.pixel.guided_gradcam import GuidedGradCAM


def test_guided_gradcam_hand_computed(readout):
    model, x = readout
    e = GuidedGradCAM(model, "features").explain(x, 0)
    cam = torch.tensor([[1.0, 1.5], [2.0, 2.0]])
    torch.testing.assert_close(e.extras["gradcam"][0], cam)
    torch.testing.assert_close(e.extras["guided_backprop"][0], G)
    torch.testing.assert_close(e.attributions[0], G * cam)
    normalised = GuidedGradCAM(model, "features", normalize_cam=True)(x, 0)
    torch.testing.assert_close(normalised[0], G * torch.tensor([[0.0, 0.5], [1.0, 1.0]]))


def test_upsampled_bilinearly_and_batched(small_cnn, images):
    e = GuidedGradCAM(small_cnn, "relu2").explain(images, [1, 2, 3, 4])
    assert [t.category for t in e.targets] == [1, 2, 3, 4]
    raw = GradCAM(small_cnn, "relu2").explain(images, [1, 2, 3, 4]).raw["relu2"]  # (4, 8, 8)
    up = F.interpolate(raw[:, None], size=(16, 16), mode="bilinear", align_corners=False)[:, 0]
    torch.testing.assert_close(e.extras["gradcam"], up)
    guided = GuidedBackprop(small_cnn)(images, [1, 2, 3, 4])
    torch.testing.assert_close(e.attributions, guided * up[:, None])


def test_matches_pytorch_grad_cam_example():
    """pytorch-grad-cam's recipe: GuidedBackpropReLUModel(x, c) * GradCAM(x, c)[..., None]."""
    pgc = pytest.importorskip("pytorch_grad_cam")
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    torch.manual_seed(0)
    model = SmallCNN(inplace=True).eval()
    x = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    ours = GuidedGradCAM(model, "relu3", normalize_cam=True)(x, 4)[0].permute(1, 2, 0)
    theirs_model = copy.deepcopy(model)
    cam = pgc.GradCAM(theirs_model, [theirs_model.relu3])(x, [ClassifierOutputTarget(4)])[0]
    gb = pgc.GuidedBackpropReLUModel(copy.deepcopy(model), device="cpu")(x.clone(), 4)
    expected = torch.from_numpy(gb * cam[..., None].astype(np.float32))
    torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-6 * float(expected.abs().max()))
