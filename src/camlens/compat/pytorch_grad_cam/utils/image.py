"""``pytorch_grad_cam.utils.image`` without OpenCV or torchvision: same signatures, same numbers.

``show_cam_on_image`` uses OpenCV's own colormap tables (byte-exact for all 22 ``COLORMAP_*``
ids; :class:`ColorMap` names them, so ``import cv2`` is no longer needed). ``scale_cam_image``
resizes with torch's bilinear filter, which equals ``cv2.resize(..., INTER_LINEAR)`` on 2-D maps.
"""

from __future__ import annotations

import enum
import operator
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from ....core.postprocess import normalize, upsample
from . import _colormaps

__all__ = [
    "ColorMap",
    "apply_colormap",
    "create_labels_legend",
    "deprocess_image",
    "preprocess_image",
    "scale_accross_batch_and_channels",
    "scale_cam_image",
    "show_cam_on_image",
    "show_factorization_on_image",
]

ColorMap = enum.IntEnum("ColorMap", {name: i for i, name in enumerate(_colormaps.NAMES)})
ColorMap.__doc__ = "OpenCV's colormap ids: ``ColorMap.JET == cv2.COLORMAP_JET == 2``."


def apply_colormap(gray: np.ndarray, colormap: int | np.ndarray = ColorMap.JET) -> np.ndarray:
    """``cv2.applyColorMap`` for a ``(H, W)`` uint8 image: ``(H, W, 3)`` uint8, BGR.

    ``colormap`` is an OpenCV colormap id, or a user table of 256 BGR triplets (as OpenCV takes).
    """
    gray = np.asarray(gray)
    if gray.dtype != np.uint8:
        raise TypeError(f"apply_colormap needs a uint8 image, got {gray.dtype}.")
    if gray.ndim == 3 and gray.shape[-1] == 1:
        gray = gray[..., 0]
    if gray.ndim != 2:
        raise ValueError(f"the mask must be 2-D (H, W), got shape {gray.shape}.")
    if isinstance(colormap, np.ndarray):
        if colormap.dtype != np.uint8 or colormap.size != 256 * 3:
            raise ValueError(
                "a user colormap must be a uint8 array of 256 BGR colours (shape (256, 1, 3)), "
                f"got {colormap.dtype} of shape {colormap.shape}."
            )
        table = colormap.reshape(256, 3)
    else:
        try:
            index = -1 if isinstance(colormap, bool) else operator.index(colormap)
        except TypeError:
            index = -1
        if not 0 <= index < len(_colormaps.NAMES):
            raise ValueError(
                f"unknown colormap {colormap!r}; use an OpenCV COLORMAP_* id "
                f"(0..{len(_colormaps.NAMES) - 1}, e.g. ColorMap.JET) or a (256, 1, 3) uint8 table."
            )
        table = _colormaps.lut(index)
    return table[gray]


def show_cam_on_image(
    img: np.ndarray,
    mask: np.ndarray,
    use_rgb: bool = False,
    colormap: int | np.ndarray = ColorMap.JET,
    image_weight: float = 0.5,
) -> np.ndarray:
    """Overlay the map ``mask`` (H, W) in [0, 1] on ``img`` (H, W, 3) float in [0, 1] -> uint8.

    The heatmap is BGR (as OpenCV gives it) unless ``use_rgb=True``; set that when ``img`` is RGB.
    The result is ``image_weight * img + (1 - image_weight) * heatmap``, scaled to a max of 255.
    """
    heatmap = apply_colormap(np.uint8(255 * mask), colormap)
    if use_rgb:
        heatmap = heatmap[..., ::-1]
    heatmap = np.float32(heatmap) / 255

    if np.max(img) > 1:
        raise ValueError("The input image should np.float32 in the range [0, 1]")
    if image_weight < 0 or image_weight > 1:
        raise ValueError(f"image_weight should be in the range [0, 1]. Got: {image_weight}")

    cam = (1 - image_weight) * heatmap + image_weight * img
    cam = cam / np.max(cam)
    return np.uint8(255 * cam)


