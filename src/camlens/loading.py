"""Moved: model loading is :mod:`camlens.models`, image loading :mod:`camlens.images`.

This old path keeps working (``from camlens.loading import load_model, load_image``): every name
it had, public or private, is looked up in its new home.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import (
    CamlensError,
    DeviceError,
    ImageTooLargeError,
    InvalidImageError,
    InvalidInputError,
    MissingDependencyError,
    ModelLoadError,
    UnknownModelError,
    UntrustedFileWarning,
    WeightsUnavailableError,
)
from .images import MAX_ASPECT, MAX_PIXELS, check_image_size, load_image
from .models._device import resolve_device
from .models._factory import load_model
from .models._loaded import DEFAULT_INPUT_SIZE, RANDOM, RANDOM_NOTE, LoadedModel
from .models._sources import DEMO_LAYER
from .models._weights import WEIGHT_SUFFIXES, sha256_of
from .models.transforms import IMAGENET_MEAN, IMAGENET_STD

# the old private names, in their new homes: name -> (module, attribute)
_MOVED = {
    "_source_name": ("camlens.images", "_source_name"),
    "_full_scale": ("camlens.images", "_full_scale"),
    "_to_rgb": ("camlens.images", "_to_rgb"),
    "_Crop": ("camlens.models.transforms", "ResizeCenterCrop"),
    "_Preprocess": ("camlens.models.transforms", "ImagePreprocess"),
    "_imagenet_crop": ("camlens.models.transforms", "imagenet_crop"),
    "_imagenet_preprocess": ("camlens.models.transforms", "imagenet_transforms"),
    "_preprocess_from_transforms": ("camlens.models.transforms", "from_torchvision_transforms"),
    "_looks_like_path": ("camlens.models._weights", "looks_like_path"),
    "_is_torchscript": ("camlens.models._weights", "is_torchscript"),
    "_read_weights_file": ("camlens.models._weights", "read_weights_file"),
    "_state_dict_of": ("camlens.models._weights", "state_dict_of"),
    "_load_state": ("camlens.models._weights", "load_state"),
    "_classifier_key": ("camlens.models._weights", "classifier_key"),
    "_output_classes": ("camlens.models._weights", "output_classes"),
    "_is_file_argument": ("camlens.models._weights", "is_file_argument"),
    "_existing_file": ("camlens.models._weights", "existing_file"),
    "_timm_cached_file": ("camlens.models._hub", "hf_cached_file"),
    "_read_labels": ("camlens.models._factory", "read_labels"),
    "_TORCHVISION_LAYERS": ("camlens.models._sources", "TORCHVISION_LAYERS"),
    "_default_layer": ("camlens.models._sources", "default_layer"),
    "_torchvision": ("camlens.models._sources", "_torchvision"),
    "_torchvision_names": ("camlens.models._sources", "torchvision_names"),
    "_torchvision_enum": ("camlens.models._sources", "torchvision_enum"),
    "_timm": ("camlens.models._sources", "_timm"),
    "_zoo": ("camlens.models._sources", "_zoo"),
    "_imagenet_names": ("camlens.models._sources", "imagenet_names"),
    "_unknown": ("camlens.models._sources", "unknown_model"),
    "_from_saved_file": ("camlens.models._sources", "_from_saved_file"),
}


def __getattr__(name: str) -> Any:
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _MOVED[name]
    return getattr(importlib.import_module(module), attribute)


__all__ = [
    "DEFAULT_INPUT_SIZE",
    "DEMO_LAYER",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "MAX_ASPECT",
    "MAX_PIXELS",
    "RANDOM",
    "RANDOM_NOTE",
    "WEIGHT_SUFFIXES",
    "CamlensError",
    "DeviceError",
    "ImageTooLargeError",
    "InvalidImageError",
    "InvalidInputError",
    "LoadedModel",
    "MissingDependencyError",
    "ModelLoadError",
    "UnknownModelError",
    "UntrustedFileWarning",
    "WeightsUnavailableError",
    "check_image_size",
    "load_image",
    "load_model",
    "resolve_device",
    "sha256_of",
]
