"""Fixtures of the compat tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """Run single-threaded: on a shared 2-core machine, 2 torch threads spin-wait on each other
    and the parity runs took 30x longer (1.0 s vs 30 s for the same work, measured)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(autouse=True, scope="module")
def release_models() -> Iterator[None]:
    """Free the cached models (vgg11 in float32 and float64 alone is ~1.6 GB) after each module."""
    yield
    from ._models import release

    release()
