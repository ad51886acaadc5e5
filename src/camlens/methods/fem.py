"""FEM, the Feature Explanation Method — Fuad, Martin, Giot, Bourqui, Benois-Pineau & Zemmari,
"Features understanding in 3D CNNs for actions recognition in video", IPTA 2020
(https://hal.science/hal-02963298). Gradient-free and class-agnostic.

Per channel k, over the positions of one image (μ_k the mean, σ_k the population std, ddof = 0):

    M^k = 1[A^k > μ_k + k_σ·σ_k]                 (the k-sigma rule; k_σ = 2)
    L   = ReLU(Σ_k μ_k · M^k)                    (paper: binary maps weighted by channel means)

pytorch-grad-cam's ``FEM`` turns this around: it weights the *activations* by the fraction of
positions above the threshold, ``L = ReLU(Σ_k mean_ij(M^k) · A^k)``. camlens follows the paper;
``FEM(..., weighting="pytorch-grad-cam")`` (and the compat module) reproduce pytorch-grad-cam.
``eigen_smooth=True`` takes the first principal component of the weighted terms (pytorch-grad-cam
ignores it for FEM). Shapes: A ``(B, C, *spatial)`` -> map ``(B, *spatial)``; 2-D and 3-D layers.
"""

from __future__ import annotations

from typing import Literal

from torch import Tensor

from ..core.base import BaseCAM, LayerContext
from ..errors import OptionError

FEMWeighting = Literal["paper", "pytorch-grad-cam"]


def fem_masks(activations: Tensor, k: float = 2.0) -> tuple[Tensor, Tensor]:
    """``(M, μ)``: the binary maps ``A > μ + kσ`` (same shape as A) and the channel means (B, C)."""
    spatial = tuple(range(2, activations.ndim))
    mean = activations.mean(dim=spatial, keepdim=True)
    std = activations.std(dim=spatial, keepdim=True, correction=0)
    masks = (activations > mean + k * std).to(activations.dtype)
    return masks, mean.flatten(1)


class FEM(BaseCAM):
    """FEM: channel means times k-sigma binary maps (``k`` = the number of standard deviations).

    Formula, reference and shapes: the docstring of ``camlens.methods.fem``.

    Example:
        >>> cam = FEM(model, target_layers="layer4")
        >>> maps = cam(x, targets=[ClassTarget(281)])  # (B, H, W) in [0, 1]
    """

    name = "fem"

    uses_gradients = False

    def __init__(self, *args, k: float = 2.0, weighting: FEMWeighting = "paper", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if weighting not in ("paper", "pytorch-grad-cam"):
            raise OptionError(
                f"weighting must be 'paper' or 'pytorch-grad-cam', got {weighting!r}."
            )
        self.k = k
        self.weighting = weighting

    def weighted_activations(
        self, activations: Tensor, gradients: Tensor | None, ctx: LayerContext
    ) -> Tensor:
        masks, means = fem_masks(activations, self.k)
        shape = (*means.shape, *([1] * (activations.ndim - 2)))
        if self.weighting == "paper":
            return means.view(shape) * masks
        fraction = masks.flatten(2).mean(dim=2)
        return fraction.view(shape) * activations
