"""Throughput of ``camlens audit`` against the floor, and 1 process against 2 (torchrun).

    .venv/bin/python bench/bench_audit.py                     # CIFAR ResNet-56, 2,000 CIFAR photos
    .venv/bin/python bench/bench_audit.py --n 500 --repeats 1 # quicker
    .venv/bin/python bench/bench_audit.py --engines --n 2000  # local vs torchrun vs Ray Data

The floor is the least work any audit must do per batch: one forward whose autograd graph starts
at the target layer (parameters frozen, a hook makes the layer's output a graph leaf) and
``torch.autograd.grad`` of the predicted logits to that layer (as ``bench_core.floor_runner``),
on the same model, the same images already decoded and preprocessed in memory, the same batch size.

The audit is ``run_audit`` end to end on the same images read from disk: JPEG decoding and
preprocessing in DataLoader workers, Grad-CAM, the evidence statistics, the Parquet parts; without
the findings and the report (one-off, timed separately). Ratio = audit time / floor time.

Scale-out: the same audit as 1 process and under ``torchrun --standalone --nproc_per_node=2``
(gloo, one intra-op thread and one loader worker per rank), wall time from the first to the last
image (process start-up and model loading excluded, ``init_process_group`` included).

Engines (``--engines``): the same audit on the local engine (one process, two intra-op threads,
one loader worker), under ``torchrun`` (two processes, one thread and one loader worker each) and
on Ray Data (a local ``ray.init(num_cpus=2)``; one actor of one CPU, then two), every engine in its
own subprocess, rounds interleaved (local, torchrun, ray-1, ray-2, then again). Time is the
``run_audit`` call (images to parts, no findings or report): for torchrun it includes
``init_process_group`` and the loader workers' start, for Ray the actors' start (each imports torch
and builds the model) but not ``ray.init``, which a cluster has already done (reported apart). The
rows of every engine are checked against the local engine's, and the findings computed from them.

Rounds alternate floor and audit so drift on a shared machine hits both; medians are reported
with the load average (``uptime``) before and after, since timing on a busy machine is unreliable.
CPU seconds (this process plus its reaped loader workers, ``getrusage``) are reported too: with
one intra-op thread they barely move when other processes load the machine, so their ratio is the
robust measure of the audit's extra work over the floor.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import Tensor, nn

HERE = Path(__file__).resolve()


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return f"loadavg {os.getloadavg()}"


def make_manifest(n: int, folder: Path) -> Path:
    """A CSV of the first ``n / 10`` CIFAR-10 test photos of each class."""
    from camlens.models.zoo import cifar10_test_root

    root = cifar10_test_root()
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    per = max(1, n // len(classes))
    lines = ["path,label"]
    for name in classes:
        files = sorted((root / name).iterdir())[:per]
        lines += [f"{f},{name}" for f in files]
    path = folder / "bench-manifest.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def floor(model: nn.Module, layer: nn.Module, x: Tensor) -> Tensor:
    """Forward with the graph starting at ``layer``, gradient of the top logits to it."""
    params = list(model.parameters())
    leaves: list[Tensor] = []

    def leaf(module: nn.Module, inputs: object, output: Tensor) -> Tensor:
        output = output.detach().requires_grad_(True)
        leaves.append(output)
        return output

    for p in params:
        p.requires_grad_(False)
    handle = layer.register_forward_hook(leaf)
    try:
        with torch.enable_grad():
            logits = model(x)
            scores = logits.gather(1, logits.argmax(1, keepdim=True))
            (grad,) = torch.autograd.grad(scores.sum(), leaves[0])
    finally:
        handle.remove()
        for p in params:
            p.requires_grad_(True)
    return grad


def cpu_seconds() -> float:
    """CPU time of this process and of its reaped children (the DataLoader workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def time_floor(loaded, images: list[Tensor], batch: int) -> tuple[float, float]:
    """(wall, CPU) seconds of the floor over ``images``."""
    layer = loaded.model.get_submodule(loaded.target_layer)
    start, cpu = time.perf_counter(), cpu_seconds()
    for i in range(0, len(images), batch):
        floor(loaded.model, layer, torch.stack(images[i : i + batch]))
    return time.perf_counter() - start, cpu_seconds() - cpu


def time_audit(loaded, manifest: Path, out: Path, batch: int, workers: int) -> tuple[float, float]:
    """(wall, CPU) seconds of the audit, CPU including its loader workers'."""
    from camlens.audit import run_audit

    start, cpu = time.perf_counter(), cpu_seconds()
    run_audit(
        str(manifest), loaded, str(out), batch_size=batch, workers=workers, force=True,
        progress=False, report=False, flush_every=1024,
    )  # fmt: skip
    return time.perf_counter() - start, cpu_seconds() - cpu


def worker(args: argparse.Namespace) -> None:
    """One process of the scale-out measurement (plain, under torchrun, or a Ray driver)."""
    from camlens.audit import run_audit
    from camlens.models import load_model

    loaded = load_model(args.model)
    extra: dict = {}
    init_s = 0.0
    if args.engine == "ray":
        import ray

        start = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        init_s = time.perf_counter() - start
        extra = {"engine": "ray", "num_cpus": 1, "concurrency": args.actors}
    start = time.perf_counter()
    result = run_audit(
        str(args.manifest), loaded, str(args.out), batch_size=args.batch, workers=1,
        force=True, progress=False, report=False, flush_every=1024, **extra,
    )  # fmt: skip
    if result.rank == 0:
        seconds = time.perf_counter() - start
        startup = result.startup_s
        print(json.dumps({"seconds": seconds, "images": result.total, "init_s": init_s,
                          "startup_s": startup}))  # fmt: skip


def run_engine(args: argparse.Namespace, manifest: Path, out: Path, engine: str) -> dict:
    """One engine's audit in a subprocess: ``local`` (1 process, 2 threads), ``torchrun`` (2
    processes of 1 thread), ``ray-1`` / ``ray-2`` (1 or 2 actors of 1 CPU)."""
    threads = "2" if engine == "local" else "1"
    # Ray starts its workers at nice 15 (its control plane first): on a machine shared with other
    # work that starves the actors; at 0 they compete as the torchrun processes do
    env = {**os.environ, "OMP_NUM_THREADS": threads, "RAY_worker_niceness": "0"}
    env.pop("WORLD_SIZE", None)
    common = ["--worker", "--model", args.model, "--manifest", str(manifest)]
    common += ["--batch", str(args.batch), "--out", str(out)]
    if engine.startswith("ray"):
        common += ["--engine", "ray", "--actors", engine.split("-")[1]]
    if engine == "torchrun":
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        cmd += ["--nproc_per_node=2", str(HERE), *common]
    else:
        cmd = [sys.executable, str(HERE), *common]
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    command_s = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{done.stderr[-3000:]}")
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("{")][-1]
    return {**json.loads(line), "command_s": command_s}


