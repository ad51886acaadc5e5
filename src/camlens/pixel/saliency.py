"""Vanilla gradient saliency — Simonyan, Vedaldi & Zisserman, "Deep Inside Convolutional
Networks: Visualising Image Classification Models and Saliency Maps", ICLR workshop 2014
(arXiv:1312.6034), sec. 3.

    w = ∂y^c/∂x                              (the class score's gradient at the image)
    M_ij = max_c |w_{c,i,j}|                 (the paper's map: :func:`camlens.pixel.saliency_map`)

``Saliency(model)(x, targets)`` returns ``w``, signed, ``(B, C, H, W)``; one forward and one
``torch.autograd.grad`` to the input.
"""

from __future__ import annotations

from ._base import GradientAttribution


class Saliency(GradientAttribution):
    """∂y^c/∂x: the input gradient of each image's target score, ``(B, C, H, W)``.

    Formula, reference and shapes: the docstring of ``camlens.pixel.saliency``.

    Example:
        >>> attribution = Saliency(model)
        >>> grads = attribution(x, targets=[ClassTarget(281)])  # (B, C, H, W)
    """

    relu_rule = None
