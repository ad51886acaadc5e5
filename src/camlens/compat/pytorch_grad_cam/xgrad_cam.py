"""Mirror of ``pytorch_grad_cam.xgrad_cam``."""

from __future__ import annotations

from typing import Any, ClassVar

from ... import methods
from .base_cam import BaseCAM

__all__ = ["XGradCAM"]


class XGradCAM(BaseCAM, methods.XGradCAM):
    """XGrad-CAM with pytorch-grad-cam's ``eps=1e-7`` (added to the activation sum)."""

    native_options: ClassVar[dict[str, Any]] = {"eps": 1e-7}
