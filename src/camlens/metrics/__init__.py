"""Evaluation metrics: accumulators (``update`` / ``compute`` / ``reset``) that know whether higher
is better and what they need (see :mod:`camlens.metrics.base`).

``METRICS`` maps each metric's name to its class, e.g. ``METRICS["pointing_game"]()``.
"""

from __future__ import annotations

from .base import Metric, PerImageMetric
from .complexity import Complexity
from .energy_pointing_game import EnergyPointingGame
from .pointing_game import PointingGame
from .sparseness import Sparseness

METRICS: dict[str, type[Metric]] = {
    cls.name: cls
    for cls in (
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
    "Complexity",
    "EnergyPointingGame",
    "Metric",
    "PerImageMetric",
    "PointingGame",
    "Sparseness",
    "get_metric",
]
