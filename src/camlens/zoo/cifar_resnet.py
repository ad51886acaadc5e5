"""Moved to :mod:`camlens.models.zoo.cifar_resnet`; this old path is the same module."""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..models.zoo.cifar_resnet import *  # noqa: F403

sys.modules[__name__] = importlib.import_module("camlens.models.zoo.cifar_resnet")
