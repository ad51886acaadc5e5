"""Sparseness (Gini index): uniform 0, one pixel (n-1)/n, a hand-computed case."""

from __future__ import annotations

import pytest
import torch

from camlens.metrics import Sparseness
from camlens.metrics.sparseness import gini

torch.set_num_threads(1)


def hurley_rickard(values: list[float]) -> float:
    """G = 1 - 2 Σ_k (v_k / ||v||_1) (n - k + 1/2) / n, v sorted ascending (Hurley & Rickard)."""
    v = sorted(abs(x) for x in values)
    n, total = len(v), sum(abs(x) for x in values)
    return 1 - 2 * sum(x / total * (n - k + 0.5) / n for k, x in enumerate(v, start=1))


def test_known_values() -> None:
    maps = torch.zeros(3, 2, 2)
    maps[0] = 0.7  # uniform
    maps[1, 1, 1] = 1.0  # one pixel
    maps[2] = torch.tensor([[0.0, 1.0], [0.0, 3.0]])
    metric = Sparseness()
    metric.update(inputs=torch.zeros(3, 1, 2, 2), maps=maps)
    # [0, 0, 1, 3]: (Σ (2k - 5) v_k) / (4 · 4) = (1·1 + 3·3) / 16
    assert metric.per_image.tolist() == pytest.approx([0.0, 3 / 4, 10 / 16])


def test_matches_the_other_form_of_the_gini_index_and_zero_map() -> None:
    maps = torch.rand(4, 5, 6, generator=torch.Generator().manual_seed(0)) - 0.2
    for m, g in zip(maps, gini(maps), strict=True):
        assert float(g) == pytest.approx(hurley_rickard(m.flatten().tolist()), abs=1e-6)
    assert gini(torch.zeros(1, 3, 3)).tolist() == [0.0]
