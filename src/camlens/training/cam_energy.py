"""CAM-energy penalty: the share of a class activation map's energy that lies where the
annotation says the model must not look (or outside where it must look).

    M^c   = ReLU(Σ_k α_k^c A^k)  at the layer's resolution (Grad-CAM, or LayerCAM's map),
            kept in the autograd graph (``differentiable=True``: ∂y^c/∂A with create_graph)
    U     = upsample(M^c) to the input size (bilinear, as every camlens map)
    share = Σ_ij U_ij · Ā_ij / Σ_ij U_ij,   Ā = A ("inside", a must-not-use mask)
                                              or 1 − A ("outside", a look-here mask)
    L     = CE(y, ŷ) + λ · mean_n share_n

The share is scale-free (the map's normalisation does not enter), lies in [0, 1], and is zero
for an image whose map is zero. In the spirit of "attention"-supervision losses on Grad-CAM
(e.g. Li et al., "Tell Me Where to Look", CVPR 2018; Rieger et al., CDEP, ICML 2020 for the
penalise-the-annotated-region framing); the energy share is camlens's energy pointing game
turned into a loss. One training step: one forward, one gradient to the layer with the graph
kept, one backward of the total — the logits for the cross-entropy come from the same forward.

Shapes: x ``(B, C, H, W)``, y ``(B,)``, mask ``(B, H, W)`` -> scalar.
"""

from __future__ import annotations

import warnings
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..core.base import BaseCAM
from ..core.errors import MaskError, TrainingModeWarning
from ..core.layers import LayersSpec
from ..core.postprocess import upsample
from ..targets import ClassTarget
from ._masks import check_mask

Mode = Literal["inside", "outside"]


def _cam(
    model: nn.Module, layer: LayersSpec | None, method: str | type[BaseCAM] | BaseCAM
) -> BaseCAM:
    if isinstance(method, BaseCAM):
        return method
    if isinstance(method, str):
        from ..methods import get_method

        method = get_method(method)
    return method(model, layer, differentiable=True)


def energy_share(maps: Tensor, mask: Tensor, mode: Mode = "inside") -> Tensor:
    """``(B,)`` share of each non-negative map's energy inside ``mask`` (or outside it)."""
    if mode not in ("inside", "outside"):
        raise MaskError(f"mode must be 'inside' or 'outside', got {mode!r}.")
    weight = mask if mode == "inside" else 1 - mask
    total = maps.flatten(1).sum(1)
    inside = (maps * weight).flatten(1).sum(1)
    return torch.where(total > 0, inside / torch.where(total > 0, total, 1), 0)


def cam_energy_penalty(
    cam: BaseCAM, x: Tensor, y: Tensor, mask: Tensor, mode: Mode = "inside"
) -> tuple[Tensor, Tensor]:
    """``(share (B,), logits)``: the CAM-energy share of each image's class ``y`` (one forward).

    ``cam`` must be built with ``differentiable=True`` (so the map keeps its graph).
    """
    if not cam.differentiable:
        raise MaskError("the CAM must be built with differentiable=True to train through it.")
    mask = check_mask(mask, x)
    targets = [ClassTarget(int(c)) for c in y.tolist()]
    with warnings.catch_warnings():  # a model in training mode is the point here
        warnings.simplefilter("ignore", TrainingModeWarning)
        explanation = cam.explain(x, targets)
    raw = next(iter(explanation.raw.values()))
    if len(explanation.raw) > 1:
        raw = torch.stack([upsample(r, x.shape[2:]) for r in explanation.raw.values()]).mean(0)
    maps = upsample(raw, x.shape[2:])
    return energy_share(maps, mask, mode), explanation.outputs


class CAMEnergyLoss(nn.Module):
    """``CE(y, ŷ) + λ · mean share``: ``loss = CAMEnergyLoss(model, "block4")(x, y, mask)``.

    method: ``"gradcam"`` (default) or ``"layercam"`` (finer at early layers), or any camlens
    method name/class/instance whose map is differentiable. mode: ``"inside"`` for a
    must-not-use mask, ``"outside"`` for a look-here mask. ``last`` holds the two terms.

    ``share_n = Σ_ij U_ij Ā_ij / Σ_ij U_ij`` (``U`` the upsampled map, ``Ā`` the mask or its
    complement), ``L = CE(y, ŷ) + λ · mean_n share_n``. Shapes: x ``(B, C, H, W)``, y ``(B,)``,
    mask ``(B, H, W)`` -> a scalar.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        ...                       nn.Flatten(), nn.Linear(4, 3))
        >>> x, y = torch.rand(2, 3, 8, 8), torch.tensor([0, 2])
        >>> mask = torch.zeros(2, 8, 8)
        >>> mask[:, :4] = 1.0
        >>> criterion = CAMEnergyLoss(model, "0")
        >>> loss = criterion(x, y, mask)
        >>> loss.backward()
        >>> sorted(criterion.last)
        ['answers', 'reasons']
    """

    def __init__(
        self,
        model: nn.Module,
        target_layer: LayersSpec | None = None,
        *,
        method: str | type[BaseCAM] | BaseCAM = "gradcam",
        weight: float = 1.0,
        mode: Mode = "inside",
    ) -> None:
        super().__init__()
        self.model = model
        self.cam = _cam(model, target_layer, method)
        self.weight = float(weight)
        self.mode: Mode = mode
        self.last: dict[str, float] = {}

    def forward(self, x: Tensor, y: Tensor, mask: Tensor) -> Tensor:
        share, logits = cam_energy_penalty(self.cam, x, y, mask, self.mode)
        answers = F.cross_entropy(logits, y)
        reasons = share.mean() if share.numel() else share.sum()
        self.last = {"answers": float(answers.detach()), "reasons": float(reasons.detach())}
        return answers + self.weight * reasons
