"""The run directory: whole parts only, temporaries ignored, manifests compared on resume."""

from __future__ import annotations

import pyarrow as pa
import pytest

from camlens.audit.errors import RunDirError
from camlens.audit.store import SCHEMA, PartWriter, RunDir


def rows(indices):
    return pa.RecordBatch.from_pylist([{"index": i, "path": f"{i}.png"} for i in indices], SCHEMA)


def test_parts_flush_every_n_rows_and_read_back(tmp_path):
    run = RunDir(str(tmp_path / "run"))
    assert not run.check_or_start({"model": "m"}, force=False)
    writer = PartWriter(run, rank=3, flush_every=4)
    writer.add(rows([0, 1, 2]))
    assert run.part_files() == []  # below the threshold: still buffered
    writer.add(rows([3, 4]))
    assert len(run.part_files()) == 1 and writer.written == 5
    writer.add(rows([5]))
    writer.flush()
    names = [p.rsplit("/", 1)[1] for p in run.part_files()]
    assert all(n.startswith("part-00003-") for n in names) and len(names) == 2
    assert run.done() == set(range(6))
    assert run.read(["index"]).num_rows == 6


def test_temporaries_are_not_results_and_get_cleaned(tmp_path):
    run = RunDir(str(tmp_path / "run"))
    run.check_or_start({"model": "m"}, force=False)
    (tmp_path / "run" / "parts" / "part-00000-x-000000.parquet.tmp").write_bytes(b"half")
    assert run.done() == set()
    run.clean_temporaries()
    assert list((tmp_path / "run" / "parts").iterdir()) == []


def test_resume_checks_the_manifest_and_force_starts_over(tmp_path):
    run = RunDir(str(tmp_path / "run"))
    first = {"model": "m", "method": "gradcam", "n_images": 4, "options": {"batch_size": 8}}
    assert run.check_or_start(first, force=False) is False
    PartWriter(run, 0, 1).add(rows([0]))
    # other batch size: same results, so it resumes
    assert run.check_or_start({**first, "options": {"batch_size": 2}}, force=False) is True
    with pytest.raises(RunDirError, match=r"method: 'gradcam' != 'layercam'.*--force"):
        run.check_or_start({**first, "method": "layercam"}, force=False)
    assert run.check_or_start({**first, "method": "layercam"}, force=True) is False
    assert run.done() == set() and run.read_manifest()["method"] == "layercam"


def test_parts_without_manifest_are_refused(tmp_path):
    parts = tmp_path / "run" / "parts"
    parts.mkdir(parents=True)
    (parts / "part-00000-x-000000.parquet").write_bytes(b"rows of another run")
    with pytest.raises(RunDirError, match=r"holds 1 part file but no manifest\.json"):
        RunDir(str(tmp_path / "run")).check_or_start({}, force=False)


def test_an_empty_parts_folder_without_a_manifest_is_a_fresh_start(tmp_path):
    (tmp_path / "run" / "parts").mkdir(parents=True)  # a kill between the two writes
    (tmp_path / "run" / "parts" / "part-00000-x-000000.parquet.tmp").write_bytes(b"half")
    run = RunDir(str(tmp_path / "run"))
    assert run.check_or_start({"model": "m"}, force=False) is False
    assert run.read_manifest() == {"model": "m"}


def test_the_manifest_is_written_before_the_parts_folder(tmp_path):
    made = []
    run = RunDir(str(tmp_path / "run"))
    real = run.fs.makedirs

    def makedirs(path, exist_ok=False):
        made.append((path.rsplit("/", 1)[1], (tmp_path / "run" / "manifest.json").exists()))
        return real(path, exist_ok=exist_ok)

    run.fs.makedirs = makedirs
    run.check_or_start({"model": "m"}, force=False)
    assert ("parts", True) in made and ("parts", False) not in made


def test_a_truncated_part_is_set_aside_and_its_images_are_not_done(tmp_path):
    run = RunDir(str(tmp_path / "run"))
    run.check_or_start({"model": "m"}, force=False)
    writer = PartWriter(run, 0, 2)
    writer.add(rows([0, 1]))
    writer.add(rows([2, 3]))
    first, second = run.part_files()
    with open(second, "r+b") as handle:
        handle.truncate(40)
    assert run.set_aside_broken_parts() == [second]
    assert run.part_files() == [first] and run.done() == {0, 1}
    assert run.fs.exists(second + ".corrupt")
    assert run.set_aside_broken_parts() == []


def test_memory_filesystem_run_dir():
    run = RunDir("memory://camlens-test-run")
    run.check_or_start({"model": "m"}, force=True)
    PartWriter(run, 0, 2).add(rows([7, 8]))
    assert not run.local and run.done() == {7, 8}
