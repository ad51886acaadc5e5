"""Sobel-CAM: a step edge by hand, and pytorch-grad-cam's ``sobel_cam`` (OpenCV) pixel for pixel."""

import numpy as np
import pytest
import torch
from torch import nn

from camlens.methods.sobelcam import SobelCAM, sobel_cam, sobel_map


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Many small ops: on a busy 2-core machine a second intra-op thread mostly spins (the
    torchvision comparisons run 5-20x slower with two). One thread here, restored after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten()).eval()


def test_sobelcam_step_edge_by_hand():
    # Grey = 1·(0.299 + 0.587 + 0.114) = 1 right of column 1, 0 left of it.
    # G_x = 4·(I[c+1] - I[c-1]) is 4 at columns 1 and 2; the mirrored border gives 0 at columns
    # 0 and 3; G_y = 0.
    x = torch.zeros(1, 3, 3, 4)
    x[..., 2:] = 1.0
    e = SobelCAM(_model()).explain(x)
    expected = torch.tensor([[0.0, 2.0, 2.0, 0.0]] * 3)
    torch.testing.assert_close(e.raw["input"][0], expected)
    torch.testing.assert_close(e.maps[0], expected / 2)
    assert e.outputs.shape == (1, 4)


def test_sobel_map_is_batched_and_uses_the_mean_for_other_channel_counts():
    x = torch.rand(2, 1, 6, 7, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(sobel_map(x.expand(2, 5, 6, 7)), sobel_map(x))
    torch.testing.assert_close(sobel_map(x)[1:], sobel_map(x[1:]))


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_sobel_cam_matches_pytorch_grad_cam(dtype):
    theirs = pytest.importorskip("pytorch_grad_cam.sobel_cam")
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(21, 30, 3)).astype(dtype)
    ours = sobel_cam(img)
    assert ours.dtype == np.uint8
    np.testing.assert_array_equal(ours, theirs.sobel_cam(img))
