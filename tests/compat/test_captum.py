"""camlens.compat.captum.LayerGradCam against captum's: the signed (pre-ReLU) Grad-CAM map."""

from __future__ import annotations

import pytest
import torch

import camlens
from camlens.compat.captum import LayerAttribution, LayerGradCam

captum_attr = pytest.importorskip("captum.attr")
torchvision = pytest.importorskip("torchvision")


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torchvision.models.resnet18().eval()


@pytest.fixture(scope="module")
def x() -> torch.Tensor:
    return torch.randn(2, 3, 96, 96, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize(
    "options",
    [{}, {"relu_attributions": True}, {"attr_dim_summation": False}],
    ids=["signed", "relu", "per-channel"],
)
@pytest.mark.parametrize("target", [7, [3, 900], torch.tensor([3, 900])], ids=str)
@pytest.mark.parametrize("layer", ["layer3", "layer4"])
def test_matches_captum(model, x, layer: str, target, options: dict) -> None:
    module = model.get_submodule(layer)
    theirs = captum_attr.LayerGradCam(model, module).attribute(x, target=target, **options)
    ours = LayerGradCam(model, module).attribute(x, target=target, **options)
    assert ours.shape == theirs.shape
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=1e-5)


def test_default_map_is_signed_and_its_relu_is_camlens_raw_map(model, x) -> None:
    signed = LayerGradCam(model, "layer4").attribute(x, target=[3, 900])
    assert (signed < 0).any() and (signed > 0).any()  # captum's default keeps the sign
    raw = camlens.GradCAM(model, "layer4").explain(x, [3, 900]).raw["layer4"]
    torch.testing.assert_close(torch.relu(signed[:, 0]), raw, atol=1e-6, rtol=1e-5)


def test_interpolate_matches_captum(model, x) -> None:
    attr = LayerGradCam(model, "layer4").attribute(x, target=1)
    for mode in ("nearest", "bilinear"):
        torch.testing.assert_close(
            LayerAttribution.interpolate(attr, (96, 96), mode),
            captum_attr.LayerAttribution.interpolate(attr, (96, 96), mode),
        )


def test_unsupported_arguments_raise_typed_errors(model, x) -> None:
    gc = LayerGradCam(model, "layer4")
    with pytest.raises(camlens.TargetError):
        gc.attribute(x, target=[1])  # one target for two images
    with pytest.raises(camlens.TargetError):
        gc.attribute(x, target=None)
    with pytest.raises(camlens.CamlensError):
        gc.attribute(x, target=1, attribute_to_layer_input=True)