ENGINES = ("local", "torchrun", "ray-1", "ray-2")


def compare_engines(args: argparse.Namespace) -> None:
    """The engines interleaved over ``--repeats`` rounds; rows and findings checked equal."""
    import numpy as np

    from camlens.audit import RunDir, compute_findings, load_results
    from camlens.loading import load_model

    record: dict = {"model": args.model, "batch": args.batch, "cpus": os.cpu_count()}
    record["uptime_before"] = uptime()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        manifest = make_manifest(args.n, tmp)
        engines = args.engine_list.split(",")
        seconds: dict[str, list[float]] = {e: [] for e in engines}
        commands: dict[str, list[float]] = {e: [] for e in engines}
        inits: list[float] = []
        startups: dict[str, list[float]] = {"ray-1": [], "ray-2": []}
        for r in range(args.repeats):
            for engine in engines:
                got = run_engine(args, manifest, tmp / f"{engine}-{r}", engine)
                seconds[engine].append(got["seconds"])
                commands[engine].append(got["command_s"])
                n = got["images"]
                note = ""
                if engine.startswith("ray"):
                    inits.append(got["init_s"])
                    startups[engine].append(got["startup_s"])
                    rest = got["seconds"] - got["startup_s"]
                    note = f" first rows after {got['startup_s']:.1f} s, then {n / rest:.1f} img/s"
                print(f"round {r} {engine:8s} {n / got['seconds']:7.1f} img/s "
                      f"({got['seconds']:.1f} s; whole command {got['command_s']:.1f} s){note}"
                      f"  [{uptime()}]", flush=True)  # fmt: skip
        categories = list(load_model(args.model).categories or [])
        base = load_results(str(tmp / f"{engines[0]}-0"))  # rows compared with the first's
        flags = {}
        same = {}
        for engine in engines:
            run = tmp / f"{engine}-0"
            rows = load_results(str(run))
            same[engine] = bool(
                rows["index"].tolist() == base["index"].tolist()
                and rows["prediction"].tolist() == base["prediction"].tolist()
                and np.allclose(np.stack(rows["map"]), np.stack(base["map"]), atol=1e-4)
                and np.allclose(rows["confidence"], base["confidence"], atol=1e-5)
            )
            found = compute_findings(RunDir(str(run)).read(), categories)
            flags[engine] = (found["flagged_classes"], found["accuracy"])
    med = {e: statistics.median(v) for e, v in seconds.items()}
    rate = {e: n / med[e] for e in engines}
    record.update(
        images=n, seconds=seconds, img_s=rate, ray_init_s=inits, same_rows=same,
        ray_startup_s=startups, command_s=commands,
        flags={e: f[0] for e, f in flags.items()}, accuracy={e: f[1] for e, f in flags.items()},
        ray_vs_torchrun=rate["ray-2"] / rate["torchrun"] if {"ray-2", "torchrun"} <= set(rate)
        else None,
        ray_scaling=rate["ray-2"] / rate["ray-1"] if {"ray-1", "ray-2"} <= set(rate) else None,
        uptime_after=uptime(),
    )  # fmt: skip
    print(f"{n} images, batch {args.batch}, medians of {args.repeats}")
    for e in engines:
        print(f"{e:8s} {rate[e]:7.1f} img/s  rows as {engines[0]}'s: {same[e]}  "
              f"flags {flags[e][0]} accuracy {flags[e][1]:.4f}")  # fmt: skip
    if record["ray_vs_torchrun"] is not None:
        print(f"ray (2 actors) / torchrun (2 processes): {record['ray_vs_torchrun']:.3f}")
    if record["ray_scaling"] is not None:
        print(f"ray 2 actors / 1 actor: {record['ray_scaling']:.2f}x")
    if inits:
        print(f"ray.init: {statistics.median(inits):.1f} s")
    print(f"load: before [{record['uptime_before']}]  after [{record['uptime_after']}]")
    if args.out:
        args.out.write_text(json.dumps(record, indent=2))


