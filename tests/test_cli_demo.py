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


NO_DOWNLOAD = (
    "import sys, torch.hub, urllib.request\n"
    "def refuse(*args, **kwargs):\n"
    "    print('DOWNLOAD ATTEMPTED', args[:1], file=sys.stderr)\n"
    "    raise SystemExit(99)\n"
    "torch.hub.download_url_to_file = refuse\n"
    "urllib.request.urlopen = refuse\n"
    "from camlens.cli import main\n"
    "main(sys.argv[1:], prog_name='camlens')\n"
)


def test_demo_and_explain_demo_without_weights_fail_alike_and_never_download(tmp_path):
    """Issue #12, item 11: same message, same exit code, no download attempt, when the file is
    not in torch's hub cache."""
    image = tmp_path / "cat.png"
    Image.new("RGB", (64, 48), "gray").save(image)
    env = {**os.environ, "TORCH_HOME": str(tmp_path / "empty-torch-home")}
    runs = {
        name: run([sys.executable, "-c", NO_DOWNLOAD, *args], env=env)
        for name, args in {
            "demo": ["demo", "--out", str(tmp_path / "out")],
            "explain": ["explain", str(image), "--model", "demo", "--out", str(tmp_path / "e")],
        }.items()
    }
    errors = {}
    for name, result in runs.items():
        assert "DOWNLOAD ATTEMPTED" not in result.stderr, (name, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
        lines = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
        assert len(lines) == 1, (name, result.stderr)
        assert INSTALL_COMMAND in lines[0], lines[0]
        assert str(tmp_path / "empty-torch-home") in lines[0], lines[0]
        errors[name] = lines[0]
    assert runs["demo"].returncode == runs["explain"].returncode == 4
    assert errors["demo"] == errors["explain"]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
