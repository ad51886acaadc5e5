"""Guided Grad-CAM — Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
Gradient-based Localization", ICCV 2017 (arXiv:1610.02391), sec. 3, fig. 1:

    G^c = GuidedBackprop^c(x) ⊙ upsample(L^c_Grad-CAM)

"we fuse Guided Backpropagation and Grad-CAM visualizations via point-wise multiplication
(L^c_Grad-CAM is first upsampled to the input image resolution using bilinear interpolation)".
The paper multiplies by the upsampled map itself (``normalize_cam=False``: the ReLU'd Grad-CAM map
upsampled bilinearly, the mean of the layers' maps if several); pytorch-grad-cam's example
multiplies by the min-max normalised map (``normalize_cam=True``). The two differ by a per-image
affine rescaling of the Grad-CAM map.

Both explain the same targets: Grad-CAM resolves them (``None`` = top-1) and guided backprop
reuses them. Two passes: Grad-CAM's (graph from the target layer) and guided backprop's.
Shapes: ``(B, C, H, W)`` -> ``(B, C, H, W)``; ``extras``: ``"gradcam"`` ``(B, H, W)``, the map used,
and ``"guided_backprop"`` ``(B, C, H, W)``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..core.capture import ReshapeTransform
from ..core.layers import LayersSpec
from ..core.postprocess import upsample
from ..methods.gradcam import GradCAM
from ._base import PixelAttribution, PixelExplanation, image_input
from .guided_backprop import GuidedBackprop


class GuidedGradCAM(PixelAttribution):
    """Guided backprop ⊙ bilinearly upsampled Grad-CAM, batched.

    Formula, reference and shapes: the docstring of ``camlens.pixel.guided_gradcam``.

    Example:
        >>> guided = GuidedGradCAM(model, target_layers="layer4")
        >>> maps = guided(x, targets=[ClassTarget(281)])  # (B, C, H, W)
    """

    def __init__(
        self,
        model: nn.Module,
        target_layers: LayersSpec,
        reshape_transform: ReshapeTransform | None = None,
        *,
        normalize_cam: bool = False,
    ) -> None:
        super().__init__(model)
        self.gradcam = GradCAM(model, target_layers, reshape_transform)
        self.guided = GuidedBackprop(model)
        self.normalize_cam = normalize_cam

    def explain(self, input_tensor: Tensor, targets: object = None) -> PixelExplanation:
        x = image_input(input_tensor, images_only=True)
        cam = self.gradcam.explain(x, targets)
        guided = self.guided.explain(x, cam.targets)
        if self.normalize_cam:
            weights = cam.maps
        else:
            size = x.shape[2:]
            weights = torch.stack([upsample(m, size) for m in cam.raw.values()]).mean(0)
        weights = weights.to(guided.attributions.dtype)
        return PixelExplanation(
            attributions=guided.attributions * weights[:, None],
            outputs=cam.outputs,
            scores=cam.scores,
            targets=cam.targets,
            extras={"gradcam": weights, "guided_backprop": guided.attributions},
        )
