"""KPCA-CAM — Karmani, Sivakaran, Prasad, Ali, Yang & Tang, "KPCA-CAM: Visual Explainability of
Deep Computer Vision Models using Kernel PCA", 2024 (arXiv:2410.00267). Gradient-free, no class.

Eigen-CAM with kernel PCA instead of PCA. Per image, X = the (N, C) activations at N positions,
centred over positions; with a kernel k (sigmoid by default: k(x, y) = tanh(γ·x·y + c0),
γ = 1/C, c0 = 1):

    K  = [k(x_i, x_j)]_ij,  K̃ = H K H with H = I - 11ᵀ/N     (centring in feature space)
    K̃ u1 = λ1 u1,  |u1| = 1,  λ1 the largest eigenvalue
    L  = ReLU(√λ1 · u1)                              (the first kernel principal component)

This is scikit-learn's ``KernelPCA(n_components=1).fit_transform(X)``, which pytorch-grad-cam's
``KPCA_CAM`` runs per image; camlens computes it batched in torch (float64 ``eigh``) on the
input's device. An eigenvector's sign is arbitrary: by default (``sign="activations"``) camlens
chooses it, as for Eigen-CAM, so that the map correlates positively with the activations'
channel sum (scikit-learn's rule where those sums cancel, as on LayerNorm outputs:
:func:`camlens.core.projection.orient`); ``sign="sklearn"`` takes scikit-learn's rule (the
entry of largest magnitude is positive), which is what pytorch-grad-cam shows. Kernels:
``"sigmoid"``, ``"rbf"``, ``"poly"``, ``"linear"``, ``"cosine"`` (scikit-learn's definitions and
defaults: degree 3, coef0 1, γ = 1/C). Shapes: A ``(B, C, *spatial)`` -> map ``(B, *spatial)``;
K is ``(B, N, N)``, so memory and the full ``eigh`` grow as N² and N³ (N = 784 for a 28×28 layer
is quick; a 56×56 layer takes seconds).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from ..core.base import BaseCAM, LayerContext
from ..core.projection import largest_positive, orient
from ..errors import OptionError

Kernel = Literal["sigmoid", "rbf", "poly", "linear", "cosine"]
KERNELS = ("sigmoid", "rbf", "poly", "linear", "cosine")


def kernel_matrix(
    x: Tensor,
    kernel: str = "sigmoid",
    gamma: float | None = None,
    degree: int = 3,
    coef0: float = 1.0,
) -> Tensor:
    """``(B, N, N)`` kernel of the rows of ``x`` ``(B, N, C)`` (sklearn's ``pairwise_kernels``)."""
    gamma = 1.0 / x.shape[-1] if gamma is None else gamma
    gram = x @ x.transpose(1, 2)
    if kernel == "sigmoid":
        return torch.tanh(gamma * gram + coef0)
    if kernel == "poly":
        return (gamma * gram + coef0) ** degree
    if kernel == "linear":
        return gram
    if kernel == "rbf":
        sq = x.pow(2).sum(dim=2)
        distances = (sq[:, :, None] + sq[:, None, :] - 2 * gram).clamp_min(0)
        return torch.exp(-gamma * distances)
    if kernel == "cosine":
        norms = x.norm(dim=2).clamp_min(torch.finfo(x.dtype).tiny)
        return gram / (norms[:, :, None] * norms[:, None, :])
    raise OptionError(f"unknown kernel {kernel!r}; choose one of {', '.join(KERNELS)}.")


def kernel_pca_projection(
    activations: Tensor,
    kernel: str = "sigmoid",
    gamma: float | None = None,
    sign: Literal["activations", "sklearn"] = "activations",
) -> Tensor:
    """First kernel PC of each image's positions, ``(B, C, *sp)`` -> ``(B, *sp)``."""
    batch = activations.shape[0]
    x = torch.nan_to_num(activations.detach(), nan=0.0).flatten(2).transpose(1, 2).double()
    centred = x - x.mean(dim=1, keepdim=True)
    k = kernel_matrix(centred, kernel, gamma)
    # Centre in feature space (sklearn's KernelCenterer): K - 1K - K1 + 1K1.
    k = (
        k
        - k.mean(dim=1, keepdim=True)
        - k.mean(dim=2, keepdim=True)
        + k.mean(dim=(1, 2), keepdim=True)
    )
    k = (k + k.transpose(1, 2)) / 2
    values, vectors = torch.linalg.eigh(k)  # ascending
    top = vectors[:, :, -1]  # (B, N)
    value = values[:, -1].clamp_min(0)  # sklearn sets tiny/negative eigenvalues to 0
    if sign == "sklearn":
        top = largest_positive(top)
    elif sign == "activations":
        top = orient(top, x.transpose(1, 2))
    else:
        raise OptionError(f"sign must be 'activations' or 'sklearn', got {sign!r}.")
    projection = top * value.sqrt()[:, None]
    return projection.to(activations.dtype).view(batch, *activations.shape[2:])


class KPCACAM(BaseCAM):
    """KPCA-CAM: the first kernel principal component of the activations.

    Formula, reference and shapes: the docstring of ``camlens.methods.kpcacam``.

    Example:
        >>> cam = KPCACAM(model, target_layers="layer4")
        >>> maps = cam(x, targets=[ClassTarget(281)])  # (B, H, W) in [0, 1]
    """

    name = "kpcacam"

    uses_gradients = False

    def __init__(
        self,
        *args,
        kernel: Kernel = "sigmoid",
        gamma: float | None = None,
        sign: Literal["activations", "sklearn"] = "activations",
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        if kernel not in KERNELS:
            raise OptionError(f"unknown kernel {kernel!r}; choose one of {', '.join(KERNELS)}.")
        if sign not in ("activations", "sklearn"):
            raise OptionError(f"sign must be 'activations' or 'sklearn', got {sign!r}.")
        self.kernel = kernel
        self.gamma = gamma
        self.sign = sign

    def layer_map(
        self,
        activations: Tensor,
        gradients: Tensor | None,
        ctx: LayerContext,
        eigen_smooth: bool = False,
    ) -> Tensor:
        return kernel_pca_projection(activations, self.kernel, self.gamma, self.sign)
