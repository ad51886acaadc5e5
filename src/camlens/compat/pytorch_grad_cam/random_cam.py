"""Mirror of ``pytorch_grad_cam.random_cam``."""

from __future__ import annotations

from typing import Any, ClassVar

from ...methods.randomcam import RandomCAM as _RandomCAM
from .base_cam import BaseCAM

__all__ = ["RandomCAM"]


class RandomCAM(BaseCAM, _RandomCAM):
    """Random-CAM (a baseline): channel weights ``np.random.uniform(-1, 1, (B, C))`` drawn from
    numpy's global generator, as pytorch-grad-cam draws them (``np.random.seed`` before a call
    gives its maps)."""

    native_options: ClassVar[dict[str, Any]] = {"rng": "numpy"}
