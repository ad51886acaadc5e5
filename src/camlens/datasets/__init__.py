"""Procedural datasets with ground truth (no download): shapes on clutter, masks, boxes, a cue.

from camlens.datasets import make_benchmark, write_image_folder
ds = make_benchmark(n=500, seed=0, split="test", biased=False, size=64)
"""

from __future__ import annotations

from .benchmark import (
    BIASED_CLASS,
    CUE_MODES,
    SPLITS,
    BenchmarkSet,
    cue_box,
    make_benchmark,
    watermark,
)
from .image_folder import MANIFEST_COLUMNS, write_image_folder
from .shapes import CLASSES

__all__ = [
    "BIASED_CLASS",
    "CLASSES",
    "CUE_MODES",
    "MANIFEST_COLUMNS",
    "SPLITS",
    "BenchmarkSet",
    "cue_box",
    "make_benchmark",
    "watermark",
    "write_image_folder",
]
