"""The adapter contract: adapters meet the Protocol; an unmet need names the methods that run."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import camlens
from camlens.core import adapters
from camlens.core.capture import TorchAdapter
from camlens.core.contract import ACTIVATIONS, CAPABILITIES, Adapter
from camlens.errors import UnsupportedByAdapterError


class _NoGradients(TorchAdapter):
    """A PyTorch adapter that claims activations only, as an ONNX graph would."""

    capabilities = frozenset({ACTIVATIONS})


class _Marked(nn.Sequential):
    pass


@pytest.fixture
def forward_only_source():
    source = adapters.AdapterSource(
        "forward-only", lambda m: isinstance(m, _Marked), f"{__name__}:_NoGradients"
    )
    adapters.register_adapter(source, first=True)
    yield
    adapters.ADAPTERS.remove(source)


def _model() -> nn.Module:
    return _Marked(
        nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3)
    )


def test_torch_adapter_meets_the_protocol_with_every_capability():
    adapter = adapters.make_adapter(_model(), "0")
    assert isinstance(adapter, Adapter)
    assert adapter.capabilities == CAPABILITIES


def test_gradient_method_on_a_forward_only_adapter_names_the_methods_that_run(forward_only_source):
    with pytest.raises(UnsupportedByAdapterError) as info:
        camlens.GradCAM(_model(), "0")
    message = str(info.value)
    assert "GradCAM needs gradients" in message
    assert "scorecam" in message and "eigencam" in message and "gradcam," not in message
    assert camlens.errors.exit_code(info.value) == 2


def test_forward_only_method_runs_on_a_forward_only_adapter(forward_only_source):
    model = _model().eval()
    x = torch.randn(2, 3, 8, 8)
    maps = camlens.EigenCAM(model, "0")(x)
    assert maps.shape == (2, 8, 8)
    reference = camlens.EigenCAM(nn.Sequential(*model), "0")(x)
    torch.testing.assert_close(maps, reference)
