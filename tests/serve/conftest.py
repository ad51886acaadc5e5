"""Fixtures of the serve tests: the tiny model and a server for it in a thread."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

for _module in ("fastapi", "uvicorn", "multipart", "httpx", "torchvision"):
    pytest.importorskip(_module, reason=f"the serve tests need {_module} (camlens[serve,test])")

import httpx  # noqa: E402
from serve.servers import ThreadServer, tiny_loaded  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def loaded():
    return tiny_loaded()


@pytest.fixture(scope="module")
def server(loaded) -> Iterator[ThreadServer]:
    """The tiny model behind default limits, in a thread."""
    from camlens.serve import create_app

    with ThreadServer(create_app(loaded)) as running:
        yield running


@pytest.fixture(scope="module")
def client(server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=120) as session:
        yield session
