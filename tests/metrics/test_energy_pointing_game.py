"""Energy-based pointing game: share of positive map energy inside the object."""

from __future__ import annotations

import pytest
import torch

from camlens.metrics import EnergyPointingGame

torch.set_num_threads(1)
X = torch.zeros(1, 3, 8, 8)


def test_mask_map_is_one_background_map_is_zero() -> None:
    mask = torch.zeros(1, 8, 8, dtype=torch.bool)
    mask[0, 2:5, 2:5] = True
    metric = EnergyPointingGame()
    metric.update(inputs=X, maps=mask.float(), masks=mask)
    metric.update(inputs=X, maps=(~mask).float(), masks=mask)
    assert metric.per_image.tolist() == [1.0, 0.0]


def test_hand_computed_share_and_negative_values_ignored() -> None:
    maps = torch.zeros(1, 8, 8)
    maps[0, 0, 0] = 3.0  # inside the box
    maps[0, 7, 7] = 1.0  # outside
    maps[0, 7, 6] = -5.0  # negative: not energy
    metric = EnergyPointingGame()
    metric.update(inputs=X, maps=maps, boxes=torch.tensor([[0, 0, 2, 2]]))
    assert metric.compute() == pytest.approx(0.75)


def test_all_zero_map_scores_zero() -> None:
    metric = EnergyPointingGame()
    metric.update(inputs=X, maps=torch.zeros(1, 8, 8), boxes=torch.tensor([[0, 0, 2, 2]]))
    assert metric.compute() == 0.0
