"""The CAM methods, one file each, and a registry by name (for ``camlens.explain`` and the CLI)."""

from __future__ import annotations

from ..core.base import BaseCAM
from .cam import CAM
from .eigencam import EigenCAM
from .eigengradcam import EigenGradCAM
from .gradcam import GradCAM
from .gradcam_elementwise import GradCAMElementWise
from .gradcam_plusplus import GradCAMPlusPlus
from .hirescam import HiResCAM
from .layercam import LayerCAM
from .xgradcam import XGradCAM

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
}
_ALIASES = {"gradcampp": "gradcam++", "gradcamplusplus": "gradcam++", "grad-cam": "gradcam"}


def get_method(name: str) -> type[BaseCAM]:
    """The method class for a name such as ``"gradcam++"`` (case and ``-``/``_`` ignored)."""
    key = name.lower().replace("_", "").replace("-", "")
    key = _ALIASES.get(key, key)
    if key not in METHODS:
        raise KeyError(f"unknown method {name!r}; known: {', '.join(METHODS)}.")
    return METHODS[key]


__all__ = [
    "CAM",
    "METHODS",
    "EigenCAM",
    "EigenGradCAM",
    "GradCAM",
    "GradCAMElementWise",
    "GradCAMPlusPlus",
    "HiResCAM",
    "LayerCAM",
    "XGradCAM",
    "get_method",
]
