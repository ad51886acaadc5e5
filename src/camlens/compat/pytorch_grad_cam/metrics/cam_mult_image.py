"""``pytorch_grad_cam.metrics.cam_mult_image``: the score change when the image is multiplied by
its map (Chattopadhyay et al., Grad-CAM++'s "Average Drop" / "Increase in Confidence").

    change_i = target_i(model(x_i ⊙ L_i)) - target_i(model(x_i))
    DropInConfidence_i = max(-change_i, 0),   IncreaseInConfidence_i = float32(change_i > 0)

Raw score differences, as in pytorch-grad-cam (``camlens.metrics.AverageDrop`` and
``camlens.metrics.IncreaseInConfidence`` give the paper's percentages). Difference from
pytorch-grad-cam: with ``return_visualization=True`` Drop/Increase return ``(scores, perturbed)``
where pytorch-grad-cam raises ``TypeError`` (it negates or compares the tuple).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from torch import Tensor

from .perturbation_confidence import PerturbationConfidenceMetric

__all__ = [
    "CamMultImageConfidenceChange",
    "DropInConfidence",
    "IncreaseInConfidence",
    "multiply_tensor_with_cam",
]


def multiply_tensor_with_cam(input_tensor: Tensor, cam: Tensor) -> Tensor:
    """The (normalised) input multiplied by its map: ``(C, H, W) * (H, W)``."""
    return input_tensor * cam


class CamMultImageConfidenceChange(PerturbationConfidenceMetric):
    """``(B,)`` score change after multiplying each image by its map."""

    def __init__(self) -> None:
        super().__init__(multiply_tensor_with_cam)


def _on_scores(result: Any, function: Any) -> Any:
    # Apply ``function`` to the scores, keeping the visualisation when one was asked for.
    if isinstance(result, tuple):
        return (function(result[0]), *result[1:])
    return function(result)


class DropInConfidence(CamMultImageConfidenceChange):
    """``(B,)`` ``max(score before - score after, 0)``; lower is better."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _on_scores(super().__call__(*args, **kwargs), lambda s: np.maximum(-s, 0))


class IncreaseInConfidence(CamMultImageConfidenceChange):
    """``(B,)`` 1.0 where the score rose after multiplying by the map, else 0.0."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _on_scores(super().__call__(*args, **kwargs), lambda s: np.float32(s > 0))
