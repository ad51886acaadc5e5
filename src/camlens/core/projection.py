"""First principal component of activations (Eigen-CAM, eigen-smoothing), batched in torch."""

from __future__ import annotations

import torch
from torch import Tensor


def first_principal_component(weighted: Tensor) -> Tensor:
    """Project ``(B, C, *spatial)`` onto its first principal component -> ``(B, *spatial)``.

    Per image, X = the ``(N, C)`` matrix of channel vectors at the N positions, centred over
    positions; the map is ``X v1`` with ``v1`` the first right singular vector (float64, from the
    eigendecomposition of the smaller of ``X Xᵀ`` and ``Xᵀ X``).
    SVD leaves v1's sign arbitrary; it is chosen so the map correlates positively with the
    channel sum of ``weighted`` (where the activations are), so maps are never inverted.
    """
    batch = weighted.shape[0]
    x = torch.nan_to_num(weighted.detach()).flatten(2).transpose(1, 2).double()  # (B, N, C)
    centred = x - x.mean(dim=1, keepdim=True)
    # X v1 from the smaller Gram matrix (same vector as the thin SVD's, 3-7x faster): N <= C:
    # X v1 = s1 u1, u1 the top eigenvector of X X^T (s1^2 its eigenvalue); else v1 is X^T X's
    n, c = centred.shape[1:]
    if n <= c:
        values, vectors = torch.linalg.eigh(centred @ centred.transpose(1, 2))  # ascending
        projection = vectors[..., -1:] * values[:, None, -1:].clamp_min(0).sqrt()  # (B, N, 1)
    else:
        _, vectors = torch.linalg.eigh(centred.transpose(1, 2) @ centred)
        projection = centred @ vectors[..., -1:]  # (B, N, 1)
    agreement = (projection[..., 0] * x.sum(dim=2)).sum(dim=1)  # (B,)
    sign = torch.where(agreement < 0, -1.0, 1.0).to(projection)
    projection = projection[..., 0] * sign[:, None]
    return projection.to(weighted.dtype).view(batch, *weighted.shape[2:])
