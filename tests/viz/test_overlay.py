"""camlens.viz.overlay: exact values, agreement between input types, typed errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib import colormaps
from PIL import Image

from camlens.core.errors import CamlensError, InvalidInputError
from camlens.viz import VizInputError, as_rgb, heatmap, overlay

# matplotlib's jet at its ends, by hand: jet(0) = (0, 0, 0.5), jet(1) = (0.5, 0, 0).
JET_0 = np.array([0, 0, 128], dtype=np.uint8)
JET_1 = np.array([128, 0, 0], dtype=np.uint8)


def colour(cmap_name: str, value: float) -> np.ndarray:
    """The uint8 colour matplotlib's colormap gives ``value`` (rounded as overlay rounds)."""
    rgba = np.asarray(colormaps[cmap_name](value), dtype=np.float64)
    return np.round(rgba[:3] * 255).astype(np.uint8)


@pytest.fixture
def image() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(12, 16, 3), dtype=np.uint8)


@pytest.fixture
def cam() -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.random((12, 16)).astype(np.float32)


def test_alpha_zero_returns_the_image_exactly(image, cam):
    out = overlay(image, cam, alpha=0.0)
    assert out.dtype == np.uint8
    assert out.shape == image.shape
    np.testing.assert_array_equal(out, image)


def test_alpha_one_returns_the_colormap_colours_exactly(image):
    cam = np.zeros((12, 16), dtype=np.float32)
    picks = {(0, 0): 0.0, (3, 5): 0.25, (6, 7): 0.5, (9, 2): 0.75, (11, 15): 1.0, (5, 10): 0.6}
    for (r, c), v in picks.items():
        cam[r, c] = v
    out = overlay(image, cam, colormap="jet", alpha=1.0)
    for (r, c), v in picks.items():
        np.testing.assert_array_equal(out[r, c], colour("jet", v), err_msg=f"pixel {(r, c)}={v}")
    np.testing.assert_array_equal(out[0, 0], JET_0)
    np.testing.assert_array_equal(out[11, 15], JET_1)
    np.testing.assert_array_equal(out[6, 7], colour("jet", 0.5))
    assert not np.array_equal(out[6, 7], out[9, 2])


def test_blend_value_by_hand():
    image = np.zeros((2, 2, 3), dtype=np.uint8)
    image[...] = (200, 100, 0)
    cam = np.zeros((2, 2))
    # 0.5 * (200, 100, 0) + 0.5 * 255 * (0, 0, 0.5) = (100, 50, 63.75) -> (100, 50, 64)
    out = overlay(image, cam, alpha=0.5)
    np.testing.assert_array_equal(out, np.broadcast_to([100, 50, 64], (2, 2, 3)))
    # alpha = 0.25 on cam = 1: 0.75 * (200, 100, 0) + 0.25 * (127.5, 0, 0) = (181.875, 75, 0)
    out = overlay(image, np.ones((2, 2)), alpha=0.25)
    np.testing.assert_array_equal(out, np.broadcast_to([182, 75, 0], (2, 2, 3)))


@pytest.mark.parametrize("name", ["jet", "viridis", "inferno", "gray"])
def test_constant_zero_cam_gives_the_colormaps_zero_colour(image, name):
    out = overlay(image, np.zeros((12, 16)), colormap=name, alpha=1.0)
    np.testing.assert_array_equal(out, np.broadcast_to(colour(name, 0.0), out.shape))


def test_colormap_object_equals_its_name(image, cam):
    by_name = overlay(image, cam, colormap="viridis", alpha=0.7)
    by_object = overlay(image, cam, colormap=colormaps["viridis"], alpha=0.7)
    np.testing.assert_array_equal(by_name, by_object)
    assert not np.array_equal(by_name, overlay(image, cam, colormap="jet", alpha=0.7))


def test_image_types_agree(image, cam):
    expected = overlay(image, cam, alpha=0.4)
    forms = {
        "float64 [0,1]": image / 255.0,
        "float32 [0,1]": (image / 255.0).astype(np.float32),
        "PIL": Image.fromarray(image),
        "torch uint8 (3,H,W)": torch.from_numpy(image).permute(2, 0, 1),
        "torch float (3,H,W)": torch.from_numpy(image).permute(2, 0, 1).float() / 255,
    }
    for name, form in forms.items():
        np.testing.assert_array_equal(overlay(form, cam, alpha=0.4), expected, err_msg=name)


def test_cam_types_agree(image, cam):
    expected = overlay(image, cam)
    np.testing.assert_array_equal(overlay(image, torch.from_numpy(cam)), expected)
    np.testing.assert_array_equal(overlay(image, cam.astype(np.float64)), expected)
    grad_cam = torch.from_numpy(cam).requires_grad_(True)
    np.testing.assert_array_equal(overlay(image, grad_cam), expected)


