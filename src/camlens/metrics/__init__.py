"""Evaluation metrics: accumulators (``update`` / ``compute`` / ``reset``) that know whether higher
is better and what they need (see :mod:`camlens.metrics.base`).

``METRICS`` maps each metric's name to its class, e.g. ``METRICS["pointing_game"]()``.
"""

from __future__ import annotations

from .arcc import ARCC
from .average_drop import AverageDrop
from .base import Metric, PerImageMetric
from .coherency import Coherency
from .complexity import Complexity
from .deletion import Deletion
from .energy_pointing_game import EnergyPointingGame
from .increase_in_confidence import IncreaseInConfidence
from .insertion import Insertion
from .localisation import Localisation
from .pointing_game import PointingGame
from .road import ROAD
from .sanity_random_logit import SanityRandomLogit
from .sanity_randomisation import SanityRandomisation
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
        Localisation,
        SanityRandomisation,
        SanityRandomLogit,
        Complexity,
        Coherency,
        ARCC,
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
    "ARCC",
    "METRICS",
    "ROAD",
    "AverageDrop",
    "Coherency",
    "Complexity",
    "Deletion",
    "EnergyPointingGame",
    "IncreaseInConfidence",
    "Insertion",
    "Localisation",
    "Metric",
    "PerImageMetric",
    "PointingGame",
    "SanityRandomLogit",
    "SanityRandomisation",
    "Sparseness",
    "get_metric",
]
