"""``run_audit(engine="ray")`` / ``camlens audit --engine ray`` on a local Ray instance.

One Ray instance for the module (``ray.init(num_cpus=2)``, shut down at the end), tiny images:
the Ray engine's rows equal the local engine's; a SIGKILLed actor is restarted and its batch
redone once; a SIGKILLed driver (a subprocess) run again continues; runs resume across engines;
corrupt images are rows with an error, as in the local engine; without Ray, one line says how to
install it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from audit_helpers import make_folder, make_loaded
from click.testing import CliRunner
from test_runner import assert_same_rows

import camlens
from camlens.audit import load_results, run_audit
from camlens.cli import main
from camlens.errors import MissingDependencyError

torch.set_num_threads(1)
HERE = Path(__file__).resolve().parent
# what the actors import: camlens (this checkout's) and the test helpers
PYTHONPATH = os.pathsep.join([str(Path(camlens.__file__).parents[1]), str(HERE.parent), str(HERE)])
N = 13  # make_folder(per_class=4, corrupt=True): 12 images and a truncated one


@pytest.fixture(scope="module")
def cluster():
    """A local Ray instance for the whole module; yields its address for subprocess drivers."""
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": PYTHONPATH, "OMP_NUM_THREADS": "1"}},
    )
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return make_folder(tmp_path_factory.mktemp("ray") / "data", per_class=4, corrupt=True)


@pytest.fixture(scope="module")
def reference(data, tmp_path_factory) -> pd.DataFrame:
    """The local engine's rows, uninterrupted."""
    out = tmp_path_factory.mktemp("ray") / "local"
    run_audit(str(data), make_loaded(), str(out), batch_size=4, workers=0, progress=False)
    return load_results(str(out))


def _ray(data, loaded, out, **kw):
    kw = {"batch_size": 2, "flush_every": 2, "concurrency": 2, "progress": False, **kw}
    return run_audit(str(data), loaded, str(out), engine="ray", **kw)


def _raw_indices(out: Path) -> list[int]:
    """Every row's index in every part file (a duplicate would show twice)."""
    parts = sorted((out / "parts").glob("part-*.parquet"))
    return sorted(pd.concat([pd.read_parquet(p, columns=["index"]) for p in parts])["index"])


def _same(out: Path, reference: pd.DataFrame) -> None:
    assert _raw_indices(out) == list(range(N))  # every image exactly once
    rows = load_results(str(out))
    assert_same_rows(rows, reference)
    for col in ("map_h", "map_w"):
        assert rows[col].fillna(-1).tolist() == reference[col].fillna(-1).tolist(), col


def test_ray_rows_equal_the_local_engine(cluster, data, reference, tmp_path):
    out = tmp_path / "ray"
    result = _ray(data, make_loaded(), out)
    assert result.total == N and result.processed == N and result.errors == 1
    assert result.world_size == 2 and not result.resumed
    _same(out, reference)
    rows = load_results(str(out))
    bad = rows[rows["error"].notna()]  # the corrupt image: recorded and skipped, as locally
    assert bad["path"].tolist() == ["bean/broken.png"]
    assert "truncated or corrupt" in bad["error"].iloc[0]
    assert rows["error"].isna().sum() == N - 1 and rows.loc[bad.index, "map"].isna().all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["engine"] == "ray" and manifest["options"]["concurrency"] == 2
    findings = json.loads((out / "findings.json").read_text())
    assert findings["n_explained"] == N - 1 and findings["n_errors"] == 1
    assert findings["errors"][0]["path"] == "bean/broken.png"
    assert (out / "report.html").is_file()
    again = _ray(data, make_loaded(), out)  # nothing left: a resume that does nothing
    assert again.resumed and again.already_done == N and again.processed == 0


def test_killed_actor_is_restarted_and_its_batch_redone_once(cluster, data, reference, tmp_path):
    out, marker = tmp_path / "ray", tmp_path / "forwards.txt"
    box: dict = {}

    def audit() -> None:
        try:
            box["result"] = _ray(data, make_loaded(0.6, marker=str(marker)), out)
        except BaseException as exc:  # reported by the assert below
            box["error"] = exc

    thread = threading.Thread(target=audit)
    thread.start()
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not (marker.exists() and marker.read_text().strip()):
        time.sleep(0.05)
    victim = int(marker.read_text().split()[1])  # this actor is asleep in a batch's forward
    os.kill(victim, signal.SIGKILL)
    thread.join(300)
    assert "error" not in box, box.get("error")
    pids = {int(line.split()[1]) for line in marker.read_text().splitlines()}
    assert victim in pids and len(pids) >= 3  # two actors and the one Ray started again
    assert box["result"].processed == N
    _same(out, reference)  # its batch redone, and written once


