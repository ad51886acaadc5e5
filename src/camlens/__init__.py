"""camlens: class activation maps (Grad-CAM and family) — exact to the papers, fast, measurable.

import camlens
with camlens.GradCAM(model, target_layers="layer4") as cam:
    maps = cam(x, targets=[camlens.ClassTarget(281)])   # (B, H, W) in [0, 1]

Importing camlens is cheap: the methods, targets and submodules (which import torch) load on
first use (PEP 562), so ``camlens --help`` and ``camlens --version`` answer at once.
"""

from __future__ import annotations

import importlib
import types
from typing import TYPE_CHECKING, Any

from .core.errors import (
    AttentionNotFoundError,
    AutoLayerWarning,
    CamlensError,
    ConcurrentUseError,
    InvalidInputError,
    LayerNotFoundError,
    LayerNotReachedError,
    LayerOutputError,
    TargetError,
    TrainingModeWarning,
)

__version__ = "0.1.0"

if TYPE_CHECKING:  # what static checkers and IDEs see; at run time these load on first use
    from .core.base import (
        BaseCAM,
        Explanation,
        TopK,
    )
    from .core.discovery import (
        LayerInfo,
        format_layers,
        layers,
    )
    from .core.progress import progress
    from .evaluation import evaluate
    from .explain import (
        explain,
    )
    from .methods import (
        CAM,
        FEM,
        ISCAM,
        KPCACAM,
        LIME,
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
        KernelSHAP,
        LayerCAM,
        LeGrad,
        OcclusionMap,
        RandomCAM,
        RefineCAM,
        ReSTTarget,
        RISEMap,
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

# Public names that load on first use: name -> submodule that defines it.
_LAZY_ATTRIBUTES = {
    # .core.base
    "BaseCAM": "core.base",
    "Explanation": "core.base",
    "TopK": "core.base",
    # .core.discovery
    "LayerInfo": "core.discovery",
    "format_layers": "core.discovery",
    "layers": "core.discovery",
    # .core.progress
    "progress": "core.progress",
    # .explain
    "explain": "explain",
    # .methods
    "CAM": "methods",
    "FEM": "methods",
    "ISCAM": "methods",
    "KPCACAM": "methods",
    "LIME": "methods",
    "KernelSHAP": "methods",
    "METHODS": "methods",
    "SESS": "methods",
    "RISEMap": "methods",
    "OcclusionMap": "methods",
    "SSCAM": "methods",
    "AblationCAM": "methods",
    "AttentionRollout": "methods",
    "CheferRelevance": "methods",
    "DeepFeatureFactorization": "methods",
    "EigenCAM": "methods",
    "EigenGradCAM": "methods",
    "FinerCAM": "methods",
    "FinerTarget": "methods",
    "FullGrad": "methods",
    "GradCAM": "methods",
    "GradCAMElementWise": "methods",
    "GradCAMPlusPlus": "methods",
    "HiResCAM": "methods",
    "LayerCAM": "methods",
    "LeGrad": "methods",
    "RandomCAM": "methods",
    "RefineCAM": "methods",
    "ReSTTarget": "methods",
    "ScoreCAM": "methods",
    "SegEigenCAM": "methods",
    "ShapleyCAM": "methods",
    "SmoothGradCAMPlusPlus": "methods",
    "SobelCAM": "methods",
    "XGradCAM": "methods",
    "get_method": "methods",
    # .pixel
    "RISE": "pixel",
    "Deconvolution": "pixel",
    "GuidedBackprop": "pixel",
    "GuidedGradCAM": "pixel",
    "Occlusion": "pixel",
    "Saliency": "pixel",
    "SmoothGrad": "pixel",
    # .targets
    "BinaryTarget": "targets",
    "BoxTarget": "targets",
    "ClassTarget": "targets",
    "CounterfactualTarget": "targets",
    "PaddedDetections": "targets",
    "RankTarget": "targets",
    "SegmentationTarget": "targets",
    "SimilarityTarget": "targets",
    "SoftmaxTarget": "targets",
    "TextPromptTarget": "targets",
    "YOLOTarget": "targets",
    "evaluate": "evaluation",
}
# Submodules reachable as attributes (``camlens.viz.overlay``), imported when first asked for.
_LAZY_SUBMODULES = {
    "audit",
    "cli",
    "compat",
    "core",
    "datasets",
    "demo",
    "evaluation",
    "extras",
    "images",
    "keras",
    "loading",
    "methods",
    "metrics",
    "models",
    "pixel",
    "pretrained",
    "serve",
    "targets",
    "viz",
    "zoo",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY_ATTRIBUTES:
        value = getattr(_import(_LAZY_ATTRIBUTES[name]), name)
    elif name in _LAZY_SUBMODULES:
        value = _import(name)
    else:
        raise AttributeError(f"module 'camlens' has no attribute {name!r}")
    globals()[name] = value  # cached: __getattr__ runs once per name
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY_ATTRIBUTES, *_LAZY_SUBMODULES})


def _import(module: str) -> types.ModuleType:
    """``camlens.<module>``; an optional dependency it lacks names the extra that installs it."""
    try:
        return importlib.import_module(f".{module}", __name__)
    except ModuleNotFoundError as exc:
        from .extras import missing_extra

        error = missing_extra(exc, f"camlens.{module}")
        if error is None:
            raise
        raise error from exc


class _Package(types.ModuleType):
    """The camlens module: importing the submodule ``camlens.explain`` (the function's home)
    must not replace the function ``camlens.explain`` by the module, as Python's import does."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and name in _LAZY_ATTRIBUTES:
            value = getattr(value, name)
        super().__setattr__(name, value)


import sys as _sys  # noqa: E402

_sys.modules[__name__].__class__ = _Package
del _sys

__all__ = [
    "CAM",
    "FEM",
    "ISCAM",
    "KPCACAM",
    "LIME",
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
    "ConcurrentUseError",
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
    "KernelSHAP",
    "LayerCAM",
    "LayerInfo",
    "LayerNotFoundError",
    "LayerNotReachedError",
    "LayerOutputError",
    "LeGrad",
    "Occlusion",
    "OcclusionMap",
    "PaddedDetections",
    "RISEMap",
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
    "progress",
]
