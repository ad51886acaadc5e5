"""Deconvolution: by hand on Linear-ReLU-Linear, and against captum's Deconvolution (batch).

Hand: x = (1, 2); class 0 sends g = W2[0] = (1, -2, 3); the deconvnet rule passes ReLU(g) =
(1, 0, 3) whatever the ReLU's input was: W1ᵀ(1, 0, 3) = (1 - 3, -1 + 3) = (-2, 2).
"""

import copy
import warnings

import pytest
import torch
from torch import nn

from camlens.pixel.deconvolution import Deconvolution

W1 = torch.tensor([[1.0, -1.0], [2.0, 1.0], [-1.0, 1.0]])
B1 = torch.tensor([0.0, -1.0, 0.5])
W2 = torch.tensor([[1.0, -2.0, 3.0], [-1.0, 1.0, 1.0]])


def test_deconvolution_hand_computed():
    model = nn.Sequential(nn.Flatten(), nn.Linear(2, 3), nn.ReLU(inplace=True), nn.Linear(3, 2))
    with torch.no_grad():
        model[1].weight.copy_(W1), model[1].bias.copy_(B1), model[3].weight.copy_(W2)
    x = torch.tensor([1.0, 2.0]).view(1, 2, 1, 1)
    out = Deconvolution(model.eval())(x, 0)
    torch.testing.assert_close(out.flatten(), torch.tensor([-2.0, 2.0]))


def test_deconvolution_matches_captum():
    captum = pytest.importorskip("captum.attr")
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    model = torchvision.models.resnet18().eval()
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    ours = Deconvolution(model)(x, [5, 9])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = captum.Deconvolution(copy.deepcopy(model)).attribute(x, target=[5, 9])
    scale = ours.abs().max()
    torch.testing.assert_close(ours / scale, theirs / scale, rtol=0, atol=1e-6)
