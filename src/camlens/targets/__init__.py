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
from .detection import (
    BoxTarget,
    PaddedDetections,
    YOLOTarget,
    fpn_layers,
    pad_detections,
    unpad_detections,
)
from .embedding import SimilarityTarget
from .finer import FinerTarget
from .segmentation import SegmentationTarget
from .text import NotADualEncoderError, TextPromptTarget, dual_encoder_kind, image_tower

__all__ = [
    "BinaryTarget",
    "BoxTarget",
    "ClassTarget",
    "CounterfactualTarget",
    "FinerTarget",
    "NotADualEncoderError",
    "PaddedDetections",
    "RankTarget",
    "SegmentationTarget",
    "SimilarityTarget",
    "SoftmaxTarget",
    "Target",
    "TextPromptTarget",
    "YOLOTarget",
    "dual_encoder_kind",
    "fpn_layers",
    "image_tower",
    "pad_detections",
    "resolve_targets",
    "score_targets",
    "unpad_detections",
]
