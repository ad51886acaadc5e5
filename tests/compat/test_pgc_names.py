"""The pytorch-grad-cam names scripts use beyond the methods, against pytorch-grad-cam 1.5.7:
``utils.svd_on_activations``, ``utils.find_layers``, ``ActivationsAndGradients`` and
``cam.activations_and_grads``, ``get_cam_weights`` (also on 3-D activations),
``ablation_cam_multilayer``, SESS's target count, FinerCAM's HPU hook."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import camlens.compat.pytorch_grad_cam as compat
from camlens.compat.pytorch_grad_cam.utils import find_layers, svd_on_activations
from camlens.compat.pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

pgc = pytest.importorskip("pytorch_grad_cam")
pgc_svd = pytest.importorskip("pytorch_grad_cam.utils.svd_on_activations")
pgc_find = pytest.importorskip("pytorch_grad_cam.utils.find_layers")
torchvision = pytest.importorskip("torchvision")


class Net(nn.Module):
    """conv -> ReLU -> conv -> ReLU -> mean -> linear, on 2-D or 3-D inputs."""

    def __init__(self, dims: int = 2, classes: int = 5) -> None:
        super().__init__()
        conv = nn.Conv2d if dims == 2 else nn.Conv3d
        self.conv1 = conv(3, 6, 3, padding=1)
        self.conv2 = conv(6, 8, 3, padding=1)
        self.fc = nn.Linear(8, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        return self.fc(x.flatten(2).mean(dim=2))


def net(dims: int = 2) -> nn.Module:
    torch.manual_seed(0)
    return Net(dims).eval()


def activations(seed: int, shape: tuple[int, ...] = (2, 6, 5, 7)) -> np.ndarray:
    a = np.random.default_rng(seed).normal(size=shape).astype(np.float32)
    a[0, 0, 0, 0] = np.nan
    return a


@pytest.mark.parametrize("seed", range(3))
def test_svd_projections_match_pgc_and_leave_the_input(seed: int) -> None:
    a = activations(seed)
    snapshot = a.copy()
    ours = svd_on_activations.get_2d_projection(a)
    theirs = pgc_svd.get_2d_projection(a)
    assert ours.dtype == np.float32 and ours.shape == (2, 5, 7)
    # pgc keeps LAPACK's sign; camlens signs each map to agree with the activations.
    for o, t in zip(ours, theirs, strict=True):
        sign = np.sign((o * t).sum())
        np.testing.assert_allclose(o, sign * t, atol=1e-5)
    np.testing.assert_allclose(
        svd_on_activations.get_2d_projection_with_sign_correction(a),
        pgc_svd.get_2d_projection_with_sign_correction(a),
        atol=1e-5,
    )
    for kernel in ("sigmoid", "rbf", "poly"):
        np.testing.assert_allclose(
            svd_on_activations.get_2d_projection_kernel(a, kernel=kernel),
            pgc_svd.get_2d_projection_kernel(a, kernel=kernel),
            atol=1e-5,
        )
    assert np.array_equal(a, snapshot, equal_nan=True)


def test_svd_projection_takes_3d_activations_and_tensors() -> None:
    a = activations(0, (1, 4, 3, 4, 5))
    ours = svd_on_activations.get_2d_projection(torch.from_numpy(a))
    theirs = pgc_svd.get_2d_projection(a)
    assert ours.shape == (1, 3, 4, 5)
    np.testing.assert_allclose(np.abs(ours), np.abs(theirs), atol=1e-5)


def test_find_layers_match_pgc() -> None:
    ours_model, theirs_model = torchvision.models.resnet18(), torchvision.models.resnet18()
    for types in ([nn.ReLU], [nn.Conv2d, nn.BatchNorm2d]):
        ours = find_layers.find_layer_types_recursive(ours_model, types)
        theirs = pgc_find.find_layer_types_recursive(ours_model, types)
        assert ours and [id(m) for m in ours] == [id(m) for m in theirs]
    new = nn.Identity()
    assert find_layers.replace_layer_recursive(ours_model, ours_model.layer4[1].conv2, new)
    assert ours_model.layer4[1].conv2 is new
    assert not find_layers.replace_layer_recursive(ours_model, nn.Conv2d(1, 1, 1), new)
    pgc_find.replace_layer_recursive(theirs_model, theirs_model.layer4[1].conv2, nn.Identity())
    find_layers.replace_all_layer_type_recursive(ours_model, nn.ReLU, nn.GELU())
    pgc_find.replace_all_layer_type_recursive(theirs_model, nn.ReLU, nn.GELU())
    types = [type(m) for m in ours_model.modules()]
    assert types == [type(m) for m in theirs_model.modules()] and nn.GELU in types
    assert not find_layers.find_layer_types_recursive(ours_model, [nn.ReLU])


@pytest.mark.parametrize("name", ["GradCAM", "GradCAMPlusPlus", "XGradCAM"])
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 2, 3, 4, 5)], ids=["2d", "3d"])
def test_get_cam_weights_match_pgc(name: str, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(1)
    a = np.abs(rng.normal(size=shape)).astype(np.float32)
    g = rng.normal(size=shape).astype(np.float32)
    ours = getattr(compat, name).get_cam_weights(None, None, None, None, a, g)
    assert ours.shape == shape[:2] and ours.dtype == np.float32
    if len(shape) == 4 or name != "GradCAM":  # pgc's GradCAM averages axes (2, 3) only
        theirs = getattr(pgc, name).get_cam_weights(None, None, None, None, a, g)
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    model = net()
    cam = getattr(compat, name)(model, [model.conv2])
    np.testing.assert_array_equal(cam.get_cam_weights(None, None, None, a, g), ours)


@pytest.mark.parametrize("name", ["GradCAMPlusPlus", "XGradCAM", "GradCAM"])
def test_3d_conv_maps_match_pgc(name: str) -> None:
    model = net(dims=3)
    x = torch.randn(2, 3, 4, 5, 6, generator=torch.Generator().manual_seed(2))
    targets = [ClassifierOutputTarget(1), ClassifierOutputTarget(3)]
    with getattr(compat, name)(model, [model.conv2]) as cam:
        ours = cam(x, targets)
    with getattr(pgc, name)(model, [model.conv2]) as cam:
        theirs = cam(x, targets)
    assert ours.shape == (2, 4, 5, 6)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_activations_and_gradients_standalone_match_pgc() -> None:
    model = net()
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    recorded = []
    for module in (compat, pgc):
        hooks = module.ActivationsAndGradients(model, [model.conv1, model.conv2], None)
        out = hooks(x)
        out[:, 2].sum().backward()
        recorded.append((out.detach(), list(hooks.activations), list(hooks.gradients)))
        hooks.release()
        assert not model.conv1._forward_hooks and not model.conv2._forward_hooks
    (o1, a1, g1), (o2, a2, g2) = recorded
    torch.testing.assert_close(o1, o2)
    assert len(a1) == len(a2) == 2 and len(g1) == len(g2) == 2
    for ours, theirs in zip(a1 + g1, a2 + g2, strict=True):
        assert not ours.requires_grad
        torch.testing.assert_close(ours, theirs)


@pytest.mark.parametrize("name", ["GradCAM", "ScoreCAM", "LayerCAM"])
def test_cam_activations_and_grads_hold_the_last_call(name: str) -> None:
    model = net()
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(4))
    targets = [ClassifierOutputTarget(0), ClassifierOutputTarget(4)]
    ours_cam = getattr(compat, name)(model, [model.conv1, model.conv2])
    theirs_cam = getattr(pgc, name)(model, [model.conv1, model.conv2])
    ours_cam(x, targets)
    theirs_cam(x, targets)
    ours, theirs = ours_cam.activations_and_grads, theirs_cam.activations_and_grads
    # pgc's hooks also record Score-CAM's masked passes after the first: compare the first.
    theirs_activations = theirs.activations[:2]
    assert len(ours.activations) == 2 and len(ours.gradients) == len(theirs.gradients)
    pairs = zip(
        ours.activations + ours.gradients, theirs_activations + theirs.gradients, strict=True
    )
    for o, t in pairs:
        torch.testing.assert_close(o, t)
    theirs.release()
    assert not model.conv1._forward_hooks  # camlens leaves no hooks behind
    out = ours(x)  # pgc's scripts call it to run the model with the hooks
    assert out.shape == (2, 5) and len(ours.activations) == 2 and not model.conv1._forward_hooks
    out[:, 1].sum().backward()
    assert [g.shape for g in ours.gradients] == [a.shape for a in ours.activations]


def test_ablation_cam_multilayer_runs_on_several_layers() -> None:
    from camlens.compat.pytorch_grad_cam.ablation_cam_multilayer import AblationCAM

    model = net()
    x = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(5))
    maps = AblationCAM(model, [model.conv1, model.conv2])(x, [ClassifierOutputTarget(2)])
    expected = compat.AblationCAM(model, [model.conv1, model.conv2])(x, [ClassifierOutputTarget(2)])
    assert maps.shape == (1, 8, 8)
    np.testing.assert_array_equal(maps, expected)


def test_sess_wants_one_target_per_image_as_pgc() -> None:
    model = net()
    x = torch.randn(2, 3, 16, 16)
    for module in (compat, pgc):
        cam = module.SESS(model=model, target_layers=[model.conv2], num_scales=1)
        with pytest.raises(ValueError, match="target"):
            cam(input_tensor=x, targets=[ClassifierOutputTarget(0)])


def test_finer_cam_has_pgc_hpu_hook() -> None:
    model = net()
    cam = compat.FinerCAM(model, [model.conv2])
    assert cam.base_cam._htcore is None  # CPU: no Habana step to run
    assert cam(torch.randn(1, 3, 8, 8)).shape == (1, 8, 8)
