"""The terminal summary of a finished run."""

from __future__ import annotations

import pytest
import torch

from camlens.audit import RunDirError, read_summary, run_audit

torch.set_num_threads(1)


def test_summary_lists_classes_confusions_and_skips(tmp_path, loaded):
    from audit_helpers import make_folder

    data = make_folder(tmp_path / "data", per_class=4, corrupt=True)
    out = str(tmp_path / "run")
    run_audit(str(data), loaded, out, batch_size=8, workers=0, progress=False)
    text = read_summary(out)
    lines = text.splitlines()
    assert lines[0].startswith("model small-cnn (gradcam at relu3) on ")
    assert "images 13  explained 12  skipped 1" in lines[1]
    assert any(line.startswith("apple ") and line.split()[1] == "4" for line in lines)
    assert "no class flagged" in text and "skipped bean/broken.png" in text


def test_summary_of_a_folder_without_a_run(tmp_path):
    with pytest.raises(RunDirError, match="no finished audit"):
        read_summary(str(tmp_path))
