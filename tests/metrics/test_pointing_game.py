"""Pointing game: hand-built maps and objects with known hits."""

from __future__ import annotations

import pytest
import torch

from camlens import InvalidInputError
from camlens.metrics import PointingGame

torch.set_num_threads(1)
X = torch.zeros(1, 3, 64, 64)


def object_mask() -> torch.Tensor:
    mask = torch.zeros(1, 64, 64, dtype=torch.bool)
    mask[0, 4:12, 4:12] = True
    return mask


def test_map_equal_to_the_mask_hits_and_background_map_misses() -> None:
    mask = object_mask()
    metric = PointingGame()
    metric.update(inputs=X, maps=mask.float(), masks=mask)
    background = torch.zeros(1, 64, 64)
    background[0, 40:, 40:] = 1.0  # far (> 15 px) from the object
    metric.update(inputs=X, maps=background, masks=mask)
    assert metric.per_image.tolist() == [1.0, 0.0]
    assert metric.compute() == 0.5


def test_tolerance_is_a_strict_euclidean_radius() -> None:
    mask = object_mask()  # right edge at column 11
    metric = PointingGame(tolerance=15)
    peak = torch.zeros(3, 64, 64)
    peak[0, 8, 11 + 14] = 1  # 14 px right of the object: hit
    peak[1, 8, 11 + 15] = 1  # 15 px: miss (TorchRay's d < tolerance)
    peak[2, 11 + 10, 11 + 11] = 1  # 10 px down, 11 right: d = sqrt(221) < 15: hit
    metric.update(inputs=X.expand(3, -1, -1, -1), maps=peak, masks=mask.expand(3, -1, -1))
    assert metric.per_image.tolist() == [1.0, 0.0, 1.0]
    strict = PointingGame(tolerance=0)
    strict.update(inputs=X.expand(3, -1, -1, -1), maps=peak, masks=mask.expand(3, -1, -1))
    assert strict.compute() == 0.0


def test_boxes_give_the_same_answer_as_their_mask() -> None:
    mask = object_mask()
    maps = torch.rand(4, 64, 64, generator=torch.Generator().manual_seed(0))
    maps[1, 10, 10] = 2.0  # inside
    by_mask, by_box = PointingGame(), PointingGame()
    by_mask.update(inputs=X.expand(4, -1, -1, -1), maps=maps, masks=mask.expand(4, -1, -1))
    by_box.update(
        inputs=X.expand(4, -1, -1, -1), maps=maps, boxes=torch.tensor([[4, 4, 12, 12]] * 4)
    )
    assert torch.equal(by_mask.per_image, by_box.per_image)
    assert by_mask.per_image[1] == 1.0


def test_any_of_several_boxes_counts_and_empty_objects_are_errors() -> None:
    maps = torch.zeros(1, 64, 64)
    maps[0, 60, 60] = 1
    metric = PointingGame()
    metric.update(inputs=X, maps=maps, boxes=[torch.tensor([[0, 0, 2, 2], [58, 58, 64, 64]])])
    assert metric.compute() == 1.0
    with pytest.raises(InvalidInputError, match="no object pixels"):
        metric.update(inputs=X, maps=maps, masks=torch.zeros(1, 64, 64, dtype=torch.bool))
