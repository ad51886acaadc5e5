"""CAM-guided augmentation: in a share of the training images, erase the region that carries the
most evidence (or the flagged region), or swap it with the same region of another image.

    R_n   = the top-``area`` fraction of pixels of image n's Grad-CAM map for its label
            (``region="evidence"``), or the given mask (``region="mask"``: e.g. a watermark
            region exported by the audit)
    erase: x_n[R_n] ← mean of x_n (per channel)
    swap:  x_n[R_n] ↔ x_m[R_n] for a random partner m (labels kept): the cue moves to images of
           other classes, so it stops predicting the class

Cost: nothing extra with ``region="mask"``; one CAM (a forward and a gradient to the layer, no
graph kept) per augmented batch with ``region="evidence"``. Erasing the most salient region
follows the "adversarial erasing" idea (Wei et al., CVPR 2017; Hide-and-Seek / CutOut); swapping
the flagged region is a targeted CutMix that keeps labels (Yun et al., ICCV 2019).

Shapes: x ``(B, C, H, W)``, y ``(B,)``, mask ``(B, H, W)`` -> augmented x, same shape.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from ..core.base import BaseCAM
from ..core.errors import MaskError
from ..core.layers import LayersSpec
from ..core.postprocess import upsample
from ..targets import ClassTarget
from ._masks import check_mask

Mode = Literal["erase", "swap"]
Region = Literal["evidence", "mask"]


def evidence_region(cam: BaseCAM, x: Tensor, y: Tensor, area: float) -> Tensor:
    """``(B, H, W)`` bool: each image's top-``area`` pixels of its label's map (model left as is).

    The map is computed with the model in eval mode (no batch-norm statistics updated), and
    the model's training flags are restored afterwards.
    """
    flags = [(m, m.training) for m in cam.model.modules()]
    cam.model.eval()
    try:
        explanation = cam.explain(x, [ClassTarget(int(c)) for c in y.tolist()])
    finally:
        for module, training in flags:
            module.training = training
    maps = upsample(next(iter(explanation.raw.values())).detach(), x.shape[2:]).flatten(1)
    k = max(1, round(area * maps.shape[1]))
    threshold = maps.topk(k, dim=1).values[:, -1:]
    return ((maps >= threshold) & (maps > 0)).view(x.shape[0], *x.shape[2:])


class CAMGuidedAugment(nn.Module):
    """``x_aug = CAMGuidedAugment(model, "block4", p=0.5)(x, y)`` (or ``(x, y, mask)``).

    In a share ``p`` of the images, the region ``R_n`` (the top-``area`` pixels of the Grad-CAM
    map, or the given mask) is erased (``x_n[R_n] ← mean of x_n``) or swapped with another
    image's. Shapes: x ``(B, C, H, W)``, y ``(B,)``, mask ``(B, H, W)`` -> x's shape.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        ...                       nn.Flatten(), nn.Linear(4, 3))
        >>> x, y = torch.rand(2, 3, 8, 8), torch.tensor([0, 2])
        >>> mask = torch.zeros(2, 8, 8)
        >>> mask[:, :4] = 1.0
        >>> augment = CAMGuidedAugment(model, "0", p=1.0, region="mask")
        >>> x_aug = augment(x, y, mask)
        >>> x_aug.shape, bool((x_aug[:, :, 4:] == x[:, :, 4:]).all())
        (torch.Size([2, 3, 8, 8]), True)
    """

    def __init__(
        self,
        model: nn.Module,
        target_layer: LayersSpec | None = None,
        *,
        p: float = 0.5,
        mode: Mode = "erase",
        region: Region = "evidence",
        area: float = 0.1,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if not 0 <= p <= 1 or not 0 < area <= 1:
            raise MaskError(f"p must be in [0, 1] and area in (0, 1], got p={p}, area={area}.")
        if mode not in ("erase", "swap") or region not in ("evidence", "mask"):
            raise MaskError(
                f"mode must be 'erase' or 'swap' and region 'evidence' or 'mask', got "
                f"{mode!r}, {region!r}."
            )
        from ..methods import GradCAM

        self.cam = GradCAM(model, target_layer)
        self.p, self.mode, self.region, self.area = float(p), mode, region, float(area)
        self.generator = generator

    @torch.no_grad()
    def _augment(self, x: Tensor, chosen: Tensor, region: Tensor) -> Tensor:
        out = x.clone()
        where = region[:, None].expand_as(x) & chosen.view(-1, 1, 1, 1)
        if self.mode == "erase":
            fill = x.mean(dim=(2, 3), keepdim=True).expand_as(x)
            return torch.where(where, fill, out)
        partner = torch.randperm(x.shape[0], generator=self.generator).to(x.device)
        for i in chosen.nonzero().flatten().tolist():  # pairwise exchange of region R_i
            j = int(partner[i])
            r = region[i][None].expand_as(x[i])
            out[i] = torch.where(r, x[j], out[i])
            out[j] = torch.where(r, x[i], out[j])
        return out

    def forward(self, x: Tensor, y: Tensor, mask: Tensor | None = None) -> Tensor:
        if self.region == "mask":
            if mask is None:
                raise MaskError("region='mask' needs the mask: call augment(x, y, mask).")
            region = check_mask(mask, x) > 0.5
        else:
            region = evidence_region(self.cam, x, y, self.area)
        chosen = torch.rand(x.shape[0], generator=self.generator) < self.p
        return self._augment(x, chosen.to(x.device), region)
