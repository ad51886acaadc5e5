"""Seg-Eigen-CAM — Chung & Ying, "Seg-Eigen-CAM: Eigen-Value-Based Visual Explanations for Semantic
Segmentation Models", Applied Sciences 15(13):7562, 2025 (doi:10.3390/app15137562).

    W = |∂y^c/∂A| ⊙ A                                        (eq. 10: pixel-wise gradient weighting)
    p = X v1,  X the (N, C) rows of W at N positions, centred; v1 its first right singular vector
    p ← -p  if |min p| > |max p|                             (eq. 13: sign correction)
    L^c = ReLU(p)

The sign rule is the paper's (and pytorch-grad-cam's), not camlens' Eigen-CAM rule: the larger
extreme of the projection is made positive. ``eigen_smooth`` changes nothing (the map is a
projection already). Shapes: A, ∂y/∂A ``(B, C, *spatial)`` -> map ``(B, *spatial)``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..core.base import BaseCAM, LayerContext


def projection_with_sign_correction(weighted: Tensor) -> Tensor:
    """``(B, C, *spatial)`` -> ``(B, *spatial)``: first-PC projection, larger extreme positive.

    NaNs count as 0; the SVD runs in float64, batched.
    """
    batch = weighted.shape[0]
    x = torch.nan_to_num(weighted.detach(), nan=0.0).flatten(2).transpose(1, 2).double()
    centred = x - x.mean(dim=1, keepdim=True)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    projection = (centred @ vh[:, 0, :, None])[..., 0]  # (B, N)
    flip = projection.min(dim=1).values.abs() > projection.max(dim=1).values.abs()
    projection = torch.where(flip[:, None], -projection, projection)
    return projection.to(weighted.dtype).view(batch, *weighted.shape[2:])


class SegEigenCAM(BaseCAM):
    """Seg-Eigen-CAM: the first principal component of ``|∂y^c/∂A| ⊙ A``, sign-corrected.

    ``p = X v1`` over the centred rows of ``|∂y^c/∂A| ⊙ A``, ``p ← -p`` when
    ``|min p| > |max p|``, ``L^c = ReLU(p)`` (Chung & Ying 2025, eqs. 10, 13). Shapes: A, ∂y/∂A
    ``(B, C, h, w)`` -> map ``(B, H, W)``. See the docstring of ``camlens.methods.segeigencam``.

    Example:
        >>> cam = SegEigenCAM(model, target_layers="layer4")
        >>> maps = cam(x, targets=[ClassTarget(281)])  # (B, H, W) in [0, 1]
    """

    def layer_map(
        self,
        activations: Tensor,
        gradients: Tensor,
        ctx: LayerContext,
        eigen_smooth: bool = False,
    ) -> Tensor:
        return projection_with_sign_correction(gradients.abs() * activations)
