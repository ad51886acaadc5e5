"""Grad-CAM++ by hand (paper eq. 19, eps = 0).

Channel 0: ΣA = 10, g = 1 at two positions: α = 1 / (2 + 10) = 1/12 -> w0 = 2/12 = 1/6.
Channel 1: ΣA = 3, g = 2 at two positions: α = 4 / (8 + 3·8) = 1/8, ReLU(g) = 2 -> w1 = 1/2;
g = -1 positions add nothing (ReLU). Map = A0/6 + A1/2.
"""

import pytest
import torch

import camlens


def test_gradcam_plusplus_hand_computed(readout):
    model, x = readout
    e = camlens.GradCAMPlusPlus(model, "features").explain(x, targets=[0])
    expected = torch.tensor([[2 / 3, 5 / 6], [1.0, 2 / 3]])
    torch.testing.assert_close(e.raw["features"][0], expected)


def test_gradcam_plusplus_eps_is_pytorch_grad_cams_choice(readout):
    model, x = readout
    # With eps, α0 = 1 / (12 + eps) and α1 = 4 / (32 + eps): visible for eps = 1.
    e = camlens.GradCAMPlusPlus(model, "features", eps=1.0).explain(x, targets=[0])
    w0, w1 = 2 * 1 / 13, 2 * 4 / 33 * 2  # two positions each, times ReLU(g)
    expected = w0 * torch.tensor([[1.0, 2.0], [3.0, 4.0]]) + w1 * torch.tensor([[1.0, 1], [1, 0]])
    torch.testing.assert_close(e.raw["features"][0], expected)


@pytest.mark.parametrize("scale", [1e-4, 1.0, 1e3])
def test_gradcam_plusplus_follows_eq19_at_every_gradient_scale(readout, scale):
    # α depends on g's scale through the g³ term; the paper's eq. 19 is what we compute:
    # w_k = Σ g²/(2g² + S g³) · ReLU(g) -> check it for a scaled readout.
    model, x = readout
    with torch.no_grad():
        model.weight.mul_(scale)
    e = camlens.GradCAMPlusPlus(model, "features").explain(x, targets=[0])
    g = scale
    w0 = 2 * g**2 / (2 * g**2 + 10 * g**3) * g
    g2 = 2 * scale
    w1 = 2 * g2**2 / (2 * g2**2 + 3 * g2**3) * g2
    expected = w0 * torch.tensor([[1.0, 2.0], [3.0, 4.0]]) + w1 * torch.tensor([[1.0, 1], [1, 0]])
    torch.testing.assert_close(e.raw["features"][0], expected.float(), rtol=1e-5, atol=1e-12)
