"""Blend a class activation map onto its image with a matplotlib colormap (no OpenCV)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib import colormaps
from matplotlib.colors import Colormap
from PIL import Image

from ..errors import VizInputError as VizInputError

# How far outside [0, 1] a float value may stray (rounding in upsampling / normalising).
TOLERANCE = 1e-5

ImageLike = Any  # np.ndarray (H, W, 3) uint8 or float in [0, 1], PIL.Image, torch (3, H, W)
CamLike = Any  # np.ndarray or torch tensor (H, W), float in [0, 1]


def _to_numpy(value: object) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _check_unit_range(values: np.ndarray, what: str) -> np.ndarray:
    """Float64 copy of ``values`` clipped to [0, 1]; raise if it strays beyond the tolerance."""
    if values.size and not np.isfinite(values).all():
        raise VizInputError(f"{what} holds NaN or inf values.")
    if values.size:
        low, high = float(values.min()), float(values.max())
        if low < -TOLERANCE or high > 1 + TOLERANCE:
            raise VizInputError(
                f"{what} must lie in [0, 1], got values in [{low:.4g}, {high:.4g}]; "
                "normalise it first (camlens maps already are)."
            )
    return np.clip(values.astype(np.float64), 0.0, 1.0)


def image_to_float(image: ImageLike) -> np.ndarray:
    """``(H, W, 3)`` float64 RGB in [0, 1] from any image form ``camlens.viz`` accepts.

    Accepted: a PIL image (any mode, converted to RGB); a numpy ``(H, W, 3)`` array, uint8 or
    float in [0, 1]; a torch ``(3, H, W)`` tensor, uint8 or float in [0, 1].
    """
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"), dtype=np.float64) / 255.0
    if isinstance(image, torch.Tensor):
        if image.ndim != 3 or image.shape[0] != 3:
            raise VizInputError(
                f"a torch image must have shape (3, H, W), got {tuple(image.shape)}; "
                "for one image of a batch pass x[i]."
            )
        array = _to_numpy(image).transpose(1, 2, 0)
        what = "torch image (3, H, W)"
    elif isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3:
            raise VizInputError(
                f"a numpy image must have shape (H, W, 3), got {image.shape}; "
                "for a channels-first array use image.transpose(1, 2, 0)."
            )
        array = image
        what = "numpy image (H, W, 3)"
    else:
        raise VizInputError(
            f"image must be a numpy array (H, W, 3), a PIL image or a torch tensor (3, H, W), "
            f"not {type(image).__name__}."
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise VizInputError(f"image is empty: shape {array.shape}.")
    if array.dtype == np.uint8:
        return array.astype(np.float64) / 255.0
    if np.issubdtype(array.dtype, np.floating):
        return _check_unit_range(array, f"{what} of dtype {array.dtype}")
    raise VizInputError(
        f"image must be uint8 (0..255) or float in [0, 1], got dtype {array.dtype}; "
        "convert with .astype(np.uint8) or divide by 255."
    )


def to_uint8(values: np.ndarray) -> np.ndarray:
    """Round float values in [0, 1] to uint8 0..255 (``round(255 * v)``)."""
    return np.round(np.clip(values, 0.0, 1.0) * 255.0).astype(np.uint8)


def as_rgb(image: ImageLike) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB from any image form ``camlens.viz`` accepts (uint8 input exactly)."""
    return to_uint8(image_to_float(image))


def cam_to_float(cam: CamLike, size: tuple[int, int] | None = None) -> np.ndarray:
    """``(H, W)`` float64 map in [0, 1], bilinearly resized to ``size = (H, W)`` if it differs.

    Resizing is torch's bilinear interpolation without corner alignment, as camlens upsamples.
    """
    if not isinstance(cam, np.ndarray | torch.Tensor):
        raise VizInputError(
            f"cam must be a numpy array or torch tensor (H, W), not {type(cam).__name__}."
        )
    array = _to_numpy(cam)
    if array.ndim != 2:
        hint = " (a batch of maps: pass maps[i])" if array.ndim == 3 else ""
        raise VizInputError(f"cam must be 2-D (H, W), got shape {array.shape}{hint}.")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise VizInputError(f"cam is empty: shape {array.shape}.")
    if not np.issubdtype(array.dtype, np.floating):
        raise VizInputError(
            f"cam must be a float map in [0, 1], got dtype {array.dtype}; "
            "normalise it to [0, 1] as float first."
        )
    values = _check_unit_range(array, "cam")
    if size is not None and tuple(values.shape) != tuple(size):
        resized = F.interpolate(
            torch.from_numpy(values)[None, None],
            size=(int(size[0]), int(size[1])),
            mode="bilinear",
            align_corners=False,
        )
        values = np.clip(resized[0, 0].numpy(), 0.0, 1.0)
    return values


def get_colormap(colormap: str | Colormap) -> Colormap:
    """A matplotlib :class:`~matplotlib.colors.Colormap` from its name or itself."""
    if isinstance(colormap, Colormap):
        return colormap
    if isinstance(colormap, str):
        try:
            return colormaps[colormap]
        except KeyError:
            raise VizInputError(
                f"unknown colormap {colormap!r}; use a name from "
                "list(matplotlib.colormaps) (e.g. 'jet', 'viridis', 'inferno') or a Colormap."
            ) from None
    raise VizInputError(
        f"colormap must be a name or a matplotlib Colormap, not {type(colormap).__name__}."
    )


def check_alpha(alpha: float) -> float:
    """``alpha`` as a float in [0, 1], else :class:`VizInputError`."""
    if isinstance(alpha, bool) or not isinstance(alpha, int | float | np.floating | np.integer):
        raise VizInputError(f"alpha must be a number in [0, 1], not {type(alpha).__name__}.")
    value = float(alpha)
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise VizInputError(
            f"alpha must be in [0, 1] (0 = image only, 1 = map only), got {alpha!r}."
        )
    return value


def heatmap(cam: CamLike, colormap: str | Colormap = "jet") -> np.ndarray:
    """``(H, W, 3)`` float64 RGB in [0, 1]: ``colormap(cam)`` without its alpha channel."""
    return get_colormap(colormap)(cam_to_float(cam))[..., :3].astype(np.float64)


def overlay(
    image: ImageLike,
    cam: CamLike,
    colormap: str | Colormap = "jet",
    alpha: float = 0.5,
) -> np.ndarray:
    """Blend ``cam`` onto ``image``: ``(1 - alpha) * image + alpha * colormap(cam)``.

    Args:
        image: numpy ``(H, W, 3)`` uint8 or float in [0, 1], a PIL image, or torch ``(3, H, W)``.
        cam: ``(h, w)`` map in [0, 1], numpy or torch; resized bilinearly to ``(H, W)`` if needed.
        colormap: a matplotlib colormap name or :class:`~matplotlib.colors.Colormap`.
        alpha: weight of the map, in [0, 1]; 0 gives the image back, 1 the coloured map.

    Returns:
        ``(H, W, 3)`` uint8 RGB, rounded from the blend in [0, 1].
    """
    weight = check_alpha(alpha)
    cmap = get_colormap(colormap)
    rgb = image_to_float(image)
    values = cam_to_float(cam, size=rgb.shape[:2])
    colours = cmap(values)[..., :3].astype(np.float64)
    return to_uint8((1.0 - weight) * rgb + weight * colours)
