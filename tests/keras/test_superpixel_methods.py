"""LIME and KernelSHAP on a Keras model (TensorFlow backend) run through ``adapter.predict`` only
and give the PyTorch twin's superpixel weights and maps."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from superpixel_models import blocks
from torch import nn

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "tensorflow":
    pytest.skip("these tests run Keras on the TensorFlow backend", allow_module_level=True)

import camlens  # noqa: E402

torch.set_num_threads(1)
try:
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
except RuntimeError:
    pass


@pytest.fixture(scope="module")
def twins():
    """A Keras conv + GAP + dense(softmax) model, its torch twin (logits), x NHWC (2, 8, 8, 3)."""
    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 3))
    conv = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")
    head = keras.layers.Dense(3, activation="softmax", name="head")
    model = keras.Model(inp, head(keras.layers.GlobalAveragePooling2D()(conv(inp))))
    twin = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(4, 3),
    )  # fmt: skip
    with torch.no_grad():
        kernel, bias = (v.numpy() for v in conv.weights)
        twin[0].weight.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1)))
        twin[0].bias.copy_(torch.from_numpy(bias))
        kernel, bias = (v.numpy() for v in head.weights)
        twin[4].weight.copy_(torch.from_numpy(kernel.T))
        twin[4].bias.copy_(torch.from_numpy(bias))
    x = np.random.default_rng(0).random((2, 8, 8, 3), dtype=np.float32)
    return model, twin.eval(), x


@pytest.mark.parametrize("method", [camlens.LIME, camlens.KernelSHAP], ids=lambda m: m.__name__)
def test_keras_equals_torch_twin(twins, method):
    model, twin, x = twins
    options = {"segments": blocks(8, 8, 2, 3), "n_samples": 40, "seed": 2}
    keras_e = method(model, **options).explain(x, [0, 2])
    torch_e = method(twin, **options).explain(torch.from_numpy(x).permute(0, 3, 1, 2), [0, 2])
    for k, t in zip(keras_e.weights, torch_e.weights, strict=True):
        assert float(t.abs().max()) > 1e-3
        torch.testing.assert_close(k, t, atol=1e-4, rtol=0)
    torch.testing.assert_close(keras_e.maps, torch_e.maps, atol=1e-3, rtol=0)
    assert keras_e.maps.shape == (2, 8, 8)
