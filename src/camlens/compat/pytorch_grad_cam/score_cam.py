"""Mirror of ``pytorch_grad_cam.score_cam``."""

from __future__ import annotations

from typing import Any, ClassVar

from ...methods.scorecam import ScoreCAM as _ScoreCAM
from .base_cam import BaseCAM

__all__ = ["ScoreCAM"]


class ScoreCAM(BaseCAM, _ScoreCAM):
    """Score-CAM with pytorch-grad-cam's masks: each channel upsampled with corners aligned,
    normalised by ``max − min + 1e-8``; the weights are the softmax of the masked inputs' scores.

    ``cam.batch_size = n`` sets the masked images per forward pass, as in pytorch-grad-cam; left
    unset (pytorch-grad-cam: 16), chunks are sized to a 512 MiB memory budget. All-zero channels
    share one forward pass of a zero image (the score pytorch-grad-cam computes for each of them).
    """

    native_options: ClassVar[dict[str, Any]] = {
        "align_corners": True,
        "mask_eps": 1e-8,
        "skip_constant": "zero",
    }
