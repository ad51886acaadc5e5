"""GradCAMElementWise (pytorch-grad-cam): like HiResCAM, but the ReLU acts on each term.

    L^c = Σ_k ReLU(∂y^c/∂A^k ⊙ A^k)

Shapes: A, ∂y/∂A ``(B, C, *spatial)`` -> map ``(B, *spatial)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from ..core.base import BaseCAM


class GradCAMElementWise(BaseCAM):
    def weighted_activations(
        self, activations: Tensor, gradients: Tensor, targets: Sequence[Any]
    ) -> Tensor:
        return torch.relu(gradients * activations)
