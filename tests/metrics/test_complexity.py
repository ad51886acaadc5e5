"""Complexity: mean |map|; same numbers as pytorch-grad-cam's Complexity."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pytorch_grad_cam.metrics.arcc import Complexity as PgcComplexity

from camlens.metrics import Complexity

torch.set_num_threads(1)


def test_hand_values() -> None:
    maps = torch.tensor(
        [[[0.0, 0.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]], [[1.0, 0.5], [0, 0.5]]]
    )
    metric = Complexity()
    metric.update(inputs=torch.zeros(3, 1, 2, 2), maps=maps)
    assert metric.per_image.tolist() == [0.0, 1.0, 0.5]
    assert metric.compute() == pytest.approx(0.5)


def test_parity_with_pytorch_grad_cam() -> None:
    maps = torch.rand(5, 12, 10, generator=torch.Generator().manual_seed(3))
    metric = Complexity()
    metric.update(inputs=torch.zeros(5, 3, 12, 10), maps=maps)
    expected = PgcComplexity()(maps.numpy())
    np.testing.assert_allclose(metric.per_image.numpy(), expected, rtol=1e-6)
