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
