"""Drop-in replacement for pytorch-grad-cam 1.5.7: same import paths, calls and numbers.

Replace ``pytorch_grad_cam`` with ``camlens.compat.pytorch_grad_cam`` in the import lines::

    from camlens.compat.pytorch_grad_cam import GradCAM
    from camlens.compat.pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

Intended differences (errors instead of silent truncation, Eigen-CAM's sign, no ``aug_smooth``
yet) are listed in docs/migration.md.
"""

from __future__ import annotations

from . import utils
from .eigen_cam import EigenCAM
from .eigen_grad_cam import EigenGradCAM
from .grad_cam import GradCAM
from .grad_cam_elementwise import GradCAMElementWise
from .grad_cam_plusplus import GradCAMPlusPlus
from .hirescam import HiResCAM
from .layer_cam import LayerCAM
from .xgrad_cam import XGradCAM

# Methods camlens does not implement yet are not exported (no stubs). When a method lands in
# camlens.methods, add its module here under pytorch-grad-cam's name (score_cam.ScoreCAM,
# ablation_cam.AblationCAM, fullgrad_cam.FullGrad, ...) and export it below; add ``metrics/``
# with the metrics issue.

__all__ = [
    "EigenCAM",
    "EigenGradCAM",
    "GradCAM",
    "GradCAMElementWise",
    "GradCAMPlusPlus",
    "HiResCAM",
    "LayerCAM",
    "XGradCAM",
    "utils",
]
