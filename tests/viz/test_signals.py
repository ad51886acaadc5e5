"""plot_signal / plot_volume: PNGs of the right size, coloured by the map, errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from camlens.viz.overlay import VizInputError
from camlens.viz.signals import plot_signal, plot_volume, resize_map

DPI = 40


def _png(fig) -> np.ndarray:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def _coloured(rgb: np.ndarray) -> int:
    """Pixels that are clearly not grey (the map's colours)."""
    rgb = rgb.astype(int)
    return int(((rgb.max(axis=2) - rgb.min(axis=2)) > 60).sum())


def test_resize_map_is_linear_without_corner_alignment():
    # [0, 1] -> 4 samples at source positions -0.25, 0.25, 0.75, 1.25 (clamped): 0, .25, .75, 1
    np.testing.assert_allclose(resize_map(np.array([0.0, 1.0]), (4,)), [0, 0.25, 0.75, 1])
    cube = np.zeros((2, 2, 2))
    cube[1] = 1.0
    np.testing.assert_allclose(resize_map(cube, (4, 2, 2))[:, 0, 0], [0, 0.25, 0.75, 1])


def test_plot_signal_renders_a_coloured_line_of_the_right_size():
    t = np.linspace(0, 1, 200)
    signal = torch.tensor(np.sin(2 * np.pi * 3 * t), dtype=torch.float32)
    cam = torch.zeros(50)
    cam[20:30] = 1.0
    fig = plot_signal(signal, cam, title="bump", figsize=(6, 2))
    png = _png(fig)
    assert png.shape == (2 * DPI, 6 * DPI, 3)
    assert png.std() > 10 and _coloured(png) > 100
    two = plot_signal(np.stack([np.sin(t), np.cos(t)]), cam.numpy(), channel_names=["a", "b"],
                      time=t, shade=0.0, figsize=(5, 3))  # fmt: skip
    assert len(two.axes) == 3  # two channels and the colour bar
    assert _png(two).shape == (3 * DPI, 5 * DPI, 3)


def test_plot_signal_line_colours_follow_the_map():
    cam = np.zeros(100)
    cam[50:] = 1.0  # first half low (blue in jet), second half high (red)
    fig = plot_signal(np.ones(100), cam, shade=0.0)
    lines = fig.axes[0].collections[0]
    fig.canvas.draw()
    colours = lines.get_colors()
    assert colours.shape[0] == 99
    assert colours[10][2] > colours[10][0] and colours[90][0] > colours[90][2]


def test_plot_volume_montage_of_the_right_size():
    torch.manual_seed(0)
    volume = torch.rand(6, 16, 16)
    cam = torch.zeros(3, 4, 4)
    cam[1, 1:3, 1:3] = 1.0
    fig = plot_volume(volume, cam, axis=0, tile_size=1.5)
    png = _png(fig)
    # 6 slices -> 3 columns x 2 rows of 1.5 in, plus 1 in for the colour bar
    assert png.shape == (int(2 * 1.5 * DPI), int((3 * 1.5 + 1.0) * DPI), 3)
    assert png.std() > 10 and _coloured(png) > 100
    titles = [ax.get_title() for ax in fig.axes[:6]]
    assert titles == [f"slice {i}" for i in range(6)]
    video = plot_volume(torch.rand(3, 4, 8, 8), torch.rand(2, 2, 2), axis=2, slices=[0, 7])
    assert [ax.get_title() for ax in video.axes[:2]] == ["column 0", "column 7"]


def test_errors():
    with pytest.raises(VizInputError, match=r"\[0, 1\]"):
        plot_signal(np.zeros(10), np.full(10, 2.0))
    with pytest.raises(VizInputError, match="1-D"):
        plot_signal(np.zeros(10), np.zeros((2, 5)))
    with pytest.raises(VizInputError, match="time has"):
        plot_signal(np.zeros(10), np.zeros(10), time=np.zeros(3))
    with pytest.raises(VizInputError, match="volume must have shape"):
        plot_volume(np.zeros((2, 2)), np.zeros((1, 1, 1)))
    with pytest.raises(VizInputError, match="slices"):
        plot_volume(np.zeros((3, 4, 4)), np.zeros((1, 1, 1)), slices=[3])
    with pytest.raises(VizInputError, match="axis"):
        plot_volume(np.zeros((3, 4, 4)), np.zeros((1, 1, 1)), axis=3)
