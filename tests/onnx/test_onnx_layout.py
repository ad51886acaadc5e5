"""How camlens reads an ONNX graph's image layout, and says so when it cannot.

A channels-last graph whose input shape says nothing (all axes symbolic) or misleads (a 4x4
image, ``(B, 4, 4, 3)``) is read from the op that takes the image: before, its numpy input was
taken channels first and gave a ``(B, 16, 3)`` map with no error, and its torch input failed
inside onnxruntime with a raw ``Fail``. A graph that tells nothing is said by
``OnnxModel(model, channels_last=True)``; a graph that fails to run is one ``OnnxRunError``."""

from __future__ import annotations

import io
import warnings

import numpy as np
import onnx
import pytest
import torch
from torch import nn

import camlens
from camlens.errors import OnnxRunError, category_of, exit_code
from camlens.onnx import OnnxModel, graph

TOL = 1e-5
LAYER = "/act/Relu_output_0"


class Twin(nn.Module):
    """conv(3→8)+ReLU, mean, linear(8→5): the channels-first model the channels-last ones wrap."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.act = nn.ReLU()
        self.fc = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.act(self.conv(x)).mean(dim=(2, 3)))


class ChannelsLast(nn.Module):
    """The twin on ``(B, H, W, C)`` images: a transpose first, as tf2onnx writes it."""

    def __init__(self, twin: Twin) -> None:
        super().__init__()
        self.conv, self.act, self.fc = twin.conv, twin.act, twin.fc

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.act(self.conv(x.permute(0, 3, 1, 2))).mean(dim=(2, 3)))


class MixFirst(ChannelsLast):
    """A 1x1 colour mix as a ``MatMul`` on the last axis, then the transpose: ops that do not
    say the layout (the colour mix is the identity, so the maps stay the twin's)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x @ torch.eye(3))


def export(model: nn.Module, side: int, axes: dict[int, str]) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (torch.zeros(1, side, side, 3),),
            buffer,
            input_names=["image"],
            output_names=["logits"],
            dynamic_axes={"image": axes, "logits": {0: "batch"}},
            dynamo=False,
        )
    return buffer.getvalue()


ALL_SYMBOLIC = {0: "batch", 1: "height", 2: "width", 3: "colours"}


@pytest.fixture(scope="module")
def twin() -> Twin:
    torch.manual_seed(0)
    return Twin().eval()


def nhwc(batch: int, side: int) -> np.ndarray:
    return np.random.default_rng(side).standard_normal((batch, side, side, 3)).astype(np.float32)


@pytest.mark.parametrize(
    ("side", "axes"), [(16, ALL_SYMBOLIC), (4, {0: "batch"})], ids=["symbolic", "4x4"]
)
@pytest.mark.parametrize("name", ["eigencam", "scorecam", "ablationcam"])
def test_a_channels_last_graph_whose_shape_does_not_tell_gives_the_twins_map(
    twin, side, axes, name
):
    proto = onnx.load_from_string(export(ChannelsLast(twin).eval(), side, axes))
    assert graph.layout_from_ops(proto) is True and graph.channels_last(proto)
    x = nhwc(2, side)
    nchw = torch.from_numpy(x).permute(0, 3, 1, 2)
    cls = camlens.methods.get_method(name)
    expected = cls(twin, "act")(nchw, targets=[0, 3])
    assert expected.shape == (2, side, side) and float(expected.amax()) == 1.0
    for given in (x, nchw):  # numpy in the graph's layout; torch channels first
        torch.testing.assert_close(
            cls(proto, LAYER)(given, targets=[0, 3]), expected, atol=TOL, rtol=0
        )


def test_the_ops_that_read_the_image_say_its_layout(twin, to_onnx):
    first = onnx.load_from_string(to_onnx(twin, torch.zeros(1, 3, 8, 8)))
    assert graph.layout_from_ops(first) is False and not graph.channels_last(first)
    mixed = onnx.load_from_string(export(MixFirst(twin).eval(), 16, ALL_SYMBOLIC))
    assert graph.layout_from_ops(mixed) is None  # a MatMul says nothing


def test_a_graph_that_does_not_tell_fails_in_one_line_that_says_what_to_do(twin):
    proto = onnx.load_from_string(export(MixFirst(twin).eval(), 16, ALL_SYMBOLIC))
    before = proto.SerializeToString()
    x = nhwc(2, 16)
    with pytest.raises(OnnxRunError) as error:
        camlens.EigenCAM(proto, LAYER)(torch.from_numpy(x).permute(0, 3, 1, 2))
    message = str(error.value)
    assert "\n" not in message and "image (2, 3, 16, 16)" in message
    assert "[ONNXRuntimeError]" not in message and "MatMul" in message
    assert "OnnxModel(model, channels_last=True)" in message
    assert category_of(error.value).name == "internal" and exit_code(error.value) == 1
    assert proto.SerializeToString() == before


def test_channels_last_given_to_the_model_holds_for_its_methods_and_layers(twin):
    model = OnnxModel(export(MixFirst(twin).eval(), 16, ALL_SYMBOLIC), channels_last=True)
    x = nhwc(2, 16)
    nchw = torch.from_numpy(x).permute(0, 3, 1, 2)
    expected = camlens.EigenCAM(twin, "act")(nchw, targets=[1, 2])
    for given in (x, nchw):
        got = camlens.EigenCAM(model, LAYER)(given, targets=[1, 2])
        torch.testing.assert_close(got, expected, atol=TOL, rtol=0)
    torch.testing.assert_close(model(nchw), twin(nchw), atol=TOL, rtol=0)
    (info,) = [i for i in camlens.layers(model, nchw) if i.name == LAYER]
    assert info.shape == (1, 8, 16, 16) and info.candidate
    assert graph.read_model(model).channels_last
    assert graph.read_model(model.source.proto).channels_last is False  # detection alone
