"""Mirror of ``pytorch_grad_cam.fullgrad_cam``."""

from __future__ import annotations

from typing import Any, ClassVar

from ...methods.fullgrad import FullGrad as _FullGrad
from .base_cam import BaseCAM

__all__ = ["FullGrad"]


class FullGrad(BaseCAM, _FullGrad):
    """FullGrad as pytorch-grad-cam computes it: ``|∂y/∂x ⊙ x|`` and ``|∂y/∂z ⊙ b|`` of every
    ``Conv2d`` / ``BatchNorm2d`` with a bias, each channel rescaled to [0, 1] and resized, summed.

    ``target_layers`` is ignored (with a warning, as pytorch-grad-cam prints one): every bias
    layer is used.
    """

    native_options: ClassVar[dict[str, Any]] = {"postprocess": "pytorch-grad-cam"}
