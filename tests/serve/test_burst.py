"""A burst of 50 concurrent explain requests against ``camlens serve`` in a subprocess: every
request gets 200 or a deliberate 503 with Retry-After, the server's memory stays bounded, and it
keeps serving afterwards."""

from __future__ import annotations

import sys
import time

import httpx
import pytest
import torch
from serve.servers import ThreadServer, png_bytes

from camlens.serve.burst import BurstResult, ServerProcess, burst, rss_bytes

torch.set_num_threads(1)

TINY = ["--model", "resnet18", "--weights", "random", "--size", "64", "--threads", "1"]
# Bound on the server's memory growth during a burst, over its size after warm-up requests.
# Admitted work is at most workers + queue small uploads and `workers` jobs on a 64x64 input;
# the bound leaves room for the allocator and Python objects of 50 open connections.
GROWTH_BOUND_MIB = 150


def warm_up(url: str, image: bytes, times: int = 3) -> None:
    for _ in range(times):
        response = httpx.post(
            f"{url}/v1/explain", files={"image": ("w.png", image, "image/png")}, timeout=120
        )
        assert response.status_code == 200, response.text


def settle(url: str) -> dict:
    """``/healthz`` once nothing is admitted any more."""
    deadline = time.monotonic() + 120
    while True:
        health = httpx.get(f"{url}/healthz", timeout=30).json()
        if health["admitted"] == 0 or time.monotonic() > deadline:
            return health
        time.sleep(0.05)


def check_memory(result: BurstResult) -> None:
    if result.rss_before is None:
        pytest.skip("resident memory is read from /proc (Linux only)")
    growth = (result.rss_peak - result.rss_before) / (1 << 20)
    assert growth < GROWTH_BOUND_MIB, result.summary()


def test_burst_beyond_the_queue_gets_200_or_503_and_the_server_goes_on(tmp_path):
    args = [*TINY, "--max-concurrency", "2", "--queue", "8", "--log-level", "warning"]
    image = png_bytes(96, 80, seed=20)
    with ServerProcess(args, log=tmp_path / "serve.log") as server:
        warm_up(server.url, image)
        result = burst(server.url, image, requests=50, rss=server.rss_bytes)
        summary = result.summary()
        assert not result.transport_errors, result.transport_errors
        assert set(result.statuses) <= {200, 503}, summary
        assert result.statuses[200] >= 1, summary
        for answer in result.answers:
            if answer.status == 503:
                assert answer.error in ("busy", "timeout"), summary
                assert int(answer.retry_after) >= 1
        check_memory(result)
        health = settle(server.url)
        assert (health["admitted"], health["running"]) == (0, 0)
        assert health["served"] == 3 + result.statuses[200]
        assert health["rejected"] + health["timed_out"] == result.statuses[503]
        warm_up(server.url, image, times=1)  # still serving
        assert server.proc.poll() is None
    assert "Traceback" not in server.log.read_text()


def test_burst_within_the_queue_is_all_served_in_turn(loaded):
    """With room in the queue for all 50, none is refused: they wait their turn."""
    from camlens.serve import Limits, create_app

    image = png_bytes(64, 64, seed=21)
    app = create_app(loaded, Limits(max_concurrency=1, queue=64))
    with ThreadServer(app) as server:
        warm_up(server.url, image)
        result = burst(server.url, image, requests=50)
        assert result.statuses == {200: 50}, result.summary()
        assert settle(server.url)["served"] == 53


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
def test_rss_of_this_process_is_read():
    import os

    assert rss_bytes(os.getpid()) > 10 * (1 << 20)
    assert rss_bytes(2**22 + 12345) is None  # no such process


def test_a_server_that_cannot_start_says_why(tmp_path):
    with (
        pytest.raises(RuntimeError, match="did not start") as error,
        ServerProcess(["--model", "./no-such-model.pt"], log=tmp_path / "log"),
    ):
        pass
    assert "no-such-model.pt" in str(error.value)
