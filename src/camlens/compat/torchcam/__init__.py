"""torchcam 0.5's API on top of camlens: same import paths (``torchcam`` ->
``camlens.compat.torchcam``), same calls, torchcam's numbers.

    from camlens.compat.torchcam.methods import SmoothGradCAMpp
    from camlens.compat.torchcam.utils import overlay_mask

    with SmoothGradCAMpp(model, "layer4") as cam_extractor:
        out = model(input_tensor)                       # your own forward pass
        activation_map = cam_extractor(out.squeeze(0).argmax().item(), out)
    # activation_map: one (B, h, w) map per target layer, at the layer's resolution, in [0, 1]

Provided: ``CAM``, ``ScoreCAM``, ``SSCAM``, ``ISCAM``, ``GradCAM``, ``GradCAMpp``,
``SmoothGradCAMpp``, ``XGradCAM``, ``LayerCAM`` and ``utils.overlay_mask``. Not provided (see
docs/migration.md): ``LeGrad``, ``RefineCAM``, ``FinerCAM``, output targets (``targets=``).
"""

from __future__ import annotations

from . import methods, utils

__all__ = ["methods", "utils"]
