"""Mirror of ``pytorch_grad_cam.shapley_cam``."""

from __future__ import annotations

from ...methods.shapleycam import ShapleyCAM as _ShapleyCAM
from .base_cam import BaseCAM

__all__ = ["ShapleyCAM"]


class ShapleyCAM(BaseCAM, _ShapleyCAM):
    """Shapley-CAM: Grad-CAM on ``∂y/∂A − ½ H·A`` (a Hessian-vector product of the tail).

    Pair it with ``ClassifierOutputReST`` as the paper does; with a tail that is linear in A
    (global pooling + a linear classifier) and a logit target it equals Grad-CAM.
    """
