"""Progress bars of the CLI: the masked images of Score-CAM / Ablation-CAM on stderr with
``--progress``, none in pipes (tests) by default or with ``--no-progress``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from torch import nn

from camlens.cli import main

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("progress")
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(6, 3),
    ).eval()  # fmt: skip
    torch.save(model, root / "tiny.pt")
    rng = np.random.default_rng(0)
    for k in range(2):
        image = rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)
        Image.fromarray(image).save(root / f"{k}.png")
    return {"model": root / "tiny.pt", "images": [root / "0.png", root / "1.png"], "root": root}


def run(*args: object):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result


def explain(files, *extra: object):
    return run(
        "explain", *files["images"], "--model", files["model"], "--size", "16", "--layer", "0",
        "--out", files["root"] / "out", *extra,
    )  # fmt: skip


@pytest.mark.parametrize("method", ["scorecam", "ablationcam"])
def test_progress_shows_the_masked_images(files, method):
    result = explain(files, "--method", method, "--progress")
    err = result.stderr
    assert f"{method} masked images" in err, err
    # tqdm's "n/total [elapsed<remaining": 6 channels x 2 images (one batch of both)
    assert f"{method} masked images:   0%" in err and "0/12 [" in err, err
    assert "explain:" in err  # and the images' bar
    assert len(result.stdout.splitlines()) == 2  # the result lines stay on stdout


@pytest.mark.parametrize("flag", [[], ["--no-progress"]])
def test_no_bar_in_a_pipe_or_with_no_progress(files, flag):
    result = explain(files, "--method", "scorecam", *flag)
    assert "masked images" not in result.stderr
    assert "explain:" not in result.stderr
    assert "\r" not in result.stderr


def test_compare_shows_the_masked_images(files):
    result = run(
        "compare", files["images"][0], "--model", files["model"], "--size", "16",
        "--methods", "gradcam,scorecam", "--layers", "0", "--out", files["root"] / "c.png",
        "--progress",
    )  # fmt: skip
    assert "masked images:   0%" in result.stderr and "0/6 [" in result.stderr
