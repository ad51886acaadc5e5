"""Models: load one from what a user types, its weights, its preprocessing, and the zoo.

After timm's layout, one concern a module:

- :mod:`~camlens.models._factory`: :func:`load_model`, the entry point of the CLI, the web app
  and the audit;
- :mod:`~camlens.models._registry`: the ordered registry of model sources (:data:`SOURCES`,
  :func:`register_source`); :mod:`~camlens.models._sources`: the sources (file, demo, zoo,
  torchvision, timm);
- :mod:`~camlens.models._weights`: weights files and their SHA-256;
  :mod:`~camlens.models._hub`: torch's and Hugging Face's local caches;
  :mod:`~camlens.models._pretrained`: the bundled ImageNet MobileNetV2
  (:func:`mobilenet_v2_imagenet`, :func:`install_checkpoint`, re-exported here);
- :mod:`~camlens.models.transforms`: preprocessing (reading images is :mod:`camlens.images`);
- :mod:`~camlens.models.zoo`: the trained models camlens ships;
- :mod:`~camlens.models.wrappers`: layout wrappers such as :class:`VideoChannelsFirst`.

The old paths ``camlens.loading``, ``camlens.pretrained`` and ``camlens.zoo`` still work.
"""

from __future__ import annotations

from ._device import resolve_device
from ._factory import load_model, read_labels
from ._loaded import LoadedModel
from ._pretrained import (
    hub_checkpoint,
    imagenet_categories,
    install_checkpoint,
    mobilenet_v2_imagenet,
    verify_checkpoint,
)
from ._registry import SOURCES, ModelSource, find_source, register_source, unregister_source
from ._weights import sha256_of
from .transforms import imagenet_preprocess
from .wrappers import VideoChannelsFirst

__all__ = [
    "SOURCES",
    "LoadedModel",
    "ModelSource",
    "VideoChannelsFirst",
    "find_source",
    "hub_checkpoint",
    "imagenet_categories",
    "imagenet_preprocess",
    "install_checkpoint",
    "load_model",
    "mobilenet_v2_imagenet",
    "read_labels",
    "register_source",
    "resolve_device",
    "sha256_of",
    "unregister_source",
    "verify_checkpoint",
]
