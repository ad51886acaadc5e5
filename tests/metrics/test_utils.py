"""Shared helpers: targets -> class indices, maps, regions from masks and boxes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from camlens import ClassTarget, InvalidInputError, RankTarget, TargetError
from camlens.metrics._utils import as_maps, class_indices, region_masks

torch.set_num_threads(1)
CPU = torch.device("cpu")


def test_class_indices_accepts_every_spelling() -> None:
    expected = torch.tensor([3, 1])
    for spec in ([3, 1], torch.tensor([3, 1]), np.array([3, 1]), [ClassTarget(3), ClassTarget(1)]):
        assert torch.equal(class_indices(spec, 2, CPU), expected)
    assert torch.equal(class_indices(5, 3, CPU), torch.tensor([5, 5, 5]))
    assert torch.equal(class_indices(ClassTarget(2), 2, CPU), torch.tensor([2, 2]))


def test_class_indices_top1_and_rank_from_logits() -> None:
    logits = torch.tensor([[0.0, 2.0, 1.0], [5.0, 0.0, 1.0]])
    assert torch.equal(class_indices(None, 2, CPU, logits), torch.tensor([1, 0]))
    assert torch.equal(class_indices(RankTarget(1), 2, CPU, logits), torch.tensor([2, 2]))


def test_class_indices_errors() -> None:
    with pytest.raises(TargetError, match="3 targets for a batch of 2"):
        class_indices([1, 2, 3], 2, CPU)
    with pytest.raises(TargetError, match="needs the model"):
        class_indices(None, 2, CPU)
    with pytest.raises(TargetError, match="class indices"):
        class_indices([lambda o: o[0]], 1, CPU)
    with pytest.raises(TargetError, match=">= 0"):
        class_indices([-1], 1, CPU)


def test_as_maps_resizes_and_checks() -> None:
    x = torch.zeros(2, 3, 8, 8)
    maps = as_maps(torch.ones(2, 1, 4, 4), x)
    assert maps.shape == (2, 8, 8) and torch.allclose(maps, torch.ones(2, 8, 8))
    with pytest.raises(InvalidInputError, match="one map per image"):
        as_maps(torch.ones(3, 8, 8), x)
    with pytest.raises(InvalidInputError, match=r"\[0, 1\]"):
        as_maps(2 * torch.ones(2, 8, 8), x, unit=True)
    with pytest.raises(InvalidInputError, match="NaN"):
        as_maps(torch.full((2, 8, 8), float("nan")), x)


def test_region_masks_from_boxes() -> None:
    boxes = [torch.tensor([[1, 2, 3, 4]]), torch.tensor([[0, 0, 1, 1], [6.5, 6.5, 9, 9]])]
    regions = region_masks(None, boxes, 2, (8, 8), "cpu")
    expected = torch.zeros(2, 8, 8, dtype=torch.bool)
    expected[0, 2:4, 1:3] = True  # rows y1..y2, cols x1..x2
    expected[1, 0, 0] = True
    expected[1, 6:, 6:] = True  # floor(6.5) .. ceil(9) clipped
    assert torch.equal(regions, expected)
    assert torch.equal(
        region_masks(None, torch.tensor([[1, 2, 3, 4]]), 1, (8, 8), "cpu"), expected[:1]
    )
    with pytest.raises(InvalidInputError, match="masks= or boxes="):
        region_masks(None, None, 1, (8, 8), "cpu")
    with pytest.raises(InvalidInputError, match="x2 >= x1"):
        region_masks(None, torch.tensor([[3, 0, 1, 1]]), 1, (8, 8), "cpu")


def test_missing_scipy_says_how_to_install(monkeypatch) -> None:
    import sys

    from camlens.metrics._utils import require_scipy

    monkeypatch.setitem(sys.modules, "scipy", None)  # as if scipy were not installed
    with pytest.raises(ImportError, match=r"ROAD needs scipy: pip install 'camlens\[evaluate\]'"):
        require_scipy("ROAD")
