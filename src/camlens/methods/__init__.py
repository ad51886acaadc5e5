"""The CAM methods, one file each, registered by name (for ``camlens.explain`` and the CLI).

One naming rule: a method's module is its registered name, ``++`` spelled ``pp``
(``gradcam++`` -> ``gradcampp.py``); ``METHODS`` and ``get_method`` are
:mod:`camlens.core.registry`'s.
"""

from __future__ import annotations

# isort: off
# The import order is the order of METHODS (the CLI's help and the docs list them so): each
# method registers itself, with its name and aliases, when its class is defined
# (camlens.core.registry). A module imported by an earlier one registers no sooner than here.
from .gradcam import GradCAM
from .gradcampp import GradCAMPlusPlus
from .xgradcam import XGradCAM
from .hirescam import HiResCAM
from .gradcamelementwise import GradCAMElementWise
from .layercam import LayerCAM
from .eigencam import EigenCAM
from .eigengradcam import EigenGradCAM
from .cam import CAM
from .scorecam import ScoreCAM
from .sscam import SSCAM
from .iscam import ISCAM
from .ablationcam import AblationCAM, NearZeroScoreWarning
from .randomcam import RandomCAM
from .fullgrad import FullGrad
from .shapleycam import ReSTTarget, ShapleyCAM
from .finercam import FinerCAM, FinerTarget
from .fem import FEM
from .sobelcam import SobelCAM
from .kpcacam import KPCACAM
from .segeigencam import SegEigenCAM
from .smoothgradcampp import SmoothGradCAMPlusPlus
from .refinecam import RefineCAM
from .sess import SESS

# black-box methods (the model's scores only: any adapter, ONNX included): methods/_blackbox.py
from .rise import RISEMap
from .occlusion import OcclusionMap

# attention methods (transformers only): methods/_attention.py
from .rollout import AttentionRollout
from .chefer import CheferRelevance
from .legrad import LeGrad

# black-box methods on superpixels (any adapter: a forward is all they need): _superpixel.py
from .lime import LIME
from .kernelshap import KernelSHAP

# isort: on
# Deep Feature Factorization is not registered: it returns k concept maps, not one map per target.
from ..core.registry import ALIASES as _ALIASES  # noqa: F401  (the old private name)
from ..core.registry import METHODS, get_method
from .dff import DeepFeatureFactorization, Factorization

__all__ = [
    "CAM",
    "FEM",
    "ISCAM",
    "KPCACAM",
    "LIME",
    "METHODS",
    "SESS",
    "SSCAM",
    "AblationCAM",
    "AttentionRollout",
    "CheferRelevance",
    "DeepFeatureFactorization",
    "EigenCAM",
    "EigenGradCAM",
    "Factorization",
    "FinerCAM",
    "FinerTarget",
    "FullGrad",
    "GradCAM",
    "GradCAMElementWise",
    "GradCAMPlusPlus",
    "HiResCAM",
    "KernelSHAP",
    "LayerCAM",
    "LeGrad",
    "NearZeroScoreWarning",
    "OcclusionMap",
    "RISEMap",
    "RandomCAM",
    "ReSTTarget",
    "RefineCAM",
    "ScoreCAM",
    "SegEigenCAM",
    "ShapleyCAM",
    "SmoothGradCAMPlusPlus",
    "SobelCAM",
    "XGradCAM",
    "get_method",
]
