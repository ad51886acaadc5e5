"""draw_boxes: outlines on exact pixels, the map under them, labels, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from camlens.viz import overlay
from camlens.viz.boxes import box_colour, draw_boxes
from camlens.viz.overlay import VizInputError


def _image() -> np.ndarray:
    return np.full((32, 40, 3), 100, dtype=np.uint8)


def test_outline_lies_on_the_box_border_pixels():
    boxes = torch.tensor([[4.0, 6.0, 20.0, 16.0]])  # pixels x in [4, 20), y in [6, 16)
    out = draw_boxes(_image(), boxes, colors="red", width=1, text=False)
    assert out.shape == (32, 40, 3) and out.dtype == np.uint8
    red = np.array([255, 0, 0], dtype=np.uint8)
    for y, x in [(6, 4), (6, 19), (15, 4), (15, 19), (6, 12), (15, 12), (10, 4), (10, 19)]:
        assert (out[y, x] == red).all(), (y, x)
    for y, x in [(7, 5), (10, 12), (5, 4), (6, 3), (16, 12), (10, 20)]:
        assert (out[y, x] == 100).all(), (y, x)  # inside and outside: untouched
    assert (out != 100).any(axis=2).sum() == 2 * (16 + 10) - 4  # the outline and nothing else


def test_map_under_the_boxes_and_colours_by_label():
    cam = torch.zeros(8, 10)
    cam[2:4, 3:6] = 1.0
    boxes = np.array([[0, 0, 10, 10], [20, 10, 39, 30]], dtype=np.float32)
    out = draw_boxes(_image(), boxes, [1, 2], cam=cam, width=2, text=False)
    blended = overlay(_image(), cam)
    inside = np.ones((32, 40), dtype=bool)
    inside[0:2, 0:10] = inside[0:10, 0:2] = inside[8:10, 0:10] = inside[0:10, 8:10] = False
    inside[10:12, 20:39] = inside[10:30, 20:22] = inside[28:30, 20:39] = False
    inside[10:30, 37:39] = False
    assert (out[inside] == blended[inside]).all()
    assert tuple(out[0, 0]) == box_colour(1) and tuple(out[29, 38]) == box_colour(2)
    assert box_colour(1) != box_colour(2)


def test_labels_and_scores_are_written():
    plain = draw_boxes(_image(), [[2, 2, 38, 30]], [3], colors="white", text=False)
    written = draw_boxes(_image(), [[2, 2, 38, 30]], [3], scores=[0.9], class_names={3: "cat"},
                         colors="white")  # fmt: skip
    differs = (plain != written).any(axis=2)
    ys, xs = np.nonzero(differs)
    assert differs.sum() > 20 and ys.min() >= 2 and xs.min() >= 2 and ys.max() < 20


def test_errors_and_empty():
    assert (draw_boxes(_image(), np.zeros((0, 4))) == _image()).all()
    with pytest.raises(VizInputError, match=r"\(N, 4\)"):
        draw_boxes(_image(), [[1, 2, 3]])
    with pytest.raises(VizInputError, match="2 labels for 1 boxes"):
        draw_boxes(_image(), [[1, 2, 3, 4]], [1, 2])
    with pytest.raises(VizInputError, match="NaN"):
        draw_boxes(_image(), [[1, 2, float("nan"), 4]])
    with pytest.raises(VizInputError, match="width"):
        draw_boxes(_image(), [[1, 2, 3, 4]], width=0)
