"""Mirror of ``pytorch_grad_cam.seg_eigen_cam``."""

from __future__ import annotations

from ...methods.segeigencam import SegEigenCAM as _SegEigenCAM
from .base_cam import BaseCAM

__all__ = ["SegEigenCAM"]


class SegEigenCAM(BaseCAM, _SegEigenCAM):
    """Seg-Eigen-CAM: first principal component of ``|∂y/∂A| ⊙ A``, its larger extreme made
    positive (the paper's sign rule, as pytorch-grad-cam)."""
