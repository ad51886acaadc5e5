"""The DFF figure: renders on current matplotlib, every pixel takes its strongest concept's colour,
and the legend helper; pytorch-grad-cam's drawing with explicit colours for comparison."""

import matplotlib
import numpy as np
import pytest
import torch
from matplotlib.colors import rgb_to_hsv
from matplotlib.figure import Figure

from camlens.methods.dff import Factorization
from camlens.viz.factorization import (
    concept_colors,
    create_labels_legend,
    factorization_figure,
    factorization_overlay,
    show_factorization_on_image,
)


def _maps(k: int = 3, size: int = 12) -> np.ndarray:
    rng = np.random.default_rng(0)
    maps = rng.random((k, size, size))
    return maps / maps.max(axis=(1, 2), keepdims=True)


def test_concept_colours_cover_the_image():
    maps = _maps()
    image = np.zeros((12, 12, 3), dtype=np.uint8)
    out = factorization_overlay(image, maps, image_weight=0.0)
    winner = maps.argmax(axis=0)
    hsv = rgb_to_hsv(out)
    palette = rgb_to_hsv(concept_colors(3))
    # every pixel is coloured (value = its strongest concept's map) in that concept's hue
    np.testing.assert_allclose(hsv[..., 2], maps.max(axis=0), atol=1e-12)
    np.testing.assert_allclose(hsv[..., 0], palette[winner, 0], atol=1e-9)
    assert set(np.unique(winner)) == {0, 1, 2}


def test_colours_are_gist_rainbow_from_the_registry():
    expected = [matplotlib.colormaps["gist_rainbow"](i / 4)[:3] for i in range(4)]
    np.testing.assert_allclose(concept_colors(4), expected)


def test_show_factorization_renders_with_a_legend():
    image = np.full((40, 48, 3), 128, dtype=np.uint8)
    maps = torch.from_numpy(_maps(3, 10)).float()  # resized to the image
    plain = show_factorization_on_image(image, maps)
    assert plain.shape == (40, 48, 3) and plain.dtype == np.uint8
    drawn = show_factorization_on_image(image, maps, concept_labels=["cat:0.9", "dog:0.1", "x"])
    assert drawn.shape == (40, 96, 3)
    np.testing.assert_array_equal(drawn[:, :48], plain)
    assert drawn[:, 48:].std() > 0  # the legend panel is not blank


def test_create_labels_legend_by_hand():
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.0, 0.5]])
    labels = {0: "tabby, tabby cat, cat, kitty", 1: "dog", 2: "car"}
    assert create_labels_legend(scores, labels, top_k=2) == [
        "dog:0.70\ncar:0.20",
        "tabby, tabby cat, cat:0.50\ncar:0.50",
    ]


def test_factorization_figure_draws():
    maps = torch.from_numpy(_maps(2, 8)).float()[None]
    f = Factorization(
        concepts=torch.rand(5, 2),
        maps=maps,
        raw=maps,
        scores=torch.rand(2, 3),
        outputs=torch.rand(1, 3),
        n_iter=1,
    )
    fig = factorization_figure(torch.rand(3, 8, 8), f, labels=["a", "b", "c"])
    assert isinstance(fig, Figure)
    fig.canvas.draw()
    legend = fig.axes[2].get_legend()
    assert [t.get_text()[:3] for t in legend.get_texts()] == ["0: ", "1: "]


def test_matches_pytorch_grad_cam_with_explicit_colours():
    image_mod = pytest.importorskip("pytorch_grad_cam.utils.image")
    # Pure red, green, blue: hues OpenCV's 8-bit HSV represents exactly; the rest is rounding.
    colours = [np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])]
    maps = _maps(3, 16).astype(np.float32)
    image = np.random.default_rng(1).random((16, 16, 3))
    theirs = image_mod.show_factorization_on_image(image, maps.copy(), colours, image_weight=0.4)
    ours = show_factorization_on_image(image, maps, colours, image_weight=0.4)
    assert np.abs(theirs.astype(int) - ours.astype(int)).max() <= 2
