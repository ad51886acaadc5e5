"""``run_audit``: explain every image of a dataset, write per-image results, then the findings.

Per batch: one forward and one backward (``cam.explain``) give the prediction and the map; the
evidence statistics are computed on the low-resolution maps in torch, batched; rows are buffered
and written as a Parquet part every ``flush_every`` images. Images already in whole parts are
skipped, so an interrupted run resumes where it stopped. Under ``torchrun`` each rank takes every
``world``-th remaining image and writes its own parts; rank 0 then merges and reports.
"""

from __future__ import annotations

import datetime as _dt
import platform
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import torch
from PIL import Image
from torch import Tensor, nn

from ..errors import InvalidInputError
from ..methods import get_method
from . import distributed
from .errors import RunDirError
from .loader import AuditDataset, make_loader
from .sources import Source, open_source
from .stats import STAT_NAMES, evidence_stats
from .store import SCHEMA, PartWriter, RunDir


class ModelLike(Protocol):
    """What the audit needs of a model (``camlens.models.LoadedModel`` has it)."""

    model: nn.Module
    name: str
    categories: Sequence[str] | None
    preprocess: Callable[[Image.Image], Tensor]
    weights_sha256: str | None
    target_layer: Any


@dataclass
class AuditResult:
    """What a run did on this rank, and (rank 0) the findings."""

    run_dir: str
    rank: int
    world_size: int
    total: int
    already_done: int
    processed: int
    errors: int
    resumed: bool
    findings: dict[str, Any] | None
    startup_s: float | None = None  # Ray: seconds until the first rows reached the driver


VERSIONED = ("camlens", "torch", "torchvision", "numpy", "pillow", "pyarrow", "pandas", "fsspec")


