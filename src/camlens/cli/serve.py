"""``camlens serve``: the web page and HTTP API for one model (FastAPI on uvicorn)."""

from __future__ import annotations

import ipaddress
import socket

import click

from ._common import (
    GuardedCommand,
    cpu_share,
    debug_option,
    device_option,
    load_model_for_cli,
    model_options,
    note,
)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``port`` 0: any free port)."""
    info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = info[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise click.ClickException(
            f"cannot listen on {host}:{port} ({exc.strerror}); pick another --port "
            "(0 takes any free one)."
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    """The ``http://host:port`` address a bound socket serves (IPv6 hosts in brackets)."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@click.command(name="serve", cls=GuardedCommand)
@model_options(required=False)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. The default is this machine only; 0.0.0.0 opens it to the "
    "network (there is no authentication).",
)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="0: any free."
)
@click.option(
    "--layer", default=None, help="Default layer of the explanations (else the model's own)."
)
@click.option(
    "--max-upload-mb",
    type=click.FloatRange(min=0.01),
    default=10.0,
    show_default=True,
    help="Largest request body; larger uploads get 413.",
)
@click.option(
    "--max-pixels",
    type=click.IntRange(min=1),
    default=40_000_000,
    show_default=True,
    help="Largest image (width x height), checked before decoding; larger get 422.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.01),
    default=60.0,
    show_default=True,
    help="Seconds a request may queue and run; then 503 with Retry-After.",
)
@click.option(
    "--max-concurrency",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Explanations computed at once (one worker thread and one model copy each).",
)
@click.option(
    "--queue",
    type=click.IntRange(min=0),
    default=16,
    show_default=True,
    help="Requests that may wait for a worker; beyond that 503 with Retry-After.",
)
@click.option(
    "--header-timeout",
    type=click.FloatRange(min=0.01),
    default=10.0,
    show_default=True,
    help="Seconds a connection has to send its request header; then it is closed.",
)
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="NAME",
    help="A Host name to accept besides localhost and loopback IPs on a loopback address "
    "(a guard against DNS rebinding); repeatable.",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="torch threads per explanation (default: CPU cores / --max-concurrency, at most 4).",
)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
)
@device_option
@debug_option
def command(
    model: str | None,
    weights: str | None,
    labels: str | None,
    size: int | None,
    host: str,
    port: int,
    layer: str | None,
    max_upload_mb: float,
    max_pixels: int,
    timeout: float,
    max_concurrency: int,
    queue: int,
    header_timeout: float,
    allow_hosts: tuple[str, ...],
    threads: int | None,
    log_level: str,
    device: str,
    debug: bool,
) -> None:
    """Serve a web page and an HTTP API that explain uploaded images with one model.

    \b
    camlens serve --model demo                 # http://127.0.0.1:8000
    camlens serve --model resnet50 --weights IMAGENET1K_V2 --port 8080
    curl -F image=@cat.jpg http://127.0.0.1:8000/v1/explain
    """
    import torch
    import uvicorn

    from ..serve import Limits, create_app, server_config

    limits = Limits(
        max_upload_bytes=int(max_upload_mb * (1 << 20)),
        max_pixels=max_pixels,
        timeout=timeout,
        max_concurrency=max_concurrency,
        queue=queue,
        header_timeout=header_timeout,
    )
    sock = bind(host, port)  # first: a port in use fails before the model is loaded
    try:
        torch.set_num_threads(threads or cpu_share(max_concurrency, at_least=1))
        loaded = load_model_for_cli(model or "demo", weights, device, labels, size)
        if layer:
            loaded.target_layer = layer
        app = create_app(loaded, limits, allowed_hosts=allow_hosts)
    except BaseException:
        sock.close()
        raise
    if not _is_loopback(host):
        note(
            f"listening on {host}, not only this machine: anyone who can reach it can use the "
            "model (there is no authentication); use --host 127.0.0.1 to keep it local."
        )
    explainer = app.state.explainer
    click.echo(
        f"camlens serve: {url_of(sock)}  (model {explainer.name}, layer "
        f"{explainer.default_layer}, {limits.max_concurrency} worker(s), queue {limits.queue}); "
        "Ctrl-C stops it."
    )
    # open connections are bounded (limits.max_connections, 503 JSON past it) and each must
    # send its request header within --header-timeout
    server = uvicorn.Server(
        server_config(app, log_level=log_level, access_log=log_level == "debug")
    )
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
