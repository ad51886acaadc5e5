"""RefineCAM — multi-layer refinement from "How to Evaluate and Refine your CAM" (arXiv:2605.14641),
as pytorch-grad-cam's ``RefineCAM`` and torchcam's ``RefineCAM`` implement it.

The maps of several layers (one base method, Grad-CAM++ by default) are normalised to [0, 1] and
multiplied: a region survives only where every layer agrees, which removes the noise of early,
high-resolution layers while keeping their detail. With M_l the base method's map of layer l,

    R = N(Π_l N(M_l))      N = per-image min-max normalisation to [0, 1]

Where the product is taken (``resolution``):

* ``"input"`` (default, pytorch-grad-cam): each layer's map is the base method's full
  single-layer map at the input's size (upsampled and normalised by the base method's ``fuse``);
  R is formed there.
* ``"layer"`` (torchcam): each layer's ReLU'd map is normalised at its own size, resized
  bilinearly to the largest layer's size, multiplied and normalised there; R is then upsampled to
  the input like any map. :func:`refine_layers` is that step alone (torchcam's ``fuse_cams``).

``norm_eps``: N divides by ``max − min + norm_eps``; 0 by default (the exact range: a constant map
gives zeros), pytorch-grad-cam uses 1e-7 and torchcam 1e-8. All layers come from ONE forward and
backward pass (the references run the base method once per layer).
Shapes: per layer ``(B, h_l, w_l)`` -> ``(B, *input_spatial)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor, nn

from ..core.base import BaseCAM, Explanation
from ..core.capture import Capture, ReshapeTransform
from ..core.layers import LayersSpec
from ..core.postprocess import normalize, upsample
from ..errors import InvalidInputError, OptionError
from .gradcampp import GradCAMPlusPlus

Resolution = Literal["input", "layer"]


def refine_layers(maps: Sequence[Tensor], eps: float = 0.0, size: Sequence[int] | None = None):
    """torchcam's fusion: normalise each ``(B, *sp_l)`` map, resize to ``size`` (default: the
    largest size along every axis), multiply, normalise. Returns ``(B, *size)``."""
    if not maps:
        raise InvalidInputError("refine_layers needs at least one map.")
    if size is None:
        size = [max(s) for s in zip(*(m.shape[1:] for m in maps), strict=True)]
    resized = [upsample(normalize(m, eps), size) for m in maps]
    return normalize(torch.stack(resized).prod(dim=0), eps)


class RefineCAM(BaseCAM):
    """The product of ``base_method``'s normalised maps over ``target_layers``.

    Extra keyword arguments go to ``base_method`` (e.g. ``eps=1e-6`` for Grad-CAM++).

    Formula, reference and shapes: the docstring of ``camlens.methods.refinecam``.

    Example:
        >>> cam = RefineCAM(model, target_layers=["layer3", "layer4"])
        >>> maps = cam(x, targets=[ClassTarget(281)])  # (B, H, W) in [0, 1]
    """

    name = "refinecam"

    def __init__(
        self,
        model: nn.Module,
        target_layers: LayersSpec,
        reshape_transform: ReshapeTransform | None = None,
        *,
        base_method: type[BaseCAM] = GradCAMPlusPlus,
        resolution: Resolution = "input",
        norm_eps: float = 0.0,
        differentiable: bool = False,
        **base_kwargs: object,
    ) -> None:
        if resolution not in ("input", "layer"):
            raise OptionError(f"resolution must be 'input' or 'layer', got {resolution!r}.")
        if differentiable:
            base_kwargs["differentiable"] = True
        self.base = base_method(model, target_layers, reshape_transform, **base_kwargs)
        self.model = model
        self.adapter = self.base.adapter
        self.differentiable = differentiable
        self.uses_gradients = self.base.uses_gradients
        self.resolution = resolution
        self.norm_eps = norm_eps

    def explanations(self, capture: Capture, *, eigen_smooth: bool = False) -> list[Explanation]:
        return [
            self.refine(e, capture.inputs.shape[2:])
            for e in self.base.explanations(capture, eigen_smooth=eigen_smooth)
        ]

    def refine(self, explanation: Explanation, size: Sequence[int]) -> Explanation:
        """Replace the base method's mean fusion of ``explanation`` by the refined product."""
        raw = list(explanation.raw.values())
        if self.resolution == "layer":
            per_layer = [normalize(upsample(normalize(m, self.norm_eps), size)) for m in raw]
            fused = normalize(upsample(refine_layers(raw, self.norm_eps), size), self.norm_eps)
        else:
            per_layer = [self.base.fuse([m], size)[1] for m in raw]
            fused = normalize(torch.stack(per_layer).prod(dim=0), self.norm_eps)
        explanation.per_layer = dict(zip(explanation.raw, per_layer, strict=True))
        explanation.maps = fused
        return explanation