def test_killed_driver_rerun_continues_on_either_engine(cluster, data, reference, tmp_path):
    out, marker = tmp_path / "ray", tmp_path / "forwards.txt"
    env = {**os.environ, "PYTHONPATH": PYTHONPATH, "RAY_ADDRESS": cluster}
    cmd = [sys.executable, str(HERE / "ray_run.py"), str(data), str(out), "0.4", str(marker)]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if len(list((out / "parts").glob("part-*.parquet"))) >= 2:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    done = len(_raw_indices(out))
    assert 0 < done < N
    swapped = tmp_path / "swapped"
    shutil.copytree(out, swapped)

    # the same audit run again, by a new driver: this test's process (what the rerun finds is
    # the killed driver's parts and the cluster, whichever interpreter runs it; a second
    # subprocess would only import torch, camlens and Ray again). Its model sleeps 0 s, as the
    # local rerun's below: the delay only let the kill land mid-run; the layer name is the same
    again = _ray(data, make_loaded(0.0), out)
    assert again.resumed and again.already_done == done
    assert (again.total, again.processed) == (N, N - done)  # only the rest
    _same(out, reference)

    # ray -> local: the killed Ray run resumed by the local engine
    kw = {"batch_size": 4, "workers": 0, "progress": False}
    local = run_audit(str(data), make_loaded(0.0), str(swapped), **kw)  # same layer name
    assert local.resumed and local.already_done == done and local.processed == N - done
    _same(swapped, reference)


def test_local_run_resumed_on_ray(cluster, data, reference, tmp_path):
    out = tmp_path / "run"
    kw = {"batch_size": 4, "workers": 0, "flush_every": 4, "progress": False}
    first = run_audit(str(data), make_loaded(), str(out), stop_after=5, report=False, **kw)
    assert first.processed == 5
    result = _ray(data, make_loaded(), out)
    assert result.resumed and result.already_done == 5 and result.processed == N - 5
    _same(out, reference)
    assert json.loads((out / "manifest.json").read_text())["engine"] == "local"  # its start


def test_cli_engine_ray_equals_local(cluster, tmp_path):
    from camlens import zoo

    try:
        zoo.load("cifar10-resnet20")
    except Exception as exc:  # the checkpoints live in the shared data folder
        pytest.skip(f"cifar10-resnet20 is not available here: {exc}")
    args = ["audit", "benchmark:n=12,size=32", "--model", "cifar10-resnet20", "--no-progress"]
    args += ["--batch-size", "4"]
    runner = CliRunner()
    ray_out, local_out = str(tmp_path / "ray"), str(tmp_path / "local")
    result = runner.invoke(main, [*args, "--out", ray_out, "--engine", "ray", "--concurrency", "2"])
    assert result.exit_code == 0, result.output
    assert "audited 12 images (0 already done, 12 now on 2 Ray actors, 0 skipped)" in result.output
    local = runner.invoke(main, [*args, "--out", local_out, "--workers", "0"])
    assert local.exit_code == 0, local.output
    assert_same_rows(load_results(ray_out), load_results(local_out))
    fa, fb = (json.loads((Path(d) / "findings.json").read_text()) for d in (ray_out, local_out))
    assert fa["flags"] == fb["flags"] and fa["classes"] == fb["classes"]


def test_without_ray_one_line_says_how_to_install(monkeypatch, tmp_path, data):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ModuleNotFoundError
    with pytest.raises(MissingDependencyError, match=r"pip install 'camlens\[ray\]'") as info:
        run_audit(str(data), make_loaded(), str(tmp_path / "run"), engine="ray")
    assert "\n" not in str(info.value)
    args = ["audit", str(data), "--model", "no-such-model", "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(main, [*args, "--engine", "ray"])
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "pip install 'camlens[ray]'" in lines[0], result.output
    assert not (tmp_path / "o").exists()
