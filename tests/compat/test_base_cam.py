"""The compat classes' API: pytorch-grad-cam's constructor, call, attributes and intended
differences (errors instead of silent truncation, exceptions not swallowed)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from tiny_models import SmallCNN
from torch import nn

import camlens
import camlens.compat.pytorch_grad_cam as compat
from camlens.compat.pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

pgc = pytest.importorskip("pytorch_grad_cam")


@pytest.fixture
def net() -> SmallCNN:
    """No in-place ReLU after the layers (pgc would record their output, see test_inplace.py)."""
    torch.manual_seed(0)
    return SmallCNN(inplace=False).eval()


@pytest.fixture
def x() -> torch.Tensor:
    return torch.randn(4, 3, 16, 12, generator=torch.Generator().manual_seed(1))


def targets(*classes: int) -> list[ClassifierOutputTarget]:
    return [ClassifierOutputTarget(c) for c in classes]


def run_pgc(cls_name: str, net: nn.Module, x: torch.Tensor, t: object, **kwargs) -> np.ndarray:
    with getattr(pgc, cls_name)(net, [net.conv3]) as cam:
        return cam(x, t, **kwargs)


def test_call_returns_numpy_float32_maps_in_the_input_size(net, x) -> None:
    with compat.GradCAM(net, [net.conv3]) as cam:
        maps = cam(x, targets(1, 2, 3, 4))
    assert isinstance(maps, np.ndarray) and maps.dtype == np.float32
    assert maps.shape == (4, 16, 12)
    assert maps.min() >= 0 and maps.max() <= 1


def test_matches_pgc_with_targets_none(net, x) -> None:
    with compat.GradCAM(net, [net.conv3]) as cam:
        ours = cam(x)
    assert np.abs(ours - run_pgc("GradCAM", net, x, None)).max() <= 1e-5


def test_use_cuda_is_accepted_ignored_and_deprecated(net, x) -> None:
    with pytest.warns(DeprecationWarning, match="use_cuda is ignored"):
        cam = compat.GradCAM(net, [net.conv3], use_cuda=True)
    with pytest.warns(DeprecationWarning, match="use_cuda is ignored"):
        old_order = compat.GradCAM(net, [net.conv3], False)  # pre-1.5: (model, layers, use_cuda)
    assert old_order.reshape_transform is None
    plain = compat.GradCAM(net, [net.conv3])
    t = targets(1, 2, 3, 4)
    assert np.array_equal(cam(x, t), plain(x, t))
    assert np.array_equal(old_order(x, t), plain(x, t))


def test_no_warning_without_use_cuda(net) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compat.GradCAM(net, [net.conv3])


def test_reshape_transform_must_be_callable(net) -> None:
    with pytest.raises(TypeError, match="callable"):
        compat.GradCAM(net, [net.conv3], reshape_transform="vit")


def test_constructor_puts_the_model_in_eval_mode_like_pgc(net) -> None:
    net.train()
    compat.GradCAM(net, [net.conv3])
    assert not any(m.training for m in net.modules())


def test_outputs_attribute_holds_the_logits(net, x) -> None:
    cam = compat.GradCAM(net, [net.conv3])
    assert cam.outputs is None
    cam(x, targets(0, 1, 2, 3))
    with torch.no_grad():
        expected = net(x)
    assert cam.outputs.shape == (4, 10)
    assert torch.allclose(cam.outputs, expected, atol=1e-6)


def test_batch_size_attribute_is_accepted(net, x) -> None:
    cam = compat.GradCAM(net, [net.conv3])
    assert cam.batch_size == 32
    cam.batch_size = 8
    assert cam(x, targets(0, 1, 2, 3)).shape == (4, 16, 12)


def test_attributes_like_pgc(net) -> None:
    layers = [net.conv3]
    cam = compat.HiResCAM(net, layers)
    assert cam.model is net and cam.target_layers is layers and cam.reshape_transform is None
    assert cam.device == torch.device("cpu")


def test_context_manager_returns_the_cam_and_lets_errors_through(net, x) -> None:
    with compat.GradCAM(net, [net.conv3]) as cam:
        assert isinstance(cam, compat.GradCAM)
    # pytorch-grad-cam's __exit__ prints and swallows IndexError; compat lets it propagate.
    with pytest.raises(IndexError), compat.GradCAM(net, [net.conv3]):
        raise IndexError("a bug in the caller's code")
    with pgc.GradCAM(net, [net.conv3]):
        raise IndexError("swallowed by pytorch-grad-cam")


def test_target_count_neither_one_nor_batch_raises(net, x) -> None:
    with compat.GradCAM(net, [net.conv3]) as cam, pytest.raises(camlens.TargetError):
        cam(x, targets(1, 2))
    with compat.GradCAM(net, [net.conv3]) as cam, pytest.raises(camlens.TargetError):
        cam(x, [])
    # pytorch-grad-cam zips: only the first two images are explained, the others are blank.
    theirs = run_pgc("GradCAM", net, x, targets(1, 2))
    assert theirs.shape == (4, 16, 12)
    assert theirs[:2].max() > 0 and theirs[2:].max() == 0


def test_one_target_explains_every_image(net, x) -> None:
    with compat.GradCAM(net, [net.conv3]) as cam:
        one = cam(x, targets(3))
        four = cam(x, targets(3, 3, 3, 3))
    assert np.array_equal(one, four)
    assert np.abs(four - run_pgc("GradCAM", net, x, targets(3, 3, 3, 3))).max() <= 1e-5
    # pytorch-grad-cam pairs the one target with the first image only.
    assert run_pgc("GradCAM", net, x, targets(3))[1:].max() == 0


def test_targets_as_tuple_generator_or_plain_callables(net, x) -> None:
    with compat.GradCAM(net, [net.conv3]) as cam:
        expected = cam(x, targets(0, 1, 2, 3))
        assert np.array_equal(cam(x, tuple(targets(0, 1, 2, 3))), expected)
        assert np.array_equal(cam(x, (ClassifierOutputTarget(c) for c in range(4))), expected)
        assert np.array_equal(cam(x, [lambda out, c=c: out[c] for c in range(4)]), expected)


def test_target_layers_may_be_names(net, x) -> None:
    t = targets(0, 1, 2, 3)
    with compat.LayerCAM(net, ["conv3"]) as by_name, compat.LayerCAM(net, [net.conv3]) as by_module:
        assert np.array_equal(by_name(x, t), by_module(x, t))


def test_several_layers_are_fused_like_pgc(net, x) -> None:
    t = targets(0, 1, 2, 3)
    with compat.GradCAM(net, [net.conv2, net.conv3]) as cam:
        ours = cam(x, t)
    with pgc.GradCAM(net, [net.conv2, net.conv3]) as cam:
        theirs = cam(x, t)
    assert np.abs(ours - theirs).max() <= 1e-5


def test_compat_class_is_the_camlens_method_with_pgc_post_processing(net, x) -> None:
    cam = compat.GradCAMPlusPlus(net, [net.conv3])
    assert isinstance(cam, camlens.GradCAMPlusPlus) and cam.eps == 1e-6
    assert compat.XGradCAM(net, [net.conv3]).eps == 1e-7
    explanation = cam.explain(x, targets(0, 1, 2, 3))
    assert np.array_equal(explanation.maps.numpy(), cam(x, targets(0, 1, 2, 3)))


def anisotropic_cnn() -> nn.Module:
    """A spectrogram-style CNN that downsamples height only: layer maps (B, 8, H/4, W)."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, stride=(4, 1), padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 3),
    ).eval()


