"""Video transformers: tokens map back to (T, H, W)."""

import pytest
import torch

import camlens
from camlens.core.discovery import choose_layer
from camlens.models import VideoChannelsFirst

transformers = pytest.importorskip("transformers")


def test_videomae_tubelet_tokens_map_back_to_time_height_width():
    from transformers import VideoMAEConfig, VideoMAEForVideoClassification

    torch.manual_seed(0)
    config = VideoMAEConfig(
        image_size=32, patch_size=8, num_frames=4, tubelet_size=2, hidden_size=32,
        num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, num_labels=5,
    )  # fmt: skip
    model = VideoChannelsFirst(VideoMAEForVideoClassification(config).eval()).eval()
    x = torch.randn(2, 3, 4, 32, 32)  # (B, C, T, H, W)
    layer = choose_layer(model, x)
    assert layer == "model.videomae.encoder.layer.1.layernorm_after"
    e = camlens.GradCAM(model, layer).explain(x, [1, 2])
    assert e.raw[layer].shape == (2, 2, 4, 4)  # 2 tubelets x 4 x 4 patches
    assert e.maps.shape == (2, 4, 32, 32) and torch.isfinite(e.maps).all()
    # by hand: the tokens, tubelet-major then row-major, are the grid
    acts = {}
    handle = dict(model.named_modules())[layer].register_forward_hook(
        lambda m, i, o: acts.setdefault("tokens", o.detach())
    )
    model(x)
    handle.remove()
    tokens = acts["tokens"]  # (B, 32, D)
    explicit = camlens.GradCAM(
        model, layer, reshape_transform=lambda t: t.transpose(1, 2).reshape(2, 32, 2, 4, 4)
    ).explain(x, [1, 2])
    torch.testing.assert_close(e.raw[layer], explicit.raw[layer])
    assert tokens.shape == (2, 32, 32)
