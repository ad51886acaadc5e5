"""The run directory: a manifest, Parquet part files, findings and the report, on any fsspec path.

Layout of ``RUN_DIR`` (a local folder or a URL such as ``s3://bucket/runs/a``)::

    manifest.json              model, weights hash, method, options, data, library versions
    parts/part-<rank>-<session>-<seq>.parquet   one per batch group, written whole
    findings.json              the merged findings (rank 0, at the end)
    report.html                the self-contained report (rank 0, at the end)

A part appears under its final name only once complete (written to ``.tmp``, flushed to disk and
renamed on file systems that rename atomically; a single PUT on object stores), so an interrupted
run leaves either whole parts or ignorable ``.tmp`` files, and the images in whole parts are never
redone. The manifest is written before ``parts/`` exists: a kill between the two leaves a run that
resumes. A part that cannot be read all the same (a crash of the machine, a copy cut short) is
set aside as ``<part>.corrupt`` when a run resumes, and its images are done again.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .errors import RunDirError
from .stats import STAT_NAMES

SCHEMA = pa.schema(
    [
        ("index", pa.int64()),
        ("path", pa.string()),
        ("label", pa.int64()),
        ("prediction", pa.int64()),
        ("confidence", pa.float32()),
        ("score", pa.float32()),
        ("correct", pa.bool_()),
        ("map_h", pa.int32()),
        ("map_w", pa.int32()),
        ("map", pa.list_(pa.float32())),
        *[(name, pa.float32()) for name in STAT_NAMES],
        ("error", pa.string()),
        ("rank", pa.int32()),
    ]
)
# Options that change the results: a resume must match them.
RESULT_KEYS = ("data", "masks", "model", "weights_sha256", "method", "layer", "border", "n_images")


class RunDir:
    """A run directory on an fsspec file system.

    Example:
        >>> import tempfile
        >>> run = RunDir(tempfile.mkdtemp())  # or "s3://bucket/run", "memory://run", ...
        >>> run.write_json("manifest.json", {"total": 1})
        >>> run.read_manifest()
        {'total': 1}
    """

    def __init__(self, url: str) -> None:
        import fsspec

        self.url = str(url)
        self.fs, self.root = fsspec.core.url_to_fs(self.url)
        self.local = "file" in (
            self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        )

    def path(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts])

    # --- manifest ------------------------------------------------------------------------------
    def read_manifest(self) -> dict[str, Any] | None:
        path = self.path("manifest.json")
        if not self.fs.exists(path):
            return None
        with self.fs.open(path, "r") as handle:
            return json.load(handle)

    def write_json(self, name: str, payload: dict[str, Any]) -> None:
        self.fs.makedirs(self.root, exist_ok=True)
        self._put(name, json.dumps(payload, indent=2, default=str).encode())

    def write_text(self, name: str, text: str) -> None:
        self.fs.makedirs(self.root, exist_ok=True)
        self._put(name, text.encode())

    def _put(self, name: str, data: bytes) -> None:
        def write(target: str) -> None:
            with self.fs.open(target, "wb") as handle:
                handle.write(data)

        self.write_atomic(self.path(name), write)

    def write_atomic(self, final: str, write: Callable[[str], None]) -> None:
        """``write(path)`` so that no reader sees a half-written ``final``: into ``final.tmp``
        and a rename on local disks (object stores put whole objects, so directly there)."""
        target = final + ".tmp" if self.local else final
        write(target)
        if self.local:
            _fsync(target)  # the bytes on disk before the name: a crash leaves no cut part
            self.fs.mv(target, final)

    def check_or_start(self, manifest: dict[str, Any], force: bool) -> bool:
        """Start a fresh run or check that RUN_DIR holds this same run; True when resuming."""
        existing = self.read_manifest()
        if force and self.fs.exists(self.root):
            self.fs.rm(self.root, recursive=True)
            existing = None
        if existing is None:
            parts = self.part_files()  # an empty parts/ is what a kill before the manifest left
            if parts:
                count = f"{len(parts)} part file{'s' if len(parts) > 1 else ''}"
                raise RunDirError(
                    f"{self.url} holds {count} but no manifest.json, so they cannot be checked "
                    "against this run; pass --force to start over or choose another --out."
                )
            self.write_json("manifest.json", manifest)
            self.fs.makedirs(self.path("parts"), exist_ok=True)
            return False
        diffs = [
            f"{k}: {existing.get(k)!r} != {manifest.get(k)!r}"
            for k in RESULT_KEYS
            if existing.get(k) != manifest.get(k)
        ]
        if diffs:
            raise RunDirError(
                f"{self.url} holds another run ({'; '.join(diffs)}); pass --force to start over "
                "or choose another --out."
            )
        return True

    # --- parts ---------------------------------------------------------------------------------
    def part_files(self) -> list[str]:
        pattern = self.path("parts", "part-*.parquet")
        return sorted(self.fs.glob(pattern))

    def clean_temporaries(self) -> None:
        for path in self.fs.glob(self.path("parts", "*.tmp")):
            self.fs.rm(path)

    def set_aside_broken_parts(self) -> list[str]:
        """Rename the part files that do not read back to ``<part>.corrupt``; their paths.

        Whole parts are the rule (see the module docstring); this is for the exception: a file
        cut short by a crash of the machine or a failed copy, which would stop every read."""
        broken = []
        for path in self.part_files():
            try:
                pq.read_table(path, columns=["index"], filesystem=self.fs)
            except (pa.ArrowException, OSError, ValueError):
                self.fs.mv(path, path + ".corrupt")
                broken.append(path)
        return broken

    def read(self, columns: list[str] | None = None) -> pa.Table:
        """All parts as one table (empty table with the schema when there are none)."""
        files = self.part_files()
        if not files:
            schema = SCHEMA if columns is None else pa.schema([SCHEMA.field(c) for c in columns])
            return schema.empty_table()
        import pyarrow.dataset as ds

        dataset = ds.dataset(files, schema=SCHEMA, format="parquet", filesystem=self.fs)
        return dataset.to_table(columns=columns)

    def done(self) -> set[int]:
        """Indices of the images already in whole part files."""
        return set(self.read(["index"]).column("index").to_pylist())


def _fsync(path: str) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class PartWriter:
    """Buffers rows and writes a part file every ``flush_every`` rows (and on ``flush``)."""

    def __init__(self, run: RunDir, rank: int, flush_every: int = 512) -> None:
        self.run = run
        self.rank = rank
        self.flush_every = max(1, int(flush_every))
        self.session = uuid.uuid4().hex[:10]
        self.seq = 0
        self.buffer: list[pa.RecordBatch] = []
        self.pending = 0
        self.written = 0

    def add(self, batch: pa.RecordBatch) -> None:
        self.buffer.append(batch)
        self.pending += batch.num_rows
        if self.pending >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        table = pa.Table.from_batches(self.buffer, schema=SCHEMA)
        name = f"part-{self.rank:05d}-{self.session}-{self.seq:06d}.parquet"
        self.run.write_atomic(
            self.run.path("parts", name),
            lambda target: pq.write_table(table, target, filesystem=self.run.fs),
        )
        self.seq += 1
        self.written += self.pending
        self.buffer, self.pending = [], 0
