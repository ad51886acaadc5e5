"""Increase in confidence % (Chattopadhyay et al., Grad-CAM++, WACV 2018, sec. 6.1).

With Y_i the class score on x_i and O_i on ``x_i ⊙ L_i`` (maps in [0, 1]):

    increase in confidence % = 100 · mean_i [Y_i < O_i]

Higher is better. Softmax probabilities by default (``score="logit"`` for logits). Same numbers as
``torchcam.metrics.ClassificationMetric`` (``conf_increase`` × 100) and as the mean of
pytorch-grad-cam's ``IncreaseInConfidence`` × 100 with a softmax target.
"""

from __future__ import annotations

from torch import Tensor

from .average_drop import ConfidenceMetric


class IncreaseInConfidence(ConfidenceMetric):
    """100 · [Y < O] per image (see the module docstring); higher is better.

    ``100 · mean_i [Y_i < O_i]`` with ``Y_i`` the class score on ``x_i`` and ``O_i`` on
    ``x_i ⊙ L_i``.
    Shapes: ``inputs (B, C, H, W)``, ``maps (B, H, W)`` in [0, 1], ``targets`` B class indices;
    ``compute()`` -> a float, ``per_image`` -> ``(N,)``.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        ...                       nn.Flatten(), nn.Linear(4, 3)).eval()
        >>> x, maps = torch.rand(2, 3, 8, 8), torch.rand(2, 8, 8)
        >>> metric = IncreaseInConfidence()
        >>> metric.update(inputs=x, maps=maps, targets=[0, 2], model=model)
        >>> 0.0 <= metric.compute() <= 100.0
        True
    """

    name = "increase_in_confidence"
    higher_is_better = True

    @staticmethod
    def from_scores(y: Tensor, o: Tensor) -> Tensor:
        return 100 * (y < o).float()
