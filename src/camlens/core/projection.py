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
    channel sum of ``weighted`` (where the activations are), so maps are never inverted
    (:func:`orient`: where those sums cancel, the largest entry is made positive).
    """
    batch = weighted.shape[0]
    # Few ops on purpose: after a model's forward pass each op runs with cold caches (~20 µs)
    x = torch.nan_to_num(weighted.detach().flatten(2)).double()  # (B, C, N)
    centred = x - x.mean(dim=2, keepdim=True)  # centred over positions
    # X v1 from the smaller Gram matrix (same vector as the thin SVD's, 3-7x faster): N <= C:
    # X v1 = s1 u1, u1 the top eigenvector of X X^T (s1^2 its eigenvalue); else v1 is X^T X's
    c, n = centred.shape[1:]
    if n <= c:
        values, vectors = torch.linalg.eigh(torch.bmm(centred.mT, centred))  # ascending
        projection = vectors[..., -1] * values[:, -1:].clamp_min(0).sqrt()  # (B, N)
    else:
        _, vectors = torch.linalg.eigh(torch.bmm(centred, centred.mT))
        projection = torch.bmm(vectors[:, None, :, -1], centred)[:, 0]  # (B, N)
    return orient(projection, x).to(weighted.dtype).view(batch, *weighted.shape[2:])


#: The channel sums say nothing of a sign when they cancel to this fraction of the activations'
#: magnitude (LayerNorm outputs: each token's channels sum to zero up to rounding)
CANCELLED_RTOL = 1e-5


def orient(projection: Tensor, x: Tensor) -> Tensor:
    """``(B, N)`` projections signed so each correlates positively with the channel sum of its
    ``(B, C, N)`` activations ``x`` (where they are): the map is never inverted.

    When the channel sums cancel (``|Σ_n p_n Σ_c x_cn| <= CANCELLED_RTOL · Σ_n |p_n| Σ_c |x_cn|``,
    as on LayerNorm outputs), that correlation is rounding noise and would flip with the
    hardware; the entry of largest magnitude is then made positive (scikit-learn's
    ``svd_flip``), which rounding cannot flip.
    """
    agreement = (projection * x.sum(dim=1)).sum(dim=1, keepdim=True)  # (B, 1)
    scale = (projection.abs() * x.abs().sum(dim=1)).sum(dim=1, keepdim=True)
    flip = torch.where(
        agreement.abs() <= CANCELLED_RTOL * scale, _peak(projection) < 0, agreement < 0
    )
    return torch.where(flip, -projection, projection)


def largest_positive(projection: Tensor) -> Tensor:
    """``(B, N)`` projections signed so each one's entry of largest magnitude is positive
    (scikit-learn's ``svd_flip``)."""
    return torch.where(_peak(projection) < 0, -projection, projection)


def _peak(projection: Tensor) -> Tensor:
    """``(B, 1)``: each row's entry of largest magnitude, with its sign."""
    return projection.gather(1, projection.abs().argmax(dim=1, keepdim=True))
