"""Vision transformers: tokens laid on the grid automatically, equal to explicit reshapes."""

import pytest
import torch
from torchvision.models import VisionTransformer

import camlens


def grid_reshape(tokens: torch.Tensor, extra: int, h: int, w: int) -> torch.Tensor:
    """pytorch-grad-cam's vit_reshape_transform, with the number of leading tokens to drop."""
    result = tokens[:, extra:, :].reshape(tokens.size(0), h, w, tokens.size(2))
    return result.transpose(2, 3).transpose(1, 2)


def _explicit_vs_auto(model, x, layer, reshape):
    auto = camlens.GradCAM(model, layer).explain(x, targets=[1, 2])
    explicit = camlens.GradCAM(model, layer, reshape_transform=reshape).explain(x, targets=[1, 2])
    torch.testing.assert_close(auto.raw[layer], explicit.raw[layer])
    torch.testing.assert_close(auto.maps, explicit.maps)
    assert auto.maps.shape == (x.shape[0], *x.shape[2:]) and torch.isfinite(auto.maps).all()
    return auto


def test_torchvision_vit_matches_pytorch_grad_cams_reshape():
    torch.manual_seed(0)
    model = VisionTransformer(
        image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64,
        num_classes=5,
    ).eval()  # fmt: skip
    torch.nn.init.normal_(model.heads.head.weight)
    layer = "encoder.layers.encoder_layer_1.ln_1"
    from pytorch_grad_cam.utils.reshape_transforms import vit_reshape_transform

    e = _explicit_vs_auto(
        model, torch.randn(2, 3, 32, 32), layer, lambda t: vit_reshape_transform(t, 4, 4)
    )
    assert e.raw[layer].shape == (2, 4, 4)


timm = pytest.importorskip("timm")


@pytest.mark.parametrize(
    ("name", "kwargs", "size", "extra", "layer"),
    [
        ("vit_tiny_patch16_224", {}, 32, 1, "blocks.1.norm1"),
        ("deit_tiny_distilled_patch16_224", {}, 32, 2, "blocks.1.norm1"),
        ("vit_small_patch14_reg4_dinov2", {"patch_size": 7}, 28, 5, "blocks.1.norm1"),
    ],
)
def test_timm_vit_deit_and_register_tokens(name, kwargs, size, extra, layer):
    torch.manual_seed(0)
    kwargs = {"patch_size": 8, **kwargs}
    model = timm.create_model(
        name, pretrained=False, img_size=size, depth=2, num_classes=5, **kwargs
    ).eval()
    grid = size // kwargs["patch_size"]
    x = torch.randn(2, 3, size, size)
    assert camlens.core.discovery.choose_layer(model, x) == layer
    _explicit_vs_auto(model, x, layer, lambda t: grid_reshape(t, extra, grid, grid))


def test_timm_swin_channel_last():
    torch.manual_seed(0)
    model = timm.create_model(
        "swin_tiny_patch4_window7_224", pretrained=False, img_size=56, depths=(1, 1),
        num_heads=(1, 1), embed_dim=16, window_size=7, num_classes=5,
    ).eval()  # fmt: skip
    x = torch.randn(2, 3, 56, 56)
    _explicit_vs_auto(model, x, "norm", lambda t: t.permute(0, 3, 1, 2))


transformers = pytest.importorskip("transformers")


def test_hugging_face_vit_and_swin_from_configs():
    from transformers import (
        SwinConfig,
        SwinForImageClassification,
        ViTConfig,
        ViTForImageClassification,
    )

    torch.manual_seed(0)
    vit = ViTForImageClassification(
        ViTConfig(image_size=32, patch_size=8, num_hidden_layers=2, hidden_size=32,
                  num_attention_heads=2, intermediate_size=64, num_labels=5)
    ).eval()  # fmt: skip
    x = torch.randn(2, 3, 32, 32)
    layer = camlens.core.discovery.choose_layer(vit, x)
    assert layer.endswith("layers.1.layernorm_before")
    _explicit_vs_auto(vit, x, layer, lambda t: grid_reshape(t, 1, 4, 4))  # .logits are scored
    swin = SwinForImageClassification(
        SwinConfig(image_size=32, patch_size=4, embed_dim=16, depths=[1, 1], num_heads=[1, 1],
                   window_size=4, num_labels=5)
    ).eval()  # fmt: skip
    assert camlens.core.discovery.choose_layer(swin, x) == "swin.layernorm"
    _explicit_vs_auto(swin, x, "swin.layernorm", lambda t: grid_reshape(t, 0, 4, 4))
