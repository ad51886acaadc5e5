"""Matplotlib figures of overlays: one image with a colour bar, or a grid of many.

Figures are built with the object API on an Agg canvas: no pyplot state, no display needed,
and the caller's matplotlib backend is left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure

from .overlay import (
    CamLike,
    ImageLike,
    VizInputError,
    as_rgb,
    get_colormap,
    overlay,
)


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _bare(ax: Axes) -> None:
    """No ticks and no frame, but keep the axis labels visible (``axis('off')`` hides them)."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def figure(
    image: ImageLike,
    cam: CamLike,
    title: str | None = None,
    colormap: str | Colormap = "jet",
    alpha: float = 0.5,
) -> Figure:
    """A figure of ``overlay(image, cam)`` with a colour bar for the map's [0, 1] scale.

    ``image`` and ``cam`` as for :func:`camlens.viz.overlay` (image ``(H, W, 3)``, cam ``(h, w)``).
    """
    blended = overlay(image, cam, colormap=colormap, alpha=alpha)
    height, width = blended.shape[:2]
    fig = _new_figure(5.0 * width / max(height, width) + 1.2, 5.0 * height / max(height, width))
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(blended, interpolation="nearest")
    _bare(ax)
    if title:
        ax.set_title(title)
    mappable = ScalarMappable(norm=Normalize(0.0, 1.0), cmap=get_colormap(colormap))
    fig.colorbar(mappable, ax=ax, fraction=0.046, pad=0.04, label="activation")
    fig.tight_layout()
    return fig


def _cam_rows(cams: object, n_rows: int) -> list[list[CamLike]]:
    """``cams`` as ``n_rows`` lists of equal length of 2-D maps."""
    if isinstance(cams, np.ndarray | torch.Tensor):
        if cams.ndim == 3:  # (N, H, W): one map per image
            cams = cams[:, None]
        if cams.ndim != 4:
            raise VizInputError(
                f"cams must have shape (N_rows, N_cols, H, W) or (N_rows, H, W), "
                f"got {tuple(cams.shape)}."
            )
        rows = [list(row) for row in cams]
    elif isinstance(cams, Sequence) and not isinstance(cams, str):
        rows = []
        for row in cams:
            if isinstance(row, np.ndarray | torch.Tensor) and row.ndim == 2:
                rows.append([row])
            elif (isinstance(row, np.ndarray | torch.Tensor) and row.ndim == 3) or (
                isinstance(row, Sequence) and not isinstance(row, str)
            ):
                rows.append(list(row))
            else:
                raise VizInputError(
                    "each row of cams must be a list of (H, W) maps or an (N_cols, H, W) array, "
                    f"got {type(row).__name__}."
                )
    else:
        raise VizInputError(
            "cams must be an array/tensor (N_rows, N_cols, H, W) or a nested list "
            f"[[map, ...], ...], not {type(cams).__name__}."
        )
    if len(rows) != n_rows:
        raise VizInputError(f"got {n_rows} images but {len(rows)} rows of cams.")
    lengths = {len(row) for row in rows}
    if len(lengths) != 1 or 0 in lengths:
        raise VizInputError(
            f"every row of cams must hold the same number (>= 1) of maps, got {sorted(lengths)}."
        )
    return rows


def _check_labels(labels: Sequence[object] | None, count: int, what: str) -> list[str] | None:
    if labels is None:
        return None
    labels = list(labels)
    if len(labels) != count:
        raise VizInputError(f"{what} needs {count} labels, got {len(labels)}.")
    return [str(label) for label in labels]


def grid(
    images: Sequence[ImageLike],
    cams: object,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    *,
    show_image: bool = True,
    image_label: str = "image",
    cell_labels: Sequence[Sequence[str]] | None = None,
    colormap: str | Colormap = "jet",
    alpha: float = 0.5,
    cell_size: float = 2.4,
) -> Figure:
    """A grid of overlays: one row per image, one column per map (method, layer or class).

    Args:
        images: ``N_rows`` images (each as :func:`camlens.viz.overlay` accepts), or a batch
            array/tensor whose first axis is the row.
        cams: ``(N_rows, N_cols, H, W)`` (or ``(N_rows, H, W)`` for one column) numpy/torch, or
            nested lists ``[[map, ...], ...]`` of ``(h, w)`` maps in [0, 1].
        row_labels: ``N_rows`` labels, written left of each row.
        col_labels: ``N_cols`` labels, one above each map column.
        show_image: put the plain image in a first column (titled ``image_label``).
        image_label: the title of the image column.
        cell_labels: ``N_rows`` lists of ``N_cols`` captions, one under each map.
        colormap: the maps' colormap, as for ``camlens.viz.overlay``.
        alpha: the maps' opacity, as for ``camlens.viz.overlay``.
        cell_size: inches per cell.
    """
    images = list(images)
    if not images:
        raise VizInputError("grid needs at least one image.")
    rows = _cam_rows(cams, len(images))
    n_cols = len(rows[0])
    row_labels = _check_labels(row_labels, len(images), "row_labels")
    col_labels = _check_labels(col_labels, n_cols, "col_labels")
    if cell_labels is not None:
        cell_labels = cast(
            "list[Sequence[str]]",
            [_check_labels(r, n_cols, "each row of cell_labels") for r in cell_labels],
        )
        _check_labels(cell_labels, len(images), "cell_labels")
    offset = 1 if show_image else 0
    total_cols = n_cols + offset
    rgbs = [as_rgb(image) for image in images]
    aspect = rgbs[0].shape[0] / rgbs[0].shape[1]
    row_height = cell_size * aspect + (0.3 if cell_labels else 0.0)
    fig = _new_figure(cell_size * total_cols + 0.3, row_height * len(images) + 0.4)
    axes = fig.subplots(len(images), total_cols, squeeze=False)
    for r, (rgb, row) in enumerate(zip(rgbs, rows, strict=True)):
        if show_image:
            axes[r, 0].imshow(rgb, interpolation="antialiased")
            if r == 0:
                axes[r, 0].set_title(image_label, fontsize="medium")
        for c, cam in enumerate(row):
            ax = axes[r, c + offset]
            ax.imshow(overlay(rgb, cam, colormap=colormap, alpha=alpha))
            if r == 0 and col_labels:
                ax.set_title(col_labels[c], fontsize="medium")
            if cell_labels:
                ax.set_xlabel(cell_labels[r][c], fontsize="small")
        for ax in axes[r]:
            _bare(ax)
        if row_labels:
            axes[r, 0].set_ylabel(row_labels[r], fontsize="medium")
    fig.tight_layout()
    return fig


def save_grid(
    images: Sequence[ImageLike],
    cams: object,
    path: str | PathLike[str],
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    *,
    dpi: float = 100,
    **kwargs: Any,
) -> Path:
    """Draw :func:`grid` and save it to ``path`` (format from the suffix, e.g. ``.png``).

    The figure is ``cell_size * dpi`` pixels per cell. Returns the path written.
    """
    fig = grid(images, cams, row_labels, col_labels, **kwargs)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path
