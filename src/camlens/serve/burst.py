"""Load checks of a real server: ``camlens serve`` in a subprocess, a burst of concurrent explain
requests at it over loopback, and its resident memory sampled meanwhile.

from camlens.serve.burst import ServerProcess, burst
with ServerProcess(["--model", "resnet18", "--weights", "random", "--size", "64"]) as server:
    result = burst(server.url, png, requests=50, rss=server.rss_bytes)
print(result.summary())

Used by ``tests/serve/test_burst.py`` and ``bench/bench_serve.py``. Needs httpx. Memory is read
from ``/proc/PID/status`` (Linux); elsewhere it is reported as unknown.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def rss_bytes(pid: int) -> int | None:
    """Resident memory of process ``pid`` in bytes (``VmRSS``), or ``None`` where unknown."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for row in text.splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1]) * 1024
    return None


class ServerProcess:
    """``python -m camlens.cli serve --port 0 ARGS`` in a subprocess.

    Ready on entry: ``url`` is read from the command's first stdout line and ``/healthz`` has
    answered. Its stderr (uvicorn's log) goes to ``log``. Stopped (SIGTERM, then SIGKILL) on exit.
    """

    def __init__(
        self, args: Sequence[str], *, log: str | os.PathLike[str] | None = None, start_timeout=180.0
    ) -> None:
        self.args = [sys.executable, "-m", "camlens.cli", "serve", "--port", "0", *args]
        if log is None:
            handle, log = tempfile.mkstemp(prefix="camlens-serve-", suffix=".log")
            os.close(handle)
        self.log = Path(log)
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss_bytes(self) -> int | None:
        return rss_bytes(self.pid)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def __enter__(self) -> ServerProcess:
        import httpx

        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self._stderr = open(self.log, "w")
        self.proc = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=self._stderr, text=True, env=env
        )
        first: list[str] = []
        stdout = self.proc.stdout
        assert stdout is not None  # stdout=PIPE
        reader = threading.Thread(target=lambda: first.append(stdout.readline()))
        reader.daemon = True
        reader.start()
        reader.join(self.start_timeout)
        if not first or "http://" not in first[0]:
            self.stop()
            raise RuntimeError(f"camlens serve did not start:\n{self.log_tail()}")
        self.url = next(word for word in first[0].split() if word.startswith("http://"))
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=10).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"camlens serve never answered /healthz:\n{self.log_tail()}")
            time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()


class MemorySampler:
    """Samples ``read()`` (bytes) every ``interval`` seconds in a thread; ``peak`` is the most."""

    def __init__(self, read: Callable[[], int | None], interval: float = 0.02) -> None:
        self.read = read
        self.interval = interval
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            value = self.read()
            if value is not None:
                self.samples.append(value)
            self._stop.wait(self.interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    @property
    def peak(self) -> int | None:
        return max(self.samples) if self.samples else None


@dataclass
class Answer:
    """One request of a burst: HTTP status (0: no answer), seconds, error code, Retry-After."""

    status: int
    seconds: float
    error: str | None = None
    retry_after: str | None = None


@dataclass
class BurstResult:
    """What a burst got back, and the server's memory before and during it."""

    answers: list[Answer]
    seconds: float
    rss_before: int | None = None
    rss_peak: int | None = None
    rss_after: int | None = None
    transport_errors: list[str] = field(default_factory=list)

    @property
    def statuses(self) -> Counter[int]:
        return Counter(a.status for a in self.answers)

    def latencies(self, status: int = 200) -> list[float]:
        return sorted(a.seconds for a in self.answers if a.status == status)

    def summary(self) -> dict[str, Any]:
        """Counts by status, latency quantiles of the 200s, memory in MiB."""
        ok = self.latencies(200)

        def quantile(q: float) -> float | None:
            if not ok:
                return None
            return round(ok[min(len(ok) - 1, round(q * (len(ok) - 1)))], 3)

        def mib(value: int | None) -> float | None:
            return None if value is None else round(value / (1 << 20), 1)

        return {
            "requests": len(self.answers),
            "statuses": dict(sorted(self.statuses.items())),
            "errors": dict(Counter(a.error for a in self.answers if a.error)),
            "seconds": round(self.seconds, 3),
            "latency_p50": quantile(0.5),
            "latency_p95": quantile(0.95),
            "latency_max": quantile(1.0),
            "rss_before_mib": mib(self.rss_before),
            "rss_peak_mib": mib(self.rss_peak),
            "rss_after_mib": mib(self.rss_after),
            "rss_growth_mib": (
                None
                if self.rss_before is None or self.rss_peak is None
                else mib(self.rss_peak - self.rss_before)
            ),
        }


async def _fire(
    url: str, image: bytes, requests: int, options: str | None, timeout: float
) -> tuple[list[Answer], list[str]]:
    import httpx

    limits = httpx.Limits(max_connections=requests, max_keepalive_connections=requests)
    answers: list[Answer] = []
    problems: list[str] = []
    start_line = asyncio.Event()

    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as client:

        async def one(i: int) -> None:
            await start_line.wait()
            files = {"image": (f"burst-{i}.png", image, "image/png")}
            data = {"options": options} if options else None
            start = time.perf_counter()
            try:
                response = await client.post("/v1/explain", files=files, data=data)
            except httpx.HTTPError as exc:
                problems.append(f"{type(exc).__name__}: {exc}")
                answers.append(Answer(0, time.perf_counter() - start))
                return
            seconds = time.perf_counter() - start
            error = None
            if response.status_code != 200:
                try:
                    error = response.json().get("error")
                except ValueError:
                    error = "not-json"
            answers.append(
                Answer(response.status_code, seconds, error, response.headers.get("retry-after"))
            )

        tasks = [asyncio.create_task(one(i)) for i in range(requests)]
        await asyncio.sleep(0)
        start_line.set()  # all at once
        await asyncio.gather(*tasks)
    return answers, problems


def burst(
    url: str,
    image: bytes,
    *,
    requests: int = 50,
    options: str | None = None,
    rss: Callable[[], int | None] | None = None,
    timeout: float = 300.0,
) -> BurstResult:
    """Send ``requests`` explain requests of ``image`` at once to ``url``; sample ``rss()``.

    Every request has its own connection, so the server sees them all at the same time.
    """
    read = rss or (lambda: None)
    before = read()
    start = time.perf_counter()
    with MemorySampler(read) as sampler:
        answers, problems = asyncio.run(_fire(url, image, requests, options, timeout))
    seconds = time.perf_counter() - start
    peak = max([v for v in (sampler.peak, before) if v is not None], default=None)
    return BurstResult(answers, seconds, before, peak, read(), problems)
