"""Channels-last ONNX graphs: a Keras CNN converted by tf2onnx takes ``(B, H, W, C)`` images.
Numpy inputs are taken in the graph's layout and torch tensors channels first; the maps equal the
Keras adapter's on the same model (the forward-only and the black-box methods). A torch model
whose layer is channels last inside the graph (as ConvNeXt and Swin lay theirs) gives the PyTorch
path's map. Before, such a graph gave maps of the wrong shape with no error."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from torch import nn

import camlens
from camlens.errors import AutoLayerWarning, InvalidInputError
from camlens.loading import load_model
from camlens.onnx import OnnxAdapter, graph
from camlens.pixel import RISE, Occlusion

# torchvision (which the CLI loader imports) before TensorFlow: loaded after it, the triton of
# torch's CUDA wheels crashes the process (Segmentation fault in triton._C, TF 2.21, triton 3)
pytest.importorskip("torchvision")
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")
tf2onnx = pytest.importorskip("tf2onnx")
if keras.backend.backend() != "tensorflow":
    pytest.skip("tf2onnx converts Keras models on the TensorFlow backend", allow_module_level=True)

torch.set_num_threads(1)
try:  # one TensorFlow thread (only possible before TF starts its runtime)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
except RuntimeError:
    pass

TOL = 1e-5


@pytest.fixture(scope="module")
def converted():
    """(Keras model, its tf2onnx ``ModelProto`` (input ``(batch, 16, 16, 3)``), x NHWC numpy,
    the graph's name of conv3's ReLU: NCHW inside the graph, as tf2onnx moves its transposes).

    conv(3→6)+ReLU, conv(6→8, stride 2)+ReLU, conv(8→8)+ReLU, global average pooling,
    dense(8→5); random biases, so the converter keeps them."""
    keras.utils.set_random_seed(0)
    layers = keras.layers
    bias = keras.initializers.RandomNormal(stddev=0.1, seed=1)
    image = keras.Input((16, 16, 3), name="image")
    h = layers.Conv2D(6, 3, padding="same", activation="relu", bias_initializer=bias)(image)
    h = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="conv2")(h)
    h = layers.Conv2D(8, 3, padding="same", activation="relu", bias_initializer=bias, name="conv3")(
        h
    )
    logits = layers.Dense(5, bias_initializer=bias)(layers.GlobalAveragePooling2D()(h))
    model = keras.Model(image, logits, name="functional")
    spec = [tf.TensorSpec((None, 16, 16, 3), tf.float32, name="image")]
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=17)
    x = np.random.default_rng(1).standard_normal((2, 16, 16, 3)).astype(np.float32)
    conv3 = next(n.output[0] for n in proto.graph.node if n.op_type == "Relu" and "conv3" in n.name)
    return model, proto, x, conv3


def test_the_graph_is_channels_last_and_its_logits_are_the_keras_models(converted):
    model, proto, x, conv3 = converted
    assert graph.channels_last(proto)
    assert graph.value_shape(graph.image_input(proto))[1:] == (16, 16, 3)
    adapter = OnnxAdapter(proto, conv3)
    expected = torch.from_numpy(np.array(model(x)))
    torch.testing.assert_close(adapter.predict(torch.from_numpy(x).permute(0, 3, 1, 2)), expected)


@pytest.mark.parametrize("name", ["eigencam", "scorecam", "ablationcam", "kpcacam", "fem"])
def test_forward_only_maps_equal_the_keras_adapters(converted, name):
    model, proto, x, conv3 = converted
    cls = camlens.methods.get_method(name)
    expected = cls(model, "conv3")(x, targets=[1, 3])
    from_numpy = cls(proto, conv3)(x, targets=[1, 3])  # numpy: the graph's layout, NHWC
    from_torch = cls(proto, conv3)(torch.from_numpy(x).permute(0, 3, 1, 2), targets=[1, 3])
    assert expected.shape == (2, 16, 16) and float(expected.amax()) == 1.0
    torch.testing.assert_close(from_numpy, expected, atol=TOL, rtol=0)
    torch.testing.assert_close(from_torch, expected, atol=TOL, rtol=0)


def test_black_box_methods_equal_the_keras_adapters(converted):
    model, proto, x, _ = converted
    nchw = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
    for method in (
        lambda m: RISE(m, n_masks=24, seed=0),
        lambda m: Occlusion(m, patch_size=4, stride=4),
    ):
        torch.testing.assert_close(method(proto)(nchw), method(model)(nchw), atol=TOL, rtol=0)
    rows, cols = np.indices((16, 16)) // 4
    options = {"segments": rows * 4 + cols, "n_samples": 30, "seed": 2}  # 16 blocks of 4x4
    lime = camlens.LIME(proto, **options)(x, targets=[1, 3])
    torch.testing.assert_close(
        lime, camlens.LIME(model, **options)(x, targets=[1, 3]), atol=TOL, rtol=0
    )


def test_the_automatic_layer_and_the_listing_read_the_layout(converted):
    _, proto, x, conv3 = converted
    with pytest.warns(AutoLayerWarning, match="conv3"):
        maps = camlens.EigenCAM(proto)(x)
    assert maps.shape == (2, 16, 16)
    rows = {info.name: info for info in camlens.layers(proto)}
    assert rows[conv3].candidate and rows[conv3].grid == (8, 8)


def test_an_image_in_the_wrong_layout_is_one_typed_line(converted):
    _, proto, x, conv3 = converted
    with pytest.raises(InvalidInputError) as info:
        camlens.EigenCAM(proto, conv3)(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))  # NCHW
    message = str(info.value)
    assert "\n" not in message and "channels last" in message and "(any, 16, 16, 3)" in message
    with pytest.raises(InvalidInputError, match="torch tensor, taken as"):
        camlens.EigenCAM(proto, conv3)(torch.from_numpy(x))  # an NHWC torch tensor


def test_the_cli_loader_takes_the_side_from_a_channels_last_input(converted, tmp_path):
    _, proto, _, _ = converted
    path = tmp_path / "keras.onnx"
    onnx.save(proto, str(path))
    loaded = load_model(str(path))
    assert loaded.input_size == 16
    from PIL import Image

    x = loaded.preprocess(Image.new("RGB", (20, 24), (90, 120, 200)))[None]
    assert x.shape == (1, 3, 16, 16) and loaded.model(x).shape == (1, 5)


class ChannelsLastBlock(nn.Module):
    """conv (12 channels, stride 2), then a per-position Linear on channels-last ``(B, H, W, C)``
    (ConvNeXt's layout), ReLU (the layer: ``(B, 8, 8, 12)`` in the graph), back to channels
    first, pool, linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 12, 3, padding=1, stride=2)
        self.mix = nn.Linear(12, 12)
        self.act = nn.ReLU()
        self.fc = nn.Linear(12, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.mix(self.conv(x).permute(0, 2, 3, 1)))
        return self.fc(h.permute(0, 3, 1, 2).mean(dim=(2, 3)))


@pytest.mark.parametrize("name", ["eigencam", "scorecam", "ablationcam"])
def test_a_channels_last_tensor_inside_the_graph_gives_the_pytorch_map(name, to_onnx):
    torch.manual_seed(0)
    model = ChannelsLastBlock().eval()
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(4))
    proto = onnx.load_from_string(to_onnx(model, x))
    layer = "/act/Relu_output_0"
    assert [i.shape for i in camlens.layers(proto) if i.name == layer] == [(1, 8, 8, 12)]
    cls = camlens.methods.get_method(name)
    expected = cls(model, "act")(x, targets=[0, 2])
    got = cls(proto, layer)(x, targets=[0, 2])
    assert float(expected.amax()) == 1.0
    torch.testing.assert_close(got, expected, atol=TOL, rtol=0)
