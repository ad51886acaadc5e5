"""Occlusion as a map method (``"occlusion"``): the black-box base is
:mod:`camlens.methods._blackbox`, the method :class:`camlens.pixel.Occlusion` (Zeiler & Fergus,
ECCV 2014)."""

from __future__ import annotations

from ..pixel.occlusion import Occlusion
from ._blackbox import PixelMapMethod


class OcclusionMap(PixelMapMethod):
    """Occlusion (Zeiler & Fergus, ECCV 2014) as a map: see :class:`camlens.pixel.Occlusion`."""

    name = "occlusion"

    pixel_class = Occlusion