def scale_out(args: argparse.Namespace, manifest: Path, tmp: Path, procs: int) -> float:
    """Seconds of the audit in ``procs`` processes, each with cores / procs intra-op threads
    (one process: ``--threads`` when given)."""
    threads = max(1, (os.cpu_count() or 2) // procs)
    if procs == 1 and args.threads:
        threads = args.threads
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    env.pop("WORLD_SIZE", None)
    common = ["--worker", "--model", args.model, "--manifest", str(manifest)]
    common += ["--batch", str(args.batch), "--out", str(tmp / f"scale-{procs}")]
    if procs == 1:
        cmd = [sys.executable, str(HERE), *common]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        cmd += [f"--nproc_per_node={procs}", str(HERE), *common]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{done.stderr[-3000:]}")
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("{")][-1]
    return json.loads(line)["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="cifar10-resnet56")
    parser.add_argument("--n", type=int, default=2000, help="CIFAR-10 test photos used")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--workers", type=int, default=1, help="loader workers (1 process)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads (1 process)")
    parser.add_argument("--no-scale", action="store_true", help="skip the 1-vs-2-process part")
    parser.add_argument("--out", type=Path, default=None, help="JSON results file")
    parser.add_argument(
        "--engines", action="store_true", help="local vs torchrun vs Ray (1 and 2 actors) only"
    )
    parser.add_argument(
        "--engine-list", default=",".join(ENGINES), help="--engines: which, in this order"
    )
    parser.add_argument("--engine", default="local", help=argparse.SUPPRESS)
    parser.add_argument("--actors", type=int, default=2, help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--manifest", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    if args.engines:
        compare_engines(args)
        return

    from camlens.audit.sources import open_source
    from camlens.models import load_model

    if args.threads:
        torch.set_num_threads(args.threads)

    loaded = load_model(args.model)
    record = {
        "model": args.model, "batch": args.batch, "workers": args.workers,
        "threads": torch.get_num_threads(), "python": platform.python_version(),
        "torch": torch.__version__, "cpus": os.cpu_count(), "uptime_before": uptime(),
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        manifest = make_manifest(args.n, tmp)
        source = open_source(str(manifest))
        images = [loaded.preprocess(source.image(i)) for i in range(len(source))]
        n = len(images)
        time_floor(loaded, images[: args.batch], args.batch)  # warm-up
        time_audit(loaded, manifest, tmp / "warm", args.batch, args.workers)
        floors, audits, floor_cpu, audit_cpu = [], [], [], []
        for _ in range(args.repeats):
            wall, cpu = time_floor(loaded, images, args.batch)
            floors.append(wall)
            floor_cpu.append(cpu)
            wall, cpu = time_audit(loaded, manifest, tmp / "run", args.batch, args.workers)
            audits.append(wall)
            audit_cpu.append(cpu)
        from camlens.audit import RunDir, compute_findings, render_report

        run = RunDir(str(tmp / "run"))
        start = time.perf_counter()
        table = run.read()
        findings = compute_findings(table, list(loaded.categories or []))
        render_report(run, source, loaded, findings, table)
        report_s = time.perf_counter() - start
        f, a = statistics.median(floors), statistics.median(audits)
        fc, ac = statistics.median(floor_cpu), statistics.median(audit_cpu)
        record.update(
            images=n, floor_s=floors, audit_s=audits, report_s=report_s,
            floor_img_s=n / f, audit_img_s=n / a, ratio=a / f,
            floor_cpu_s=floor_cpu, audit_cpu_s=audit_cpu, cpu_ratio=ac / fc,
        )  # fmt: skip
        print(f"{n} images, batch {args.batch}, {torch.get_num_threads()} threads")
        print(f"floor (forward + gradient to the layer): {n / f:7.1f} img/s  ({f:.2f} s)")
        print(f"audit (load, CAM, statistics, parquet):  {n / a:7.1f} img/s  ({a:.2f} s)")
        print(f"audit / floor time: {a / f:.3f}   findings + report: {report_s:.2f} s")
        print(f"CPU s (with workers): floor {fc:.2f}, audit {ac:.2f}, ratio {ac / fc:.3f}")
        if not args.no_scale:
            one = statistics.median(scale_out(args, manifest, tmp, 1) for _ in range(args.repeats))
            two = statistics.median(scale_out(args, manifest, tmp, 2) for _ in range(args.repeats))
            record.update(one_process_s=one, two_processes_s=two, speedup=one / two)
            print(f"1 process: {n / one:7.1f} img/s   2 processes (torchrun, gloo): "
                  f"{n / two:7.1f} img/s   speed-up {one / two:.2f}x")  # fmt: skip
    record["uptime_after"] = uptime()
    print(f"load: before [{record['uptime_before']}]  after [{record['uptime_after']}]")
    if args.out:
        args.out.write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
