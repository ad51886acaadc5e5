"""Generic attention-model explainability — Chefer, Gur & Wolf, "Generic Attention-model
Explainability for Interpreting Bi-Modal and Encoder-Decoder Transformers", ICCV 2021
(arXiv:2103.15679), the gradient-weighted variant without LRP; as in the authors' reference code
(hila-chefer/Transformer-MM-Explainability, ``Transformer_MM_explainability_ViT.ipynb``:
``avg_heads``, ``apply_self_attention_rules``, ``generate_relevance``).

With A_l ``(B, heads, N, N)`` the attention of block l and ∇A_l = ∂y^c/∂A_l (y^c the target score):

    Ā_l = E_h[ ReLU(∇A_l ⊙ A_l) ]          (eq. 5, "rule 5": mean over heads)
    R   = I;   R ← R + Ā_l · R             (eq. 6, "rule 6", blocks in order)
    map = R[cls, patches]                   (mean row without a class token)

A pooling attention at the end (fewer queries than keys, CLIP ResNet's ``AttnPool2d``) gives
``R ← Ā · R``: its queries are new tokens, so there is no identity term.

R_L = (I + Ā_L) ⋯ (I + Ā_1), so its class row is computed from the left (row times matrix).

Shapes: A_l, ∇A_l ``(B, heads, N, N)`` -> R's class row ``(B, N)`` -> map ``(B, h, w)``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..core.attention import AttentionCapture
from ._attention import AttentionMethod, is_pooling, row_of_product


class CheferRelevance(AttentionMethod):
    """Chefer et al.'s gradient-weighted attention relevance (ICCV 2021), rules 5 and 6.

    ``Ā_l = E_h[ReLU(∇A_l ⊙ A_l)]``, ``R ← R + Ā_l R`` over the blocks, map ``R[cls, patches]``.
    Shapes: A_l ``(B, heads, N, N)`` -> map ``(B, H, W)``. Formula and reference: the docstring
    of ``camlens.methods.chefer``.

    Example:
        >>> cam = CheferRelevance(vit)  # the attention of every block, found by tracing
        >>> maps = cam(x, targets=[ClassTarget(281)])  # (B, H, W) in [0, 1]
    """

    def relevance(self, capture: AttentionCapture, t: int, extra: int) -> Tensor:
        # R = (I + Ā_L) ⋯ (I + Ā_1): its class row from the left, row times matrix
        matrices = []
        for attention, grad in zip(capture.attentions, capture.gradients[t], strict=True):
            cam = (grad * attention).clamp_min(0).mean(dim=1)
            if not is_pooling(attention):
                cam = cam + torch.eye(cam.shape[-1], dtype=cam.dtype, device=cam.device)
            matrices.append(cam)
        return row_of_product(matrices, extra)
