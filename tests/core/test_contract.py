"""The adapter contract: adapters meet the Protocol; an unmet need names the methods that run."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import camlens
from camlens.core import adapters
from camlens.core.capture import TorchAdapter
from camlens.core.contract import ACTIVATIONS, CAPABILITIES, Adapter, check_input, checks_once
from camlens.errors import InvalidInputError, UnsupportedByAdapterError


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


def test_check_input_sums_a_batch_once_per_pipeline_call_and_every_call_outside_one():
    x = torch.rand(1, 3, 4, 4)
    with checks_once():
        check_input(x)
        x[0, 0, 0, 0] = float("nan")  # (the pipeline does not do this: it shows the skip)
        assert check_input(x) is x  # the same object: not summed again
        with pytest.raises(InvalidInputError, match="NaN"):
            check_input(x.clone())  # another batch is checked
    with pytest.raises(InvalidInputError, match="NaN"):
        check_input(x)  # outside the scope: every call checks


def test_a_batch_changed_between_two_calls_is_checked_again(small_cnn):
    x = torch.rand(1, 3, 16, 16)
    with camlens.GradCAM(small_cnn, "conv3") as cam:
        cam(x)
        x[0, 0, 0, 0] = float("inf")
        with pytest.raises(InvalidInputError, match="NaN or inf"):
            cam(x)
