"""Noisy linear imputation (Rong et al., "A consistent and efficient evaluation strategy for
attribution methods" (ROAD), ICML 2022; the authors' code, as vendored by pytorch-grad-cam).

Each removed pixel becomes the weighted mean of its 8 neighbours (weight 1/6 for the 4 direct,
1/12 for the 4 diagonal ones; neighbours outside the image drop out), solved jointly for all
removed pixels as one sparse linear system per image (scipy), plus Gaussian noise of std
``noise``. Removed pixels thus carry no trace of the mask's shape that the model could read.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ._utils import require_scipy

# ((d_row, d_col), weight), in the order of the reference code.
NEIGHBOURS = (
    ((1, 1), 1 / 12),
    ((0, 1), 1 / 6),
    ((-1, 1), 1 / 12),
    ((1, -1), 1 / 12),
    ((0, -1), 1 / 6),
    ((-1, -1), 1 / 12),
    ((1, 0), 1 / 6),
    ((-1, 0), 1 / 6),
)


def noisy_linear_impute(
    image: Tensor, keep: Tensor, noise: float = 0.01, generator: torch.Generator | None = None
) -> Tensor:
    """``image`` (C, H, W) with the pixels where ``keep`` (H, W) is False imputed.

    Noise is drawn on the CPU from ``generator`` (default: torch's global generator), in the
    same order and shape as the reference, so equal seeds give equal numbers.
    """
    require_scipy("ROAD's noisy linear imputation")
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import spsolve

    c, h, w = image.shape
    known = keep.detach().cpu().numpy().astype(bool).ravel()
    pixels = image.detach().cpu().float().reshape(c, -1)
    values = pixels.numpy()
    missing = np.flatnonzero(~known)
    m = missing.size
    if m == 0:
        return image.clone()
    variable = np.full(h * w, -1, dtype=np.int64)
    variable[missing] = np.arange(m)
    row, col = missing // w, missing % w
    rhs = np.zeros((m, c))
    diagonal = np.ones(m)
    rows, cols, weights = [np.arange(m)], [np.arange(m)], []
    for (dr, dc), weight in NEIGHBOURS:
        r, q = row + dr, col + dc
        inside = (r >= 0) & (r < h) & (q >= 0) & (q < w)
        diagonal[~inside] -= weight
        ids, neighbour = np.flatnonzero(inside), (r * w + q)[inside]
        has_value = known[neighbour]
        rhs[ids[has_value]] -= weight * values[:, neighbour[has_value]].T
        rows.append(ids[~has_value])
        cols.append(variable[neighbour[~has_value]])
        weights.append(np.full(int((~has_value).sum()), weight))
    data = np.concatenate([-diagonal, *weights])
    system = coo_matrix((data, (np.concatenate(rows), np.concatenate(cols))), shape=(m, m))
    solution = torch.tensor(spsolve(system.tocsc(), rhs), dtype=torch.float)  # (m, C) or (m,)
    if generator is None:
        fill = solution.t() + noise * torch.randn_like(solution.t())
    else:
        fill = solution.t() + noise * torch.randn(solution.shape, generator=generator).t()
    out = pixels.clone()
    out[:, torch.from_numpy(missing)] = fill
    return out.reshape(c, h, w).to(device=image.device, dtype=image.dtype)
