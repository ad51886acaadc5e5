"""Evidence statistics on hand-made low-resolution maps."""

from __future__ import annotations

import math

import pytest
import torch

from camlens.audit.stats import STAT_NAMES, coverage, evidence_stats, region_coverage

torch.set_num_threads(1)


def test_one_hot_corner_map():
    # 4x4 map, all energy in the top-left cell; input 8x8, border 1/4 -> band = outer 2 pixels,
    # i.e. exactly the outer ring of cells.
    m = torch.zeros(1, 4, 4)
    m[0, 0, 0] = 3.0
    s = evidence_stats(m, (8, 8), border=0.25)
    assert s["border_share"].item() == pytest.approx(1.0)
    assert s["q_tl"].item() == pytest.approx(1.0)
    assert s["q_tr"].item() == s["q_bl"].item() == s["q_br"].item() == 0.0
    assert s["peak_y"].item() == pytest.approx(0.125) and s["peak_x"].item() == pytest.approx(0.125)
    assert s["entropy"].item() == pytest.approx(0.0)
    assert math.isnan(s["object_share"].item())  # no mask given


def test_uniform_map_shares_are_areas():
    m = torch.ones(2, 4, 4)
    s = evidence_stats(m, (8, 8), border=0.25)
    # band: 12 of 16 cells; each quadrant 4 of 16
    assert s["border_share"].tolist() == pytest.approx([0.75, 0.75])
    for q in ("q_tl", "q_tr", "q_bl", "q_br"):
        assert s[q].tolist() == pytest.approx([0.25, 0.25])
    assert s["entropy"].tolist() == pytest.approx([1.0, 1.0])


def test_object_share_with_mask_and_missing_mask():
    m = torch.tensor([[[1.0, 3.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]]])
    masks = torch.zeros(2, 4, 4)
    masks[:, :2, 2:] = 1  # top-right input quadrant = map cell (0, 1)
    s = evidence_stats(m, (4, 4), masks, torch.tensor([True, False]))
    assert s["object_share"][0].item() == pytest.approx(0.75)  # 3 / (1 + 3)
    assert math.isnan(s["object_share"][1].item())
    assert s["peak_on_object"][0].item() == 1.0 and math.isnan(s["peak_on_object"][1].item())


def test_peak_on_object_is_the_pointing_game_at_map_resolution():
    # a thin object (one pixel column) inside cell (0, 1): the map peaks there, so it is a hit
    # although the energy share inside the object's pixels is only a quarter of that cell's
    m = torch.tensor([[[0.0, 1.0], [0.0, 0.0]], [[1.0, 0.0], [0.0, 0.0]]])
    masks = torch.zeros(2, 4, 4)
    masks[:, 0:2, 3] = 1
    s = evidence_stats(m, (4, 4), masks)
    assert s["peak_on_object"].tolist() == [1.0, 0.0]
    assert s["object_share"].tolist() == pytest.approx([0.5, 0.0])


def test_partial_cell_coverage():
    # a mask covering half of each pixel block of a cell counts half
    mask = torch.zeros(1, 4, 4)
    mask[0, :, 0] = 1  # left column of pixels: half of the left cells (2 px wide)
    cov = coverage(mask, (2, 2))
    assert cov.tolist() == [[[0.5, 0.0], [0.5, 0.0]]]


def test_empty_map_gives_nan_everywhere():
    s = evidence_stats(torch.zeros(1, 3, 3), (9, 9), torch.ones(1, 9, 9))
    assert set(s) == set(STAT_NAMES)
    assert all(math.isnan(v.item()) for v in s.values())


def test_region_coverage_band_width_and_validation():
    cov = region_coverage((64, 64), (8, 8), border=0.125)
    band = cov[0]
    assert band[0].tolist() == [1.0] * 8 and band[3, 3].item() == 0.0
    assert cov[1:].sum(0).allclose(torch.ones(8, 8))
    with pytest.raises(ValueError, match="border"):
        region_coverage((8, 8), (2, 2), border=0.5)
