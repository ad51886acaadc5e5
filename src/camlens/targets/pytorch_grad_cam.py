"""pytorch-grad-cam's targets (``pytorch_grad_cam.utils.model_targets``): its names, its scores.

:mod:`camlens.compat.pytorch_grad_cam.utils.model_targets` re-exports them under that path.

A target maps one image's model output to the score the map explains. camlens calls it with one
image's output (no batch axis), as pytorch-grad-cam does; each class also accepts a batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .finer import FinerTarget

__all__ = [
    "BinaryClassifierOutputTarget",
    "ClassifierOutputReST",
    "ClassifierOutputSoftmaxTarget",
    "ClassifierOutputTarget",
    "FasterRCNNBoxScoreTarget",
    "FinerWeightedTarget",
    "RawScoresOutputTarget",
    "SemanticSegmentationTarget",
    "SoftmaxOutputTarget",
]


class _CategoryTarget:
    # Shared constructor and repr; the public classes are unrelated, as in pytorch-grad-cam.
    def __init__(self, category: int) -> None:
        self.category = category

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.category})"


class ClassifierOutputTarget(_CategoryTarget):
    """The score (logit) of class ``category``: ``output[category]``."""

    def __call__(self, model_output: Tensor) -> Tensor:
        if len(model_output.shape) == 1:
            return model_output[self.category]
        return model_output[:, self.category]


class ClassifierOutputSoftmaxTarget(_CategoryTarget):
    """The softmax probability of class ``category``."""

    def __call__(self, model_output: Tensor) -> Tensor:
        if len(model_output.shape) == 1:
            return torch.softmax(model_output, dim=-1)[self.category]
        return torch.softmax(model_output, dim=-1)[:, self.category]


class ClassifierOutputReST(_CategoryTarget):
    """ReST (arXiv:2501.06261): the logit minus the cross-entropy loss of ``category``."""

    def __call__(self, model_output: Tensor) -> Tensor:
        if len(model_output.shape) == 1:
            target = torch.tensor([self.category], device=model_output.device)
            model_output = model_output.unsqueeze(0)
            ce = torch.nn.functional.cross_entropy(model_output, target)
            return model_output[0][self.category] - ce
        target = torch.tensor([self.category] * model_output.shape[0], device=model_output.device)
        ce = torch.nn.functional.cross_entropy(model_output, target, reduction="none")
        return model_output[:, self.category] - ce


class BinaryClassifierOutputTarget(_CategoryTarget):
    """A one-logit binary classifier: ``category=1`` explains the logit, any other its negation."""

    def __call__(self, model_output: Tensor) -> Tensor:
        sign = 1 if self.category == 1 else -1
        return model_output * sign


class SoftmaxOutputTarget:
    """All softmax probabilities (a vector; for metrics, not a map's score)."""

    def __call__(self, model_output: Tensor) -> Tensor:
        return torch.softmax(model_output, dim=-1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class RawScoresOutputTarget:
    """The raw output (a vector; for metrics, not a map's score)."""

    def __call__(self, model_output: Tensor) -> Tensor:
        return model_output

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class SemanticSegmentationTarget:
    """The sum of class ``category``'s scores over the pixels of a binary ``mask`` (H, W).

    The model output per image is ``(num_classes, H, W)``.
    """

    def __init__(self, category: int, mask: np.ndarray | Tensor) -> None:
        self.category = category
        self.mask = torch.as_tensor(mask)

    def __call__(self, model_output: Tensor) -> Tensor:
        return (model_output[self.category, :, :] * self.mask.to(model_output.device)).sum()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.category}, mask={tuple(self.mask.shape)})"


class FasterRCNNBoxScoreTarget:
    """Detection: for each reference box, IoU + score of the best-matching detected box.

    A detection counts when its IoU with the reference box exceeds ``iou_threshold`` and its
    label equals the reference label; the score is the sum over reference boxes (0 if none).
    The per-image output is a dict with ``"boxes"``, ``"labels"`` and ``"scores"``.
    """

    def __init__(
        self, labels: Sequence[Any], bounding_boxes: Sequence[Any], iou_threshold: float = 0.5
    ) -> None:
        self.labels = labels
        self.bounding_boxes = bounding_boxes
        self.iou_threshold = iou_threshold

    def __call__(self, model_outputs: dict[str, Tensor]) -> Tensor:
        from torchvision.ops import box_iou  # torchvision is optional for camlens

        boxes = model_outputs["boxes"]
        device, dtype = boxes.device, boxes.dtype
        output = torch.tensor([0.0], device=device, dtype=dtype)
        if len(boxes) == 0:
            return output
        for box, label in zip(self.bounding_boxes, self.labels, strict=False):
            box = torch.as_tensor(box[None, :], device=device, dtype=dtype)
            ious = box_iou(box, boxes)
            index = ious.argmax()
            if ious[0, index] > self.iou_threshold and model_outputs["labels"][index] == label:
                output = output + ious[0, index] + model_outputs["scores"][index]
        return output

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.labels)} boxes)"


class FinerWeightedTarget(FinerTarget):
    """Finer-CAM's score: ``main_category`` against ``comparison_categories``,

    ``Σ_t p_t (y[main] − α·y[d_t]) / (Σ_t p_t + 1e-9)`` with ``p = softmax(y)`` (p is not
    detached, so gradients include the change of the weights).
    """

    def __init__(
        self, main_category: int, comparison_categories: Sequence[int], alpha: float
    ) -> None:
        super().__init__(main_category, list(comparison_categories), alpha=alpha)
        self.main_category = main_category
        self.comparison_categories = comparison_categories

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.main_category}, {list(self.comparison_categories)}, "
            f"{self.alpha})"
        )
