"""Attention rollout — Abnar & Zuidema, "Quantifying Attention Flow in Transformers", ACL 2020
(arXiv:2005.00928); head fusion and discard ratio as in the reference implementation
jacobgil/vit-explain (``vit_rollout.py``, ``rollout()``).

Per block l with attention A_l ``(B, heads, N, N)``:

    Ā_l = fuse_h(A_l)                       (mean, max or min over heads)
    Ā_l[lowest ⌊N²·r⌋ entries] = 0         (discard ratio r; entry (0, 0), class→class, is kept)
    Â_l = (Ā_l + I) / 2,  rows renormalised to sum to 1    (the residual connection)
    R   = Â_L · … · Â_1                     (R = I before the first block)
    map = R[cls, patches]                   (mean row without a class token)

A pooling attention at the end (fewer queries than keys, CLIP ResNet's ``AttnPool2d``) has no
residual: its fused row multiplies R as it is. vit-explain divides by ``a.sum(dim=-1)`` without
``keepdim``, which broadcasts over columns; the two agree whenever nothing is discarded (then
every row of Â already sums to 1); camlens renormalises rows, as the paper's row-stochastic
graph needs.

Shapes: A_l ``(B, heads, N, N)`` -> R's class row ``(B, N)`` (computed from the left, row times
matrix, never the full product; with a class token and nothing discarded, without forming any
``Â_l``: ``r Â = r' Ā + r'`` with ``r' = r / (Ā·1 + 1)``) -> map ``(B, h, w)``. No gradients.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from ..core.attention import AttentionCapture
from ..core.layers import LayersSpec
from ..errors import OptionError
from ._attention import HEAD_FUSIONS, AttentionMethod, fuse_heads, is_pooling, row_of_product


def discard_lowest(fused: Tensor, ratio: float) -> Tensor:
    """Zero the lowest ``⌊L·S·ratio⌋`` entries of each image's ``(L, S)`` matrix, never (0, 0)."""
    flat = fused.flatten(1)
    count = int(flat.shape[1] * ratio)
    if count == 0:
        return fused
    lowest = flat.topk(count, dim=1, largest=False).indices
    drop = torch.zeros_like(flat, dtype=torch.bool).scatter_(1, lowest, True)
    drop[:, 0] = False
    return flat.masked_fill(drop, 0).view_as(fused)


class AttentionRollout(AttentionMethod):
    """Attention rollout: the product of the blocks' head-fused, residual-mixed attentions.

    ``Â_l = (fuse_h(A_l) + I) / 2`` (rows renormalised), ``R = Â_L ⋯ Â_1``, map
    ``R[cls, patches]``; ``head_fusion`` and ``discard_ratio`` as in vit-explain. Shapes: A_l
    ``(B, heads, N, N)`` -> map ``(B, H, W)``. Formula and reference: the docstring of
    ``camlens.methods.rollout``.

    Example:
        >>> cam = AttentionRollout(vit)  # the attention of every block, found by tracing
        >>> maps = cam(x, targets=[ClassTarget(281)])  # (B, H, W) in [0, 1]
    """

    name = "rollout"
    aliases = ("attentionrollout",)

    uses_gradients: ClassVar[bool] = False
    gradient_kind: ClassVar[str] = "none"

    def __init__(
        self,
        model: nn.Module,
        target_layers: LayersSpec | None = None,
        reshape_transform: Any = None,
        *,
        head_fusion: str = "mean",
        discard_ratio: float = 0.0,
        differentiable: bool = False,
    ) -> None:
        if head_fusion not in HEAD_FUSIONS:
            raise OptionError(f"head_fusion must be one of {HEAD_FUSIONS}, got {head_fusion!r}.")
        if not 0.0 <= discard_ratio < 1.0:
            raise OptionError(f"discard_ratio must be in [0, 1), got {discard_ratio}.")
        super().__init__(model, target_layers, reshape_transform, differentiable=differentiable)
        self.head_fusion = head_fusion
        self.discard_ratio = discard_ratio

    def relevance(self, capture: AttentionCapture, t: int, extra: int) -> Tensor:
        attentions = capture.attentions
        class_row = extra >= 1 or attentions[-1].shape[-2] == 1
        if self.discard_ratio == 0 and class_row and not any(map(is_pooling, attentions)):
            return self._class_row(attentions)
        matrices = []
        for attention in capture.attentions:
            fused = discard_lowest(fuse_heads(attention, self.head_fusion), self.discard_ratio)
            if not is_pooling(attention):
                eye = torch.eye(fused.shape[-1], dtype=fused.dtype, device=fused.device)
                fused = (fused + eye) / 2
                fused = fused / fused.sum(dim=-1, keepdim=True)
            matrices.append(fused)
        return row_of_product(matrices, extra)

    def _class_row(self, attentions: list[Tensor]) -> Tensor:
        """The class row of ``Â_L ⋯ Â_1`` without forming any ``Â_l``: with ``F`` the fused heads
        and ``s = F·1`` its row sums, ``Â = diag(1/(s+1)) (F + I)``, so a row vector ``r``
        gives ``r Â = r' F + r'`` with ``r' = r / (s + 1)``; the last block contributes its class
        row only (one row of its heads fused)."""
        last = fuse_heads(attentions[-1][:, :, :1], self.head_fusion)[:, 0]  # (B, S)
        own = torch.zeros_like(last)
        own[:, 0] = 1  # the class token's residual
        row = (last + own) / (last.sum(dim=-1, keepdim=True) + 1)
        for attention in reversed(attentions[:-1]):
            if self.head_fusion == "mean":  # the mean over heads taken after the product: one
                heads = attention.shape[1]  # pass over the block's attention instead of two
                scaled = row / (attention.sum(dim=-1).mean(dim=1) + 1)
                product = (scaled[:, None, None] @ attention).sum(dim=1)[:, 0] / heads
            else:
                fused = fuse_heads(attention, self.head_fusion)
                scaled = row / (fused.sum(dim=-1) + 1)
                product = (scaled[:, None] @ fused)[:, 0]
            row = product + scaled
        return row
