"""The audit on Ray Data: a pool of actors explains the images, the driver writes the parts.

The driver opens the source, starts or resumes the run directory exactly as the local engine does
(:func:`~camlens.audit.runner.start_or_resume`) and makes a dataset of the image indices not yet
written, one block per batch. ``map_batches`` runs :class:`AuditActor`, a callable class: each
actor builds the model and the CAM once (``num_cpus`` / ``num_gpus`` per actor, ``concurrency``
actors), then per batch reads and preprocesses its images with the local engine's loader
(:class:`~camlens.audit.loader.AuditDataset`: the same decoding, size limits and corrupt-image
rows) and runs the local engine's per-batch function (:func:`~camlens.audit.runner.batch_rows`)
on its device. The rows stream back to the driver, which writes them with the local engine's
:class:`~camlens.audit.store.PartWriter` (whole parts, every ``flush_every`` images), so one store
serves every engine and a run resumes on any of them.

Nothing is lost or written twice: an image's id is its position in the source (``index``); an
actor that dies is restarted by Ray (``max_restarts``) and its batch retried
(``max_task_retries``), and since only the driver writes, a redone batch is written once; a
killed driver loses at most the ``flush_every`` rows it had not written, and the same command
run again skips the indices already in parts.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import numpy as np
import pyarrow as pa
import torch

from ..extras import require
from .loader import AuditDataset, collate
from .runner import (
    AuditResult,
    ModelLike,
    _manifest,
    batch_rows,
    finish_run,
    label_map,
    layer_name,
    mapped_labels,
    start_or_resume,
)
from .sources import Source, open_source
from .store import SCHEMA, PartWriter, RunDir

FEATURE = "camlens audit --engine ray"


class AuditActor:
    """One actor of the pool: the model and its CAM, built once; ``__call__`` explains a batch.

    ``payload`` (or an ``ObjectRef`` to it, fetched once) holds the source, the loaded model
    (on the CPU), the method and layer name, the mapped labels, ``border`` and ``max_pixels``.
    """

    def __init__(self, payload: Any, device: str, threads: int | None) -> None:
        import ray

        from ..methods import get_method

        if isinstance(payload, ray.ObjectRef):
            payload = ray.get(payload)
        if threads:
            torch.set_num_threads(threads)
        self.device = torch.device(device)
        loaded = payload["loaded"]
        net = loaded.model.to(self.device).eval()
        self.cam = get_method(payload["method"])(net, payload["layer"])
        self.source: Source = payload["source"]
        self.mapped: np.ndarray = payload["mapped"]
        self.border: float = payload["border"]
        self.dataset = AuditDataset(
            self.source,
            [],
            loaded.preprocess,
            crop=getattr(loaded, "crop", None),
            max_pixels=payload["max_pixels"],
        )

    def __call__(self, batch: pa.Table) -> pa.Table:
        self.dataset.indices = batch.column("index").to_pylist()
        items = collate([self.dataset[k] for k in range(len(self.dataset))])
        rows = batch_rows(items, self.cam, self.device, self.source, self.mapped, 0, self.border)
        return pa.Table.from_batches(rows, schema=SCHEMA)


def _cpu_copy(loaded: ModelLike) -> ModelLike:
    """``loaded`` as shipped to the actors: on the CPU (the caller's model is not moved)."""
    param = next(loaded.model.parameters(), None)
    if param is None or param.device.type == "cpu":
        return loaded
    shipped = copy.copy(loaded)
    shipped.model = copy.deepcopy(loaded.model).to("cpu")
    return shipped


def _pool_size(ray: Any, num_cpus: float, num_gpus: float) -> int:
    """Actors that fit the cluster's CPUs (or GPUs when each actor takes some)."""
    resources = ray.cluster_resources()
    if num_gpus:
        return max(1, int(resources.get("GPU", 0) // num_gpus))
    return max(1, int(resources.get("CPU", 1) // max(num_cpus, 1e-9)))


def run_audit_ray(
    data: str | Source,
    loaded: ModelLike,
    out: str,
    *,
    masks: str | None = None,
    method: str = "gradcam",
    layer: Any = None,
    batch_size: int = 64,
    border: float = 0.125,
    flush_every: int = 512,
    force: bool = False,
    progress: bool = True,
    report: bool = True,
    max_pixels: int | None = 100_000_000,
    storage_options: dict[str, Any] | None = None,
    num_cpus: float = 1,
    num_gpus: float = 0,
    concurrency: int | tuple[int, int] | None = None,
    max_restarts: int = -1,
    max_task_retries: int = -1,
) -> AuditResult:
    """Audit ``data`` with ``loaded`` into ``out`` on Ray Data (see the module docstring).

    Connects to the Ray cluster ``ray.init()`` finds (``RAY_ADDRESS``, ``ray job submit``) or
    starts a local one (and shuts it down at the end); a session already initialised is used as
    it is. Each actor takes ``num_cpus`` CPUs (and that many intra-op threads) and ``num_gpus``
    GPUs (then it runs on ``cuda``); ``concurrency`` is the pool size, an int or ``(min, max)``
    for an autoscaling pool (default: as many actors as the cluster's CPUs or GPUs hold).
    ``max_restarts`` / ``max_task_retries`` are Ray's (-1: without limit).
    """
    ray = require("ray", FEATURE, "ray")
    require("ray.data", FEATURE, "ray")
    from tqdm.auto import tqdm

    source = data if isinstance(data, Source) else open_source(data, masks, storage_options)
    net = loaded.model
    layer = layer if layer is not None else loaded.target_layer
    name = layer_name(net, layer)
    labels_of, labels_by = label_map(source, loaded.categories)
    run = RunDir(out)
    options = {
        "batch_size": batch_size,
        "flush_every": flush_every,
        "num_cpus": num_cpus,
        "num_gpus": num_gpus,
        "concurrency": concurrency,
    }
    started = not ray.is_initialized()
    if started:
        ray.init(log_to_driver=False)
    try:
        pool = concurrency if concurrency is not None else _pool_size(ray, num_cpus, num_gpus)
        size = pool if isinstance(pool, int) else max(pool)
        manifest = _manifest(
            source, loaded, method, name, masks, border, options, labels_by, size, engine="ray"
        )
        status = start_or_resume(run, manifest, force, len(source))
        remaining: list[int] = status["remaining"]
        writer = PartWriter(run, 0, flush_every)
        bar = tqdm(
            total=len(remaining),
            unit="img",
            desc="audit (ray)",
            disable=not progress,
            dynamic_ncols=True,
            smoothing=0.1,
        )
        for path in status["set_aside"]:
            bar.write(f"set aside {path}.corrupt: the part file does not read back; redoing it")
        n_errors, clock = 0, {"start": time.perf_counter()}
        try:
            if remaining:
                n_errors = _stream(
                    ray, source, loaded, method, name, labels_of, border, max_pixels,
                    remaining, batch_size, num_cpus, num_gpus, pool, max_restarts,
                    max_task_retries, progress, writer, bar, clock,
                )  # fmt: skip
            writer.flush()
        except KeyboardInterrupt:
            writer.flush()  # Ctrl-C loses nothing that reached the driver
            bar.close()
            raise
        bar.close()
        findings = finish_run(run, source, loaded, manifest, border) if report else None
    finally:
        if started:
            ray.shutdown()
    return AuditResult(
        run_dir=run.url,
        rank=0,
        world_size=size,
        total=len(source),
        already_done=len(source) - len(remaining),
        processed=writer.written,
        errors=n_errors,
        resumed=bool(status["resumed"]),
        findings=findings,
        startup_s=clock["first"] - clock["start"] if "first" in clock else None,
    )


def _stream(
    ray, source, loaded, method, name, labels_of, border, max_pixels, remaining, batch_size,
    num_cpus, num_gpus, pool, max_restarts, max_task_retries, progress, writer, bar, clock,
) -> int:  # fmt: skip
    """Run the pool over ``remaining`` and write the rows as they arrive; the error count."""
    from ray.data import DataContext

    context = DataContext.get_current()
    context.enable_progress_bars = progress
    payload = ray.put(
        {
            "source": source,
            "loaded": _cpu_copy(loaded),
            "method": method,
            "layer": name,
            "mapped": mapped_labels(source, labels_of),
            "border": border,
            "max_pixels": max_pixels,
        }
    )
    # Ray Data's actor pools restart actors and retry their tasks without limit by default
    retries = {"max_restarts": max_restarts, "max_task_retries": max_task_retries}
    retries = {k: v for k, v in retries.items() if v != -1}
    # one block per batch, built here (from_items runs no tasks to make them)
    blocks = -(-len(remaining) // batch_size)
    items = [{"index": i} for i in remaining]
    dataset = ray.data.from_items(items, override_num_blocks=blocks).map_batches(
        AuditActor,
        fn_constructor_kwargs={
            "payload": payload,
            "device": "cuda" if num_gpus else "cpu",
            "threads": max(1, int(num_cpus)) if not num_gpus else None,
        },
        batch_size=batch_size,
        batch_format="pyarrow",
        num_cpus=num_cpus,
        num_gpus=num_gpus or None,
        concurrency=pool,
        **retries,
    )
    n_errors = 0
    for table in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
        clock.setdefault("first", time.perf_counter())
        errors = table.column("error")
        if errors.null_count < table.num_rows:
            paths = table.column("path").to_pylist()
            for path, message in zip(paths, errors.to_pylist(), strict=True):
                if message is not None:
                    n_errors += 1
                    bar.write(f"skipped {path}: {message}")
        for rows in table.to_batches():
            writer.add(rows)
        bar.update(table.num_rows)
    return n_errors
