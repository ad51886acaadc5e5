"""The class objects: filled shapes drawn with PIL at 4× resolution, then box-filtered.

Each shape is a polygon (or an ellipse for the circle) of "radius" ``r`` pixels around a centre,
rotated by ``angle``. ``shape_alpha`` returns its coverage ``(S, S)`` float in [0, 1]; the object's
mask is ``alpha > 0.5`` (the pixels where the shape's colour dominates).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw

from ..errors import OptionError

CLASSES: tuple[str, ...] = ("circle", "square", "triangle", "cross", "star")
SUPERSAMPLE = 4


def _polygon(name: str, r: float, angle: float) -> list[tuple[float, float]]:
    """Vertices ``(dx, dy)`` of a shape of radius ``r`` rotated by ``angle`` (radians)."""
    if name == "square":
        pts = [
            (math.cos(a), math.sin(a)) for a in (math.pi / 4 + k * math.pi / 2 for k in range(4))
        ]
        scale = r * 1.05
    elif name == "triangle":
        pts = [
            (math.cos(a), math.sin(a))
            for a in (-math.pi / 2 + k * 2 * math.pi / 3 for k in range(3))
        ]
        scale = r * 1.2
    elif name == "cross":
        w = 0.36  # half-width of an arm, as a fraction of the arm's length
        pts = [(w, -1), (w, -w), (1, -w), (1, w), (w, w), (w, 1)]
        pts += [(-w, 1), (-w, w), (-1, w), (-1, -w), (-w, -w), (-w, -1)]
        scale = r
    elif name == "star":
        pts = []
        for k in range(10):
            a = -math.pi / 2 + k * math.pi / 5
            rho = 1.0 if k % 2 == 0 else 0.45
            pts.append((rho * math.cos(a), rho * math.sin(a)))
        scale = r * 1.15
    else:
        raise OptionError(f"unknown shape {name!r}")
    c, s = math.cos(angle), math.sin(angle)
    return [(scale * (c * x - s * y), scale * (s * x + c * y)) for x, y in pts]


def shape_alpha(name: str, size: int, cx: float, cy: float, r: float, angle: float) -> np.ndarray:
    """Coverage ``(size, size)`` float32 in [0, 1] of shape ``name`` centred at pixel ``(cx, cy)``.

    Pixel ``(row, col)`` covers ``[col, col+1) × [row, row+1)``; the shape is drawn at
    ``SUPERSAMPLE``× resolution and averaged over each pixel's sub-pixels.
    """
    outline = None if name == "circle" else _polygon(name, r, angle)

    def paint(draw: ImageDraw.ImageDraw, k: int) -> None:
        if outline is None:
            draw.ellipse([k * (cx - r), k * (cy - r), k * (cx + r), k * (cy + r)], fill=255)
        else:
            draw.polygon([(k * (cx + dx), k * (cy + dy)) for dx, dy in outline], fill=255)

    return supersampled(size, paint)


def supersampled(size: int, draw: Callable[[ImageDraw.ImageDraw, int], None]) -> np.ndarray:
    """Coverage ``(size, size)`` float32 in [0, 1] of what ``draw(d, k)`` paints (255) on an
    ``L`` canvas ``k = SUPERSAMPLE`` times finer: each pixel's mean over its ``k × k``
    sub-pixels."""
    k = SUPERSAMPLE
    canvas = Image.new("L", (size * k, size * k), 0)
    draw(ImageDraw.Draw(canvas), k)
    hi = np.asarray(canvas, dtype=np.float32) / 255.0
    return hi.reshape(size, k, size, k).mean(axis=(1, 3))


def extent(name: str, r: float) -> float:
    """Largest distance of the shape's outline from its centre (any rotation), in pixels."""
    if name == "circle":
        return r
    return max(math.hypot(x, y) for x, y in _polygon(name, r, 0.0))
