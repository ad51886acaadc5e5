"""Automatic layer choice on ten torchvision architectures, and the layer listing."""

import pytest
import torch
import torchvision
from torchvision.models import SwinTransformer, VisionTransformer

import camlens
from camlens.core.discovery import choose_layer, format_layers, layers


def small_vit():
    return VisionTransformer(
        image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64
    )


def small_swin():
    return SwinTransformer(
        patch_size=[4, 4], embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1],
        window_size=[2, 2],
    )  # fmt: skip


# (family, constructor, input size, the layer camlens picks) — documented in docs/layers.md
ARCHITECTURES = [
    ("resnet", torchvision.models.resnet18, 64, "layer4"),
    ("vgg", torchvision.models.vgg11, 64, "features"),
    ("densenet", torchvision.models.densenet121, 64, "features"),
    ("mobilenet_v3", torchvision.models.mobilenet_v3_small, 64, "features"),
    ("efficientnet", torchvision.models.efficientnet_b0, 64, "features"),
    ("convnext", torchvision.models.convnext_tiny, 64, "features"),
    ("regnet", torchvision.models.regnet_y_400mf, 64, "trunk_output"),
    ("squeezenet", torchvision.models.squeezenet1_1, 64, "classifier.2"),
    ("vit", small_vit, 32, "encoder.layers.encoder_layer_1.ln_1"),
    ("swin", small_swin, 64, "permute"),
]


@pytest.mark.parametrize(
    ("family", "build", "size", "expected"), ARCHITECTURES, ids=[a[0] for a in ARCHITECTURES]
)
def test_automatic_layer_choice(family, build, size, expected):
    torch.manual_seed(0)
    model = build().eval()
    x = torch.randn(2, 3, size, size)
    assert choose_layer(model, x) == expected
    with pytest.warns(camlens.AutoLayerWarning, match=expected.replace(".", r"\.")):
        maps = camlens.GradCAM(model)(x)
    assert maps.shape == (2, size, size) and torch.isfinite(maps).all()


def test_vit_with_zero_initialised_head_still_finds_the_last_blocks_tokens():
    model = small_vit().eval()
    assert not model.heads.head.weight.any()  # torchvision initialises the head to zeros
    assert choose_layer(model, torch.randn(1, 3, 32, 32)).endswith("encoder_layer_1.ln_1")


def test_layers_lists_shapes_grids_and_candidates():
    model = torchvision.models.resnet18().eval()
    infos = {i.name: i for i in layers(model, torch.randn(1, 3, 64, 64))}
    assert infos["layer4"].shape == (1, 512, 2, 2) and infos["layer4"].candidate
    assert infos["layer4"].positions_with_gradient == 4
    assert not infos["avgpool"].candidate and not infos["fc"].candidate
    assert infos["layer4.0.relu"].calls == 2 and not infos["layer4.0.relu"].candidate
    table = format_layers(list(infos.values()))
    assert "layer4" in table and "grad positions" in table


def test_no_candidate_is_a_clear_error():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 3)).eval()
    with pytest.raises(camlens.LayerNotFoundError, match="target_layers="):
        camlens.GradCAM(model)(torch.randn(1, 3, 2, 2))
