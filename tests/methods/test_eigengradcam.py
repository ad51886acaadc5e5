"""EigenGradCAM by hand: G = (1, -1) per channel on A = (A0, 2·A0): G⊙A = (A0, -2·A0), whose
first component is (1, -2)/√5; the channel sum -A0 anti-correlates with A0, so the sign is
flipped: map = ReLU(-√5·(A0 - 2.5))."""

import math

import torch
from tiny_models import Readout

import camlens

A0 = torch.tensor([[1.0, 2.0], [3.0, 4.0]])


def test_eigengradcam_hand_computed():
    grad = torch.stack([torch.ones(2, 2), -torch.ones(2, 2)])
    model = Readout(grad[None]).eval()
    x = torch.stack([A0, 2 * A0])[None]
    e = camlens.EigenGradCAM(model, "features").explain(x, targets=[0])
    r5 = math.sqrt(5)
    expected = torch.tensor([[1.5 * r5, 0.5 * r5], [0.0, 0.0]])
    torch.testing.assert_close(e.raw["features"][0], expected)
