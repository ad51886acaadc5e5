"""Guided backpropagation — Springenberg, Dosovitskiy, Brox & Riedmiller, "Striving for
Simplicity: The All Convolutional Net", ICLR workshop 2015 (arXiv:1412.6806), sec. 3.4, fig. 1:
the gradient of y^c with respect to the input, except that each ReLU passes back

    R_in = ReLU(R_out) · 1[x_in > 0]         (backprop's mask and deconvnet's, together)

Unlike pytorch-grad-cam's ``GuidedBackpropReLUModel`` (first image only, modules swapped) this is
batched and swaps nothing; it equals captum's ``GuidedBackprop`` on models whose ReLUs are
``nn.ReLU`` modules, and also covers ``F.relu`` / ``torch.relu`` calls (see
:mod:`._relu_override`). Shapes: ``(B, C, H, W)`` -> ``(B, C, H, W)``.
"""

from __future__ import annotations

from ._base import GradientAttribution


class GuidedBackprop(GradientAttribution):
    """Input gradient with the guided ReLU rule ``ReLU(upstream gradient) · 1[input > 0]``.

    Formula, reference and shapes: the docstring of ``camlens.pixel.guided_backprop``.

    Example:
        >>> attribution = GuidedBackprop(model)
        >>> grads = attribution(x, targets=[ClassTarget(281)])  # (B, C, H, W)
    """

    relu_rule = "guided"
