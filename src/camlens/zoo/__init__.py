"""Moved to :mod:`camlens.models.zoo`: ``from camlens import zoo; zoo.load("benchmark-biased")``
keeps working. Its submodules (``camlens.zoo.registry``, ``camlens.zoo.benchmark_cnn``, ...) are
the same module objects as ``camlens.models.zoo.*``.
"""

from __future__ import annotations

from ..models.zoo import *  # noqa: F403
from ..models.zoo import __all__ as __all__
