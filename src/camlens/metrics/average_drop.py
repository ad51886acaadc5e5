"""Average drop % (Chattopadhyay et al., Grad-CAM++, WACV 2018, sec. 6.1).

With Y_i the score of the explained class on image x_i and O_i its score on ``x_i ⊙ L_i`` (the
input multiplied by its map, maps in [0, 1]):

    average drop % = 100 · mean_i max(0, Y_i - O_i) / Y_i

Lower is better. Scores are softmax probabilities by default (``score="logit"`` for logits; a
negative logit makes the ratio meaningless). Same numbers as torchcam's ``ClassificationMetric``
with ``logits_fn=softmax`` (its ``avg_drop`` × 100); pytorch-grad-cam's ``DropInConfidence``
returns the unnormalised ``max(0, Y - O)`` per image instead.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ._utils import as_maps, check_inputs, check_score, class_indices, model_logits, need, select
from .base import PerImageMetric


def confidence_pair(
    model: nn.Module,
    inputs: Tensor,
    maps: Any,
    targets: Any,
    score: str,
    batch_size: int,
    metric: str,
) -> tuple[Tensor, Tensor]:
    """``(Y, O)``, each ``(B,)``: the class score on the inputs and on ``inputs * maps``."""
    inputs = check_inputs(inputs)
    model = need(model, "model", metric)
    maps = as_maps(maps, inputs, unit=True)
    logits = model_logits(model, inputs, batch_size)
    index = class_indices(targets, inputs.shape[0], logits.device, logits)
    masked = model_logits(model, inputs * maps[:, None].to(inputs.dtype), batch_size)
    return select(logits, index, score), select(masked, index, score)


class ConfidenceMetric(PerImageMetric):
    """Base of the Grad-CAM++ metrics: one value per image from ``(Y, O)`` (:meth:`from_scores`)."""

    requires = frozenset({"model"})

    def __init__(self, score: str = "probability", batch_size: int = 64) -> None:
        self.score = check_score(score)
        self.batch_size = batch_size
        super().__init__()

    @staticmethod
    def from_scores(y: Tensor, o: Tensor) -> Tensor:
        """``(B,)`` value per image from the scores on the inputs (Y) and on ``inputs * maps``."""
        raise NotImplementedError

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
        self._values.append(self.from_scores(y, o))


class AverageDrop(ConfidenceMetric):
    """100 · max(0, Y - O) / Y per image (see the module docstring); lower is better.

    ``100 · mean_i max(0, Y_i − O_i) / Y_i`` with ``Y_i`` the class score on ``x_i`` and ``O_i`` on
    ``x_i ⊙ L_i``.
    Shapes: ``inputs (B, C, H, W)``, ``maps (B, H, W)`` in [0, 1], ``targets`` B class indices;
    ``compute()`` -> a float, ``per_image`` -> ``(N,)``.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        ...                       nn.Flatten(), nn.Linear(4, 3)).eval()
        >>> x, maps = torch.rand(2, 3, 8, 8), torch.rand(2, 8, 8)
        >>> metric = AverageDrop()
        >>> metric.update(inputs=x, maps=maps, targets=[0, 2], model=model)
        >>> 0.0 <= metric.compute() <= 100.0
        True
    """

    name = "average_drop"
    higher_is_better = False

    @staticmethod
    def from_scores(y: Tensor, o: Tensor) -> Tensor:
        return 100 * torch.relu(y - o) / (y + 1e-7)
