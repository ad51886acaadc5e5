"""Pixel-space maps: attributions at input resolution, with channels.

``method(x, targets=None) -> (B, C, H, W)`` on the input's device; ``method.explain(...)`` gives
the :class:`PixelExplanation` (attributions, outputs, scores, targets). Display helpers turn the
attributions into pictures: :func:`saliency_map` (``(B, H, W)`` in [0, 1]) and :func:`deprocess`
(the Grad-CAM paper's colour image of guided backprop).

    from camlens.pixel import GuidedBackprop, deprocess
    images = deprocess(GuidedBackprop(model)(x, targets=[281]))
"""

from __future__ import annotations

from ._base import GradientAttribution, PixelAttribution, PixelExplanation
from .deconvolution import Deconvolution
from .display import deprocess, saliency_map
from .guided_backprop import GuidedBackprop
from .guided_gradcam import GuidedGradCAM
from .occlusion import Occlusion
from .rise import RISE
from .saliency import Saliency
from .smoothgrad import SmoothGrad

__all__ = [
    "RISE",
    "Deconvolution",
    "GradientAttribution",
    "GuidedBackprop",
    "GuidedGradCAM",
    "Occlusion",
    "PixelAttribution",
    "PixelExplanation",
    "Saliency",
    "SmoothGrad",
    "deprocess",
    "saliency_map",
]
