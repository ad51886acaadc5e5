"""``camlens audit DATA --model MODEL --out RUN_DIR``: explain a whole dataset, find bias.

DATA is an ImageFolder tree, a CSV/Parquet manifest, or ``benchmark[:n=...,cue=...]``. Results go
to Parquet part files in RUN_DIR (any fsspec path); an interrupted run resumes when run again
(``--force`` starts over). The same command under ``torchrun --nproc_per_node=N`` shards the
data by rank. ``camlens audit --summary RUN_DIR`` prints the findings of a finished run.
"""

from __future__ import annotations

import click

from ._common import (
    EXIT_BAD_INPUT,
    EXIT_USAGE,
    CommandError,
    GuardedCommand,
    complete_methods,
    cpu_share,
    debug_option,
    device_option,
    load_model_for_cli,
    model_options,
    parse_method,
    say,
)


@click.command(name="audit", cls=GuardedCommand)
@click.argument("data", required=False, metavar="[DATA]")
@model_options(required=False)
@click.option(
    "--out",
    metavar="RUN_DIR",
    default=None,
    help="Run directory (a folder or an fsspec URL such as s3://bucket/run); resumed if it "
    "holds the same run.",
)
@click.option(
    "--method",
    default="gradcam",
    show_default=True,
    shell_complete=complete_methods,
    help="A camlens CAM method: gradcam, gradcam++, layercam, xgradcam, eigencam, ...",
)
@click.option(
    "--layer",
    default=None,
    metavar="NAME",
    help="The layer to explain (default: the model's usual Grad-CAM layer).",
)
@click.option(
    "--masks",
    default=None,
    metavar="MASKS",
    help="Folder of object masks mirroring DATA: the mask of DATA/cat/1.jpg is MASKS/cat/1.png "
    "(non-zero = object).",
)
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=None,
    help="DataLoader worker processes per rank (default: CPU cores / ranks, at most 4).",
)
@click.option(
    "--border",
    type=click.FloatRange(0.0, 0.5, max_open=True),
    default=0.125,
    show_default=True,
    help="Width of the border band, as a fraction of each side.",
)
@click.option(
    "--flush-every",
    type=click.IntRange(min=1),
    default=512,
    show_default=True,
    help="Images per Parquet part file (at most this many are redone after a kill -9).",
)
@click.option("--force", is_flag=True, help="Delete RUN_DIR's previous results and start over.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option(
    "--summary",
    "summary_dir",
    default=None,
    metavar="RUN_DIR",
    help="Print the findings of a finished run and exit (no DATA or --model needed).",
)
@click.option(
    "--export-masks",
    default=None,
    metavar="FILE.npz",
    help="Write the regions of the run's shared-region findings as per-image masks "
    "(camlens.training's must-not-use masks; camlens.audit.masks.RegionMasks.load).",
)
@click.option(
    "--mask-size",
    type=click.IntRange(min=1),
    default=None,
    help="Side of the exported masks in pixels (the training images' size).",
)
@click.option(
    "--mask-scope",
    type=click.Choice(["flagged", "class", "all"]),
    default="class",
    show_default=True,
    help="Which images get the region: those of the finding, the whole class, or all images.",
)
@click.option(
    "--compare",
    "compare_dir",
    default=None,
    metavar="RUN_DIR",
    help="Compare with another finished run (before → after): a table here and compare.html "
    "in this run's directory.",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="local: this process (or the ranks torchrun started); ray: a Ray Data actor pool on "
    "the cluster ray.init() finds (RAY_ADDRESS, ray job submit) or a local one.",
)
@click.option(
    "--num-cpus",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="--engine ray: CPUs per actor (and its intra-op threads).",
)
@click.option(
    "--num-gpus",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="--engine ray: GPUs per actor (an actor with a GPU runs on cuda).",
)
@click.option(
    "--concurrency",
    default=None,
    metavar="N|MIN,MAX",
    help="--engine ray: actors in the pool, or MIN,MAX for an autoscaling pool (default: as "
    "many as the cluster's CPUs, or GPUs, hold).",
)
@click.option(
    "--storage-options",
    default=None,
    metavar="JSON",
    help="fsspec options for a DATA URL and the image URLs of a manifest, e.g. '{\"anon\": true}'.",
)
@device_option
@debug_option
def command(
    data: str | None,
    model: str | None,
    weights: str | None,
    labels: str | None,
    size: int | None,
    out: str | None,
    method: str,
    layer: str | None,
    masks: str | None,
    batch_size: int,
    workers: int | None,
    border: float,
    flush_every: int,
    force: bool,
    no_progress: bool,
    summary_dir: str | None,
    export_masks: str | None,
    mask_size: int | None,
    mask_scope: str,
    compare_dir: str | None,
    engine: str,
    num_cpus: float,
    num_gpus: float,
    concurrency: str | None,
    storage_options: str | None,
    device: str,
    debug: bool,
) -> None:
    """Audit a dataset: per-image predictions, maps and evidence statistics, per-class findings
    (shared regions such as watermarks, evidence off the object or in the border), a report.

    DATA: an ImageFolder tree, a .csv/.parquet manifest, or benchmark[:n=..,cue=..]. Run the
    same command again to resume; under torchrun --nproc_per_node=N it shards by rank.
    """
    from ..audit import RunDirError, read_summary, run_audit
    from ..audit.distributed import launched_world_size, local_device
    from ..models import resolve_device

    if export_masks is not None and mask_size is None:
        raise click.UsageError("--export-masks needs --mask-size (the training images' side).")
    if summary_dir is not None:
        if data is not None or model is not None:
            raise click.UsageError("--summary RUN_DIR takes no DATA and no --model.")
        try:
            click.echo(read_summary(summary_dir))
            _after_run(summary_dir, export_masks, mask_size, mask_scope, compare_dir)
        except RunDirError as exc:
            raise CommandError(str(exc), EXIT_USAGE) from None
        return
    if data is None or model is None or out is None:
        raise click.UsageError(
            "give DATA, --model MODEL and --out RUN_DIR (or --summary RUN_DIR to read a run)."
        )
    canonical, _ = parse_method(method)
    world = launched_world_size()
    engine_options = _engine_options(engine, world, num_cpus, num_gpus, concurrency)
    device = str(local_device(resolve_device(device)))  # torchrun: GPU LOCAL_RANK for bare cuda
    if workers is None:
        workers = cpu_share(world)
    loaded = load_model_for_cli(model, weights, device, labels, size)
    try:
        result = run_audit(
            data,
            loaded,
            out,
            masks=masks,
            method=canonical,
            layer=layer,
            batch_size=batch_size,
            workers=workers,
            border=border,
            flush_every=flush_every,
            force=force,
            progress=not no_progress,
            storage_options=_json_options(storage_options),
            **engine_options,
        )
    except RunDirError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    if result.rank != 0:
        return
    done = "resumed" if result.resumed else "audited"
    where = f"rank 0 of {result.world_size}"
    if engine == "ray":
        where = f"{result.world_size} Ray actor{'s' if result.world_size != 1 else ''}"
    say(
        f"{done} {result.total} images ({result.already_done} already done, "
        f"{result.processed} now on {where}, {result.errors} skipped)"
    )
    if result.findings is not None:
        flagged = result.findings["flagged_classes"]
        say(f"flagged classes: {', '.join(flagged) if flagged else 'none'}")
    say(f"report: {result.run_dir.rstrip('/')}/report.html")
    if result.findings is not None and not result.findings["n_explained"]:
        raise CommandError(
            f"none of the {result.total} images could be read (see the skipped images in the "
            "report); nothing was explained.",
            EXIT_BAD_INPUT,
        )
    try:
        _after_run(result.run_dir, export_masks, mask_size, mask_scope, compare_dir)
    except RunDirError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None


