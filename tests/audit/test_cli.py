"""``camlens audit``: the command on a zoo model, --summary, resume, usage errors."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from camlens.cli import main

torch.set_num_threads(1)


def test_usage_errors(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["audit", "benchmark"])
    assert result.exit_code == 2 and "--model" in result.output
    result = runner.invoke(main, ["audit", "--summary", str(tmp_path)])
    assert result.exit_code == 2 and "no finished audit" in result.output
    result = runner.invoke(main, ["audit", "--summary", str(tmp_path), "--model", "x"])
    assert result.exit_code == 2
    result = runner.invoke(
        main, ["audit", str(tmp_path / "nope"), "--model", "cifar10-resnet20", "--out", "o"]
    )
    assert result.exit_code in (3, 4)  # bad DATA (3) or, without shared data, no model (4)


def test_audit_then_summary_then_resume(tmp_path):
    from camlens import zoo

    try:
        zoo.load("cifar10-resnet20")
    except Exception as exc:  # the checkpoints live in the shared data folder
        pytest.skip(f"cifar10-resnet20 is not available here: {exc}")
    out = str(tmp_path / "run")
    args = ["audit", "benchmark:n=20,size=32", "--model", "cifar10-resnet20", "--out", out]
    args += ["--workers", "0", "--batch-size", "8", "--no-progress"]
    runner = CliRunner()
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "audited 20 images (0 already done" in result.output and "report.html" in result.output
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["model"] == "cifar10-resnet20" and len(manifest["weights_sha256"]) == 64
    assert manifest["layer"] == "layer3" and manifest["method"] == "gradcam"
    summary = runner.invoke(main, ["audit", "--summary", out])
    assert summary.exit_code == 0 and "images 20  explained 20  skipped 0" in summary.output
    again = runner.invoke(main, args)
    assert again.exit_code == 0 and "resumed 20 images (20 already done" in again.output
    other = runner.invoke(main, [*args, "--method", "layercam"])
    assert other.exit_code == 2 and "--force" in other.output


def test_no_readable_image_writes_the_report_and_exits_3(tmp_path):
    pytest.importorskip("torchvision")
    data = tmp_path / "z"
    (data / "a").mkdir(parents=True)
    (data / "a" / "1.jpg").write_bytes(b"")
    out = tmp_path / "zrun"
    args = ["audit", str(data), "--model", "resnet18", "--weights", "random", "--out", str(out)]
    result = CliRunner().invoke(main, [*args, "--workers", "0", "--no-progress"])
    assert result.exit_code == 3, result.output
    assert "none of the 1 images could be read" in result.output
    assert (out / "report.html").is_file() and "a/1.jpg" in (out / "report.html").read_text()
    summary = CliRunner().invoke(main, ["audit", "--summary", str(out)])
    assert summary.exit_code == 0 and "no image could be read" in summary.output
