"""Real servers for the serve tests (imported as ``serve.servers``).

uvicorn in a thread (same process, so a test can compare the answers with camlens called
directly) or ``camlens serve`` in a subprocess (so a test can measure the server's own memory),
both on a free loopback port."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
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
    """``uvicorn`` serving ``app`` on 127.0.0.1:<free port> in a daemon thread."""

    def __init__(self, app) -> None:
        import uvicorn

        from camlens.cli.serve import bind, url_of

        self.app = app
        self.sock = bind("127.0.0.1", 0)
        self.url = url_of(self.sock)
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
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


class ProcessServer:
    """``python -m camlens.cli serve --port 0 ARGS`` in a subprocess; ``url`` from its first
    stdout line, ready once ``/healthz`` answers."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.args = [sys.executable, "-m", "camlens.cli", "serve", "--port", "0", *args]
        self.log = log
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> ProcessServer:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.stderr = open(self.log, "w")
        self.proc = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=self.stderr, text=True, env=env
        )
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()))
        reader.start()
        reader.join(120)
        if not line or "http://" not in line[0]:
            self.__exit__()
            raise RuntimeError(f"camlens serve did not start: {self.log.read_text()[-2000:]}")
        self.url = line[0].split()[2]
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.__exit__()
                raise RuntimeError(f"no /healthz: {self.log.read_text()[-2000:]}")
            time.sleep(0.1)
        return self

    def rss_bytes(self) -> int:
        """The server process's resident memory now (Linux: /proc/PID/status VmRSS)."""
        for row in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if row.startswith("VmRSS:"):
                return int(row.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self.stderr.close()
