"""SESS: the window layout and blur by hand / against OpenCV, one scale = the base map, and
pytorch-grad-cam's SESS on a random ResNet-18 (mean and max pooling, pre-filtering)."""

import copy
import functools

import numpy as np
import pytest
import torch

import camlens
from camlens.core.errors import CamlensError
from camlens.core.postprocess import fuse_pytorch_grad_cam
from camlens.methods.gradcam import GradCAM
from camlens.methods.sess import SESS, gaussian_blur, resized_size, window_starts

torchvision = pytest.importorskip("torchvision")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Many small ops: on a busy 2-core machine a second intra-op thread mostly spins (the
    torchvision comparisons run 5-20x slower with two). One thread here, restored after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def test_window_layout_by_hand():
    assert window_starts(10, 4, 4) == [0, 4, 6]  # the last window is moved back inside
    assert window_starts(8, 4, 4) == [0, 4]
    assert window_starts(4, 4, 4) == [0]
    assert window_starts(3, 4, 4) == [0]
    assert resized_size(40, 48, 50) == (50, 60)
    assert resized_size(48, 40, 50) == (60, 50)
    sess = SESS(torch.nn.Conv2d(3, 3, 1), "")
    assert sess.get_scales(224) == [224 + 64 * i for i in range(12)]  # the paper's scales


def test_gaussian_blur_matches_opencv():
    cv2 = pytest.importorskip("cv2")
    maps = torch.rand(2, 9, 13, generator=torch.Generator().manual_seed(0))
    for i in range(2):
        expected = cv2.GaussianBlur(maps[i].numpy(), (11, 11), 5.0, 0)
        assert np.abs(gaussian_blur(maps)[i].numpy() - expected).max() < 1e-6
    # a constant image stays constant (the kernel sums to 1, the border is mirrored)
    torch.testing.assert_close(
        gaussian_blur(torch.full((1, 3, 4), 2.0)), torch.full((1, 3, 4), 2.0)
    )


def test_one_scale_one_window_is_the_base_map(small_cnn, images):
    # One patch = the image, weight 1, pasted at its place: SESS without blur = the base map.
    sess = SESS(small_cnn, "conv3", scales=[16], smooth=False)
    base = GradCAM(small_cnn, "conv3")
    torch.testing.assert_close(sess(images, [2]), base(images, [2]))


@functools.cache
def _resnet(dtype: torch.dtype) -> torch.nn.Module:
    torch.manual_seed(0)
    return copy.deepcopy(torchvision.models.resnet18(num_classes=10).eval()).to(dtype)


@pytest.mark.parametrize(
    ("dtype", "options"),
    [
        (torch.float32, {"num_scales": 2}),
        (torch.float64, {"scales": [32, 45], "pool": "max", "smooth": False}),
        (
            torch.float64,
            {"scales": [32, 40], "step_size": 16, "pre_filter_ratio": 0.5, "theta": 0.1},
        ),
    ],
)
def test_sess_matches_pytorch_grad_cam(dtype, options):
    pgc = pytest.importorskip("pytorch_grad_cam")
    targets = pytest.importorskip("pytorch_grad_cam.utils.model_targets")
    model = _resnet(dtype)
    x = torch.randn(2, 3, 32, 40, generator=torch.Generator().manual_seed(1)).to(dtype)
    theirs = pgc.SESS(model, [model.layer3], **options)(
        x, [targets.ClassifierOutputTarget(c) for c in (1, 7)]
    )
    cam = SESS(model, "layer3", norm_eps=1e-7, **options)
    cam.base.fuse = fuse_pytorch_grad_cam
    assert np.abs(theirs - cam(x, [1, 7]).numpy()).max() < 1e-5


def test_sess_in_camlens_explain_runs_on_its_own(small_cnn, images):
    results = camlens.explain(small_cnn, images[:1], [GradCAM, SESS], "conv3", [2])
    torch.testing.assert_close(results["SESS"].maps, SESS(small_cnn, "conv3")(images[:1], [2]))
    torch.testing.assert_close(
        results["GradCAM"].maps, GradCAM(small_cnn, "conv3")(images[:1], [2])
    )
    with pytest.raises(CamlensError, match="SESS"):  # a shared capture is still refused
        SESS(small_cnn, "conv3").explanations(
            GradCAM(small_cnn, "conv3").adapter.capture(images[:1], [[2]])
        )
