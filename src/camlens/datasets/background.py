"""Cluttered, textured backgrounds and distractors that never form a class object.

Background: a smooth random colour field (a 4×4 grid of colours, bicubically upsampled with PIL),
plus a sinusoidal stripe texture of random orientation, period and colour, plus pixel noise.
Distractors: thin line segments, thin outlines (ellipses and rectangles, never filled) and soft
Gaussian blobs. Every value is drawn from the image's own ``numpy.random.Generator``.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from .shapes import supersampled


def background(rng: np.random.Generator, size: int) -> np.ndarray:
    """``(size, size, 3)`` float32 in [0, 1]: colour field + stripes + noise."""
    grid = rng.uniform(0.15, 0.85, size=(4, 4, 3))
    field = Image.fromarray((grid * 255).astype(np.uint8), "RGB").resize(
        (size, size), Image.Resampling.BICUBIC
    )
    img = np.asarray(field, dtype=np.float32) / 255.0
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    theta = rng.uniform(0, math.pi)
    period = rng.uniform(0.08, 0.25) * size
    phase = rng.uniform(0, 2 * math.pi)
    wave = np.sin(2 * math.pi * (xx * math.cos(theta) + yy * math.sin(theta)) / period + phase)
    stripe_colour = rng.uniform(-1, 1, size=3).astype(np.float32)
    amplitude = rng.uniform(0.04, 0.12)
    img = img + amplitude * wave[..., None] * stripe_colour
    img = img + rng.normal(0, 0.03, size=img.shape).astype(np.float32)
    return np.clip(img, 0, 1).astype(np.float32)


def blend(img: np.ndarray, alpha: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """``img (S, S, 3)`` with ``colour`` laid over it at coverage ``alpha (S, S)``."""
    return img * (1 - alpha[..., None]) + alpha[..., None] * colour


def add_distractors(rng: np.random.Generator, img: np.ndarray, count: int) -> np.ndarray:
    """Draw ``count`` distractors on ``img`` (``(S, S, 3)``), returning a new array."""
    size = img.shape[0]
    out = img.copy()
    for _ in range(count):
        kind = rng.integers(0, 4)
        colour = rng.uniform(0, 1, size=3).astype(np.float32)
        if kind == 0:  # line segment
            x0, y0, x1, y1 = (rng.uniform(0, size, size=4)).tolist()
            width = int(rng.integers(1, 3))

            def fn(d, k, p=(x0, y0, x1, y1), w=width):
                d.line([k * v for v in p], fill=255, width=w * k)

        elif kind in (1, 2):  # thin outline: ellipse or rectangle, never filled
            cx, cy = rng.uniform(0.1 * size, 0.9 * size, size=2).tolist()
            rx, ry = rng.uniform(0.06 * size, 0.2 * size, size=2).tolist()
            box = [cx - rx, cy - ry, cx + rx, cy + ry]
            ellipse = kind == 1

            def fn(d, k, b=box, e=ellipse):
                kb = [k * v for v in b]
                (d.ellipse if e else d.rectangle)(kb, outline=255, width=k)

        else:  # soft Gaussian blob
            cx, cy = rng.uniform(0, size, size=2)
            sigma = rng.uniform(0.04, 0.1) * size
            yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
            alpha = 0.6 * np.exp(-((xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2) / (2 * sigma**2))
            out = blend(out, alpha.astype(np.float32), colour)
            continue
        out = blend(out, supersampled(size, fn), colour)
    return out
