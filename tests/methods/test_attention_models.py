"""Rollout, Chefer, LeGrad and Grad-CAM on the transformer families, with automatic layer choice;
fused and explicit attention give the same maps; models without attention get a typed error."""

from __future__ import annotations

import warnings

import attention_toys as zoo
import pytest
import torch

import camlens

ATTENTION_METHODS = [camlens.AttentionRollout, camlens.CheferRelevance, camlens.LeGrad]

# model: (factory, input side, target, the fact: attention blocks (first, last, count), the grid
# the maps are computed on, Grad-CAM's automatic layer)
COVERAGE = {
    "torchvision vit_b_16": (
        zoo.torchvision_vit_b_16, 32, None,
        ("encoder.layers.encoder_layer_0.self_attention",
         "encoder.layers.encoder_layer_11.self_attention", 12), (2, 2),
        "encoder.layers.encoder_layer_11.ln_1",
    ),
    "timm ViT with 4 registers": (
        zoo.timm_registers, 28, None, ("blocks.0.attn", "blocks.1.attn", 2), (2, 2),
        "blocks.1.norm1",
    ),
    "timm DeiT distilled": (
        lambda: zoo.timm_vit("deit_tiny_distilled_patch16_224"), 32, None,
        ("blocks.0.attn", "blocks.1.attn", 2), (4, 4), "blocks.1.norm1",
    ),
    "Hugging Face ViT": (
        zoo.hf_vit, 32, None, ("vit.layers.0.attention", "vit.layers.1.attention", 2), (4, 4),
        "vit.layers.1.layernorm_before",
    ),
    "Hugging Face CLIP (image tower, text prompt)": (
        zoo.hf_clip, 32, zoo.cosine_target(zoo.TEXT),
        ("clip.vision_model.encoder.layers.0.self_attn",
         "clip.vision_model.encoder.layers.1.self_attn", 2), (4, 4),
        "clip.vision_model.encoder.layers.1.layer_norm1",
    ),
    "open_clip ViT (text prompt)": (
        zoo.open_clip_vit, 32, zoo.cosine_target(zoo.TEXT),
        ("transformer.resblocks.0.attn", "transformer.resblocks.1.attn", 2), (4, 4),
        "transformer.resblocks.1.ln_1",
    ),
    "open_clip ResNet (attention pooling, text prompt)": (
        zoo.open_clip_resnet, 64, zoo.cosine_target(zoo.TEXT), ("attnpool", "attnpool", 1),
        (2, 2), "layer4",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(COVERAGE))
def test_every_attention_method_and_gradcam_run_with_automatic_layers(name: str) -> None:
    factory, side, target, (first, last, count), grid, gradcam_layer = COVERAGE[name]
    torch.manual_seed(0)
    model = factory()
    x = torch.randn(2, 3, side, side, generator=torch.Generator().manual_seed(1))
    targets = None if target is None else [target]
    for method in ATTENTION_METHODS:
        cam = method(model)
        explanation = cam.explain(x, targets=targets)
        blocks = cam.attention_blocks(x)
        assert (blocks[0], blocks[-1], len(blocks)) == (first, last, count), method.__name__
        (raw,) = explanation.raw.values()
        assert raw.shape == (2, *grid), method.__name__
        _check_maps(explanation.maps, side, method.__name__)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", camlens.AutoLayerWarning)
        gradcam = camlens.GradCAM(model)
        _check_maps(gradcam(x, targets=targets), side, "GradCAM")
    assert gradcam.adapter.layer_names == [gradcam_layer]
    assert any(issubclass(w.category, camlens.AutoLayerWarning) for w in caught)


def _check_maps(maps: torch.Tensor, side: int, what: str) -> None:
    assert maps.shape == (2, side, side), what
    assert torch.isfinite(maps).all() and maps.min() >= 0 and maps.max() <= 1, what
    assert (maps.flatten(1).amax(1) == 1).all(), f"{what}: a constant map"


@pytest.mark.parametrize(
    ("family", "fused", "explicit"),
    [
        ("timm", lambda: zoo.timm_vit(fused=True), lambda: zoo.timm_vit(fused=False)),
        ("Hugging Face ViT", lambda: zoo.hf_vit("sdpa"), lambda: zoo.hf_vit("eager")),
        ("Hugging Face CLIP", lambda: zoo.hf_clip("sdpa"), lambda: zoo.hf_clip("eager")),
    ],
)
def test_fused_and_explicit_attention_give_the_same_maps(family, fused, explicit) -> None:
    torch.manual_seed(0)
    a = fused()
    b = explicit()
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    target = [zoo.cosine_target(zoo.TEXT)] if "CLIP" in family else [1]
    kinds = [{blk.kind for blk in camlens.core.attention.find_attention(m, x)[0]} for m in (a, b)]
    assert kinds == [{"sdpa"}, {"softmax"}]  # really two code paths
    for method in [
        *ATTENTION_METHODS,
        lambda m: camlens.AttentionRollout(m, head_fusion="max", discard_ratio=0.5),
    ]:
        ours, theirs = method(a).explain(x, targets=target), method(b).explain(x, targets=target)
        torch.testing.assert_close(ours.maps, theirs.maps, atol=1e-5, rtol=0)
        torch.testing.assert_close(
            next(iter(ours.raw.values())), next(iter(theirs.raw.values())), atol=1e-6, rtol=1e-4
        )


@pytest.mark.parametrize("method", ATTENTION_METHODS)
def test_a_model_without_attention_gets_a_typed_error_naming_the_methods_that_apply(
    method,
) -> None:
    import torchvision

    model = torchvision.models.resnet18(num_classes=3).eval()
    with pytest.raises(camlens.AttentionNotFoundError, match=r"gradcam, gradcam\+\+") as info:
        method(model)(torch.randn(1, 3, 32, 32))
    assert "rollout, chefer, legrad do not apply" in str(info.value)


def test_windowed_attention_is_refused_with_the_reason() -> None:
    timm = pytest.importorskip("timm")
    model = timm.create_model(
        "swin_tiny_patch4_window7_224", pretrained=False, img_size=56, window_size=7,
        depths=(1, 1), embed_dim=24, num_heads=(1, 2), num_classes=3,
    ).eval()  # fmt: skip
    x = torch.randn(1, 3, 56, 56)
    with pytest.raises(camlens.AttentionNotFoundError, match="windowed"):
        camlens.CheferRelevance(model, "layers.0.blocks.0")(x)  # 4 windows of 7x7 tokens
    # the last stage is one window over the whole 7x7 map: there attention is global
    cam = camlens.AttentionRollout(model)
    assert cam.attention_blocks(x) == ["layers.1.blocks.0.attn"]
    assert cam(x).shape == (1, 56, 56)


def test_a_layer_without_attention_is_refused() -> None:
    model = zoo.timm_vit()
    with pytest.raises(camlens.AttentionNotFoundError, match="holds no attention"):
        camlens.LeGrad(model, "patch_embed")(torch.randn(1, 3, 32, 32))
