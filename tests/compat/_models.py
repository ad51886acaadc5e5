"""Random-weight torchvision models shared by the compat tests (built once per session)."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable

import pytest
import torch
from torch import nn

torchvision = pytest.importorskip("torchvision")

BATCH, SIZE = 4, (64, 96)  # H != W: catches (W, H) vs (H, W) mix-ups in resizing
CLASSES = (1, 7, 42, 999)  # a distinct target class per image

# name -> (constructor, parity layer). No in-place op follows these layers (test_inplace.py covers
# densenet121's features[-1], which one does follow).
ZOO: dict[str, tuple[Callable[[], nn.Module], str]] = {
    "resnet18": (torchvision.models.resnet18, "layer4"),
    "vgg11": (torchvision.models.vgg11, "features.20"),  # features[-1], the last max-pool
    "densenet121": (torchvision.models.densenet121, "features.denseblock4"),
    "mobilenet_v3_small": (torchvision.models.mobilenet_v3_small, "features.12"),  # features[-1]
}
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def model(name: str, dtype: str = "float32") -> nn.Module:
    """Random-weight model ``name`` (seed 0), eval mode, ``dtype``; cached until :func:`release`."""
    return _model(name, dtype)


@functools.cache
def _model(name: str, dtype: str) -> nn.Module:
    if dtype != "float32":
        return copy.deepcopy(_model(name, "float32")).to(DTYPES[dtype]).eval()
    torch.manual_seed(0)
    return ZOO[name][0]().eval()


def layer(name: str, dtype: str = "float32") -> nn.Module:
    """The parity layer of ``model(name, dtype)``."""
    return model(name, dtype).get_submodule(ZOO[name][1])


def batch(dtype: str = "float32") -> torch.Tensor:
    """``(BATCH, 3, *SIZE)`` random input (seed 1), cached until :func:`release`."""
    return _batch(dtype)


@functools.cache
def _batch(dtype: str) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    return torch.randn(BATCH, 3, *SIZE, generator=generator).to(DTYPES[dtype])


_dependents: list = []  # caches built from the models, registered by the test modules


def cached(function: Callable) -> Callable:
    """``functools.cache`` that :func:`release` clears too."""
    wrapped = functools.cache(function)
    _dependents.append(wrapped)
    return wrapped


def release() -> None:
    """Drop the cached models and inputs, and everything cached from them."""
    for cache in (_model, _batch, *_dependents):
        cache.cache_clear()
