"""LeGrad — Bousselham, Boggust, Chaybouti, Strobelt & Kuehne, "LeGrad: An Explainability Method
for Vision Transformers via Feature Formation Sensitivity", 2024 (arXiv:2404.03214); as in the
authors' ``legrad_torch`` package (``LeWrapper.compute_legrad_clip``) and torchcam's ``LeGrad``.

Each block l gets its own score s^l: the block's output tokens z^l, averaged over tokens, are put
through the model's final normalisation and head (what the model would output if its tokens were
all that mean; ``ln_post(z.mean(0)) @ proj`` in legrad_torch, ``heads(ln(z.mean(1)))`` in
torchcam), and the target scores that. With A_l ``(B, heads, N, N)`` block l's attention:

    ∇A_l = ∂s^l / ∂A_l
    E_l  = mean over heads and queries of ReLU(∇A_l)        ``(B, N)``
    map  = Σ_l E_l[patches]                                   (then min-max normalised)

The per-block scores come from the same forward pass: the final norm runs on the real tokens and
on each block's mean token as extra rows of the batch; one backward per block reaches only that
block. A pooling attention at the end (CLIP ResNet's ``AttnPool2d``) is scored by the model's
output. torchcam averages the layers instead of summing them: the same map after normalising.

Shapes: A_l, ∇A_l ``(B, heads, N, N)`` -> E_l ``(B, N)`` -> map ``(B, h, w)``.
"""

from __future__ import annotations

from typing import ClassVar

from torch import Tensor

from ..core.attention import AttentionCapture
from ._attention import AttentionMethod


class LeGrad(AttentionMethod):
    """LeGrad: each block's attention gradient of the score its own tokens would give.

    ``E_l = mean_{heads, queries} ReLU(∂s^l/∂A_l)``, map ``Σ_l E_l[patches]``, min-max
    normalised. Shapes: A_l ``(B, heads, N, N)`` -> map ``(B, H, W)``. Formula and reference:
    the docstring of ``camlens.methods.legrad``.

    Example:
        >>> cam = LeGrad(vit)  # the attention of every block, found by tracing
        >>> maps = cam(x, targets=[ClassTarget(281)])  # (B, H, W) in [0, 1]
    """

    gradient_kind: ClassVar[str] = "layer"

    def relevance(self, capture: AttentionCapture, t: int, extra: int) -> Tensor:
        total = None
        for grad in capture.layer_gradients[t]:
            layer = grad.clamp_min(0).mean(dim=(1, 2))
            total = layer if total is None else total + layer
        return total
