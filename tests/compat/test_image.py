"""utils.image against pytorch-grad-cam's (which uses OpenCV and torchvision): same numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from camlens.compat.pytorch_grad_cam.utils import image

cv2 = pytest.importorskip("cv2")
pgc_image = pytest.importorskip("pytorch_grad_cam.utils.image")

CV2_COLORMAPS = {
    n[len("COLORMAP_") :]: getattr(cv2, n) for n in dir(cv2) if n.startswith("COLORMAP_")
}


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def test_colormap_ids_are_opencv_ids() -> None:
    assert {m.name: int(m) for m in image.ColorMap} == CV2_COLORMAPS
    assert image.ColorMap.JET == cv2.COLORMAP_JET == 2


@pytest.mark.parametrize("name", sorted(CV2_COLORMAPS))
def test_colormap_tables_equal_opencv_byte_for_byte(name: str) -> None:
    gray = np.arange(256, dtype=np.uint8).reshape(16, 16)
    expected = cv2.applyColorMap(gray, CV2_COLORMAPS[name])
    assert np.array_equal(image.apply_colormap(gray, CV2_COLORMAPS[name]), expected)


def test_user_colormap_like_opencv(rng) -> None:
    table = rng.integers(0, 256, (256, 1, 3), dtype=np.uint8)
    gray = rng.integers(0, 256, (7, 5), dtype=np.uint8)
    assert np.array_equal(image.apply_colormap(gray, table), cv2.applyColorMap(gray, table))


@pytest.mark.parametrize("colormap", [-1, 22, True, 2.5])
def test_unknown_colormap_raises(colormap) -> None:
    with pytest.raises(ValueError, match="colormap"):
        image.apply_colormap(np.zeros((2, 2), np.uint8), colormap)


def test_apply_colormap_checks_its_input() -> None:
    with pytest.raises(TypeError, match="uint8"):
        image.apply_colormap(np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError, match="2-D"):
        image.apply_colormap(np.zeros((2, 2, 3), np.uint8))
    assert image.apply_colormap(np.zeros((2, 3, 1), np.uint8)).shape == (2, 3, 3)


@pytest.mark.parametrize("colormap", sorted(CV2_COLORMAPS.values()))
@pytest.mark.parametrize("use_rgb", [False, True])
def test_show_cam_on_image_equals_pgc(rng, colormap: int, use_rgb: bool) -> None:
    img = rng.random((24, 20, 3), dtype=np.float32)
    mask = rng.random((24, 20), dtype=np.float32)
    for weight in (0.0, 0.3, 0.5, 1.0):
        ours = image.show_cam_on_image(img, mask, use_rgb, colormap, weight)
        theirs = pgc_image.show_cam_on_image(img, mask, use_rgb, colormap, weight)
        assert ours.dtype == np.uint8 and np.array_equal(ours, theirs)


def test_show_cam_on_image_defaults_equal_pgc(rng) -> None:
    img = rng.random((8, 9, 3))  # float64, as np.float64 images give
    mask = rng.random((8, 9), dtype=np.float32)
    ours = image.show_cam_on_image(img, mask)
    assert np.array_equal(ours, pgc_image.show_cam_on_image(img, mask))
    assert np.array_equal(
        image.show_cam_on_image(img, mask, use_rgb=True, colormap=image.ColorMap.VIRIDIS),
        pgc_image.show_cam_on_image(img, mask, use_rgb=True, colormap=cv2.COLORMAP_VIRIDIS),
    )


def test_show_cam_on_image_errors_like_pgc(rng) -> None:
    img, mask = rng.random((4, 4, 3)), rng.random((4, 4))
    for args, kwargs in [((img * 255, mask), {}), ((img, mask), {"image_weight": 1.5})]:
        with pytest.raises(Exception) as theirs:
            pgc_image.show_cam_on_image(*args, **kwargs)
        with pytest.raises(ValueError) as ours:
            image.show_cam_on_image(*args, **kwargs)
        assert " ".join(str(ours.value).split()) == " ".join(str(theirs.value).split())


@pytest.mark.parametrize(
    ("dtype", "mean", "std"),
    [
        (np.uint8, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
        (np.uint8, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        (np.float32, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        (np.float64, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
    ],
)
def test_preprocess_image_equals_pgc(rng, dtype, mean, std) -> None:
    if dtype == np.uint8:
        img = rng.integers(0, 256, (10, 7, 3), dtype=np.uint8)
    else:
        img = rng.random((10, 7, 3)).astype(dtype)
    ours = image.preprocess_image(img, mean=mean, std=std)
    theirs = pgc_image.preprocess_image(img, mean=mean, std=std)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape == (1, 3, 10, 7)
    assert torch.equal(ours, theirs)


def test_preprocess_image_defaults_and_grayscale(rng) -> None:
    img = rng.random((6, 5, 3), dtype=np.float32)
    assert torch.equal(image.preprocess_image(img), pgc_image.preprocess_image(img))
    gray = rng.integers(0, 256, (6, 5), dtype=np.uint8)
    ours = image.preprocess_image(gray, mean=[0.5], std=[0.25])
    assert torch.equal(ours, pgc_image.preprocess_image(gray, mean=[0.5], std=[0.25]))
    assert not np.shares_memory(img, image.preprocess_image(img).numpy())


def test_preprocess_image_errors(rng) -> None:
    with pytest.raises(TypeError, match="float"):
        image.preprocess_image(rng.integers(0, 9, (4, 4, 3)).astype(np.int16))
    with pytest.raises(ValueError, match="std"):
        image.preprocess_image(rng.random((4, 4, 3)), std=[1, 0, 1])
    with pytest.raises(ValueError, match="dimensional"):
        image.preprocess_image(rng.random((1, 4, 4, 3)))


def test_deprocess_image_equals_pgc(rng) -> None:
    for img in (rng.normal(size=(9, 8, 3)), rng.normal(size=(9, 8, 3)).astype(np.float32)):
        ours = image.deprocess_image(img)
        assert ours.dtype == np.uint8 and np.array_equal(ours, pgc_image.deprocess_image(img))


@pytest.mark.parametrize(
    ("shape", "target_size"),
    [
        ((3, 2, 3), (96, 64)),  # (W, H), upsampling a non-square map
        ((2, 7, 7), (224, 224)),
        ((2, 20, 30), (9, 7)),  # downsampling
        ((2, 5, 4), None),
    ],
)
def test_scale_cam_image_equals_pgc(rng, shape, target_size) -> None:
    cam = rng.normal(size=shape).astype(np.float32)
    theirs = pgc_image.scale_cam_image(cam, target_size)
    for given in (cam, torch.from_numpy(cam)):
        ours = image.scale_cam_image(given, target_size)
        assert ours.dtype == np.float32 and ours.shape == theirs.shape
        assert np.abs(ours - theirs).max() <= 1e-6


def test_scale_accross_batch_and_channels_equals_pgc(rng) -> None:
    maps = rng.normal(size=(2, 3, 4, 5)).astype(np.float32)
    ours = image.scale_accross_batch_and_channels(maps, (10, 8))
    theirs = pgc_image.scale_accross_batch_and_channels(maps, (10, 8))
    assert ours.shape == theirs.shape == (2, 3, 8, 10)
    assert np.abs(ours - theirs).max() <= 1e-6


def test_scale_cam_image_float64_and_constant_maps(rng) -> None:
    cam = rng.normal(size=(2, 3, 4))
    ours = image.scale_cam_image(cam, (8, 6))
    assert np.abs(ours - pgc_image.scale_cam_image(cam, (8, 6))).max() <= 1e-6
    flat = np.full((1, 3, 3), 0.25, np.float32)
    assert np.array_equal(image.scale_cam_image(flat), pgc_image.scale_cam_image(flat))
    assert not image.scale_cam_image(flat).any()


def test_scale_cam_image_checks_sizes() -> None:
    with pytest.raises(ValueError, match="target_size"):
        image.scale_cam_image(np.zeros((1, 3, 3), np.float32), (4, 4, 4))


def test_scale_cam_image_3d_is_trilinear_not_pgc_spline(rng) -> None:
    """Documented difference: pgc zooms volumes with a cubic spline (scipy), compat trilinearly."""
    cam = rng.random((1, 2, 3, 4), dtype=np.float32)
    ours = image.scale_cam_image(cam, (8, 6, 4))
    assert ours.shape == (1, 4, 6, 8) == pgc_image.scale_cam_image(cam, (8, 6, 4)).shape
    assert ours.min() >= 0 and ours.max() <= 1
