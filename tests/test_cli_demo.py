"""``camlens demo`` through the real entry point, in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from camlens.pretrained import INSTALL_COMMAND, packaged_checkpoint

pytest.importorskip("torchvision")
pytest.importorskip("skimage")
pytest.importorskip("sklearn")

PHOTOS = ["chelsea", "coffee", "astronaut", "rocket", "china", "flower"]
CAT_NAMES = ("tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat")


def camlens_command() -> list[str]:
    """The installed ``camlens`` script beside this Python, else ``python -m camlens.cli``."""
    script = shutil.which("camlens", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "camlens.cli"]


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)


@pytest.mark.skipif(
    packaged_checkpoint() is None,
    reason=f"the MobileNetV2 weights package is not installed ({INSTALL_COMMAND})",
)
def test_demo_writes_the_pictures_and_names_a_cat_for_chelsea(tmp_path):
    out = tmp_path / "demo out"
    result = run([*camlens_command(), "demo", "--out", str(out)])
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(PHOTOS) + 1
    for photo, line in zip(PHOTOS, lines, strict=False):
        assert line.startswith(photo), line
        assert line.count("%") == 3, line
    top1 = lines[0].split()[1:3]
    assert any(" ".join(top1).startswith(cat) for cat in CAT_NAMES), lines[0]
    index_html = out / "index.html"
    assert Path(lines[-1]) == index_html.resolve()  # last: the path of the index

    for name in [*PHOTOS, "index"]:
        png = out / f"{name}.png"
        assert png.is_file(), png
        with Image.open(png) as img:
            img.verify()
        with Image.open(png) as img:
            assert img.format == "PNG"
            assert img.width > 600 and img.height > 150
            colours = img.convert("RGB").getcolors(maxcolors=1 << 20)
            assert colours is None or len(colours) > 1000, f"{png} looks blank"
    page = index_html.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>")
    for name in [*PHOTOS, "index"]:
        assert f'src="{name}.png"' in page
    assert "Egyptian cat" in page or "tabby" in page or "tiger cat" in page


def test_missing_weights_exit_nonzero_with_one_line(tmp_path):
    missing = tmp_path / "nowhere.pth"
    result = run([*camlens_command(), "demo", "--out", str(tmp_path), "--weights", str(missing)])
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert str(missing) in lines[0]
    assert INSTALL_COMMAND in lines[0]
    assert not any(tmp_path.glob("*.png"))


def test_corrupt_weights_exit_nonzero_with_one_line(tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"garbage")
    result = run([*camlens_command(), "demo", "--out", str(tmp_path / "o"), "--weights", str(bad)])
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "SHA-256" in lines[0] and "bad.pth" in lines[0]


def test_not_packaged_and_offline_exit_nonzero_with_one_error_line(tmp_path):
    # Only the locator is replaced; the download really runs (and fails here, offline).
    code = (
        "import socket, sys; socket.setdefaulttimeout(20)\n"
        "import camlens.pretrained as p\n"
        "p.packaged_checkpoint = lambda: None\n"
        "from camlens.cli import main\n"
        "main(['demo', '--out', sys.argv[1]])\n"
    )
    env = {**os.environ, "TORCH_HOME": str(tmp_path / "torch-home")}
    result = run([sys.executable, "-c", code, str(tmp_path / "out")], env=env)
    if result.returncode == 0:
        pytest.skip("online: torchvision's download succeeded, nothing offline to check")
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("camlens: MobileNetV2 ImageNet weights not found locally")
    errors = [line for line in lines if line.startswith("Error: ")]
    assert errors == [lines[-1]]
    assert INSTALL_COMMAND in lines[-1]
    assert "download failed" in lines[-1]
