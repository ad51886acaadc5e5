"""Tiny models whose activations and gradients are chosen by hand (shared by the tests)."""

from __future__ import annotations

import torch
from torch import nn


class Readout(nn.Module):
    """score_c = Σ_kij W[c, k, i, j] · A_kij with A = features(x) = x.

    So the activations of layer ``features`` are the input itself and ∂score_c/∂A = W[c]:
    every map can be computed by hand.
    """

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.features = nn.Identity()
        self.weight = nn.Parameter(weight.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bkij,ckij->bc", self.features(x), self.weight)


# Activations A (channels 0 and 1) and the gradient G = W[0] of class 0, 2x2 maps.
A = torch.tensor([[[1.0, 2.0], [3.0, 4.0]], [[1.0, 1.0], [1.0, 0.0]]])
G = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[-1.0, -1.0], [2.0, 2.0]]])


class SmallCNN(nn.Module):
    """A small random CNN with in-place ReLUs, GAP and a linear head (10 classes)."""

    def __init__(self, inplace: bool = True, channels: int = 8) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, channels, 3, padding=1)
        self.relu1 = nn.ReLU(inplace=inplace)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, stride=2)
        self.relu2 = nn.ReLU(inplace=inplace)
        self.conv3 = nn.Conv2d(channels, 16, 3, padding=1)
        self.relu3 = nn.ReLU(inplace=inplace)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu1(self.conv1(x))
        x = self.relu2(self.conv2(x))
        x = self.relu3(self.conv3(x))
        return self.fc(self.pool(x).flatten(1))
