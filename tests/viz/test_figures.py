"""camlens.viz.figure / grid / save_grid: layout, saved pixels, typed errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from camlens.viz import VizInputError, figure, grid, overlay, save_grid

JET_0 = (0, 0, 128)
JET_1 = (128, 0, 0)
GREY = (128, 128, 128)


def cell_centre(ax, png: np.ndarray) -> np.ndarray:
    """The pixel at the centre of ``ax`` in the saved PNG (figure fractions -> pixels)."""
    box = ax.get_position()
    height, width = png.shape[:2]
    x = int((box.x0 + box.x1) / 2 * width)
    y = int((1 - (box.y0 + box.y1) / 2) * height)
    return png[y, x, :3]


def cell_pixels(ax, png: np.ndarray) -> np.ndarray:
    box = ax.get_position()
    height, width = png.shape[:2]
    x0, x1 = int(box.x0 * width) + 2, int(box.x1 * width) - 2
    y0, y1 = int((1 - box.y1) * height) + 2, int((1 - box.y0) * height) - 2
    return png[y0:y1, x0:x1, :3]


def test_figure_shows_the_overlay_and_a_colour_bar():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    cam = rng.random((5, 6))
    fig = figure(image, cam, title="tabby", colormap="viridis", alpha=0.3)
    assert isinstance(fig, Figure)
    assert isinstance(fig.canvas, FigureCanvasAgg)
    main_ax, bar_ax = fig.axes
    assert main_ax.get_title() == "tabby"
    np.testing.assert_array_equal(
        main_ax.images[0].get_array(), overlay(image, cam, colormap="viridis", alpha=0.3)
    )
    assert bar_ax.get_ylabel() == "activation"
    assert bar_ax.get_ylim() == (0.0, 1.0)


def test_save_grid_writes_a_png_of_the_right_size_with_the_right_cells(tmp_path):
    n_rows, n_cols, cell_size, dpi = 3, 2, 1.5, 60
    images = [np.full((32, 32, 3), 128, dtype=np.uint8)] * n_rows
    cams = torch.zeros(n_rows, n_cols, 8, 8)
    cams[:, 0] = 1.0  # first map column all ones -> jet(1), second all zeros -> jet(0)
    path = save_grid(
        images,
        cams,
        tmp_path / "sub" / "grid.png",
        row_labels=["a", "b", "c"],
        col_labels=["ones", "zeros"],
        alpha=1.0,
        cell_size=cell_size,
        dpi=dpi,
    )
    assert path == tmp_path / "sub" / "grid.png"
    with Image.open(path) as img:
        assert img.format == "PNG"
        width, height = img.size
        png = np.asarray(img.convert("RGB"))
    # cell_size * dpi pixels per cell, plus a margin under half an inch
    assert (n_cols + 1) * cell_size * dpi <= width <= ((n_cols + 1) * cell_size + 0.5) * dpi
    assert n_rows * cell_size * dpi <= height <= (n_rows * cell_size + 0.5) * dpi

    fig = grid(images, cams, ["a", "b", "c"], ["ones", "zeros"], alpha=1.0, cell_size=cell_size)
    axes = np.array(fig.axes).reshape(n_rows, n_cols + 1)
    for r in range(n_rows):
        assert tuple(cell_centre(axes[r, 0], png)) == GREY
        assert tuple(cell_centre(axes[r, 1], png)) == JET_1
        assert tuple(cell_centre(axes[r, 2], png)) == JET_0
        for ax in axes[r]:
            assert (cell_pixels(ax, png) != 255).any(axis=-1).mean() > 0.95, "blank cell"
    assert axes[0, 1].get_title() == "ones"
    assert axes[1, 0].get_ylabel() == "b"


def test_grid_cells_hold_the_overlays():
    rng = np.random.default_rng(2)
    images = [rng.integers(0, 256, (10, 12, 3), dtype=np.uint8) for _ in range(2)]
    cams = rng.random((2, 3, 5, 6))
    fig = grid(images, cams, cell_labels=[["p", "q", "r"], ["s", "t", "u"]], alpha=0.6)
    axes = np.array(fig.axes).reshape(2, 4)
    for r in range(2):
        np.testing.assert_array_equal(axes[r, 0].images[0].get_array(), images[r])
        for c in range(3):
            np.testing.assert_array_equal(
                axes[r, c + 1].images[0].get_array(), overlay(images[r], cams[r, c], alpha=0.6)
            )
    assert axes[1, 2].get_xlabel() == "t"
    assert axes[0, 0].get_title() == "image"


def test_grid_accepts_nested_lists_batches_and_one_column():
    rng = np.random.default_rng(3)
    batch = torch.rand(2, 3, 8, 8)  # torch images (N, 3, H, W)
    cams = rng.random((2, 2, 4, 4))
    nested = [[cams[0, 0], torch.from_numpy(cams[0, 1])], [cams[1, 0], cams[1, 1]]]
    a = grid(batch, cams, show_image=False)
    b = grid(list(batch), nested, show_image=False)
    assert len(a.axes) == len(b.axes) == 4
    for ax_a, ax_b in zip(a.axes, b.axes, strict=True):
        np.testing.assert_array_equal(ax_a.images[0].get_array(), ax_b.images[0].get_array())
    one_column = grid(batch, torch.from_numpy(cams[:, 0]))
    assert len(one_column.axes) == 4  # image + one map, two rows


@pytest.mark.parametrize(
    ("cams", "kwargs", "match"),
    [
        (np.zeros((3, 2, 4, 4)), {}, "2 images but 3 rows"),
        ([[np.zeros((4, 4))], [np.zeros((4, 4)), np.zeros((4, 4))]], {}, "same number"),
        (np.zeros((2, 2, 2, 4, 4)), {}, r"\(N_rows, N_cols, H, W\)"),
        (np.zeros((2, 2, 4, 4)), {"col_labels": ["x"]}, "col_labels needs 2 labels"),
        (np.zeros((2, 2, 4, 4)), {"row_labels": ["x"]}, "row_labels needs 2 labels"),
        ("maps", {}, "nested list"),
        (np.zeros((2, 1, 4, 4)) + 2, {}, r"\[0, 1\]"),
    ],
)
def test_grid_bad_inputs_raise(cams, kwargs, match):
    images = [np.zeros((4, 4, 3), dtype=np.uint8)] * 2
    with pytest.raises(VizInputError, match=match):
        grid(images, cams, **kwargs)


def test_grid_needs_an_image():
    with pytest.raises(VizInputError, match="at least one image"):
        grid([], [])
