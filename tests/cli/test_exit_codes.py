"""Every exit code of the table in camlens.errors.CATEGORIES, each by a real ``camlens`` command
(click's CliRunner on the real entry point), and docs/cli.md's table checked against it."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from torch import nn

from camlens.cli import main
from camlens.errors import CATEGORIES

torch.set_num_threads(1)
pytest.importorskip("torchvision")

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """A tiny CNN (conv, relu, pool, flatten, linear: 3 classes), one that fails to run, an
    image, labels, and an image folder with class sub-folders."""
    root = tmp_path_factory.mktemp("exit-codes")
    torch.manual_seed(0)
    tiny = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(4, 3),
    ).eval()  # fmt: skip
    torch.save(tiny, root / "tiny.pt")
    broken = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(10, 3)).eval()
    torch.save(broken, root / "broken.pt")  # the Linear does not fit the conv's output
    rng = np.random.default_rng(0)
    image = root / "image.png"
    Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(image)
    (root / "labels.txt").write_text("a\nb\nc\n")
    for name in "abc":
        (root / "data" / name).mkdir(parents=True)
        Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(
            root / "data" / name / "0.png"
        )
    (root / "notes.jpg").write_text("not a picture\n")
    return {
        "tiny": root / "tiny.pt",
        "broken": root / "broken.pt",
        "image": image,
        "labels": root / "labels.txt",
        "data": root / "data",
        "text": root / "notes.jpg",
        "root": root,
    }


def camlens(*args: object, env: dict[str, str] | None = None):
    result = CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert "Traceback" not in result.stderr, result.stderr
    assert len(errors) == (0 if result.exit_code == 0 else 1), result.stderr
    return result


def explain(files, *extra: object, model: str = "tiny"):
    return camlens(
        "explain", files["image"], "--model", files[model], "--size", "16",
        "--out", files["root"] / "out", "--no-progress", *extra,
    )  # fmt: skip


TESTED: set[str] = set()


def row(name: str):
    """Marks a test as the one of a row of the table."""

    def mark(test):
        TESTED.add(name)
        return test

    return mark


def code(name: str) -> int:
    value = CATEGORIES[name].exit_code
    assert value is not None
    return value


# --- one row each -----------------------------------------------------------------------------
@row("success")
def test_success(files):
    assert explain(files, "--layer", "0").exit_code == code("success") == 0


@row("internal")
def test_internal_failure_a_model_that_does_not_run(files):
    result = explain(files, "--layer", "0", model="broken")
    assert result.exit_code == code("internal") == 1
    assert "RuntimeError" in result.stderr


@row("usage")
def test_usage_unknown_method(files):
    result = explain(files, "--method", "gradcamm")
    assert result.exit_code == code("usage") == 2
    assert "unknown method 'gradcamm'" in result.stderr


def test_usage_a_layer_without_a_spatial_output(files):
    # was 1: LayerOutputError fell through to "runtime failure" (docs: an unusable layer is 2)
    result = explain(files, "--layer", "4")
    assert result.exit_code == code("usage") == 2
    assert "cannot lay the output of '4'" in result.stderr


@pytest.mark.parametrize("value", [",,", " , "])
def test_usage_an_empty_layer_list(files, value):
    # was 0: `--layer ,,` silently meant auto
    result = explain(files, "--layer", value)
    assert result.exit_code == code("usage") == 2
    assert "--layer" in result.stderr and "give at least one layer" in result.stderr


def test_usage_a_bad_metric_option_value(files):
    # was 3: the metric's InvalidInputError counted as bad input
    result = camlens(
        "evaluate", "--model", files["tiny"], "--labels", files["labels"], "--size", "16",
        "--data", files["data"], "--layer", "0", "--metrics", "deletion",
        "--metric-option", "deletion.steps=abc", "--no-progress",
    )  # fmt: skip
    assert result.exit_code == code("usage") == 2
    assert "--metric-option" in result.stderr and "steps must be a positive int" in result.stderr


def test_usage_an_unknown_metric_option(files):
    # was 1: TypeError from the metric's constructor
    result = camlens(
        "evaluate", "--model", files["tiny"], "--labels", files["labels"], "--size", "16",
        "--data", files["data"], "--layer", "0", "--metrics", "deletion",
        "--metric-option", "deletion.stepz=4", "--no-progress",
    )  # fmt: skip
    assert result.exit_code == code("usage") == 2
    assert "--metric-option" in result.stderr and "stepz" in result.stderr


@row("input")
def test_input_not_an_image(files):
    result = camlens(
        "explain", files["text"], "--model", files["tiny"], "--size", "16", "--no-progress"
    )
    assert result.exit_code == code("input") == 3
    assert "not an image file" in result.stderr


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_input_evaluate_data_that_is_no_folder(files, kind):
    # was 2 (a usage error), where audit's DATA says 3
    data = files["root"] / "nowhere" if kind == "missing" else files["image"]
    result = camlens(
        "evaluate", "--model", files["tiny"], "--size", "16", "--data", data, "--layer", "0",
        "--no-progress",
    )  # fmt: skip
    assert result.exit_code == code("input") == 3
    assert "neither 'benchmark', 'cifar10' nor a folder" in result.stderr


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_input_audit_data_that_is_no_folder(files, kind, tmp_path):
    # a file was 1 (NotADirectoryError)
    data = files["root"] / "nowhere" if kind == "missing" else files["image"]
    result = camlens("audit", data, "--model", files["tiny"], "--out", tmp_path / "run")
    assert result.exit_code == code("input") == 3
    assert str(data) in result.stderr and "ImageFolder tree" in result.stderr


@row("too_large")
def test_too_large_image(files, bad_images):
    result = camlens(
        "explain", bad_images["huge"], "--model", files["tiny"], "--size", "16", "--no-progress"
    )
    assert result.exit_code == code("too_large") == 3
    assert "400,000,000 pixels" in result.stderr


@row("unavailable")
def test_unavailable_device(files):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    result = explain(files, "--device", "cuda")
    assert result.exit_code == code("unavailable") == 4


def test_unavailable_weights(files, tmp_path):
    result = camlens(
        "explain", files["image"], "--model", "resnet18", "--no-progress",
        env={"TORCH_HOME": str(tmp_path)},
    )  # fmt: skip
    assert result.exit_code == code("unavailable") == 4
    assert "does not download" in result.stderr


@row("interrupted")
def test_interrupted(files, monkeypatch):
    import camlens.models

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(camlens.models, "load_model", interrupt)  # where the CLI looks it up
    result = explain(files)
    assert result.exit_code == code("interrupted") == 130
    assert "Error: interrupted" in result.stderr


def test_every_cli_row_is_tested():
    cli_rows = {c.name for c in CATEGORIES.values() if c.exit_code is not None}
    # "model" (a method that refuses the model: PyTorch-only methods on Keras models)
    # cannot be reached from the CLI with a PyTorch model;
    # tests/test_errors.py checks their codes.
    assert cli_rows - TESTED == {"model"}


# --- the docs ---------------------------------------------------------------------------------
def render_table() -> list[str]:
    """docs/cli.md's exit-code table, from CATEGORIES."""
    lines = ["| exit code | HTTP status | category | meaning |", "| --- | --- | --- | --- |"]
    for c in CATEGORIES.values():
        exit_text = "—" if c.exit_code is None else str(c.exit_code)
        http_text = "—" if c.http_status is None else str(c.http_status)
        lines.append(f"| {exit_text} | {http_text} | `{c.name}` | {c.meaning} |")
    return lines


def test_docs_table_is_the_table():
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("|")]
    expected = render_table()
    assert table == expected, "docs/cli.md's exit-code table is not CATEGORIES; write:\n" + (
        "\n".join(expected)
    )
    assert re.search(r"camlens\.errors", section)