def test_layer_output_is_used_as_it_is_without_reshape_transform() -> None:
    """No automatic reshaping in compat: (B, 8, 8, 40) stays channels-first, as in pgc."""
    model, x = anisotropic_cnn(), torch.randn(2, 1, 32, 40)
    with compat.GradCAM(model, [model[3]]) as cam:
        ours = cam(x, targets(0, 1))
    with pgc.GradCAM(model, [model[3]]) as cam:
        theirs = cam(x, targets(0, 1))
    assert np.abs(ours - theirs).max() <= 1e-5


def test_token_output_without_reshape_transform_raises(net) -> None:
    class Tokens(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Linear(3, 4)
            self.head = nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            tokens = self.embed(x.flatten(2).transpose(1, 2))  # (B, H*W, 4)
            return self.head(tokens.mean(1))

    model = Tokens().eval()
    with compat.GradCAM(model, [model.embed]) as cam, pytest.raises(ValueError, match="reshape"):
        cam(torch.randn(1, 3, 4, 4), targets(0))


@pytest.mark.parametrize(
    "name",
    [
        "GradCAM",
        "HiResCAM",
        "GradCAMPlusPlus",
        "XGradCAM",
        "LayerCAM",
        "EigenCAM",
        "EigenGradCAM",
        "GradCAMElementWise",
    ],
)
def test_every_class_runs_eigen_smooth_and_plain(net, x, name: str) -> None:
    with getattr(compat, name)(net, [net.conv3]) as cam:
        for eigen_smooth in (False, True):
            maps = cam(x, targets(0, 1, 2, 3), eigen_smooth=eigen_smooth)
            assert maps.shape == (4, 16, 12) and np.isfinite(maps).all()
