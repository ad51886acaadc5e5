"""Draw detection boxes (and the map under them) on an image, with PIL and matplotlib colours.

from camlens.viz.boxes import draw_boxes
rgb = draw_boxes(image, det["boxes"], det["labels"], cam=maps[0], scores=det["scores"])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.colors import Colormap, to_rgb
from PIL import Image, ImageDraw, ImageFont

from .overlay import CamLike, ImageLike, VizInputError, as_rgb, overlay

__all__ = ["box_colour", "draw_boxes"]

BoxesLike = Any  # (N, 4) xyxy: torch tensor, numpy array or nested sequence


def _as_array(value: object, what: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as error:
        raise VizInputError(f"{what} must be array-like, got {type(value).__name__}.") from error


def box_colour(label: object) -> tuple[int, int, int]:
    """The colour of a label: matplotlib's ``tab10`` by integer label, by hash for other labels."""
    if isinstance(label, int | np.integer) and not isinstance(label, bool):
        index = int(label)
    else:
        index = sum(ord(c) for c in str(label))
    r, g, b = colormaps["tab10"](index % 10)[:3]
    return round(255 * r), round(255 * g), round(255 * b)


def _colour(spec: Any) -> tuple[int, int, int]:
    if isinstance(spec, tuple | list) and len(spec) == 3 and all(isinstance(c, int) for c in spec):
        return int(spec[0]), int(spec[1]), int(spec[2])  # already 0..255
    try:
        r, g, b = to_rgb(spec)
        return round(255 * r), round(255 * g), round(255 * b)
    except ValueError as error:
        raise VizInputError(f"not a colour: {spec!r}.") from error


def _label_text(
    label: object, score: float | None, class_names: Mapping[int, str] | Sequence[str] | None
) -> str:
    name = str(label)
    if class_names is not None and isinstance(label, int | np.integer):
        try:
            name = str(class_names[int(label)])
        except (IndexError, KeyError):
            name = str(label)
    return name if score is None else f"{name} {score:.2f}"


def draw_boxes(
    image: ImageLike,
    boxes: BoxesLike,
    labels: Sequence[object] | torch.Tensor | np.ndarray | None = None,
    cam: CamLike | None = None,
    *,
    scores: Sequence[float] | torch.Tensor | np.ndarray | None = None,
    class_names: Mapping[int, str] | Sequence[str] | None = None,
    colors: Any = None,
    width: int = 2,
    colormap: str | Colormap = "jet",
    alpha: float = 0.5,
    text: bool = True,
) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB: the image (with ``overlay(image, cam)`` when a map is given) and
    each box's outline, with its label (and score) written at its top-left corner.

    Args:
        image: numpy ``(H, W, 3)`` uint8 or float in [0, 1], a PIL image, or torch ``(3, H, W)``.
        boxes: ``(N, 4)`` ``[x1, y1, x2, y2]`` in pixels (torchvision's convention: the box covers
            pixels ``x1 <= x < x2``); the outline is drawn on the box's outermost pixels, inside it.
        labels: one label per box (int class indices or strings), or None.
        cam: ``(h, w)`` map in [0, 1] drawn under the boxes (resized bilinearly), or None.
        scores: one score per box, written after the label.
        class_names: names of integer labels (a list or a dict).
        colors: one colour for all boxes or one per box (matplotlib colour specs or 0..255 RGB
            tuples); default: ``tab10`` by label.
        width: outline width in pixels.
        colormap: the map's colormap, as for ``camlens.viz.overlay``.
        alpha: the map's opacity, as for ``camlens.viz.overlay``.
        text: write the labels and scores.
    """
    base = as_rgb(image) if cam is None else overlay(image, cam, colormap=colormap, alpha=alpha)
    height, width_px = base.shape[:2]
    box_array = _as_array(boxes, "boxes").astype(np.float64)
    if box_array.size == 0:
        return base
    if box_array.ndim == 1:
        box_array = box_array[None]
    if box_array.ndim != 2 or box_array.shape[1] != 4:
        raise VizInputError(f"boxes must have shape (N, 4), got {box_array.shape}.")
    if not np.isfinite(box_array).all():
        raise VizInputError("boxes hold NaN or inf values.")
    count = box_array.shape[0]
    label_list = None if labels is None else _as_array(labels, "labels").reshape(-1).tolist()
    if label_list is not None and len(label_list) != count:
        raise VizInputError(f"got {len(label_list)} labels for {count} boxes.")
    score_list = None if scores is None else _as_array(scores, "scores").reshape(-1).tolist()
    if score_list is not None and len(score_list) != count:
        raise VizInputError(f"got {len(score_list)} scores for {count} boxes.")
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise VizInputError(f"width must be an int >= 1, got {width!r}.")
    if colors is None:
        colour_list = [box_colour(label_list[i] if label_list else 0) for i in range(count)]
    elif isinstance(colors, str) or (
        isinstance(colors, tuple) and len(colors) in (3, 4) and not isinstance(colors[0], tuple)
    ):
        colour_list = [_colour(colors)] * count
    else:
        colour_list = [_colour(c) for c in colors]
        if len(colour_list) != count:
            raise VizInputError(f"got {len(colour_list)} colours for {count} boxes.")

    canvas = Image.fromarray(base)
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    for i, (x1, y1, x2, y2) in enumerate(box_array.tolist()):
        left = int(np.clip(np.floor(x1), 0, width_px - 1))
        top = int(np.clip(np.floor(y1), 0, height - 1))
        right = int(np.clip(np.ceil(x2) - 1, left, width_px - 1))
        bottom = int(np.clip(np.ceil(y2) - 1, top, height - 1))
        draw.rectangle((left, top, right, bottom), outline=colour_list[i], width=width)
        if text and (label_list is not None or score_list is not None):
            label = label_list[i] if label_list is not None else ""
            score = score_list[i] if score_list is not None else None
            caption = _label_text(label, score, class_names).strip()
            x0, y0, x1t, y1t = draw.textbbox((left, top), caption, font=font)
            draw.rectangle((x0, y0, x1t + 1, y1t), fill=colour_list[i])
            luminance = sum(
                w * c for w, c in zip((0.299, 0.587, 0.114), colour_list[i], strict=True)
            )
            draw.text((left, top), caption, fill=(0, 0, 0) if luminance > 140 else (255, 255, 255),
                      font=font)  # fmt: skip
    return np.asarray(canvas, dtype=np.uint8).copy()
