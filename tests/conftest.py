"""Shared fixtures."""

from __future__ import annotations

import pytest
import torch
from tiny_models import A, G, Readout, SmallCNN

torch.set_num_threads(2)


@pytest.fixture
def readout() -> tuple[Readout, torch.Tensor]:
    """(model, x): class 0 has gradient G at activations A; class 1 has gradient -G."""
    model = Readout(torch.stack([G, -G])).eval()
    return model, A[None].clone()


@pytest.fixture
def small_cnn() -> SmallCNN:
    torch.manual_seed(0)
    return SmallCNN().eval()


@pytest.fixture
def images() -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randn(4, 3, 16, 16)
