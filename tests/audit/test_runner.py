"""run_audit end to end: per-image values, corrupt images, resume after SIGKILL, --force."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from audit_helpers import CLASSES, make_folder, make_loaded

import camlens
from camlens.audit import RunDirError, load_results, run_audit
from camlens.audit.stats import STAT_NAMES, evidence_stats

torch.set_num_threads(1)
HERE = Path(__file__).resolve().parent


def _audit(data, loaded, out, **kw):
    kw = {"batch_size": 8, "workers": 0, "flush_every": 8, "progress": False, **kw}
    return run_audit(str(data), loaded, str(out), **kw)


def assert_same_rows(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Same images, same predictions, the same maps and statistics (to float tolerance)."""
    assert a["index"].tolist() == b["index"].tolist()
    for col in ("path", "label", "prediction", "correct", "error"):
        left, right = (t[col].astype(object).fillna(-9).tolist() for t in (a, b))
        assert left == right, col
    for col in ("confidence", "score", *STAT_NAMES):
        np.testing.assert_allclose(a[col], b[col], rtol=1e-4, atol=1e-5, err_msg=col)
    ok = a["error"].isna()
    np.testing.assert_allclose(
        np.stack(a.loc[ok, "map"].to_list()), np.stack(b.loc[ok, "map"].to_list()), atol=1e-4
    )


def test_rows_equal_a_direct_gradcam(folder, loaded, tmp_path):
    result = _audit(folder, loaded, tmp_path / "run")
    rows = load_results(str(tmp_path / "run"))
    assert result.total == len(rows) == 3 * 8 and result.errors == 0
    assert rows["index"].tolist() == list(range(24))  # no duplicate, none missing
    # ImageFolder order: classes sorted, files sorted; labels mapped to the model's names
    assert rows["path"].iloc[0] == "apple/000.png" and rows["label"].tolist()[::8] == [0, 1, 2]
    # the same numbers straight from camlens.GradCAM on the preprocessed images
    from PIL import Image

    images = [Image.open(folder / p).convert("RGB") for p in rows["path"]]
    x = torch.stack([loaded.preprocess(im) for im in images])
    exp = camlens.GradCAM(loaded.model, "relu3").explain(x)
    raw = exp.raw["relu3"]
    probs = torch.softmax(exp.outputs, -1)
    assert rows["prediction"].tolist() == probs.argmax(1).tolist()
    np.testing.assert_allclose(rows["confidence"], probs.max(1).values, rtol=1e-5)
    top = raw.flatten(1).max(1).values[:, None, None]
    np.testing.assert_allclose(
        np.stack(rows["map"].to_list()), (raw / top).flatten(1).numpy(), atol=1e-6
    )
    stats = evidence_stats(raw, (32, 32))
    for name in STAT_NAMES:
        np.testing.assert_allclose(rows[name], stats[name].numpy(), rtol=1e-5, atol=1e-6)
    assert rows["correct"].tolist() == (rows["prediction"] == rows["label"]).tolist()


def test_corrupt_image_is_reported_and_skipped(tmp_path, loaded):
    data = make_folder(tmp_path / "data", per_class=4, corrupt=True)
    result = _audit(data, loaded, tmp_path / "run")
    rows = load_results(str(tmp_path / "run"))
    assert result.errors == 1 and len(rows) == 13
    bad = rows[rows["error"].notna()]
    assert bad["path"].tolist() == ["bean/broken.png"]
    assert "truncated or corrupt" in bad["error"].iloc[0]
    assert bad["prediction"].isna().all()
    assert rows["error"].isna().sum() == 12 and rows.loc[rows["error"].isna(), "map"].notna().all()
    findings = json.loads((tmp_path / "run" / "findings.json").read_text())
    assert findings["n_errors"] == 1 and findings["errors"][0]["path"] == "bean/broken.png"
    assert "bean/broken.png" in (tmp_path / "run" / "report.html").read_text()


def test_a_folder_with_no_readable_image_gives_a_report_of_its_errors(tmp_path, loaded):
    data = tmp_path / "data"
    (data / "a").mkdir(parents=True)
    (data / "a" / "1.jpg").write_bytes(b"")  # empty
    (data / "a" / "2.png").write_bytes(b"not a picture\n")
    result = _audit(data, loaded, tmp_path / "run")
    assert result.errors == 2 and result.processed == 2
    findings = json.loads((tmp_path / "run" / "findings.json").read_text())
    assert findings["n_images"] == 2 and findings["n_explained"] == 0
    assert [e["path"] for e in findings["errors"]] == ["a/1.jpg", "a/2.png"]
    assert findings["classes"] == [] and findings["flags"] == [] and findings["map_size"] is None
    report = (tmp_path / "run" / "report.html").read_text()
    assert "a/1.jpg" in report and "a/2.png" in report
    assert "No image could be read" in report and "No class is flagged" not in report


def test_a_resize_bomb_is_recorded_and_skipped(tmp_path, loaded):
    from PIL import Image

    data = make_folder(tmp_path / "data", per_class=2)
    Image.new("RGB", (1, 10000)).save(data / CLASSES[0] / "strip.png")  # 124 bytes
    result = _audit(data, loaded, tmp_path / "run")
    rows = load_results(str(tmp_path / "run"))
    assert result.errors == 1 and len(rows) == 7
    bad = rows[rows["error"].notna()]
    assert bad["path"].tolist() == ["apple/strip.png"]
    assert "aspect ratio of 10,000:1" in bad["error"].iloc[0]


