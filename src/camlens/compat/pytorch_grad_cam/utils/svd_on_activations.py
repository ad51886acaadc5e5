"""Mirror of ``pytorch_grad_cam.utils.svd_on_activations``: projections of activations onto
their first (kernel) principal component, computed by camlens' batched torch code.

Each takes a ``(B, C, *spatial)`` batch (numpy or torch; NaN read as 0, the caller's array left
as it is) and returns a float32 numpy ``(B, *spatial)``. Per image, X is the ``(N, C)`` matrix of
channel vectors at the N positions, centred over positions.

* :func:`get_2d_projection`: ``X v1`` (v1 the first right singular vector). pytorch-grad-cam
  keeps the sign LAPACK happens to give; camlens signs it so the map agrees with the activations'
  channel sum (docs/migration.md, "Eigen-CAM's sign").
* :func:`get_2d_projection_kernel`: the first kernel principal component, as scikit-learn's
  ``KernelPCA(n_components=1, kernel, gamma).fit_transform(X)`` computes and signs it.
* :func:`get_2d_projection_with_sign_correction`: ``X v1``, negated when ``|min| > |max|``
  (Seg-Eigen-CAM, eq. 13), which fixes the sign.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ....core.projection import first_principal_component
from ....methods.kpcacam import kernel_pca_projection
from ....methods.segeigencam import projection_with_sign_correction

__all__ = [
    "get_2d_projection",
    "get_2d_projection_kernel",
    "get_2d_projection_with_sign_correction",
]


def _batch(activation_batch: np.ndarray | Tensor) -> Tensor:
    """A float tensor view of the batch (never written to: the projections copy first)."""
    batch = torch.as_tensor(
        np.asarray(activation_batch)
        if not isinstance(activation_batch, Tensor)
        else activation_batch.detach().cpu()
    )
    if batch.ndim < 3:
        raise ValueError(
            f"activation_batch must be (B, C, *spatial), got shape {tuple(batch.shape)}."
        )
    return batch if batch.is_floating_point() else batch.float()


def _numpy(projection: Tensor) -> np.ndarray:
    return projection.numpy().astype(np.float32)


def get_2d_projection(activation_batch: np.ndarray | Tensor) -> np.ndarray:
    """First principal component of each image's activations, ``(B, *spatial)`` float32."""
    return _numpy(first_principal_component(_batch(activation_batch)))


def get_2d_projection_kernel(
    activation_batch: np.ndarray | Tensor, kernel: str = "sigmoid", gamma: float | None = None
) -> np.ndarray:
    """First kernel principal component (scikit-learn's ``KernelPCA``), ``(B, *spatial)``."""
    return _numpy(kernel_pca_projection(_batch(activation_batch), kernel, gamma, sign="sklearn"))


def get_2d_projection_with_sign_correction(activation_batch: np.ndarray | Tensor) -> np.ndarray:
    """First principal component, its larger extreme made positive, ``(B, *spatial)``."""
    return _numpy(projection_with_sign_correction(_batch(activation_batch)))