def _engine_options(
    engine: str, world: int, num_cpus: float, num_gpus: float, concurrency: str | None
) -> dict:
    """run_audit's engine keywords; --engine ray checks that Ray is installed (one line)."""
    if engine == "local":
        return {}
    if world > 1:
        raise click.UsageError("--engine ray runs its own actor pool; start it without torchrun.")
    from ..extras import require

    require("ray", "camlens audit --engine ray", "ray")
    pool: int | tuple[int, int] | None = None
    if concurrency is not None:
        try:
            sizes = [int(v) for v in concurrency.split(",")]
        except ValueError:
            sizes = []
        if len(sizes) not in (1, 2) or min(sizes) < 1:
            raise click.BadParameter("N or MIN,MAX, positive integers.", param_hint="--concurrency")
        pool = sizes[0] if len(sizes) == 1 else (sizes[0], sizes[1])
    return {"engine": "ray", "num_cpus": num_cpus, "num_gpus": num_gpus, "concurrency": pool}


def _json_options(text: str | None) -> dict | None:
    if text is None:
        return None
    import json

    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON ({exc}).", param_hint="--storage-options") from None
    if not isinstance(value, dict):
        raise click.BadParameter("a JSON object of fsspec options.", param_hint="--storage-options")
    return value


def _after_run(
    run_dir: str,
    export_masks: str | None,
    mask_size: int | None,
    mask_scope: str,
    compare_dir: str | None,
) -> None:
    """--export-masks and --compare on a finished run."""
    if export_masks is not None and mask_size is not None:
        from ..audit.masks import shared_region_masks

        masks = shared_region_masks(run_dir, mask_size, scope=mask_scope)  # type: ignore[arg-type]
        masks.save(export_masks)
        names = ", ".join(r["name"] for r in masks.regions) or "no shared-region finding"
        say(f"masks: {len(masks)} images ({names}) -> {export_masks}")
    if compare_dir is not None:
        from ..audit.compare import compare_runs, comparison_text, render_comparison
        from ..audit.store import RunDir

        cmp = compare_runs(compare_dir, run_dir)
        click.echo(comparison_text(cmp))
        run = RunDir(run_dir)
        with run.fs.open(run.path("compare.html"), "w") as handle:
            handle.write(render_comparison(cmp))
        say(f"comparison: {run_dir.rstrip('/')}/compare.html")
