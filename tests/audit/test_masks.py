"""Audit findings -> per-image masks, and two runs compared (the training loop's two ends)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import camlens
from camlens.audit import run_audit
from camlens.audit.compare import compare_runs, comparison_text, render_comparison
from camlens.audit.errors import RunDirError
from camlens.audit.masks import RegionMasks, shared_region_masks
from camlens.cli import main as cli

DATA = "benchmark:n=300,seed=7,split=test,cue=biased_class"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from camlens import zoo

    try:
        biased, clean = zoo.load("benchmark-biased"), zoo.load("benchmark-clean")
    except camlens.CamlensError as exc:
        pytest.skip(f"benchmark checkpoints not available: {exc}")
    root = tmp_path_factory.mktemp("runs")
    for name, loaded in (("biased", biased), ("clean", clean)):
        run_audit(DATA, loaded, str(root / name), batch_size=50, workers=0, progress=False)
    return root


def test_shared_region_finding_becomes_the_cell_mask_of_the_class_images(runs):
    findings = json.loads((runs / "biased" / "findings.json").read_text())
    flag = next(f for f in findings["flags"] if f["kind"] == "shared_region")
    entry = next(c for c in findings["classes"] if c["class"] == flag["class"])
    cy, cx = entry["peak_cell"]
    g = findings["thresholds"]["grid"]
    masks = shared_region_masks(str(runs / "biased"), 64, scope="class")
    # the class's images: benchmark labels are i % 5
    assert masks.indices.tolist() == [i for i in range(300) if i % 5 == flag["class"]]
    expected = np.zeros((64, 64), bool)
    side = 64 // g
    expected[cy * side : (cy + 1) * side, cx * side : (cx + 1) * side] = True
    assert (masks.masks == expected).all()
    assert masks.regions[0]["cell"] == [cy, cx] and masks.regions[0]["name"] == "triangle"
    # the watermark (which the code above never looked at) lies inside the exported region
    from camlens.datasets import cue_box

    x0, y0, x1, y1 = cue_box(64)
    assert expected[y0:y1, x0:x1].all()


def test_scopes_and_lookup_by_index(runs, tmp_path):
    flagged = shared_region_masks(str(runs / "biased"), (32, 48), scope="flagged")
    everyone = shared_region_masks(str(runs / "biased"), 32, scope="all")
    findings = json.loads((runs / "biased" / "findings.json").read_text())
    flag = next(f for f in findings["flags"] if f["kind"] == "shared_region")
    assert flagged.indices.tolist() == sorted(flag["indices"])
    assert flagged.masks.shape[1:] == (32, 48)
    assert everyone.indices.tolist() == list(range(300))
    lookup = flagged.for_indices([flagged.indices[0], 10_000])
    assert lookup[0].any() and not lookup[1].any()
    path = tmp_path / "m.npz"
    flagged.save(path)
    back = RegionMasks.load(path)
    assert (back.indices == flagged.indices).all() and (back.masks == flagged.masks).all()
    assert back.regions == json.loads(json.dumps(flagged.regions))


def test_clean_run_has_no_region_and_unfinished_run_is_an_error(runs, tmp_path):
    assert len(shared_region_masks(str(runs / "clean"), 64)) == 0
    with pytest.raises(RunDirError, match=r"no findings\.json"):
        shared_region_masks(str(tmp_path / "nothing"), 64)
    with pytest.raises(ValueError, match="scope"):
        shared_region_masks(str(runs / "clean"), 64, scope="some")  # type: ignore[arg-type]


def test_compare_runs_side_by_side(runs):
    cmp = compare_runs(str(runs / "biased"), str(runs / "clean"))
    assert cmp["flagged_before"] == ["triangle"] and cmp["flagged_after"] == []
    row = next(r for r in cmp["classes"] if r["name"] == "triangle")
    assert "shared_region" in row["flags_before"] and row["flags_after"] == []
    assert row["peak_lift_before"] > row["peak_lift_after"]
    text = comparison_text(cmp)
    assert "flagged before: triangle; after: none" in text
    line = next(x for x in text.splitlines() if x.startswith("triangle"))
    assert "shared_region" in line and line.endswith("→ -")
    html = render_comparison(cmp)
    assert html.count("data:image/png;base64,") == 2 * len(cmp["classes"])


def test_cli_exports_masks_and_compares(runs, tmp_path):
    out = tmp_path / "masks.npz"
    result = CliRunner().invoke(
        cli,
        ["audit", "--summary", str(runs / "clean"), "--compare", str(runs / "biased"),
         "--export-masks", str(out), "--mask-size", "64"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "flagged before: triangle; after: none" in result.output
    assert (runs / "clean" / "compare.html").is_file()
    assert "masks: 0 images (no shared-region finding)" in result.output
    assert len(RegionMasks.load(out)) == 0
    result = CliRunner().invoke(
        cli, ["audit", "--summary", str(runs / "biased"), "--export-masks", str(out)]
    )
    assert result.exit_code == 2 and "--mask-size" in result.output
