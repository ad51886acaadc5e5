"""``camlens evaluate`` through the real entry point, in a subprocess, on a tiny saved model."""

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
from torch import nn

torch.set_num_threads(1)
pytest.importorskip("pandas")
pytest.importorskip("torchvision")

COLOURS = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255)}


def camlens_command() -> list[str]:
    """The installed ``camlens`` script beside this Python, else ``python -m camlens.cli``."""
    script = shutil.which("camlens", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "camlens.cli"]


def run(args: list[str]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", CAMLENS_DEVICE="cpu")
    return subprocess.run(
        [*camlens_command(), *args], capture_output=True, text=True, timeout=300, env=env
    )


@pytest.fixture(scope="module")
def colour_model(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(model file, labels file, image folder).

    The model's logits are the channel means of its (ImageNet-normalised) input: a 1x1 identity
    convolution then global average pooling. Red (255, 0, 0) normalises to channel values
    (2.25, -2.04, -1.80), green to (-2.12, 2.43, -1.80), blue to (-2.12, -2.04, 2.64): each
    solid-colour image is classified as its colour, so the accuracy is 100% by hand.
    """
    root = tmp_path_factory.mktemp("colours")
    conv = nn.Conv2d(3, 3, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.eye(3).view(3, 3, 1, 1))
    model = nn.Sequential(conv, nn.AdaptiveAvgPool2d(1), nn.Flatten()).eval()
    model_path = root / "colours.pt"
    torch.save(model, model_path)
    labels = root / "labels.txt"
    labels.write_text("red\ngreen\nblue\n")
    data = root / "data"
    rng = np.random.default_rng(0)
    for name, rgb in COLOURS.items():
        (data / name).mkdir(parents=True)
        for k in range(2):
            image = np.zeros((20, 20, 3), dtype=np.uint8)
            image[:] = rgb
            image[rng.integers(0, 20), :] = 128  # a grey line, so maps are not constant
            Image.fromarray(image).save(data / name / f"{k}.png")
    return model_path, labels, data


def test_evaluate_prints_the_table_and_writes_csv_markdown_and_plot(colour_model, tmp_path):
    model, labels, data = colour_model
    csv, md, png = tmp_path / "t.csv", tmp_path / "t.md", tmp_path / "p.png"
    result = run(
        [
            "evaluate", "--model", str(model), "--labels", str(labels), "--size", "16",
            "--data", str(data), "--methods", "gradcam,eigencam", "--layer", "0",
            "--metrics", "deletion,insertion,sparseness", "--metric-option", "deletion.steps=4",
            "--metric-option", "insertion.steps=4", "--out", str(csv), "--out", str(md),
            "--plot", str(png), "--no-progress",
        ]
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "6 images, layer 0, targets label, top-1 accuracy 100.0%" in lines[0]
    assert "| method | deletion ↓ | insertion ↑ | sparseness ↑ | ms/image |" in lines
    rows = [
        line for line in lines if line.startswith("| gradcam ") or line.startswith("| eigencam ")
    ]
    assert len(rows) == 2
    assert csv.read_text(encoding="utf-8").splitlines()[0] == (
        "method,deletion ↓,insertion ↑,sparseness ↑,ms/image"
    )
    assert md.read_text(encoding="utf-8").splitlines()[0].startswith("| method | deletion ↓")
    assert png.stat().st_size > 1000


def test_evaluate_errors_are_one_line_with_usage_exit_codes(colour_model, tmp_path):
    model, labels, data = colour_model
    base = ["evaluate", "--model", str(model), "--labels", str(labels), "--size", "16"]
    unknown = run([*base, "--data", str(data), "--metrics", "deletion,nope", "--layer", "0"])
    assert unknown.returncode == 2
    assert "unknown metric(s) nope" in unknown.stderr
    flat = tmp_path / "flat"
    flat.mkdir()
    shutil.copy(next((data / "red").iterdir()), flat / "a.png")
    no_labels = run([*base, "--data", str(flat), "--layer", "0"])
    assert no_labels.returncode == 2
    assert "--targets predicted" in no_labels.stderr
    masks = run([*base, "--data", str(flat), "--layer", "0", "--targets", "predicted",
                 "--metrics", "pointing_game"])  # fmt: skip
    assert masks.returncode == 3
    errors = [line for line in masks.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "needs masks or boxes" in errors[0]


def test_one_class_on_every_image_by_name(colour_model):
    model, labels, data = colour_model
    result = run(
        ["evaluate", "--model", str(model), "--labels", str(labels), "--size", "16",
         "--data", str(data), "--methods", "gradcam", "--layer", "0", "--metrics", "sparseness",
         "--targets", "blue", "--no-progress"]
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "targets class 2 (blue), top-1 accuracy 100.0%" in result.stdout.splitlines()[0]
    bad = run(
        ["evaluate", "--model", str(model), "--labels", str(labels), "--size", "16",
         "--data", str(data), "--layer", "0", "--targets", "purple"]
    )  # fmt: skip
    assert bad.returncode == 2 and "no class named 'purple'" in bad.stderr


def test_the_biased_benchmark_model_on_the_watermark_per_class():
    from camlens.zoo.registry import BENCHMARK_RECORD

    if not BENCHMARK_RECORD.is_file():
        pytest.skip("the benchmark checkpoints are not built (scripts/train_benchmark.py)")
    result = run(
        ["evaluate", "--model", "benchmark-biased", "--data", "benchmark", "--limit", "10",
         "--cue", "all", "--on-cue", "--targets", "triangle", "--methods", "gradcam",
         "--metrics", "energy_pointing_game", "--no-progress"]
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "energy_pointing_game on the spurious cue, per class:" in out
    for name in ("circle", "square", "triangle", "cross", "star"):
        assert f"| {name} | " in out
