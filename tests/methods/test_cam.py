"""CAM by hand: GAP + linear head, map = Σ_k w_k^c A^k with w^c the linear layer's row c."""

import pytest
import torch
from tiny_models import A
from torch import nn

import camlens


class GapLinear(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Identity()
        self.fc = nn.Linear(2, 3)
        with torch.no_grad():
            self.fc.weight.copy_(torch.tensor([[1.0, 0.0], [2.0, -1.0], [0.0, 1.0]]))
            self.fc.bias.zero_()

    def forward(self, x):
        return self.fc(self.features(x).mean(dim=(2, 3)))


def test_cam_hand_computed():
    model = GapLinear().eval()
    e = camlens.CAM(model, "features").explain(A[None], targets=[1])
    # 2·A0 - A1 = [[1, 3], [5, 8]]
    torch.testing.assert_close(e.raw["features"][0], torch.tensor([[1.0, 3.0], [5.0, 8.0]]))


def test_cam_is_gradcam_up_to_the_constant_1_over_z():
    # Grad-CAM generalises CAM: for GAP + linear, α_k^c = w_k^c / Z.
    model = GapLinear().eval()
    x = torch.rand(2, 2, 4, 4)
    cam = camlens.CAM(model, "features").explain(x, targets=[1, 2]).raw["features"]
    grad = camlens.GradCAM(model, "features").explain(x, targets=[1, 2]).raw["features"]
    torch.testing.assert_close(cam / 16, grad)


def test_cam_rejects_non_class_targets_and_mismatched_layers(small_cnn, images):
    with pytest.raises(camlens.TargetError):
        camlens.CAM(small_cnn, "conv3")(images, targets=[lambda out: out.sum()])
    with pytest.raises(camlens.LayerNotFoundError, match="takes 16 features"):
        camlens.CAM(small_cnn, "conv1")(images)
