"""``pytorch_grad_cam.metrics``: the same metrics, the same numbers (pytorch-grad-cam 1.5.7).

Replace ``pytorch_grad_cam.metrics`` with ``camlens.compat.pytorch_grad_cam.metrics``::

    from camlens.compat.pytorch_grad_cam.metrics.road import ROADCombined
    from camlens.compat.pytorch_grad_cam.metrics.cam_mult_image import DropInConfidence

Modules: :mod:`.perturbation_confidence`, :mod:`.cam_mult_image`, :mod:`.road`, :mod:`.arcc`.
Each metric is called as ``metric(input_tensor, cams, targets, model)`` with one target callable
per image and returns a numpy array with one value per image. The arithmetic is camlens'
(:mod:`camlens.metrics`): noisy linear imputation (ROAD), Pearson correlation, complexity.
"""

from __future__ import annotations

from . import arcc, cam_mult_image, perturbation_confidence, road

__all__ = ["arcc", "cam_mult_image", "perturbation_confidence", "road"]
