"""Helpers of the serve tests (imported as ``serve.servers``): the tiny model, small PNGs, and
uvicorn in a thread on a free loopback port (same process, so a test can compare the answers with
camlens called directly; ``camlens.serve.burst.ServerProcess`` runs the CLI in a subprocess)."""

from __future__ import annotations

import io
import threading
import time

import torch

# A random-weight ResNet-18 at 64x64: small and quick, with ImageNet's class names.
TINY_MODEL = ("resnet18", "random", 64)


def tiny_loaded(seed: int = 0):
    """The tiny served model (``LoadedModel``), with fixed random weights."""
    from camlens.loading import load_model

    torch.manual_seed(seed)
    name, weights, size = TINY_MODEL
    return load_model(name, weights, input_size=size)


def png_bytes(width: int = 96, height: int = 80, seed: int = 0) -> bytes:
    """A small random RGB PNG."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


class ThreadServer:
    """``uvicorn`` serving ``app`` on 127.0.0.1:<free port> in a daemon thread, configured as
    ``camlens serve`` does (:func:`camlens.serve.server_config`, the app's limits)."""

    def __init__(self, app) -> None:
        import uvicorn

        from camlens.cli.serve import bind, url_of
        from camlens.serve import server_config

        self.app = app
        self.sock = bind("127.0.0.1", 0)
        self.url = url_of(self.sock)
        self.server = uvicorn.Server(server_config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the uvicorn thread did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()
