"""First principal component of activations (Eigen-CAM, eigen-smoothing), batched in torch."""

from __future__ import annotations

import torch
from torch import Tensor


def first_principal_component(weighted: Tensor) -> Tensor:
    """Project ``(B, C, *spatial)`` onto its first principal component -> ``(B, *spatial)``.

    Per image, X = the ``(N, C)`` matrix of channel vectors at the N positions, centred over
    positions; the map is ``X v1`` with ``v1`` the first right singular vector (thin SVD, float64).
    SVD leaves v1's sign arbitrary; it is chosen so the map correlates positively with the
    channel sum of ``weighted`` (where the activations are), so maps are never inverted.
    """
    batch = weighted.shape[0]
    x = torch.nan_to_num(weighted.detach()).flatten(2).transpose(1, 2).double()  # (B, N, C)
    centred = x - x.mean(dim=1, keepdim=True)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    projection = centred @ vh[:, 0, :, None]  # (B, N, 1)
    agreement = (projection[..., 0] * x.sum(dim=2)).sum(dim=1)  # (B,)
    sign = torch.where(agreement < 0, -1.0, 1.0).to(projection)
    projection = projection[..., 0] * sign[:, None]
    return projection.to(weighted.dtype).view(batch, *weighted.shape[2:])
