"""Evaluation metrics: accumulators (``update`` / ``compute`` / ``reset``) that know whether higher
is better and what they need (see :mod:`camlens.metrics.base`).

``METRICS`` maps each metric's name to its class, e.g. ``METRICS["pointing_game"]()``.
"""

from __future__ import annotations

from .average_drop import AverageDrop
from .base import Metric, PerImageMetric
from .complexity import Complexity
from .deletion import Deletion
from .energy_pointing_game import EnergyPointingGame
from .increase_in_confidence import IncreaseInConfidence
from .insertion import Insertion
from .pointing_game import PointingGame
from .road import ROAD
from .sparseness import Sparseness

METRICS: dict[str, type[Metric]] = {
    cls.name: cls
    for cls in (
        AverageDrop,
        IncreaseInConfidence,
        Deletion,
        Insertion,
        ROAD,
        PointingGame,
        EnergyPointingGame,
        Complexity,
        Sparseness,
    )
}


def get_metric(name: str) -> type[Metric]:
    """The metric class for a name in :data:`METRICS`."""
    if name not in METRICS:
        from ..core.errors import InvalidInputError

        raise InvalidInputError(f"unknown metric {name!r}; known: {', '.join(METRICS)}.")
    return METRICS[name]


__all__ = [
    "METRICS",
    "ROAD",
    "AverageDrop",
    "Complexity",
    "Deletion",
    "EnergyPointingGame",
    "IncreaseInConfidence",
    "Insertion",
    "Metric",
    "PerImageMetric",
    "PointingGame",
    "Sparseness",
    "get_metric",
]
