"""Targets: what score the map explains. A target is any callable ``per-image output -> scalar``.

``ClassTarget`` is the paper's y^c (the score before softmax); its batched fast path scores a whole
batch with one gather.
"""

from __future__ import annotations

from .base import Target, resolve_targets, score_targets
from .classification import (
    BinaryTarget,
    ClassTarget,
    CounterfactualTarget,
    RankTarget,
    SoftmaxTarget,
)

__all__ = [
    "BinaryTarget",
    "ClassTarget",
    "CounterfactualTarget",
    "RankTarget",
    "SoftmaxTarget",
    "Target",
    "resolve_targets",
    "score_targets",
]