def test_resume_redoes_a_part_truncated_under_its_final_name(folder, loaded, tmp_path):
    out = tmp_path / "run"
    _audit(folder, loaded, out)  # 24 images, 3 parts of 8
    whole = load_results(str(out))
    parts = sorted((out / "parts").glob("part-*.parquet"))
    assert len(parts) == 3
    parts[1].write_bytes(parts[1].read_bytes()[:300])  # a crash before the data reached disk
    resumed = _audit(folder, loaded, out)
    assert resumed.resumed and resumed.already_done == 16 and resumed.processed == 8
    assert_same_rows(load_results(str(out)), whole)
    assert not parts[1].exists()  # set aside, not read again
    assert [p.name for p in (out / "parts").glob("*.corrupt")] == [parts[1].name + ".corrupt"]


def test_an_empty_parts_folder_without_a_manifest_starts_the_run(folder, loaded, tmp_path):
    out = tmp_path / "run"
    (out / "parts").mkdir(parents=True)  # a kill between creating parts/ and the manifest
    result = _audit(folder, loaded, out)
    assert not result.resumed and result.processed == 24
    assert (out / "manifest.json").is_file() and len(load_results(str(out))) == 24


def test_resume_after_sigkill_equals_an_uninterrupted_run(tmp_path):
    data = make_folder(tmp_path / "data", per_class=16)  # 48 images, parts of 8
    killed = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(HERE), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "kill_me.py"), str(data), str(killed), "0.15"], env=env
    )
    parts = killed / "parts"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if parts.is_dir() and len(list(parts.glob("part-*.parquet"))) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the audit finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    before = load_results(str(killed))
    assert 16 <= len(before) < 48 and not (killed / "findings.json").exists()

    resumed = _audit(data, make_loaded(0.0), killed)
    assert resumed.resumed and resumed.already_done == len(before)
    assert resumed.processed == 48 - len(before)
    after = load_results(str(killed))
    raw = pd.concat([pd.read_parquet(p) for p in sorted(parts.glob("part-*.parquet"))])
    assert raw["index"].is_unique and sorted(raw["index"]) == list(range(48))

    straight = tmp_path / "straight"
    _audit(data, make_loaded(0.0), straight, batch_size=16, flush_every=1000)
    assert_same_rows(after, load_results(str(straight)))
    a = json.loads((killed / "findings.json").read_text())
    b = json.loads((straight / "findings.json").read_text())
    assert a["flags"] == b["flags"] and a["misclassified"]["count"] == b["misclassified"]["count"]


def test_ctrl_c_writes_every_finished_image(tmp_path):
    data = make_folder(tmp_path / "data", per_class=16)  # 48 images, batches of 4
    out, marker = tmp_path / "run", tmp_path / "forwards.txt"
    env = {**os.environ, "PYTHONPATH": str(HERE), "OMP_NUM_THREADS": "1"}
    # parts of 1000 images: nothing reaches the disk unless the interrupt handler writes it
    cmd = [sys.executable, str(HERE / "kill_me.py"), str(data), str(out), "1.5", "1000"]
    proc = subprocess.Popen([*cmd, str(marker)], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if marker.exists() and len(marker.read_text().splitlines()) >= 3:
            break
        time.sleep(0.02)
    started = len(marker.read_text().splitlines())  # batch `started` is asleep in its forward
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and b"KeyboardInterrupt" in err
    rows = load_results(str(out))
    assert rows["index"].tolist() == list(range(4 * (started - 1)))  # every finished batch
    assert not list((out / "parts").glob("*.tmp"))
    resumed = _audit(data, make_loaded(0.0), out)
    assert resumed.already_done == 4 * (started - 1) and len(load_results(str(out))) == 48


def test_rerun_does_nothing_and_other_runs_need_force(folder, loaded, tmp_path):
    out = tmp_path / "run"
    _audit(folder, loaded, out)
    again = _audit(folder, loaded, out)
    assert again.resumed and again.processed == 0 and again.already_done == 24
    with pytest.raises(RunDirError, match="--force"):
        _audit(folder, loaded, out, method="gradcam++")
    fresh = _audit(folder, loaded, out, method="gradcam++", force=True)
    assert not fresh.resumed and fresh.processed == 24
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["method"] == "gradcam++" and manifest["versions"]["torch"] == torch.__version__
    assert manifest["classes"] == CLASSES and manifest["labels_by"] == "name"


def test_fsspec_url_run_dir(folder, loaded, tmp_path):
    url = f"file://{tmp_path / 'remote'}"
    _audit(folder, loaded, url)
    assert len(load_results(url)) == 24
    assert (tmp_path / "remote" / "report.html").exists()


def _benchmark_models():
    from camlens import zoo

    try:
        return zoo.load("benchmark-clean"), zoo.load("benchmark-biased")
    except camlens.CamlensError as exc:
        pytest.skip(f"benchmark checkpoints not available: {exc}")


def test_biased_model_is_flagged_and_clean_model_is_not(tmp_path):
    from camlens.loading import load_model

    _benchmark_models()
    data = "benchmark:n=300,seed=7,split=test,cue=biased_class"
    found = {}
    for name in ("benchmark-clean", "benchmark-biased"):
        loaded = load_model(name)
        result = _audit(data, loaded, tmp_path / name, batch_size=50, flush_every=100)
        found[name] = result.findings
    from camlens.datasets import BIASED_CLASS
    from camlens.datasets import CLASSES as SHAPES

    biased = found["benchmark-biased"]
    assert SHAPES[BIASED_CLASS] in biased["flagged_classes"]
    kinds = {f["kind"] for f in biased["flags"] if f["class"] == BIASED_CLASS}
    assert "shared_region" in kinds
    assert found["benchmark-clean"]["flagged_classes"] == []
