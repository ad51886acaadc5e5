"""Moved to :mod:`camlens.models.zoo.cifar10`; this old path is the same module."""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..models.zoo.cifar10 import *  # noqa: F403

sys.modules[__name__] = importlib.import_module("camlens.models.zoo.cifar10")
