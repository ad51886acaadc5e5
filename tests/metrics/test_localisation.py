"""Weakly-supervised localisation: boxes of the largest region above 15 % of the max, IoU >= 0.5."""

from __future__ import annotations

import pytest
import torch

from camlens import InvalidInputError
from camlens.metrics import Localisation
from camlens.metrics.localisation import best_iou, map_box

torch.set_num_threads(1)
X = torch.zeros(1, 3, 10, 10)


def blobs(second: float) -> torch.Tensor:
    """A 2x2 blob of 1 at the top left and a 3x3 blob of ``second`` at the bottom right."""
    maps = torch.zeros(1, 10, 10)
    maps[0, 0:2, 0:2] = 1.0
    maps[0, 6:9, 5:8] = second
    return maps


def test_map_equal_to_the_box_localises_exactly() -> None:
    maps = torch.zeros(1, 10, 10)
    maps[0, 3:7, 2:6] = 0.8
    metric = Localisation()
    metric.update(inputs=X, maps=maps, boxes=torch.tensor([[2, 3, 6, 7]]))
    assert metric.ious.tolist() == [1.0] and metric.compute() == 0.0


def test_largest_region_above_fifteen_percent() -> None:
    assert map_box(blobs(0.5)[0].numpy(), 0.15).tolist() == [5, 6, 8, 9]  # the 3x3 blob
    assert map_box(blobs(0.1)[0].numpy(), 0.15).tolist() == [0, 0, 2, 2]  # below 15 %: dropped
    diagonal = torch.zeros(6, 6)
    diagonal[1, 1] = diagonal[2, 2] = diagonal[3, 3] = 1.0  # 8-connected: one region
    assert map_box(diagonal.numpy(), 0.15).tolist() == [1, 1, 4, 4]
    assert map_box(torch.zeros(4, 4).numpy(), 0.15) is None


def test_hand_computed_iou_and_error() -> None:
    import numpy as np

    assert best_iou(np.array([0, 0, 4, 4.0]), np.array([[2, 2, 6, 6.0]])) == pytest.approx(4 / 28)
    assert best_iou(None, np.array([[0, 0, 1, 1.0]])) == 0.0
    metric = Localisation()
    truth = [torch.tensor([[5, 6, 8, 9]]), torch.tensor([[0, 0, 8, 8], [4, 5, 8, 9]])]
    maps = torch.cat([blobs(0.5), blobs(0.5)])
    metric.update(inputs=X.expand(2, -1, -1, -1), maps=maps, boxes=truth)
    # image 1: predicted (5, 6, 8, 9) vs (4, 5, 8, 9): 9 / 16; the big box: 9 / 64
    assert metric.ious.tolist() == pytest.approx([1.0, 9 / 16])
    assert metric.compute() == 0.0
    metric.update(inputs=X, maps=blobs(0.5), boxes=torch.tensor([[0, 0, 2, 2]]))
    assert metric.per_image.tolist() == [0.0, 0.0, 1.0]


def test_mask_components_become_boxes_and_labels_count_the_class() -> None:
    mask = torch.zeros(1, 10, 10, dtype=torch.bool)
    mask[0, 0:2, 0:2] = True
    mask[0, 6:9, 5:8] = True
    metric = Localisation()
    metric.update(inputs=X, maps=blobs(0.5), masks=mask, targets=[3], labels=[3])
    metric.update(inputs=X, maps=blobs(0.5), masks=mask, targets=[3], labels=[4])
    assert metric.ious.tolist() == [1.0, 1.0]
    assert metric.per_image.tolist() == [0.0, 1.0]  # right box, wrong class
    with pytest.raises(InvalidInputError, match="needs targets"):
        metric.update(inputs=X, maps=blobs(0.5), masks=mask, labels=[3])
