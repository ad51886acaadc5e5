"""camlens.zoo.benchmark_cnn: shapes, the Grad-CAM layer's grid, size of the state dict."""

from __future__ import annotations

import io

import torch

from camlens.zoo.benchmark_cnn import INPUT_SIZE, TARGET_LAYER, BenchmarkCNN

torch.set_num_threads(1)


def test_logits_and_target_layer_grid():
    torch.manual_seed(0)
    model = BenchmarkCNN(num_classes=5).eval()
    seen = {}
    layer = dict(model.named_modules())[TARGET_LAYER]
    handle = layer.register_forward_hook(lambda m, i, o: seen.update(shape=o.shape))
    with torch.no_grad():
        out = model(torch.rand(2, 3, INPUT_SIZE, INPUT_SIZE))
    handle.remove()
    assert out.shape == (2, 5)
    assert seen["shape"] == (2, 64, 16, 16)  # one cell per 4×4 pixels


def test_small_state_dict():
    model = BenchmarkCNN()
    assert sum(p.numel() for p in model.parameters()) == 61_013
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    assert buffer.tell() < 1_000_000


def test_gradcam_runs_on_the_target_layer():
    import camlens

    torch.manual_seed(0)
    model = BenchmarkCNN().eval()
    maps = camlens.GradCAM(model, TARGET_LAYER)(torch.rand(2, 3, 64, 64), targets=2)
    assert maps.shape == (2, 64, 64)
    assert maps.min() >= 0 and maps.max() <= 1
