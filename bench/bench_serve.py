"""Burst test of ``camlens serve``: N concurrent explain requests over loopback, per configuration
of workers and queue; prints what came back, latencies and the server's resident memory.

.venv/bin/python bench/bench_serve.py                      # demo MobileNetV2 if installed
.venv/bin/python bench/bench_serve.py --model resnet18 --weights random --configs 1x8,2x8,1x64

Each configuration starts its own ``camlens serve`` subprocess on a free loopback port, warms it
up with a few requests, then sends ``--requests`` requests at once (one connection each) and
samples the server's RSS (``/proc/PID/status``) every 20 ms. After the burst it checks that
``/healthz`` has nothing admitted and that one more request is served. Writes a Markdown table
and the JSON samples to ``--out`` (``bench/results/serve-<date>.md|json``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import platform
import sys
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from camlens.models._pretrained import packaged_checkpoint
from camlens.serve.burst import ServerProcess, burst


def photo(width: int, height: int) -> bytes:
    """A smooth synthetic JPEG of ``width x height`` (what a camera-ish upload weighs)."""
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    rgb = np.stack([np.sin(6 * x) * 0.5 + 0.5, np.cos(5 * y) * 0.5 + 0.5, x * y], axis=-1)
    buffer = io.BytesIO()
    Image.fromarray((rgb * 255).astype(np.uint8)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def settle(url: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        health = httpx.get(f"{url}/healthz", timeout=30).json()
        if health["admitted"] == 0 or time.monotonic() > deadline:
            return health
        time.sleep(0.05)


def explain_once(url: str, image: bytes, options: str | None) -> int:
    data = {"options": options} if options else None
    files = {"image": ("bench.jpg", image, "image/jpeg")}
    return httpx.post(f"{url}/v1/explain", files=files, data=data, timeout=300).status_code


def run_config(args: argparse.Namespace, workers: int, queue: int, image: bytes) -> dict:
    model = ["--model", args.model] + (["--weights", args.weights] if args.weights else [])
    model += ["--size", str(args.size)] if args.size else []
    server_args = [
        *model,
        "--max-concurrency",
        str(workers),
        "--queue",
        str(queue),
        "--timeout",
        str(args.timeout),
        "--log-level",
        "warning",
    ]
    server_args += ["--threads", str(args.threads)] if args.threads else []
    with ServerProcess(server_args) as server:
        for _ in range(args.warmup):
            status = explain_once(server.url, image, args.options)
            if status != 200:
                raise SystemExit(f"warm-up request got {status}:\n{server.log_tail()}")
        result = burst(
            server.url, image, requests=args.requests, options=args.options, rss=server.rss_bytes
        )
        health = settle(server.url)
        after = explain_once(server.url, image, args.options)
        traceback = "Traceback" in server.log.read_text(errors="replace")
    summary = result.summary()
    summary.update(
        workers=workers,
        queue=queue,
        admitted_after=health["admitted"],
        served_after=after == 200,
        traceback_in_log=traceback,
        transport_errors=len(result.transport_errors),
        latencies=[round(a.seconds, 4) for a in result.answers],
    )
    return summary


def table(rows: list[dict]) -> str:
    head = (
        "| workers x queue | 200 | 503 | other | burst s | p50 s | p95 s | RSS before MiB "
        "| RSS peak MiB | growth MiB | serves after |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    lines = [head]
    for r in rows:
        statuses = {int(k): v for k, v in r["statuses"].items()}
        other = sum(v for k, v in statuses.items() if k not in (200, 503))
        lines.append(
            f"| {r['workers']} x {r['queue']} | {statuses.get(200, 0)} | {statuses.get(503, 0)} "
            f"| {other} | {r['seconds']} | {r['latency_p50']} | {r['latency_p95']} "
            f"| {r['rss_before_mib']} | {r['rss_peak_mib']} | {r['rss_growth_mib']} "
            f"| {'yes' if r['served_after'] and r['admitted_after'] == 0 else 'NO'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_model = "demo" if packaged_checkpoint() is not None else "resnet18"
    parser.add_argument("--model", default=default_model)
    parser.add_argument(
        "--weights", default=None if default_model == "demo" else "random", help="see serve"
    )
    parser.add_argument("--size", type=int, default=None, help="--size of camlens serve")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument(
        "--configs", default="1x8,2x8,1x64", help="workers x queue, comma-separated"
    )
    parser.add_argument("--image", default="640x480", help="upload size WxH (synthetic JPEG)")
    parser.add_argument("--options", default=None, help='JSON options, e.g. {"method":"gradcam"}')
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)

    width, height = (int(v) for v in args.image.lower().split("x"))
    image = photo(width, height)
    configs = [tuple(int(v) for v in c.split("x")) for c in args.configs.split(",") if c]
    rows = []
    for workers, queue in configs:
        print(f"burst: {args.requests} requests, {workers} worker(s), queue {queue}", flush=True)
        rows.append(run_config(args, workers, queue, image))
    text = table(rows)
    meta = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "model": args.model,
        "weights": args.weights,
        "requests": args.requests,
        "image": f"{width}x{height} JPEG, {len(image)} bytes",
        "threads": args.threads,
        "machine": f"{platform.machine()}, {platform.python_version()}, {sys.platform}",
    }
    header = (
        f"camlens serve burst: {args.requests} concurrent explain requests, model "
        f"{args.model}{' (' + args.weights + ')' if args.weights else ''}, upload {meta['image']}, "
        f"{args.threads} torch thread(s) per worker"
    )
    print()
    print(header)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"serve-{dt.date.today().isoformat()}"
    stem.with_suffix(".md").write_text(f"{header}\n\n{text}\n")
    stem.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    print(f"\nwritten: {stem}.md, {stem}.json")
    bad = [
        r
        for r in rows
        if set(map(int, r["statuses"])) - {200, 503}
        or not r["served_after"]
        or r["traceback_in_log"]
    ]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
