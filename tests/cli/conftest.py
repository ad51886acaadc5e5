"""Shared fixtures of the CLI tests: the real ``camlens`` script, photos, and saved models."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

torch.set_num_threads(1)


def camlens_command() -> list[str]:
    """The installed ``camlens`` script beside this Python, else ``python -m camlens.cli``."""
    script = shutil.which("camlens", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "camlens.cli"]


@pytest.fixture(scope="session")
def run_camlens(tmp_path_factory):
    """``run_camlens(*args, env=None) -> CompletedProcess``: the CLI in a subprocess, with a
    torch hub cache that holds only the demo's checkpoint (when installed; so no other
    torchvision weights are cached) and one torch thread."""
    from camlens.pretrained import CHECKPOINT_NAME, installed_checkpoint

    demo = installed_checkpoint()
    hub = tmp_path_factory.mktemp("torch-home")
    if demo is not None:
        (hub / "hub" / "checkpoints").mkdir(parents=True)
        (hub / "hub" / "checkpoints" / CHECKPOINT_NAME).symlink_to(demo)

    def run(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        environment = {
            **os.environ,
            "TORCH_HOME": str(hub),
            "OMP_NUM_THREADS": "1",
            "COLUMNS": "200",
            **(env or {}),
        }
        environment.pop("CAMLENS_DEBUG", None)
        return subprocess.run(
            [*camlens_command(), *map(str, args)],
            capture_output=True,
            text=True,
            timeout=600,
            env=environment,
        )

    return run


@pytest.fixture(scope="session")
def photos(tmp_path_factory) -> dict[str, Path]:
    """scikit-image's chelsea (a cat, PNG) and coffee (JPEG), saved to a temporary folder."""
    data = pytest.importorskip("skimage.data")
    folder = tmp_path_factory.mktemp("photos")
    chelsea, coffee = folder / "chelsea.png", folder / "coffee.jpg"
    Image.fromarray(data.chelsea()).save(chelsea)
    Image.fromarray(data.coffee()).save(coffee, quality=90)
    return {"chelsea": chelsea, "coffee": coffee}


@pytest.fixture(scope="session")
def resnet18_file(tmp_path_factory) -> Path:
    """A random-weight torchvision resnet18 saved as a state dict."""
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("models") / "resnet18 random.pt"
    torch.save(torchvision.models.resnet18().state_dict(), path)
    return path


@pytest.fixture(scope="session")
def bad_images(tmp_path_factory) -> dict[str, Path]:
    """A truncated PNG, a text file named .jpg, and a PNG header of 20000x20000 pixels."""
    import io
    import struct
    import zlib

    folder = tmp_path_factory.mktemp("bad")
    buffer = io.BytesIO()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buffer, "PNG")
    truncated = folder / "truncated.png"
    truncated.write_bytes(buffer.getvalue()[:300])
    text = folder / "text.jpg"
    text.write_text("not a picture\n")

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    huge = folder / "huge.png"
    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 1, 0, 0, 0, 0)
    huge.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
    )
    return {"truncated": truncated, "text": text, "huge": huge}


@pytest.fixture(scope="session")
def error_line():
    """``error_line(result) -> str``: the single ``Error: ...`` line of a failed run."""
    return _one_error_line


def _one_error_line(result: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), lines[0]
    return lines[0]
