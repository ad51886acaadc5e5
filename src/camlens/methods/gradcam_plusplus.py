"""Renamed to :mod:`camlens.methods.gradcampp`: a method's module is its registered name.

This old path is the same module."""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .gradcampp import *  # noqa: F403

sys.modules[__name__] = importlib.import_module("camlens.methods.gradcampp")