def test_pil_modes_are_converted_to_rgb():
    grey = Image.fromarray(np.full((4, 5), 77, dtype=np.uint8), mode="L")
    rgba = Image.fromarray(np.full((4, 5, 4), 77, dtype=np.uint8), mode="RGBA")
    for img in (grey, rgba):
        np.testing.assert_array_equal(overlay(img, np.zeros((4, 5)), alpha=0.0), 77)
    np.testing.assert_array_equal(as_rgb(grey), np.full((4, 5, 3), 77, dtype=np.uint8))


def test_cam_is_resized_bilinearly_to_the_image():
    image = np.zeros((4, 4, 3), dtype=np.uint8)
    cam = np.array([[0.0, 1.0], [0.0, 1.0]])
    out = overlay(image, cam, alpha=1.0)
    assert out.shape == (4, 4, 3)
    # bilinear, no corner alignment: columns at 0, 0.25, 0.75, 1
    for c, v in enumerate([0.0, 0.25, 0.75, 1.0]):
        np.testing.assert_array_equal(out[:, c], np.broadcast_to(colour("jet", v), (4, 3)))


def test_resize_matches_torch_bilinear(cam):
    image = np.full((30, 40, 3), 90, dtype=np.uint8)
    small = cam[:6, :8]
    big = F.interpolate(
        torch.from_numpy(small)[None, None].double(),
        size=(30, 40),
        mode="bilinear",
        align_corners=False,
    )[0, 0].numpy()
    np.testing.assert_array_equal(overlay(image, small), overlay(image, big))


def test_float_tolerance_is_clipped():
    image = np.zeros((2, 2, 3), dtype=np.uint8)
    cam = np.array([[1.0 + 1e-7, -1e-7], [0.5, 0.5]], dtype=np.float64)
    out = overlay(image, cam, alpha=1.0)
    np.testing.assert_array_equal(out[0, 0], JET_1)
    np.testing.assert_array_equal(out[0, 1], JET_0)


def test_heatmap_is_the_colormap_without_alpha():
    cam = np.array([[0.0, 0.5, 1.0]])
    expected = colormaps["jet"](cam)[..., :3]
    np.testing.assert_array_equal(heatmap(cam), expected)


@pytest.mark.parametrize(
    ("cam", "match"),
    [
        (np.zeros((1, 12, 16)), r"2-D.*maps\[i\]"),
        (np.zeros(16), "2-D"),
        (np.zeros((0, 16)), "empty"),
        (np.full((12, 16), 1.01), r"\[0, 1\]"),
        (np.full((12, 16), -0.1), r"\[0, 1\]"),
        (np.full((12, 16), np.nan), "NaN"),
        (np.zeros((12, 16), dtype=np.uint8), "float"),
        ([[0.0, 1.0]], "numpy array or torch tensor"),
    ],
)
def test_bad_cam_raises(image, cam, match):
    with pytest.raises(VizInputError, match=match):
        overlay(image, cam)


@pytest.mark.parametrize(
    ("bad_image", "match"),
    [
        (np.zeros((3, 12, 16), dtype=np.uint8), r"\(H, W, 3\).*transpose"),
        (np.zeros((12, 16), dtype=np.uint8), r"\(H, W, 3\)"),
        (np.zeros((12, 16, 4), dtype=np.uint8), r"\(H, W, 3\)"),
        (np.full((12, 16, 3), 200.0), r"\[0, 1\]"),
        (np.zeros((12, 16, 3), dtype=np.int64), "uint8"),
        (torch.zeros(12, 16, 3), r"\(3, H, W\)"),
        (torch.zeros(1, 3, 12, 16), r"x\[i\]"),
        ("cat.png", "numpy array"),
    ],
)
def test_bad_image_raises(cam, bad_image, match):
    with pytest.raises(VizInputError, match=match):
        overlay(bad_image, cam)


@pytest.mark.parametrize("alpha", [-0.1, 1.5, float("nan"), True, "0.5"])
def test_bad_alpha_raises(image, cam, alpha):
    with pytest.raises(VizInputError, match="alpha"):
        overlay(image, cam, alpha=alpha)


def test_unknown_colormap_raises(image, cam):
    with pytest.raises(VizInputError, match="unknown colormap 'jett'"):
        overlay(image, cam, colormap="jett")
    with pytest.raises(VizInputError, match="Colormap"):
        overlay(image, cam, colormap=42)


def test_errors_are_camlens_errors():
    assert issubclass(VizInputError, CamlensError)
    assert issubclass(VizInputError, InvalidInputError)
    assert issubclass(VizInputError, ValueError)
