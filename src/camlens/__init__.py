"""camlens: class activation maps (Grad-CAM and family) — exact to the papers, fast, measurable.

import camlens
with camlens.GradCAM(model, target_layers="layer4") as cam:
    maps = cam(x, targets=[camlens.ClassTarget(281)])   # (B, H, W) in [0, 1]
"""

from __future__ import annotations

from .core.base import BaseCAM, Explanation, TopK
from .core.discovery import LayerInfo, format_layers, layers
from .core.errors import (
    AttentionNotFoundError,
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
    AttentionRollout,
    CheferRelevance,
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
    LeGrad,
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
    TextPromptTarget,
    YOLOTarget,
)

__version__ = "0.1.0"

# Imported only when asked for: viz pulls in matplotlib, keras TensorFlow, serve FastAPI, ...
_LAZY_SUBMODULES = {
    "audit",
    "compat",
    "datasets",
    "demo",
    "evaluation",
    "keras",
    "loading",
    "metrics",
    "pretrained",
    "serve",
    "viz",
    "zoo",
}
# Lazy functions: name -> (submodule, attribute).
_LAZY_ATTRIBUTES = {"evaluate": ("evaluation", "evaluate")}


def __getattr__(name: str):
    import importlib

    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_ATTRIBUTES:
        module, attribute = _LAZY_ATTRIBUTES[name]
        return getattr(importlib.import_module(f".{module}", __name__), attribute)
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
    "AttentionNotFoundError",
    "AttentionRollout",
    "AutoLayerWarning",
    "BaseCAM",
    "BinaryTarget",
    "BoxTarget",
    "CamlensError",
    "CheferRelevance",
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
    "LeGrad",
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
    "TextPromptTarget",
    "TopK",
    "TrainingModeWarning",
    "XGradCAM",
    "YOLOTarget",
    "evaluate",
    "explain",
    "format_layers",
    "get_method",
    "layers",
]
