"""Increase in confidence % (Chattopadhyay et al., Grad-CAM++, WACV 2018, sec. 6.1).

With Y_i the class score on x_i and O_i on ``x_i ⊙ L_i`` (maps in [0, 1]):

    increase in confidence % = 100 · mean_i [Y_i < O_i]

Higher is better. Softmax probabilities by default (``score="logit"`` for logits). Same numbers as
``torchcam.metrics.ClassificationMetric`` (``conf_increase`` × 100) and as the mean of
pytorch-grad-cam's ``IncreaseInConfidence`` × 100 with a softmax target.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from ._utils import check_score
from .average_drop import confidence_pair
from .base import PerImageMetric


class IncreaseInConfidence(PerImageMetric):
    """100 · [Y < O] per image (see the module docstring); higher is better."""

    name = "increase_in_confidence"
    higher_is_better = True
    requires = frozenset({"model"})

    def __init__(self, score: str = "probability", batch_size: int = 64) -> None:
        self.score = check_score(score)
        self.batch_size = batch_size
        super().__init__()

    def update(
        self,
        *,
        inputs: Tensor,
        maps: Tensor,
        targets: Any = None,
        model: nn.Module | None = None,
        masks: Tensor | None = None,
        boxes: Any = None,
        **kwargs: Any,
    ) -> None:
        y, o = confidence_pair(
            model, inputs, maps, targets, self.score, self.batch_size, type(self).__name__
        )
        self._values.append(100 * (y < o).float())