def library_versions() -> dict[str, str | None]:
    """Python's and the audited libraries' versions (``None``: not installed), for the report."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in VERSIONED:
        module = sys.modules.get("PIL" if name == "pillow" else name)
        version = getattr(module, "__version__", None)  # torch's names its build (+cu130)
        if version is None:
            try:
                version = metadata.version(name)
            except metadata.PackageNotFoundError:
                version = None
        versions[name] = str(version) if version is not None else None
    return versions


def label_map(source: Source, categories: Sequence[str] | None) -> tuple[np.ndarray, str]:
    """Data class index -> model class index: by name when every data class is a model class,
    else the identity (the data's class order is the model's)."""
    n = max(len(source.classes), 1 + max((i.label for i in source.items), default=-1))
    identity = np.arange(max(n, 1), dtype=np.int64)
    if source.classes and categories:
        cats = list(categories)
        if all(c in cats for c in source.classes):
            return np.array([cats.index(c) for c in source.classes], dtype=np.int64), "name"
    return identity, "index"


def layer_name(model: nn.Module, layer: Any) -> str:
    """The name of ``layer`` in ``model`` (a name passes through; an unknown module: its repr)."""
    if isinstance(layer, str):
        return layer
    for name, module in model.named_modules():
        if module is layer:
            return name
    return repr(layer)


def _rows(
    source: Source,
    indices: list[int],
    labels: np.ndarray,
    rank: int,
    explained: dict[str, Any] | None = None,
    errors: list[tuple[int, str]] | None = None,
) -> pa.RecordBatch:
    """A record batch for explained images (``explained`` tensors on CPU) or failed ones."""
    n = len(indices)
    cols: dict[str, Any] = {
        "index": pa.array(indices, pa.int64()),
        "path": pa.array([source.items[i].path for i in indices], pa.string()),
        "label": pa.array(labels, pa.int64()),
        "rank": pa.array(np.full(n, rank, np.int32)),
    }
    if explained is None:
        for name in ("prediction", "confidence", "score", "correct", "map_h", "map_w", "map"):
            cols[name] = pa.nulls(n, SCHEMA.field(name).type)
        for name in STAT_NAMES:
            cols[name] = pa.nulls(n, pa.float32())
        cols["error"] = pa.array([e for _, e in errors or []], pa.string())
    else:
        pred = explained["prediction"]
        h, w = explained["maps"].shape[1:]
        flat = explained["maps"].reshape(n, h * w).astype(np.float32)
        offsets = np.arange(0, n * h * w + 1, h * w, dtype=np.int32)
        cols.update(
            prediction=pa.array(pred, pa.int64()),
            confidence=pa.array(explained["confidence"], pa.float32()),
            score=pa.array(explained["score"], pa.float32()),
            correct=pa.array((labels >= 0) & (pred == labels), pa.bool_()),
            map_h=pa.array(np.full(n, h, np.int32)),
            map_w=pa.array(np.full(n, w, np.int32)),
            map=pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat.ravel())),
        )
        for name in STAT_NAMES:
            values = explained[name]
            cols[name] = pa.array(values, pa.float32(), mask=np.isnan(values))
        cols["error"] = pa.nulls(n, pa.string())
    return pa.RecordBatch.from_arrays([cols[f.name] for f in SCHEMA], schema=SCHEMA)


def mapped_labels(source: Source, labels_of: np.ndarray) -> np.ndarray:
    """Every item's label in the model's class space (-1 unknown), by item index."""
    labels_all = np.array([it.label for it in source.items], dtype=np.int64)
    known = labels_all >= 0
    mapped = np.full_like(labels_all, -1)
    mapped[known] = labels_of[np.clip(labels_all[known], 0, len(labels_of) - 1)]
    return mapped


def batch_rows(
    batch: dict[str, Any],
    cam: Any,
    device: torch.device,
    source: Source,
    mapped: np.ndarray,
    rank: int,
    border: float,
) -> list[pa.RecordBatch]:
    """The rows of one collated batch (:func:`~camlens.audit.loader.collate`): its failed images
    as error rows, its good ones explained on ``device``. Every engine runs this per batch."""
    out = []
    if batch["errors"]:
        idx = [i for i, _ in batch["errors"]]
        out.append(_rows(source, idx, mapped[idx], rank, errors=batch["errors"]))
    if batch["x"] is not None:
        x = batch["x"].to(device, non_blocking=True)
        m, has = batch["masks"], batch["has_mask"]
        if m is not None:
            m, has = m.to(device, non_blocking=True), has.to(device)
        explained = explain_batch(cam, x, m, has, border)
        idx = batch["index"]
        out.append(_rows(source, idx, mapped[idx], rank, explained))
    return out


def explain_batch(
    cam: Any, x: Tensor, masks: Tensor | None, has_mask: Tensor | None, border: float
) -> dict[str, np.ndarray]:
    """One forward/backward: prediction, confidence, the low-res map and its statistics."""
    exp = cam.explain(x)
    raw = next(iter(exp.raw.values())).detach()
    if raw.ndim != 3:
        raise RunDirError(f"the audit needs 2-D maps, got raw maps of shape {tuple(raw.shape)}.")
    logits = exp.outputs.detach().float()
    confidence, prediction = torch.softmax(logits, dim=-1).max(dim=-1)
    stats = evidence_stats(raw, (x.shape[-2], x.shape[-1]), masks, has_mask, border)
    top = raw.flatten(1).amax(1).clamp_min(torch.finfo(raw.dtype).tiny)
    out = {
        "maps": (raw / top[:, None, None]).cpu().numpy(),
        "prediction": prediction.cpu().numpy().astype(np.int64),
        "confidence": confidence.cpu().numpy(),
        "score": exp.scores.detach().float().cpu().numpy(),
    }
    out.update({k: v.cpu().numpy() for k, v in stats.items()})
    return out


def _manifest(
    source: Source,
    loaded: ModelLike,
    method: str,
    layer: str,
    masks: str | None,
    border: float,
    options: dict[str, Any],
    labels_by: str,
    world: int,
    engine: str | None = None,
) -> dict[str, Any]:
    return {
        "engine": engine or ("torchrun" if world > 1 else "local"),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "data": source.spec,
        "data_kind": source.kind,
        "masks": masks,
        "n_images": len(source),
        "classes": list(source.classes),
        "model": loaded.name,
        "weights": None if getattr(loaded, "weights", None) is None else str(loaded.weights),
        "weights_sha256": getattr(loaded, "weights_sha256", None),
        "categories": None if loaded.categories is None else list(loaded.categories),
        "labels_by": labels_by,
        "method": method,
        "layer": layer,
        "border": border,
        "options": options,
        "world_size": world,
        "command": sys.argv,
        "versions": library_versions(),
    }


def run_audit(
    data: str | Source,
    loaded: ModelLike,
    out: str,
    *,
    masks: str | None = None,
    method: str = "gradcam",
    layer: Any = None,
    batch_size: int = 64,
    workers: int = 2,
    border: float = 0.125,
    flush_every: int = 512,
    force: bool = False,
    progress: bool = True,
    report: bool = True,
    max_pixels: int | None = 100_000_000,
    stop_after: int | None = None,
    engine: str = "local",
    storage_options: dict[str, Any] | None = None,
    **ray_options: Any,
) -> AuditResult:
    """Audit ``data`` with ``loaded`` into ``out`` (resuming a matching run found there).

    ``engine="local"`` runs here (a world of one, or the ranks ``torchrun`` started);
    ``engine="ray"`` runs on Ray Data (:func:`camlens.audit.ray_engine.run_audit_ray`, which
    takes ``ray_options``: ``num_cpus``, ``num_gpus``, ``concurrency``, ``max_restarts``,
    ``max_task_retries``). Both write the same run directory, so a run started on one engine
    resumes on the other. ``storage_options`` go to fsspec for DATA's URLs (e.g. S3 keys).
    ``stop_after`` stops this rank after that many images (tests and dry runs).
    """
    if engine == "ray":
        from .ray_engine import run_audit_ray

        return run_audit_ray(
            data, loaded, out, masks=masks, method=method, layer=layer, batch_size=batch_size,
            border=border, flush_every=flush_every, force=force, progress=progress,
            report=report, max_pixels=max_pixels, storage_options=storage_options, **ray_options,
        )  # fmt: skip
    if engine != "local":
        raise InvalidInputError(
            f"engine={engine!r}: choose 'local' (this process or torchrun) or 'ray'."
        )
    if ray_options:
        raise InvalidInputError(f"{sorted(ray_options)} are options of engine='ray' only.")
    source = data if isinstance(data, Source) else open_source(data, masks, storage_options)
    net = loaded.model
    param = next(net.parameters(), None)
    current = param.device if param is not None else torch.device(getattr(loaded, "device", "cpu"))
    device = distributed.local_device(current)
    if device != current:
        net.to(device)
    world = distributed.setup(device)
    try:
        return _run(
            source, loaded, out, world, device, masks, method, layer, batch_size, workers,
            border, flush_every, force, progress, report, max_pixels, stop_after,
        )  # fmt: skip
    finally:
        world.close()


def _run(
    source, loaded, out, world, device, masks, method, layer, batch_size, workers,
    border, flush_every, force, progress, report, max_pixels, stop_after,
) -> AuditResult:  # fmt: skip
    from tqdm.auto import tqdm

    net = loaded.model
    layer = layer if layer is not None else loaded.target_layer
    name = layer_name(net, layer)
    cam = get_method(method)(net, layer)
    labels_of, labels_by = label_map(source, loaded.categories)
    run = RunDir(out)
    options = {"batch_size": batch_size, "workers": workers, "flush_every": flush_every}
    manifest = _manifest(
        source, loaded, method, name, masks, border, options, labels_by, world.size
    )

    status: dict[str, Any] = {}
    if world.rank == 0:
        try:
            status = start_or_resume(run, manifest, force, len(source))
        except RunDirError as exc:
            status = {"error": str(exc)}
    status = world.broadcast(status)
    if "error" in status:
        raise RunDirError(status["error"])
    remaining: list[int] = status["remaining"]
    mine = remaining[world.rank :: world.size]
    if stop_after is not None:
        mine = mine[:stop_after]

    dataset = AuditDataset(
        source, mine, loaded.preprocess, crop=getattr(loaded, "crop", None), max_pixels=max_pixels
    )
    loader = make_loader(dataset, batch_size, workers, pin_memory=device.type == "cuda")
    writer = PartWriter(run, world.rank, flush_every)
    mapped = mapped_labels(source, labels_of)

    n_errors = 0
    bar = tqdm(
        total=len(mine),
        unit="img",
        desc=f"audit rank {world.rank}/{world.size}" if world.active else "audit",
        disable=not progress or world.rank != 0,
        dynamic_ncols=True,
        smoothing=0.1,
    )
    for path in status["set_aside"] if world.rank == 0 else []:
        bar.write(f"set aside {path}.corrupt: the part file does not read back; redoing its images")
    try:
        for batch in loader:
            for rows in batch_rows(batch, cam, device, source, mapped, world.rank, border):
                writer.add(rows)
            n_errors += len(batch["errors"])
            for i, message in batch["errors"]:
                bar.write(f"skipped {source.items[i].path}: {message}")
            bar.update(len(batch["index"]) + len(batch["errors"]))
        writer.flush()
    except KeyboardInterrupt:
        writer.flush()  # Ctrl-C loses nothing that was computed
        bar.close()
        raise
    bar.close()
    world.barrier()

    findings = None
    if world.rank == 0 and report:
        findings = finish_run(run, source, loaded, manifest, border)
    return AuditResult(
        run_dir=run.url,
        rank=world.rank,
        world_size=world.size,
        total=len(source),
        already_done=len(source) - len(remaining),
        processed=writer.written,
        errors=n_errors,
        resumed=bool(status["resumed"]),
        findings=findings,
    )


def start_or_resume(run: RunDir, manifest: dict[str, Any], force: bool, n: int) -> dict[str, Any]:
    """Start the run or check it is this one (:meth:`RunDir.check_or_start`), drop temporaries,
    set aside unreadable parts; ``{"resumed", "remaining" (indices not yet written), "set_aside"}``.
    """
    resumed = run.check_or_start(manifest, force)
    run.clean_temporaries()
    broken = run.set_aside_broken_parts()
    done = run.done()
    return {
        "resumed": resumed,
        "remaining": [i for i in range(n) if i not in done],
        "set_aside": broken,
    }


def finish_run(
    run: RunDir, source: Source, loaded: ModelLike, manifest: dict[str, Any], border: float
) -> dict[str, Any]:
    """The findings and the report from the run's parts (whichever engine wrote them)."""
    from .findings import compute_findings
    from .report import render_report

    table = run.read()
    findings = compute_findings(table, manifest_classes(manifest), border=border)
    run.write_json("findings.json", findings)
    run.write_text("report.html", render_report(run, source, loaded, findings, table))
    return findings


def manifest_classes(manifest: dict[str, Any]) -> list[str]:
    """Class names in the model's index space (the model's categories, else the data's)."""
    return list(manifest.get("categories") or manifest.get("classes") or [])
