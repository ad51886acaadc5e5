"""cli/_common: exit codes, one-line messages, targets, names; and shell completion."""

from __future__ import annotations

import click
import pytest
import torch

from camlens.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    EXIT_USAGE,
    TargetSpec,
    class_label,
    cpu_share,
    describe,
    exit_code_for,
    one_line,
    parse_method,
    parse_methods,
    split_list,
    unique_stems,
)
from camlens.core.errors import LayerNotFoundError, TargetError
from camlens.loading import (
    DeviceError,
    InvalidImageError,
    LoadedModel,
    ModelLoadError,
    UnknownModelError,
    WeightsUnavailableError,
)

torch.set_num_threads(1)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UnknownModelError("x"), 2),
        (LayerNotFoundError("x"), 2),
        (TargetError("x"), 2),
        (InvalidImageError("x"), 3),
        (WeightsUnavailableError("x"), 4),
        (ModelLoadError("x"), 4),
        (DeviceError("x"), 4),
        (RuntimeError("boom"), 1),
        (click.BadParameter("x"), 2),
    ],
)
def test_exit_codes(error, code):
    assert exit_code_for(error) == code


def test_messages_are_one_line():
    assert one_line("a\n  b\tc ") == "a b c"
    assert describe(ValueError("bad\nthing")) == (
        "ValueError: bad thing (run with --debug for the traceback)"
    )
    assert describe(InvalidImageError("x.png: no such file.")) == "x.png: no such file."
    assert describe(RuntimeError("CUDA out of memory. Tried")).startswith("out of memory")
    assert (EXIT_USAGE, EXIT_BAD_INPUT, EXIT_FAILURE) == (2, 3, 1)


def test_method_names_and_close_matches():
    assert parse_method("Grad-CAM++")[0] == "gradcam++"
    assert parse_method("scorecam")[0] == "scorecam"
    with pytest.raises(click.BadParameter, match=r"Did you mean gradcam\b"):
        parse_method("gradcamm")


def test_method_lists():
    assert parse_methods("Grad-CAM++, scorecam,") == ["gradcam++", "scorecam"]
    with pytest.raises(click.BadParameter, match="give at least one method"):
        parse_methods(" , ")
    with pytest.raises(click.BadParameter, match="Did you mean gradcam"):
        parse_methods("gradcam,gradcamm")


def test_class_labels():
    def loaded(categories):
        return LoadedModel(
            torch.nn.Identity(), "m", categories, None, None, torch.device("cpu"), None, None, None
        )

    assert class_label(loaded(["cat", "dog"]), 1) == "dog (1)"
    assert class_label(loaded(None), 7) == "class 7"


def test_cpu_share(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert (cpu_share(1), cpu_share(2), cpu_share(4)) == (2, 1, 0)
    assert cpu_share(4, at_least=1) == 1
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert (cpu_share(1), cpu_share(8)) == (4, 2)
    monkeypatch.setattr("os.cpu_count", lambda: None)  # unknown: one core
    assert cpu_share(1) == 1


def test_targets_and_lists():
    assert TargetSpec("top5").top == 5 and TargetSpec("TOP-2").top == 2
    assert TargetSpec("tabby").top is None and TargetSpec("281").top is None
    with pytest.raises(click.BadParameter):
        TargetSpec("top0")
    assert split_list(["a,b", " c ,"]) == ["a", "b", "c"]
    assert unique_stems(["x/cat.png", "y/cat.jpg", "dog.png"]) == ["cat", "cat-2", "dog"]


def test_help_and_shell_completion(run_camlens):
    result = run_camlens(
        env={
            "_CAMLENS_COMPLETE": "bash_complete",
            "COMP_WORDS": "camlens explain x.png --method gradcam,layer",
            "COMP_CWORD": "4",
        }
    )
    assert result.returncode == 0, result.stderr
    # bash_complete prints "<type>,<value>" per line
    assert "plain,gradcam,layercam" in result.stdout.splitlines(), result.stdout
