"""A small CNN with a skip connection, exported to ONNX (dynamic or fixed batch), for the tests."""

from __future__ import annotations

import io
import warnings

import pytest
import torch
from torch import nn

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


class SkipCNN(nn.Module):
    """conv-relu, conv-relu (stride 2), conv-relu + skip, GAP, linear (5 classes)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(6, 8, 3, padding=1, stride=2)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(8, 8, 3, padding=1)
        self.relu3 = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu1(self.conv1(x))
        skip = self.relu2(self.conv2(x))
        x = self.relu3(self.conv3(skip)) + skip
        return self.fc(self.pool(x).flatten(1))


#: torch module name -> the ONNX tensor of its output (the legacy exporter's names)
TENSORS = {
    "relu1": "/relu1/Relu_output_0",
    "relu2": "/relu2/Relu_output_0",
    "relu3": "/relu3/Relu_output_0",
}


def export(model: nn.Module, x: torch.Tensor, *, dynamic: bool = True) -> bytes:
    """``torch.onnx.export`` (the TorchScript exporter: the dynamo one needs onnxscript)."""
    buffer = io.BytesIO()
    axes = {"input": {0: "batch"}, "logits": {0: "batch"}} if dynamic else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice
        torch.onnx.export(
            model,
            (x,),
            buffer,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes=axes,
            dynamo=False,
        )
    return buffer.getvalue()


@pytest.fixture(scope="session")
def cnn() -> nn.Module:
    torch.manual_seed(0)
    return SkipCNN().eval()


@pytest.fixture(scope="session")
def images() -> torch.Tensor:
    return torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="session")
def onnx_file(cnn, images, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "cnn.onnx"
    path.write_bytes(export(cnn, images))
    return path


@pytest.fixture(scope="session")
def fixed_file(cnn, images, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "cnn-batch1.onnx"
    path.write_bytes(export(cnn, images[:1], dynamic=False))
    return path


@pytest.fixture(scope="session")
def to_onnx():
    """:func:`export` (``to_onnx(model, x, dynamic=True) -> bytes``) for the test modules."""
    return export
