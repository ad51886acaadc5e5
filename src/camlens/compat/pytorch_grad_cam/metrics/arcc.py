"""``pytorch_grad_cam.metrics.arcc``: Complexity, Coherency and their combination with ROAD, ARCC
(arXiv:2104.10252).

    Complexity_i = ||L_i||_1 / (H·W)
    Coherency_i  = (pearson(L'_i, L_i) + 1) / 2,   L'_i = base_method(x_i ⊙ L_i, target_i)
    ARCC_i = 3 / (1/(Coherency_i + 1e-8) + 1/(1 - Complexity_i + 1e-8) + 1/(R_i + 1e-8))
    R_i = clip(2·ROAD_i, 0, 1)

with ROAD = :class:`~.road.ROADCombined` over ``road_percentiles``. The arithmetic is
:mod:`camlens.metrics` (``pearson``: unbiased, eps 1e-8 in the denominator, computed in float64
and returned in the inputs' float dtype, so float32 results can differ from pytorch-grad-cam's
float32 sums in the last bit). ``base_method`` is any pytorch-grad-cam-style CAM object: the
compat classes or pytorch-grad-cam's own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ....core.errors import InvalidInputError
from ....metrics.coherency import pearson
from ....metrics.complexity import complexity
from .road import ROADCombined

__all__ = ["ARCC", "Coherency", "Complexity", "batch_pearson_coherency"]

CamMethod = Callable[..., np.ndarray]


def _float_dtype(*arrays: np.ndarray) -> np.dtype:
    # The dtype numpy arithmetic on these arrays would give (float64 for integers).
    dtype = np.result_type(*arrays)
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)


def batch_pearson_coherency(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``(N,)`` Pearson correlation of each flattened pair ``A[i]``, ``B[i]``."""
    a, b = np.asarray(A), np.asarray(B)
    if a.shape[0] != b.shape[0] or a[0].size != b[0].size:
        raise InvalidInputError(
            f"batch_pearson_coherency: shapes {a.shape} and {b.shape} differ; pass two batches "
            "of maps of the same size."
        )
    rho = pearson(torch.from_numpy(a.copy()), torch.from_numpy(b.copy()))
    return rho.numpy().astype(_float_dtype(a, b))


class Complexity:
    """``(B,)`` mean absolute value of each map (0: all zero, 1: all one); lower is simpler."""

    def __call__(self, grayscale_cams: np.ndarray) -> np.ndarray:
        cams = np.asarray(grayscale_cams)
        cams = cams.reshape(cams.shape[0], -1).astype(_float_dtype(cams), copy=False)
        return complexity(torch.from_numpy(cams.copy())).numpy()


class Coherency:
    """``(B,)`` ``(pearson(base_method(x ⊙ L), L) + 1) / 2``; higher is more coherent."""

    def __call__(
        self,
        input_tensor: Tensor,
        grayscale_cams: np.ndarray,
        targets: list[Callable],
        model: nn.Module,
        base_method: CamMethod,
    ) -> np.ndarray:
        tensor_cams = torch.from_numpy(grayscale_cams).unsqueeze(1).to(input_tensor.device)
        mixed_cams = base_method(input_tensor=input_tensor * tensor_cams, targets=targets)
        rho = pearson(torch.as_tensor(mixed_cams), torch.from_numpy(grayscale_cams))
        return ((rho + 1) / 2).numpy().astype(_float_dtype(mixed_cams, grayscale_cams))


class ARCC:
    """``(B,)`` harmonic mean of Coherency, 1 - Complexity and clip(2·ROAD, 0, 1)."""

    def __init__(
        self,
        base_method: CamMethod,
        road_percentiles: Sequence[float] = [20, 40, 60, 80],
    ) -> None:
        self.complexity = Complexity()
        self.coherency = Coherency()
        self.road = ROADCombined(percentiles=road_percentiles)
        self.base_method = base_method

    def __call__(
        self,
        input_tensor: Tensor,
        grayscale_cams: np.ndarray,
        targets: list[Callable],
        model: nn.Module,
    ) -> np.ndarray:
        simple = self.complexity(grayscale_cams)
        coherent = self.coherency(input_tensor, grayscale_cams, targets, model, self.base_method)
        road = (self.road(input_tensor, grayscale_cams, targets, model) * 2).clip(0, 1)
        parts = 1 / (coherent + 1e-8) + 1 / ((1 - simple) + 1e-8) + 1 / (road + 1e-8)
        return 3 * parts ** (-1)
