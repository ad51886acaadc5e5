"""The CAM methods, one file each, and a registry by name (for ``camlens.explain`` and the CLI)."""

from __future__ import annotations

from ..core.base import BaseCAM
from .ablationcam import AblationCAM, NearZeroScoreWarning
from .cam import CAM
from .chefer import CheferRelevance
from .dff import DeepFeatureFactorization, Factorization
from .eigencam import EigenCAM
from .eigengradcam import EigenGradCAM
from .fem import FEM
from .finercam import FinerCAM, FinerTarget
from .fullgrad import FullGrad
from .gradcam import GradCAM
from .gradcam_elementwise import GradCAMElementWise
from .gradcam_plusplus import GradCAMPlusPlus
from .hirescam import HiResCAM
from .iscam import ISCAM
from .kernelshap import KernelSHAP
from .kpcacam import KPCACAM
from .layercam import LayerCAM
from .legrad import LeGrad
from .lime import LIME
from .randomcam import RandomCAM
from .refinecam import RefineCAM
from .rollout import AttentionRollout
from .scorecam import ScoreCAM
from .segeigencam import SegEigenCAM
from .sess import SESS
from .shapleycam import ReSTTarget, ShapleyCAM
from .smoothgradcampp import SmoothGradCAMPlusPlus
from .sobelcam import SobelCAM
from .sscam import SSCAM
from .xgradcam import XGradCAM

# Deep Feature Factorization is not here: it returns k concept maps, not one map per target.
METHODS: dict[str, type[BaseCAM]] = {
    "gradcam": GradCAM,
    "gradcam++": GradCAMPlusPlus,
    "xgradcam": XGradCAM,
    "hirescam": HiResCAM,
    "gradcamelementwise": GradCAMElementWise,
    "layercam": LayerCAM,
    "eigencam": EigenCAM,
    "eigengradcam": EigenGradCAM,
    "cam": CAM,
    "scorecam": ScoreCAM,
    "sscam": SSCAM,
    "iscam": ISCAM,
    "ablationcam": AblationCAM,
    "randomcam": RandomCAM,
    "fullgrad": FullGrad,
    "shapleycam": ShapleyCAM,
    "finercam": FinerCAM,
    "fem": FEM,
    "sobelcam": SobelCAM,
    "kpcacam": KPCACAM,
    "segeigencam": SegEigenCAM,
    "smoothgradcam++": SmoothGradCAMPlusPlus,
    "refinecam": RefineCAM,
    "sess": SESS,
    # attention methods (transformers only): methods/_attention.py
    "rollout": AttentionRollout,
    "chefer": CheferRelevance,
    "legrad": LeGrad,
    # black-box methods on superpixels (any adapter: a forward is all they need): _superpixel.py
    "lime": LIME,
    "kernelshap": KernelSHAP,
}
_ALIASES = {
    "gradcampp": "gradcam++",
    "gradcamplusplus": "gradcam++",
    "smoothgradcampp": "smoothgradcam++",
    "smoothgradcamplusplus": "smoothgradcam++",
    "ablation": "ablationcam",
    "score": "scorecam",
    "attentionrollout": "rollout",
    "cheferrelevance": "chefer",
    "shap": "kernelshap",
}


def get_method(name: str) -> type[BaseCAM]:
    """The method class for a name such as ``"gradcam++"`` (case and ``-``/``_`` ignored)."""
    key = name.lower().replace("_", "").replace("-", "")
    key = _ALIASES.get(key, key)
    if key not in METHODS:
        raise KeyError(f"unknown method {name!r}; known: {', '.join(METHODS)}.")
    return METHODS[key]


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
