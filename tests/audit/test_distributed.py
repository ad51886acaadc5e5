"""torchrun --nproc_per_node=2 on CPU (gloo) gives the same per-image results as one process.

The one-process reference is ``dist_run.py``'s call run in the test's own process (no torchrun,
no ``WORLD_SIZE``): the same ``run_audit`` arguments and model, without a third interpreter
that imports torch and camlens again only to run a world of one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
import torch.distributed as dist
from audit_helpers import make_loaded
from test_runner import assert_same_rows

from camlens.audit import load_results, run_audit
from camlens.audit.distributed import World, launched_world_size

torch.set_num_threads(1)
HERE = Path(__file__).resolve().parent
DATA = "benchmark:n=60,seed=3,size=64,cue=biased_class"


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(HERE), "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed is not available")
def test_torchrun_two_ranks_equal_one_process(tmp_path, monkeypatch):
    two, one = tmp_path / "two", tmp_path / "one"
    script = str(HERE / "dist_run.py")
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    done = _run([*torchrun, "--nproc_per_node=2", script, DATA, str(two)], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "rank 0/2" in done.stdout and "rank 1/2" in done.stdout
    # dist_run.py's audit as one process: here, on one thread, outside any torchrun world
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        kw = {"batch_size": 8, "workers": 0, "flush_every": 16, "progress": False}
        single = run_audit(DATA, make_loaded(size=64), str(one), **kw)
    finally:
        torch.set_num_threads(threads)
    assert (single.rank, single.world_size, single.processed) == (0, 1, 60)

    parts = sorted((two / "parts").glob("part-*.parquet"))
    raw = pd.concat([pd.read_parquet(p) for p in parts])
    assert set(raw["rank"]) == {0, 1}  # both ranks wrote their own parts
    assert {p.name.split("-")[1] for p in parts} == {"00000", "00001"}
    assert raw["index"].is_unique and sorted(raw["index"]) == list(range(60))
    by_rank = raw.groupby("rank")["index"].apply(sorted)
    assert by_rank[0] == list(range(0, 60, 2)) and by_rank[1] == list(range(1, 60, 2))

    a, b = load_results(str(two)), load_results(str(one))
    assert_same_rows(a, b)
    fa = json.loads((two / "findings.json").read_text())
    fb = json.loads((one / "findings.json").read_text())
    assert fa["flags"] == fb["flags"] and fa["n_explained"] == fb["n_explained"] == 60
    assert json.loads((two / "manifest.json").read_text())["world_size"] == 2
    assert (two / "report.html").exists()


def test_world_of_one_without_torchrun(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert launched_world_size() == 1
    world = World()
    assert not world.active and world.broadcast({"x": 1}) == {"x": 1}
    world.barrier()  # a no-op
    world.close()
