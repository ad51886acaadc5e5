"""camlens.metrics.METRICS: every metric by name, with its direction and needs."""

from __future__ import annotations

import pytest
import torch

import camlens
from camlens import InvalidInputError
from camlens.metrics import METRICS, Metric, PerImageMetric, get_metric

torch.set_num_threads(1)

NAMES = {
    "average_drop": (False, {"model"}),
    "increase_in_confidence": (True, {"model"}),
    "deletion": (False, {"model"}),
    "insertion": (True, {"model"}),
    "road": (True, {"model"}),
    "pointing_game": (True, {"masks_or_boxes"}),
    "energy_pointing_game": (True, {"masks_or_boxes"}),
    "localisation": (False, {"masks_or_boxes"}),
    "sanity_randomisation": (False, {"model", "method"}),
    "sanity_random_logit": (False, {"model", "method"}),
    "complexity": (False, set()),
    "coherency": (True, {"model", "method"}),
    "arcc": (True, {"model", "method"}),
    "sparseness": (True, set()),
}


def test_registry_names_directions_and_needs() -> None:
    assert set(METRICS) == set(NAMES)
    for name, cls in METRICS.items():
        assert issubclass(cls, Metric) and cls.name == name
        assert (cls.higher_is_better, set(cls.requires)) == NAMES[name], name
        assert get_metric(name) is cls
    assert camlens.metrics.METRICS is METRICS  # the lazy submodule


def test_unknown_name_and_compute_before_update() -> None:
    with pytest.raises(InvalidInputError, match="known: average_drop"):
        get_metric("nope")
    for cls in METRICS.values():
        with pytest.raises(InvalidInputError, match="before any update"):
            cls().compute()


def test_reset_empties_and_per_image_accumulates() -> None:
    metric = METRICS["complexity"]()
    assert isinstance(metric, PerImageMetric)
    x = torch.zeros(2, 1, 2, 2)
    metric.update(inputs=x, maps=torch.ones(2, 2, 2))
    metric.update(inputs=x[:1], maps=torch.zeros(1, 2, 2))
    assert metric.per_image.tolist() == [1.0, 1.0, 0.0]
    assert metric.compute() == pytest.approx(2 / 3)
    metric.reset()
    assert metric.per_image.numel() == 0
    assert repr(metric) == "Complexity(lower is better)"
