"""camlens.datasets.shapes: coverage of each shape against its hand-computed area and box."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from camlens.datasets.shapes import CLASSES, extent, shape_alpha

torch.set_num_threads(1)


def test_axis_aligned_square_covers_exactly_its_pixels():
    # The square's vertices are at 45° + k·90° with radius 1.05 r: half-side 8 for this r.
    alpha = shape_alpha("square", 64, 32.0, 32.0, 8 * math.sqrt(2) / 1.05, 0.0)
    expected = np.zeros((64, 64), dtype=bool)
    expected[24:40, 24:40] = True
    np.testing.assert_array_equal(alpha > 0.5, expected)
    assert alpha.min() == 0.0 and alpha.max() == 1.0


R = 12.0
AREAS = {  # analytic areas for "radius" R (see shapes._polygon)
    "circle": math.pi * R**2,
    "square": 2 * (1.05 * R) ** 2,
    "triangle": 3 * math.sqrt(3) / 4 * (1.2 * R) ** 2,
    "cross": 2 * (2 * R) * (2 * 0.36 * R) - (2 * 0.36 * R) ** 2,
    "star": 10 * 0.5 * (1.15 * R) * (0.45 * 1.15 * R) * math.sin(math.pi / 5),
}


@pytest.mark.parametrize("name", CLASSES)
def test_area_matches_geometry(name):
    alpha = shape_alpha(name, 64, 31.3, 30.7, R, 0.4)
    assert alpha.sum() == pytest.approx(AREAS[name], rel=0.05)
    assert (alpha > 0.5).sum() == pytest.approx(AREAS[name], rel=0.06)


@pytest.mark.parametrize("name", CLASSES)
@pytest.mark.parametrize("angle", [0.0, 1.0, 2.5])
def test_shape_stays_within_its_extent(name, angle):
    cx, cy = 32.0, 32.0
    alpha = shape_alpha(name, 64, cx, cy, R, angle)
    rows, cols = np.nonzero(alpha > 0)
    ext = extent(name, R)
    # pixel (row, col) spans [col, col+1): its far edge is within ext (+ PIL's 1/4-pixel stroke)
    assert cols.min() >= math.floor(cx - ext - 0.25) and cols.max() + 1 <= math.ceil(
        cx + ext + 0.25
    )
    assert rows.min() >= math.floor(cy - ext - 0.25) and rows.max() + 1 <= math.ceil(
        cy + ext + 0.25
    )


def test_unknown_shape_raises():
    with pytest.raises(ValueError, match="unknown shape"):
        shape_alpha("hexagon", 64, 32, 32, 10, 0.0)
