"""Deconvolution (deconvnet) — Zeiler & Fergus, "Visualizing and Understanding Convolutional
Networks", ECCV 2014 (arXiv:1311.2901), sec. 2.1, as a modified backward pass (Springenberg et al.
2015, fig. 1): the gradient of y^c with respect to the input, except that each ReLU passes back

    R_in = ReLU(R_out)                       (the sign of the ReLU's forward input is ignored)

Max-pooling passes back through its switches (autograd's max-pool gradient already does).
Shapes: ``(B, C, H, W)`` -> ``(B, C, H, W)``. Which ReLUs are covered: :mod:`._relu_override`.
"""

from __future__ import annotations

from ._base import GradientAttribution


class Deconvolution(GradientAttribution):
    """Input gradient with the deconvnet ReLU rule ``ReLU(upstream gradient)``.

    Formula, reference and shapes: the docstring of ``camlens.pixel.deconvolution``.

    Example:
        >>> attribution = Deconvolution(model)
        >>> grads = attribution(x, targets=[ClassTarget(281)])  # (B, C, H, W)
    """

    relu_rule = "deconvnet"
