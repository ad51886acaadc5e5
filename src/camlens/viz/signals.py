"""Maps of 1-D signals (time series, audio) and 3-D volumes (CT/MRI, video) as figures.

from camlens.viz.signals import plot_signal, plot_volume
plot_signal(x[0], maps[0]).savefig("ecg.png")           # the line coloured by the map
plot_volume(volume[0], maps[0], axis=0).savefig("ct.png")  # a montage of slices with overlays

Figures are built on an Agg canvas (no pyplot state, no display needed). Maps are resized to the
data as camlens upsamples: linear / trilinear, no corner alignment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure

from .overlay import TOLERANCE, VizInputError, check_alpha, get_colormap, overlay

__all__ = ["plot_signal", "plot_volume", "resize_map"]

ArrayLike = Any  # numpy array or torch tensor


def _numpy(value: object, what: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().float().numpy()
    elif not isinstance(value, np.ndarray):
        raise VizInputError(
            f"{what} must be a numpy array or torch tensor, not {type(value).__name__}."
        )
    if value.size == 0:
        raise VizInputError(f"{what} is empty: shape {value.shape}.")
    if not np.issubdtype(value.dtype, np.number) or np.issubdtype(value.dtype, np.complexfloating):
        raise VizInputError(f"{what} must hold real numbers, got dtype {value.dtype}.")
    array = value.astype(np.float64)
    if not np.isfinite(array).all():
        raise VizInputError(f"{what} holds NaN or inf values.")
    return array


def _unit_map(cam: object, ndim: int) -> np.ndarray:
    array = _numpy(cam, "cam")
    if array.ndim != ndim:
        raise VizInputError(f"cam must be {ndim}-D here, got shape {array.shape}.")
    low, high = float(array.min()), float(array.max())
    if low < -TOLERANCE or high > 1 + TOLERANCE:
        raise VizInputError(
            f"cam must lie in [0, 1], got values in [{low:.4g}, {high:.4g}]; normalise it first "
            "(camlens maps already are)."
        )
    return np.clip(array, 0.0, 1.0)


def resize_map(cam: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """Resize a 1-, 2- or 3-D map to ``size``: linear / bilinear / trilinear, no corner alignment
    (as camlens upsamples), clipped to [0, 1]."""
    size = tuple(int(s) for s in size)
    if cam.shape == size:
        return cam
    mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[cam.ndim]
    resized = F.interpolate(
        torch.from_numpy(np.ascontiguousarray(cam))[None, None], size=size, mode=mode,
        align_corners=False,
    )  # fmt: skip
    return np.clip(resized[0, 0].numpy(), 0.0, 1.0)


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def plot_signal(
    signal: ArrayLike,
    cam: ArrayLike,
    *,
    time: ArrayLike | None = None,
    colormap: str | Colormap = "jet",
    title: str | None = None,
    channel_names: Sequence[str] | None = None,
    shade: float = 0.25,
    linewidth: float = 2.0,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """A figure of the signal drawn as a line coloured by the map (and shaded under it).

    Args:
        signal: ``(L,)`` or ``(C, L)`` (one panel per channel, all coloured by the same map).
        cam: ``(l,)`` map in [0, 1] (one row of camlens' ``(B, L)`` maps); resized linearly to L.
        time: ``(L,)`` x values (seconds, say); default ``0..L-1``.
        colormap: a matplotlib colormap name or :class:`~matplotlib.colors.Colormap`.
        title: the figure's title.
        channel_names: one y-axis label per channel.
        shade: opacity of the map drawn as a band behind the line (0 for none).
        linewidth: width of the line.
        figsize: inches; default ``(8, 1 + 1.6·C)``.
    """
    values = _numpy(signal, "signal")
    if values.ndim == 1:
        values = values[None]
    if values.ndim != 2:
        raise VizInputError(f"signal must have shape (L,) or (C, L), got {values.shape}.")
    channels, length = values.shape
    if length < 2:
        raise VizInputError(f"signal needs at least 2 samples to draw a line, got {length}.")
    weights = resize_map(_unit_map(cam, 1), (length,))
    xs = np.arange(length, dtype=np.float64) if time is None else _numpy(time, "time").reshape(-1)
    if xs.shape[0] != length:
        raise VizInputError(f"time has {xs.shape[0]} values for a signal of {length} samples.")
    if channel_names is not None and len(channel_names) != channels:
        raise VizInputError(f"got {len(channel_names)} channel names for {channels} channels.")
    shade = check_alpha(shade)
    cmap = get_colormap(colormap)
    norm = Normalize(0.0, 1.0)
    fig = _new_figure(*(figsize or (8.0, 1.0 + 1.6 * channels)))
    axes = fig.subplots(channels, 1, sharex=True, squeeze=False)[:, 0]
    # each segment [x_i, x_i+1] takes the mean of its two end points' weights
    segment_weights = 0.5 * (weights[:-1] + weights[1:])
    for c, ax in enumerate(axes):
        ys = values[c]
        points = np.stack([xs, ys], axis=1)
        segments = np.stack([points[:-1], points[1:]], axis=1)
        lines = LineCollection(list(segments), cmap=cmap, norm=norm, linewidths=linewidth)
        lines.set_array(segment_weights)
        ax.add_collection(lines)
        low, high = float(ys.min()), float(ys.max())
        pad = 0.05 * (high - low) if high > low else 1.0
        ax.set_xlim(float(xs[0]), float(xs[-1]))
        ax.set_ylim(low - pad, high + pad)
        if shade > 0:
            ax.imshow(
                weights[None], cmap=cmap, norm=norm, alpha=shade, aspect="auto",
                extent=(float(xs[0]), float(xs[-1]), low - pad, high + pad), origin="lower",
                interpolation="nearest", zorder=0,
            )  # fmt: skip
        if channel_names is not None:
            ax.set_ylabel(str(channel_names[c]))
    axes[-1].set_xlabel("time" if time is not None else "sample")
    if title:
        axes[0].set_title(title)
    mappable = ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(mappable, ax=list(axes), fraction=0.03, pad=0.02, label="activation")
    return fig


def _volume(volume: object) -> np.ndarray:
    """``(D, H, W, 3)`` float in [0, 1] from ``(D, H, W)``, ``(1, D, H, W)`` or ``(3, D, H, W)``,
    min-max scaled over the whole volume."""
    array = _numpy(volume, "volume")
    if array.ndim == 4 and array.shape[0] in (1, 3):
        channels = array.shape[0]
        array = np.moveaxis(array, 0, -1)
        if channels == 1:
            array = np.repeat(array, 3, axis=-1)
    elif array.ndim == 3:
        array = np.repeat(array[..., None], 3, axis=-1)
    else:
        raise VizInputError(
            f"volume must have shape (D, H, W), (1, D, H, W) or (3, D, H, W), got {array.shape}."
        )
    low, high = float(array.min()), float(array.max())
    return (array - low) / (high - low) if high > low else np.zeros_like(array)


def plot_volume(
    volume: ArrayLike,
    cam: ArrayLike,
    axis: int = 0,
    *,
    slices: Sequence[int] | None = None,
    max_slices: int = 16,
    columns: int | None = None,
    colormap: str | Colormap = "jet",
    alpha: float = 0.5,
    title: str | None = None,
    tile_size: float = 2.0,
) -> Figure:
    """A montage of slices of a volume with the map overlaid, and a colour bar.

    Args:
        volume: ``(D, H, W)`` (grey), ``(1, D, H, W)`` or ``(3, D, H, W)`` (a video clip
            ``(C, T, H, W)``); shown with its min-max over the whole volume.
        cam: ``(d, h, w)`` map in [0, 1] (one item of camlens' ``(B, D, H, W)`` maps); resized
            trilinearly to the volume.
        axis: the axis sliced (0: depth/time, 1: height, 2: width).
        slices: the slice indices to show; default ``max_slices`` evenly spaced ones (all if fewer).
        max_slices: how many slices to show when ``slices`` is not given.
        columns: tiles per row; default ``ceil(sqrt(n))``.
        colormap: the map's colormap, as for ``camlens.viz.overlay``.
        alpha: the map's opacity, as for ``camlens.viz.overlay``.
        title: the figure's title.
        tile_size: inches per tile.
    """
    rgb = _volume(volume)
    shape = rgb.shape[:3]
    weights = resize_map(_unit_map(cam, 3), shape)
    if isinstance(axis, bool) or axis not in (0, 1, 2, -1, -2, -3):
        raise VizInputError(f"axis must be 0, 1 or 2, got {axis!r}.")
    axis = axis % 3
    count = shape[axis]
    if slices is None:
        if isinstance(max_slices, bool) or not isinstance(max_slices, int) or max_slices < 1:
            raise VizInputError(f"max_slices must be an int >= 1, got {max_slices!r}.")
        picked = sorted({round(v) for v in np.linspace(0, count - 1, min(count, max_slices))})
    else:
        picked = [int(s) for s in slices]
        if not picked or any(s < -count or s >= count for s in picked):
            raise VizInputError(f"slices must be indices in [0, {count}), got {list(slices)}.")
        picked = [s % count for s in picked]
    n = len(picked)
    cols = columns if columns is not None else int(np.ceil(np.sqrt(n)))
    if isinstance(cols, bool) or not isinstance(cols, int) or cols < 1:
        raise VizInputError(f"columns must be an int >= 1, got {columns!r}.")
    cols = min(cols, n)
    rows = int(np.ceil(n / cols))
    fig = _new_figure(tile_size * cols + 1.0, tile_size * rows + (0.4 if title else 0.0))
    axes = fig.subplots(rows, cols, squeeze=False)
    names = ("slice", "row", "column")
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        if k >= n:
            continue
        index = picked[k]
        image = np.take(rgb, index, axis=axis)
        tile = overlay(image, np.take(weights, index, axis=axis), colormap=colormap, alpha=alpha)
        ax.imshow(tile, interpolation="nearest")
        ax.set_title(f"{names[axis]} {index}", fontsize=8)
    if title:
        fig.suptitle(title)
    mappable = ScalarMappable(norm=Normalize(0.0, 1.0), cmap=get_colormap(colormap))
    fig.colorbar(mappable, ax=list(axes.flat), fraction=0.03, pad=0.02, label="activation")
    return fig