def preprocess_image(
    img: np.ndarray,
    mean: Sequence[float] = (0.5, 0.5, 0.5),
    std: Sequence[float] = (0.5, 0.5, 0.5),
) -> Tensor:
    """``(H, W, C)`` image -> ``(1, C, H, W)`` normalised tensor, as ``ToTensor`` + ``Normalize``.

    uint8 images are scaled to [0, 1] first; float images are taken as they are.
    """
    array = np.array(img, copy=True)
    if array.ndim not in (2, 3):
        raise ValueError(f"pic should be 2/3 dimensional. Got {array.ndim} dimensions.")
    if array.ndim == 2:
        array = array[:, :, None]
    tensor = torch.from_numpy(array.transpose((2, 0, 1))).contiguous()
    if tensor.dtype == torch.uint8:
        tensor = tensor.to(torch.get_default_dtype()).div(255)
    if not tensor.is_floating_point():
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    mean_t = torch.as_tensor(mean, dtype=tensor.dtype)
    std_t = torch.as_tensor(std, dtype=tensor.dtype)
    if (std_t == 0).any():
        raise ValueError(
            f"std evaluated to zero after conversion to {tensor.dtype}, "
            "leading to division by zero."
        )
    tensor = tensor.sub(mean_t.view(-1, 1, 1)).div(std_t.view(-1, 1, 1))
    return tensor.unsqueeze(0)


def deprocess_image(img: np.ndarray) -> np.ndarray:
    """Contrast-stretch e.g. a guided-backprop image for display: uint8 with mean 128, std ~25."""
    img = img - np.mean(img)
    img = img / (np.std(img) + 1e-5)
    img = img * 0.1
    img = img + 0.5
    img = np.clip(img, 0, 1)
    return np.uint8(img * 255)


def scale_cam_image(
    cam: np.ndarray | Tensor, target_size: Sequence[int] | None = None
) -> np.ndarray:
    """Per map: ``(x - min) / (max - min + 1e-7)``, then resize to ``target_size`` -> float32.

    ``cam`` is ``(N, h, w)`` (or ``(N, d, h, w)``); ``target_size`` is OpenCV-ordered:
    ``(W, H)`` (or ``(W, H, D)``). 2-D maps are resized bilinearly exactly as ``cv2.resize``;
    3-D maps trilinearly, where pytorch-grad-cam uses a cubic spline (``scipy.ndimage.zoom``).
    """
    maps = cam if isinstance(cam, Tensor) else torch.from_numpy(np.ascontiguousarray(cam))
    if not maps.is_floating_point():
        maps = maps.double()
    if maps.ndim < 2:
        raise ValueError(f"cam must be a batch of maps (N, h, w), got shape {tuple(maps.shape)}.")
    maps = normalize(maps, eps=1e-7).float()
    if target_size is not None:
        size = tuple(int(s) for s in target_size)[::-1]
        if len(size) != maps.ndim - 1:
            raise ValueError(
                f"target_size {tuple(target_size)} does not fit maps of shape {tuple(maps.shape)}."
            )
        maps = upsample(maps, size)
    return maps.cpu().numpy()


def scale_accross_batch_and_channels(
    tensor: np.ndarray | Tensor, target_size: Sequence[int]
) -> np.ndarray:
    """:func:`scale_cam_image` on every ``(b, c)`` map of ``(B, C, h, w)`` -> ``(B, C, H, W)``.

    ``target_size`` is ``(W, H)``. (The name keeps pytorch-grad-cam's spelling.)
    """
    batch_size, channel_size = tensor.shape[:2]
    reshaped = tensor.reshape(batch_size * channel_size, *tensor.shape[2:])
    result = scale_cam_image(reshaped, target_size)
    return result.reshape(batch_size, channel_size, target_size[1], target_size[0])


def create_labels_legend(
    concept_scores: np.ndarray, labels: Mapping[int, str] | Sequence[str], top_k: int = 2
) -> list[str]:
    """One legend string per concept: its ``top_k`` classes as ``"label:score"`` lines (each
    label cut to its first three comma-separated names). ``concept_scores`` is ``(k, classes)``.
    """
    from ....viz.factorization import create_labels_legend as legend

    return legend(concept_scores, labels, top_k)


def show_factorization_on_image(
    img: np.ndarray,
    explanations: np.ndarray,
    colors: Sequence[np.ndarray] | None = None,
    image_weight: float = 0.5,
    concept_labels: Sequence[str] | None = None,
) -> np.ndarray:
    """Each pixel in the colour of its strongest concept (brightness = that concept's map),
    blended with ``img`` (H, W, 3) RGB float in [0, 1]: ``(H, W, 3)`` uint8, or ``(H, 2W, 3)``
    with a legend panel when ``concept_labels`` are given. ``explanations`` is ``(k, H, W)``.

    Drawn with matplotlib (no OpenCV); the default colours are ``gist_rainbow`` at i/k as in
    pytorch-grad-cam (whose own call fails on matplotlib >= 3.9). OpenCV's 8-bit HSV rounding is
    not reproduced: pixels differ by up to 2 levels of 255; the legend's text rendering differs.
    """
    from ....viz.factorization import show_factorization_on_image as show

    return show(img, explanations, colors, image_weight, concept_labels)
