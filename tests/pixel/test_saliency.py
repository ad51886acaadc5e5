"""Vanilla saliency: ∂y^c/∂x — by hand on a linear model, and against captum's Saliency."""

import copy
import warnings

import pytest
import torch
from torch import nn

from camlens.pixel.saliency import Saliency


class Linear(nn.Module):
    """score_c = Σ W[c] ⊙ x² / 2 + Σ V[c] ⊙ x: gradient W[c] ⊙ x + V[c]."""

    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.w = nn.Parameter(torch.randn(3, 2, 4, 4, generator=g))
        self.v = nn.Parameter(torch.randn(3, 2, 4, 4, generator=g))

    def forward(self, x):
        return torch.einsum("bchw,kchw->bk", x * x / 2, self.w) + torch.einsum(
            "bchw,kchw->bk", x, self.v
        )


def test_saliency_hand_computed():
    model = Linear().eval()
    x = torch.randn(2, 2, 4, 4, generator=torch.Generator().manual_seed(1))
    out = Saliency(model)(x, [2, 0])
    expected = torch.stack([model.w[2] * x[0] + model.v[2], model.w[0] * x[1] + model.v[0]])
    torch.testing.assert_close(out, expected.detach())


def test_saliency_matches_captum():
    captum = pytest.importorskip("captum.attr")
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.ReLU(inplace=True), nn.Flatten(), nn.Linear(4 * 6 * 6, 5)
    ).eval()
    x = torch.randn(3, 3, 8, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Input Tensor 0 did not already require gradients"
        theirs = captum.Saliency(copy.deepcopy(model)).attribute(x, target=[0, 3, 4], abs=False)
    torch.testing.assert_close(Saliency(model)(x, [0, 3, 4]), theirs)
