"""Drop-in replacement for pytorch-grad-cam 1.5.7: same import paths, calls and numbers.

Replace ``pytorch_grad_cam`` with ``camlens.compat.pytorch_grad_cam`` in the import lines::

    from camlens.compat.pytorch_grad_cam import GradCAM
    from camlens.compat.pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

Every method pytorch-grad-cam exports is here, in its module, and its ``metrics`` (ROAD,
confidence change, ARCC), ``ActivationsAndGradients`` (also as ``cam.activations_and_grads``, the
last call's activations and gradients), ``utils.find_layers`` and ``utils.svd_on_activations``.
Intended differences (errors instead of silent truncation, Eigen-CAM's sign, ...) are listed in
docs/migration.md.
"""

from __future__ import annotations

from . import metrics, utils
from .ablation_cam import AblationCAM
from .ablation_layer import AblationLayer, AblationLayerFasterRCNN, AblationLayerVit
from .activations_and_gradients import ActivationsAndGradients
from .eigen_cam import EigenCAM
from .eigen_grad_cam import EigenGradCAM
from .feature_factorization.deep_feature_factorization import (
    DeepFeatureFactorization,
    run_dff_on_image,
)
from .fem import FEM
from .finer_cam import FinerCAM
from .fullgrad_cam import FullGrad
from .grad_cam import GradCAM
from .grad_cam_elementwise import GradCAMElementWise
from .grad_cam_plusplus import GradCAMPlusPlus
from .guided_backprop import GuidedBackpropReLUModel
from .hirescam import HiResCAM
from .kpca_cam import KPCA_CAM
from .layer_cam import LayerCAM
from .random_cam import RandomCAM
from .refine_cam import RefineCAM
from .score_cam import ScoreCAM
from .seg_eigen_cam import SegEigenCAM
from .sess import SESS
from .shapley_cam import ShapleyCAM
from .xgrad_cam import XGradCAM

__all__ = [
    "FEM",
    "KPCA_CAM",
    "SESS",
    "AblationCAM",
    "AblationLayer",
    "AblationLayerFasterRCNN",
    "AblationLayerVit",
    "ActivationsAndGradients",
    "DeepFeatureFactorization",
    "EigenCAM",
    "EigenGradCAM",
    "FinerCAM",
    "FullGrad",
    "GradCAM",
    "GradCAMElementWise",
    "GradCAMPlusPlus",
    "GuidedBackpropReLUModel",
    "HiResCAM",
    "LayerCAM",
    "RandomCAM",
    "RefineCAM",
    "ScoreCAM",
    "SegEigenCAM",
    "ShapleyCAM",
    "XGradCAM",
    "metrics",
    "run_dff_on_image",
    "utils",
]
