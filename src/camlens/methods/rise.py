"""RISE as a map method (``"rise"``): the black-box base is :mod:`camlens.methods._blackbox`,
the method :class:`camlens.pixel.RISE` (Petsiuk et al., BMVC 2018)."""

from __future__ import annotations

from ..pixel.rise import RISE
from ._blackbox import PixelMapMethod


class RISEMap(PixelMapMethod):
    """RISE (Petsiuk et al., BMVC 2018) as a map: see :class:`camlens.pixel.RISE`."""

    name = "rise"

    pixel_class = RISE
