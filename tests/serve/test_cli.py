"""``camlens serve`` on the command line: its options, the loopback default, a clear one-line
error for a port in use or a limit that cannot work (the server itself runs in test_burst)."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from camlens.cli.serve import _is_loopback, bind, url_of


def camlens(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "camlens.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_help_lists_the_safety_options_and_the_loopback_default():
    result = camlens("serve", "--help")
    assert result.returncode == 0, result.stderr
    for option in (
        "--host",
        "--port",
        "--model",
        "--max-upload-mb",
        "--max-pixels",
        "--timeout",
        "--max-concurrency",
        "--queue",
        "--device",
        "--threads",
        "--header-timeout",
        "--allow-host",
    ):
        assert option in result.stdout, option
    assert "127.0.0.1" in result.stdout


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("192.168.1.4", False), ("example.org", False)],
)  # fmt: skip
def test_loopback_hosts(host, loopback):
    assert _is_loopback(host) is loopback


def test_bind_takes_a_free_port_and_names_its_url():
    sock = bind("127.0.0.1", 0)
    try:
        url = url_of(sock)
        assert url.startswith("http://127.0.0.1:") and int(url.rsplit(":", 1)[1]) > 0
    finally:
        sock.close()


def test_a_port_in_use_is_a_one_line_error():
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        args = ["--model", "resnet18", "--weights", "random", "--size", "32"]
        result = camlens("serve", *args, "--port", str(port))
    finally:
        taken.close()
    assert result.returncode == 1, result.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_impossible_limit_is_a_usage_error():
    result = camlens("serve", "--max-concurrency", "0")
    assert result.returncode == 2
    assert "--max-concurrency" in result.stderr


def test_header_timeout_and_allow_host_reach_the_server():
    """``camlens serve`` in a subprocess: an idle connection is closed after --header-timeout,
    and --allow-host adds a Host name to the loopback ones."""
    import time

    import httpx

    from camlens.serve.burst import ServerProcess

    args = ["--model", "resnet18", "--weights", "random", "--size", "32", "--threads", "1"]
    with ServerProcess([*args, "--header-timeout", "1", "--allow-host", "camlens.test"]) as server:
        port = int(server.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as idle:
            start = time.monotonic()
            idle.settimeout(10)
            assert idle.recv(1024) == b""  # closed by the server, not by the timeout here
            assert time.monotonic() - start < 6
        for host, status in (("camlens.test", 200), ("localhost", 200), ("evil.example", 400)):
            response = httpx.get(f"{server.url}/healthz", headers={"Host": host}, timeout=30)
            assert response.status_code == status, (host, response.text)
        assert httpx.get(f"{server.url}/healthz", timeout=30).json()["limits"][
            "header_timeout"
        ] == pytest.approx(1.0)
