"""``camlens explain`` on hostile input: a thin strip that preprocessing would blow up (the resize
bomb) exits 3 before any resize, a layer named with non-ASCII digits exits 2."""

from __future__ import annotations

from PIL import Image


def test_a_thin_strip_exits_3_in_one_line(run_camlens, resnet18_file, tmp_path, error_line):
    strip = tmp_path / "strip.png"
    Image.new("RGB", (1, 1000)).save(strip)  # would be resized to 256 x 256,000
    result = run_camlens(
        "explain", strip, "--model", "resnet18", "--weights", resnet18_file, "--out", tmp_path,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    line = error_line(result)
    assert "strip.png: 1x1000 has an aspect ratio of 1,000:1" in line, line
    assert not list(tmp_path.glob("*.npy"))


def test_a_layer_named_with_non_ascii_digits_exits_2(
    run_camlens, photos, resnet18_file, tmp_path, error_line
):
    result = run_camlens(
        "explain", photos["coffee"], "--model", "resnet18", "--weights", resnet18_file,
        "--layer", "layer4.\u0661", "--out", tmp_path,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "no layer named 'layer4.\u0661'" in error_line(result)
