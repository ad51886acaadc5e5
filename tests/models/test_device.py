"""Device names."""

from __future__ import annotations

import pytest
import torch

from camlens.errors import DeviceError
from camlens.models import resolve_device


def test_cpu_and_auto():
    assert resolve_device("cpu") == resolve_device("") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert resolve_device("auto").type in ("cpu", "mps")


def test_unknown_device():
    with pytest.raises(DeviceError, match="unknown device 'gpu0'"):
        resolve_device("gpu0")
