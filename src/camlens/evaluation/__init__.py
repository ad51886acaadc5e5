"""Evaluate explanation methods: every method × every metric over a data set, as a table.

result = camlens.evaluate(model, data, methods=("gradcam", "gradcam++"),
                          metrics=("deletion", "insertion", "pointing_game"))
result.table            # pandas DataFrame: rows methods, columns metrics, ms/image
result.to_markdown()    # ↑/↓ in the header, the best value in bold
result.plot("eval.png") # bars per metric, mean deletion/insertion curves
"""

from __future__ import annotations

from .data import Batch, batches
from .result import EvaluationResult
from .run import DEFAULT_METHODS, DEFAULT_METRICS, evaluate

__all__ = [
    "DEFAULT_METHODS",
    "DEFAULT_METRICS",
    "Batch",
    "EvaluationResult",
    "batches",
    "evaluate",
]
