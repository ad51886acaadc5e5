"""``camlens compare`` through the installed script: a methods x layers grid."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

torch.set_num_threads(1)
pytest.importorskip("torchvision")


def test_grid_of_methods_by_layers(run_camlens, photos, resnet18_file, tmp_path):
    png = tmp_path / "grid" / "cat.png"
    result = run_camlens(
        "compare", photos["chelsea"], "--model", "resnet18", "--weights", resnet18_file,
        "--methods", "gradcam,GradCAM++,eigencam", "--layers", "layer2,layer3,layer4",
        "--target", "tabby", "--out", png, "--cell-size", "1.5",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines == [f"{photos['chelsea']}  tabby (281) {lines[0].split()[-3]}  -> {png}"]
    assert "gradcam, gradcam++, eigencam on resnet18 at layer2, layer3, layer4" in result.stderr
    with Image.open(png) as image:
        # 4 columns (image + 3 layers) x 3 rows (methods) of 1.5-inch cells at 100 dpi
        assert abs(image.width - (4 * 150 + 30)) <= 2, image.size
        assert image.height > 3 * 150 * 0.6  # chelsea is 451x300: cells keep its 224x224 crop
        pixels = np.asarray(image.convert("RGB"))
    # every map cell differs from the plain image column (the overlays are drawn)
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 1000


def test_one_file_for_several_images_is_a_usage_error(run_camlens, photos, tmp_path, error_line):
    result = run_camlens(
        "compare", photos["chelsea"], photos["coffee"], "--model", "demo",
        "--out", tmp_path / "one.png",
    )  # fmt: skip
    assert result.returncode == 2
    assert "one file but 2 images were given" in error_line(result)


def test_several_targets_are_a_usage_error(run_camlens, photos, tmp_path, error_line):
    # BadParameter got "--target" as its click context: an AttributeError, not this message
    result = run_camlens(
        "compare", photos["chelsea"], "--model", "demo", "--target", "top2",
        "--out", tmp_path / "grid",
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "compare explains one target: top1 or a class" in error_line(result)
    assert "--target" in error_line(result)
