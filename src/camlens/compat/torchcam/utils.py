"""Mirror of ``torchcam.utils``: :func:`overlay_mask`."""

from __future__ import annotations

import numpy as np
from PIL.Image import Image, Resampling, blend, fromarray

__all__ = ["overlay_mask"]


def overlay_mask(img: Image, mask: Image, colormap: object = "jet", alpha: float = 0.7) -> Image:
    """``img`` (PIL, grey or RGB) under the colour-mapped ``mask`` (PIL, e.g. ``mode="F"`` in
    [0, 1]), as torchcam computes it: the mask resized to the image (bicubic), squared, coloured
    by the matplotlib ``colormap``, then ``alpha · img + (1 − alpha) · colours``. A PIL image.
    """
    if not isinstance(img, Image) or not isinstance(mask, Image):
        raise TypeError("img and mask arguments need to be PIL.Image")
    if not isinstance(alpha, float) or alpha < 0 or alpha >= 1:
        raise ValueError("alpha argument is expected to be of type float between 0 and 1")
    if len(img.getbands()) not in {1, 3}:
        raise ValueError("img argument needs to be a grayscale or RGB image")
    from matplotlib import colormaps

    cmap = colormaps.get_cmap(colormap)  # type: ignore[arg-type]
    overlay = mask.resize(img.size, resample=Resampling.BICUBIC)
    colours = cmap(np.asarray(overlay) ** 2, bytes=True)[:, :, :3]
    if img.mode in {"L", "RGB"}:
        return blend(fromarray(colours), img.convert("RGB"), alpha)
    background = np.asarray(img)
    if len(img.getbands()) == 1:
        background = background[..., np.newaxis].repeat(3, axis=-1)
    return fromarray((alpha * background + (1 - alpha) * colours).astype(np.uint8))
