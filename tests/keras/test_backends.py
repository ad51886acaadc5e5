"""Which framework camlens imports: a PyTorch-only run never imports TensorFlow or Keras, and a
Keras 3 model on the PyTorch backend takes the PyTorch path (each in a fresh subprocess)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env}
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT / "tests")])
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )


def test_pytorch_run_imports_no_tensorflow():
    result = run(
        """
        import sys, torch
        torch.set_num_threads(1)
        import camlens
        from tiny_models import SmallCNN
        maps = camlens.GradCAM(SmallCNN().eval(), "conv3")(torch.randn(1, 3, 8, 8))
        assert maps.shape == (1, 8, 8)
        print(sorted(m for m in ("tensorflow", "keras", "tf_keras") if m in sys.modules))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="keras is not installed")
def test_keras_on_the_pytorch_backend_takes_the_pytorch_path():
    """A channels-last Keras model (softmax head) on the PyTorch backend gives the same Grad-CAM,
    Score-CAM and Ablation-CAM as a plain torch twin with its weights."""
    result = run(
        """
        import numpy as np, torch, keras
        from torch import nn
        torch.set_num_threads(1)
        assert keras.backend.backend() == "torch"
        import camlens
        from camlens.keras import KerasTorchAdapter

        keras.utils.set_random_seed(0)
        layers = keras.layers
        inp = keras.Input((10, 10, 3))
        h = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv1")(inp)
        h = layers.Conv2D(5, 3, padding="same", activation="relu", name="conv2")(h)
        out = layers.Dense(3, activation="softmax", name="head")(
            layers.GlobalAveragePooling2D()(h)
        )
        model = keras.Model(inp, out)
        assert isinstance(model, nn.Module)

        twin = nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 5, 3, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(5, 3),
        ).eval()
        with torch.no_grad():
            for i, name in ((0, "conv1"), (2, "conv2")):
                layer = model.get_layer(name)
                twin[i].weight.copy_(torch.as_tensor(np.asarray(layer.kernel)).permute(3, 2, 0, 1))
                twin[i].bias.copy_(torch.as_tensor(np.asarray(layer.bias)))
            twin[6].weight.copy_(torch.as_tensor(np.asarray(model.get_layer("head").kernel)).T)
            twin[6].bias.copy_(torch.as_tensor(np.asarray(model.get_layer("head").bias)))

        x = torch.rand(2, 3, 10, 10, generator=torch.Generator().manual_seed(0))
        for method in (camlens.GradCAM, camlens.ScoreCAM, camlens.AblationCAM):
            cam = method(model, "conv2")
            assert isinstance(cam.adapter, KerasTorchAdapter)
            explanation = cam.explain(x, targets=[1, 2])
            expected = method(twin, "3").explain(x, targets=[1, 2])
            torch.testing.assert_close(explanation.outputs, expected.outputs, atol=1e-5, rtol=0)
            torch.testing.assert_close(explanation.maps, expected.maps, atol=1e-4, rtol=0)
        cam = camlens.ScoreCAM(model, "conv2")
        assert cam.adapter.forward_cost(x) == (4 + 2 * 5) * 100 * 4  # conv2's call, float32
        torch.testing.assert_close(camlens.ScoreCAM(model, "conv2", batch_size=3)(x), cam(x))
        print("ok")
        """,
        KERAS_BACKEND="torch",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
