"""Layers that return dicts/tuples, and models that return per-image dicts (detection)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import camlens


class Pyramid(nn.Module):
    """Returns a dict of two levels, like an FPN backbone."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 4, 3, padding=1)
        self.c2 = nn.Conv2d(4, 4, 3, padding=1, stride=2)

    def forward(self, x):
        a = self.c1(x)
        return {"0": a, "1": self.c2(a)}


class Detector(nn.Module):
    """Returns a list of per-image dicts with a differentiable 'scores' entry."""

    def __init__(self):
        super().__init__()
        self.backbone = Pyramid()
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        levels = self.backbone(x)
        pooled = torch.cat([levels["0"].mean((2, 3)), levels["1"].mean((2, 3))], dim=1)
        scores = self.head(pooled)
        return [{"scores": s, "labels": torch.arange(3)} for s in scores]


def fpn_reshape(levels):
    size = levels["0"].shape[-2:]
    return torch.cat([F.interpolate(v, size=size, mode="bilinear") for v in levels.values()], 1)


def test_dict_output_layer_with_reshape_transform_gets_gradients_for_every_level():
    torch.manual_seed(0)
    model = Detector().eval()
    x = torch.randn(2, 3, 8, 8)
    target = lambda out: out["scores"][1]  # noqa: E731
    e = camlens.GradCAM(model, "backbone", reshape_transform=fpn_reshape).explain(x, [target])
    assert e.raw["backbone"].shape == (2, 8, 8) and torch.isfinite(e.maps).all()
    # by hand: level gradients are the head's weights / positions, constant over each level
    levels = model.backbone(x)
    w = model.head.weight[1]
    alpha = torch.cat([w[:4] / 64, w[4:] / 16])  # mean over 8x8 and 4x4 positions
    upsampled = fpn_reshape({k: v.detach() for k, v in levels.items()})
    # Grad-CAM's α is the mean of the reshaped gradient: level 1's gradient, upsampled from 4x4 to
    # 8x8, is still the constant w/16
    expected = torch.relu((alpha[None, :, None, None] * upsampled).sum(1))
    torch.testing.assert_close(e.raw["backbone"], expected)
    assert e.outputs[0]["scores"].shape == (3,)


def test_dict_output_without_reshape_transform_is_a_clear_error():
    model = Detector().eval()
    with pytest.raises(camlens.LayerOutputError, match="reshape_transform="):
        camlens.GradCAM(model, "backbone")(torch.randn(1, 3, 8, 8), [lambda o: o["scores"][0]])


def test_per_image_outputs_need_explicit_targets():
    model = Detector().eval()
    with pytest.raises(camlens.TargetError, match="pass targets="):
        camlens.GradCAM(model, "backbone.c1")(torch.randn(1, 3, 8, 8))


def test_tuple_output_with_one_tensor_is_used_automatically():
    class TupleBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)

        def forward(self, x):
            return (self.conv(x), None)  # like a transformer layer returning (hidden, attn)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = TupleBlock()
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            return self.fc(self.block(x)[0].mean((2, 3)))

    torch.manual_seed(0)
    model = Model().eval()
    x = torch.randn(2, 3, 6, 6)
    e = camlens.GradCAM(model, "block").explain(x, [1])
    reference = camlens.GradCAM(model, "block.conv").explain(x, [1])
    torch.testing.assert_close(e.raw["block"], reference.raw["block.conv"])
