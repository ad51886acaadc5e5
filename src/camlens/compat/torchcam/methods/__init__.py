"""Mirror of ``torchcam.methods``."""

from __future__ import annotations

from .activation import CAM, ISCAM, SSCAM, ScoreCAM
from .gradient import GradCAM, GradCAMpp, LayerCAM, SmoothGradCAMpp, XGradCAM

__all__ = [
    "CAM",
    "ISCAM",
    "SSCAM",
    "GradCAM",
    "GradCAMpp",
    "LayerCAM",
    "ScoreCAM",
    "SmoothGradCAMpp",
    "XGradCAM",
]
