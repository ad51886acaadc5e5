"""camlens.datasets.background: deterministic textured clutter in [0, 1]."""

from __future__ import annotations

import numpy as np
import torch

from camlens.datasets.background import add_distractors, background

torch.set_num_threads(1)


def test_background_is_deterministic_textured_and_in_range():
    a = background(np.random.default_rng(3), 64)
    b = background(np.random.default_rng(3), 64)
    c = background(np.random.default_rng(4), 64)
    assert a.shape == (64, 64, 3) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.min() >= 0.0 and a.max() <= 1.0
    # textured, not flat: neighbouring pixels differ and the colour varies across the image
    assert np.abs(np.diff(a, axis=1)).mean() > 0.01
    assert a.reshape(-1, 3).std(axis=0).mean() > 0.05


def test_distractors_change_some_pixels_only_and_stay_in_range():
    base = background(np.random.default_rng(0), 64)
    out = add_distractors(np.random.default_rng(1), base, 3)
    changed = np.abs(out - base).max(axis=2) > 1e-6
    assert 0.0 < changed.mean() < 0.9
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_array_equal(out, add_distractors(np.random.default_rng(1), base, 3))
    np.testing.assert_array_equal(add_distractors(np.random.default_rng(1), base, 0), base)
