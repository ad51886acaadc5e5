"""Draw a Deep Feature Factorization: every concept in its own colour on the image, with a legend
of each concept's top classes.

``show_factorization_on_image`` and ``create_labels_legend`` take pytorch-grad-cam's arguments
and return its kinds of result, without OpenCV and with matplotlib's current colormap registry
(pytorch-grad-cam's versions call ``plt.cm.get_cmap``, removed in matplotlib 3.9).
``factorization_figure`` draws the same as a matplotlib figure from a
:class:`camlens.methods.dff.Factorization`.

Colouring: pixel (i, j) takes the colour of its strongest concept c = argmax_t M_t(i, j), with the
colour's hue and saturation and the value (HSV brightness) M_c(i, j); the image is blended in with
weight ``image_weight``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import hsv_to_rgb, rgb_to_hsv
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from PIL import Image

from .overlay import ImageLike, VizInputError, cam_to_float, image_to_float, to_uint8


def concept_colors(n_components: int, colormap: str = "gist_rainbow") -> np.ndarray:
    """``(n, 3)`` RGB in [0, 1]: ``colormap(i / n)`` for concept i (pytorch-grad-cam's palette)."""
    if n_components < 1:
        raise VizInputError(f"n_components must be >= 1, got {n_components}.")
    cmap = colormaps[colormap]
    return np.array([cmap(i / n_components)[:3] for i in range(n_components)], dtype=np.float64)


def create_labels_legend(
    concept_scores: np.ndarray | torch.Tensor,
    labels: Mapping[int, str] | Sequence[str],
    top_k: int = 2,
) -> list[str]:
    """One legend string per concept: its ``top_k`` classes as ``"label:score"`` lines.

    ``concept_scores`` is ``(k, classes)`` (e.g. the softmax of ``Factorization.scores``); a label
    is cut to its first three comma-separated names, as pytorch-grad-cam does.
    """
    scores = np.asarray(
        concept_scores.detach().cpu().numpy()
        if isinstance(concept_scores, torch.Tensor)
        else concept_scores,
        dtype=np.float64,
    )
    if scores.ndim != 2:
        raise VizInputError(f"concept_scores must be (k, classes), got shape {scores.shape}.")
    order = np.argsort(-scores, axis=1, kind="stable")[:, :top_k]
    legend = []
    for concept, categories in enumerate(order):
        lines = []
        for category in categories:
            name = ",".join(str(labels[int(category)]).split(",")[:3])
            lines.append(f"{name}:{scores[concept, category]:.2f}")
        legend.append("\n".join(lines))
    return legend


def _explanations(explanations: object, size: tuple[int, int]) -> np.ndarray:
    if isinstance(explanations, torch.Tensor):
        explanations = explanations.detach().cpu().numpy()
    array = np.asarray(explanations)
    if array.ndim != 3 or array.shape[0] == 0:
        raise VizInputError(
            f"explanations must be (k, H, W) concept maps, got shape {array.shape}; "
            "for one image of a Factorization pass factorization.maps[i]."
        )
    return np.stack([cam_to_float(m.astype(np.float64, copy=False), size) for m in array])


def factorization_overlay(
    image: ImageLike,
    explanations: object,
    colors: Sequence[Sequence[float]] | np.ndarray | None = None,
    image_weight: float = 0.5,
) -> np.ndarray:
    """``(H, W, 3)`` float in [0, 1]: each pixel in its strongest concept's colour, blended."""
    rgb = image_to_float(image)
    maps = _explanations(explanations, rgb.shape[:2])
    k = maps.shape[0]
    palette = concept_colors(k) if colors is None else np.asarray(colors, dtype=np.float64)
    if palette.ndim != 2 or palette.shape[0] < k or palette.shape[1] < 3:
        raise VizInputError(f"need {k} RGB colours, got an array of shape {palette.shape}.")
    hsv = rgb_to_hsv(np.clip(palette[:k, :3], 0.0, 1.0))  # (k, 3)
    winner = maps.argmax(axis=0)  # (H, W)
    layer = hsv[winner].copy()
    layer[..., 2] = np.take_along_axis(maps, winner[None], axis=0)[0]
    mask = hsv_to_rgb(layer)
    return np.clip(rgb * image_weight + mask * (1.0 - image_weight), 0.0, 1.0)


def _legend_image(labels: Sequence[str], colors: np.ndarray, height: int, width: int) -> np.ndarray:
    dpi = 100.0
    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    k = len(labels)
    fontsize = max(4, int(14 * height / 256 / max(1.0, k / 6)))
    lines = [Line2D([0], [0], color=colors[i][:3], lw=5 * height / 256) for i in range(k)]
    ax.legend(
        lines,
        labels,
        mode="expand",
        fancybox=True,
        shadow=True,
        fontsize=fontsize,
        loc="upper left",
    )
    canvas.draw()
    data = np.asarray(canvas.buffer_rgba())[..., :3]
    if data.shape[:2] != (height, width):
        data = np.asarray(Image.fromarray(data).resize((width, height), Image.Resampling.BILINEAR))
    return data.copy()


def show_factorization_on_image(
    img: ImageLike,
    explanations: object,
    colors: Sequence[Sequence[float]] | np.ndarray | None = None,
    image_weight: float = 0.5,
    concept_labels: Sequence[str] | None = None,
) -> np.ndarray:
    """pytorch-grad-cam's function: ``(H, W, 3)`` uint8, or ``(H, 2W, 3)`` with the legend.

    Args:
        img: the image, ``(H, W, 3)`` float in [0, 1] or uint8, PIL or torch ``(3, H, W)``.
        explanations: ``(k, h, w)`` concept maps in [0, 1] (resized to the image if needed).
        colors: k RGB colours in [0, 1]; default ``gist_rainbow`` at i/k.
        image_weight: weight of the image in the blend.
        concept_labels: one string per concept; adds a legend panel of the image's size.
    """
    rgb = image_to_float(img)
    maps = _explanations(explanations, rgb.shape[:2])
    palette = concept_colors(maps.shape[0]) if colors is None else np.asarray(colors, float)
    result = to_uint8(factorization_overlay(rgb, maps, palette, image_weight))
    if concept_labels is None:
        return result
    if len(concept_labels) != maps.shape[0]:
        raise VizInputError(
            f"got {len(concept_labels)} concept labels for {maps.shape[0]} concepts."
        )
    legend = _legend_image(list(concept_labels), palette, *result.shape[:2])
    return np.hstack((result, legend))


def factorization_figure(
    image: ImageLike,
    factorization: Any,  # camlens.methods.dff.Factorization (viz imports no method)
    index: int = 0,
    labels: Mapping[int, str] | Sequence[str] | None = None,
    top_k: int = 2,
    image_weight: float = 0.3,
    title: str | None = None,
) -> Figure:
    """A figure of image ``index`` of a :class:`~camlens.methods.dff.Factorization`: the image,
    the concepts on it, and (with ``labels`` and scores) each concept's top classes.

    Scores are the softmax of ``factorization.scores`` over classes.
    """
    maps = factorization.maps[index]
    k = maps.shape[0]
    palette = concept_colors(k)
    rgb = image_to_float(image)
    overlay = factorization_overlay(rgb, maps, palette, image_weight)
    legend = [f"concept {i}" for i in range(k)]
    scores = getattr(factorization, "scores", None)
    if labels is not None and scores is not None:
        probabilities = torch.softmax(torch.as_tensor(scores).detach().double(), dim=-1)
        legend = [
            f"{i}: " + text.replace("\n", "; ")
            for i, text in enumerate(create_labels_legend(probabilities, labels, top_k))
        ]
    fig = Figure(figsize=(9.0, 3.6))
    FigureCanvasAgg(fig)
    left, middle = fig.add_subplot(1, 3, 1), fig.add_subplot(1, 3, 2)
    left.imshow(rgb)
    left.set_title("image", fontsize="medium")
    middle.imshow(overlay)
    middle.set_title(title or f"{k} concepts", fontsize="medium")
    for ax in (left, middle):
        ax.set_axis_off()
    right = fig.add_subplot(1, 3, 3)
    right.set_axis_off()
    handles = [Line2D([0], [0], color=palette[i], lw=6) for i in range(k)]
    right.legend(handles, legend, loc="center left", fontsize="small", frameon=False)
    fig.tight_layout()
    return fig
