"""Mirror of ``pytorch_grad_cam.grad_cam_plusplus``."""

from __future__ import annotations

from typing import Any, ClassVar

from ... import methods
from .base_cam import BaseCAM

__all__ = ["GradCAMPlusPlus"]


class GradCAMPlusPlus(BaseCAM, methods.GradCAMPlusPlus):
    """Grad-CAM++ with pytorch-grad-cam's ``eps=1e-6`` (alpha's denominator)."""

    native_options: ClassVar[dict[str, Any]] = {"eps": 1e-6}
