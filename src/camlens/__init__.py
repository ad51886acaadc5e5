"""camlens: class activation maps (Grad-CAM and family) — exact to the papers, fast, measurable.

import camlens
with camlens.GradCAM(model, target_layers="layer4") as cam:
    maps = cam(x, targets=[camlens.ClassTarget(281)])   # (B, H, W) in [0, 1]
"""

from __future__ import annotations

from .core.base import BaseCAM, Explanation, TopK
from .core.discovery import LayerInfo, format_layers, layers
from .core.errors import (
    AutoLayerWarning,
    CamlensError,
    InvalidInputError,
    LayerNotFoundError,
    LayerNotReachedError,
    LayerOutputError,
    TargetError,
    TrainingModeWarning,
)
from .explain import explain
from .methods import (
    CAM,
    FEM,
    ISCAM,
    KPCACAM,
    METHODS,
    SESS,
    SSCAM,
    AblationCAM,
    DeepFeatureFactorization,
    EigenCAM,
    EigenGradCAM,
    FinerCAM,
    FinerTarget,
    FullGrad,
    GradCAM,
    GradCAMElementWise,
    GradCAMPlusPlus,
    HiResCAM,
    LayerCAM,
    RandomCAM,
    RefineCAM,
    ReSTTarget,
    ScoreCAM,
    SegEigenCAM,
    ShapleyCAM,
    SmoothGradCAMPlusPlus,
    SobelCAM,
    XGradCAM,
    get_method,
)
from .pixel import (
    RISE,
    Deconvolution,
    GuidedBackprop,
    GuidedGradCAM,
    Occlusion,
    Saliency,
    SmoothGrad,
)
from .targets import (
    BinaryTarget,
    BoxTarget,
    ClassTarget,
    CounterfactualTarget,
    PaddedDetections,
    RankTarget,
    SegmentationTarget,
    SimilarityTarget,
    SoftmaxTarget,
    YOLOTarget,
)

__version__ = "0.1.0"

_LAZY_SUBMODULES = {"viz", "pretrained", "compat", "demo"}


def __getattr__(name: str):
    # viz pulls in matplotlib: import it only when asked for (camlens.viz.overlay(...)).
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'camlens' has no attribute {name!r}")


__all__ = [
    "CAM",
    "FEM",
    "ISCAM",
    "KPCACAM",
    "METHODS",
    "RISE",
    "SESS",
    "SSCAM",
    "AblationCAM",
    "AutoLayerWarning",
    "BaseCAM",
    "BinaryTarget",
    "BoxTarget",
    "CamlensError",
    "ClassTarget",
    "CounterfactualTarget",
    "Deconvolution",
    "DeepFeatureFactorization",
    "EigenCAM",
    "EigenGradCAM",
    "Explanation",
    "FinerCAM",
    "FinerTarget",
    "FullGrad",
    "GradCAM",
    "GradCAMElementWise",
    "GradCAMPlusPlus",
    "GuidedBackprop",
    "GuidedGradCAM",
    "HiResCAM",
    "InvalidInputError",
    "LayerCAM",
    "LayerInfo",
    "LayerNotFoundError",
    "LayerNotReachedError",
    "LayerOutputError",
    "Occlusion",
    "PaddedDetections",
    "RandomCAM",
    "RankTarget",
    "ReSTTarget",
    "RefineCAM",
    "Saliency",
    "ScoreCAM",
    "SegEigenCAM",
    "SegmentationTarget",
    "ShapleyCAM",
    "SimilarityTarget",
    "SmoothGrad",
    "SmoothGradCAMPlusPlus",
    "SobelCAM",
    "SoftmaxTarget",
    "TargetError",
    "TopK",
    "TrainingModeWarning",
    "XGradCAM",
    "YOLOTarget",
    "explain",
    "format_layers",
    "get_method",
    "layers",
]
