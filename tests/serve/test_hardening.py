"""The server against hostile or careless clients, over real sockets to uvicorn on loopback:
idle and half-sent connections are closed, every refusal (the connection limit too) is JSON,
headers stay encodable whatever the request named, a client that leaves stops its job, every
response says ``nosniff`` and has a CSP, and a foreign ``Host`` is refused on loopback."""

from __future__ import annotations

import json
import socket
import time
from types import SimpleNamespace
from urllib.parse import unquote

import httpx
import pytest
import torch
from serve.servers import ThreadServer, png_bytes
from torch import nn

from camlens.serve import Limits, create_app
from camlens.serve.app import PAGE_POLICY

torch.set_num_threads(1)


def post(client, options: str | None = None, **kwargs) -> httpx.Response:
    files = {"image": ("a.png", png_bytes(seed=11), "image/png")}
    data = {"options": options} if options is not None else None
    return client.post("/v1/explain", files=files, data=data, **kwargs)


def wait_for(condition, seconds: float, step: float = 0.05) -> bool:
    """Poll ``condition()`` until it is true or ``seconds`` have passed (bounded)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())


def closed_by_server(sock: socket.socket, seconds: float) -> bool:
    """True when the server closes ``sock`` within ``seconds`` (EOF or reset)."""
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass  # a 408-style answer before the close is fine too
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def port_of(server: ThreadServer) -> int:
    return int(server.url.rsplit(":", 1)[1])


# --- item 3: idle connections ------------------------------------------------------------------


def test_idle_and_half_sent_connections_are_closed_and_the_limit_answers_json(loaded):
    """The issue's repro, faster: 120 connections that send nothing or half a header, over the
    connection limit (capacity 17 + 100). A new request is refused with JSON and Retry-After,
    the idle ones are closed after the header timeout, and then /healthz is served."""
    limits = Limits(header_timeout=2.0)
    assert limits.max_connections == 117
    with ThreadServer(create_app(loaded, limits)) as server:
        port = port_of(server)
        idle = []
        for i in range(120):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            if i % 2:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: ")
            idle.append(sock)
        try:
            assert wait_for(lambda: len(server.server.server_state.connections) >= 120, 10)
            with httpx.Client(base_url=server.url, timeout=10) as client:
                refused = client.get("/healthz")
            assert refused.status_code == 503, refused.text
            assert refused.headers["content-type"] == "application/json"
            assert refused.json()["error"] == "busy"
            assert "connections" in refused.json()["detail"]
            assert int(refused.headers["retry-after"]) >= 2
            assert refused.headers["x-content-type-options"] == "nosniff"
            start = time.monotonic()
            assert all(closed_by_server(sock, 10) for sock in idle)
            assert time.monotonic() - start < 8  # closed at ~2 s, not held for ever
            with httpx.Client(base_url=server.url, timeout=10) as client:
                assert client.get("/healthz").status_code == 200
        finally:
            for sock in idle:
                sock.close()


def test_a_trickled_header_is_closed_at_the_deadline_not_kept_alive_per_byte(loaded):
    """Slowloris: one byte every 0.3 s keeps resetting uvicorn's keep-alive timer; the header
    deadline is absolute, from the connection's start (and from each response's end)."""
    with ThreadServer(create_app(loaded, Limits(header_timeout=1.5))) as server:
        with socket.create_connection(("127.0.0.1", port_of(server)), timeout=10) as sock:
            start = time.monotonic()
            closed = False
            for byte in b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 40:
                try:
                    sock.sendall(bytes([byte]))
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                    break
                sock.settimeout(0.3)
                try:
                    if sock.recv(4096) == b"":
                        closed = True
                        break
                except TimeoutError:
                    pass
            assert closed, "the server kept a trickled header open"
            assert 1.0 < time.monotonic() - start < 6

        # keep-alive: a full request, its answer, then half a header: closed too
        with socket.create_connection(("127.0.0.1", port_of(server)), timeout=10) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            sock.settimeout(10)
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHo")
            assert closed_by_server(sock, 6)


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"NOT HTTP AT ALL\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 40_000,  # unfinished, > 16 KB
    ],
    ids=["garbage", "a header past h11's 16 KB"],
)
def test_malformed_http_is_a_json_400(server, request_bytes):
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=10) as sock:
        sock.sendall(request_bytes)
        sock.settimeout(10)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), reply
    assert b"content-type: application/json" in head.lower()
    assert json.loads(body)["error"] == "bad_request"


# --- item 4: headers always encodable ----------------------------------------------------------


class Renamed(nn.Module):
    """The tiny model under a non-ASCII attribute name (a legal PyTorch module name)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.add_module("主干", inner)

    def forward(self, x):
        return self.get_submodule("主干")(x)


@pytest.fixture(scope="module")
def unicode_server(loaded):
    categories = list(loaded.categories)
    categories[3] = "猫 (ねこ)"
    model = SimpleNamespace(
        model=Renamed(loaded.model).eval(),
        name="renamed",
        categories=categories,
        preprocess=loaded.preprocess,
        input_size=64,
        device="cpu",
        target_layer="主干.layer4",
    )
    with ThreadServer(create_app(model)) as running:
        yield running


@pytest.mark.parametrize("accept", ["application/json", "image/png"])
def test_non_ascii_layer_and_target_names_give_encodable_headers(unicode_server, accept):
    options = json.dumps({"layer": "主干.layer3", "target": "猫 (ねこ)"}, ensure_ascii=False)
    with httpx.Client(base_url=unicode_server.url, timeout=60) as client:
        response = post(client, options, headers={"Accept": accept})
    assert response.status_code == 200, response.text
    raw = dict(response.headers.raw)
    assert all(value.isascii() for value in raw.values()), raw
    assert unquote(response.headers["x-camlens-layer"]) == "主干.layer3"
    assert response.headers["x-camlens-target"] == "3"
    if accept == "application/json":
        body = response.json()
        assert body["layer"] == "主干.layer3" and body["target"]["label"] == "猫 (ねこ)"


def test_default_non_ascii_layer_is_encoded_too(unicode_server):
    with httpx.Client(base_url=unicode_server.url, timeout=60) as client:
        response = post(client)
    assert response.status_code == 200, response.text
    assert response.headers["x-camlens-layer"] == "%E4%B8%BB%E5%B9%B2.layer4"


@pytest.mark.parametrize(
    "options",
    [
        {"layer": "layer4[١]"},  # Arabic-Indic digit: a real layer or a 422, never a 500
        {"layer": "layer\u0664"},
        {"method": "gradcam\u2795"},
        {"method": "Grad\u2011CAM"},
        {"target": "猫"},
        {"colormap": "jét"},
        {"layer": "layer4\r\nX-Injected: 1"},
    ],
    ids=repr,
)
def test_non_ascii_option_values_are_never_a_500(client, options):
    response = post(client, json.dumps(options, ensure_ascii=False))
    assert response.status_code in (200, 422), response.text
    assert response.headers["content-type"] == "application/json"
    assert "x-injected" not in response.headers
    assert all(value.isascii() for value in dict(response.headers.raw).values())
    if response.status_code == 200:
        assert unquote(response.headers["x-camlens-layer"]) == options["layer"]
    else:
        assert response.json()["error"] in ("unknown_layer", "unknown_method", "invalid_target",
                                             "invalid_options")  # fmt: skip


# --- item 8: disconnect, nosniff/CSP, Host -----------------------------------------------------


def multipart(options: str) -> tuple[bytes, str]:
    boundary = "camlensdisconnect"
    image = png_bytes(seed=12)
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="options"\r\n\r\n{options}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + image
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def test_a_client_that_disconnects_cancels_its_job(loaded):
    """SS-CAM on the tiny model takes well over 30 s here; the client leaves after it starts.
    The job must stop at its next forward pass: the worker is free and counted as cancelled."""
    with (
        ThreadServer(create_app(loaded, Limits(timeout=300))) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        body, kind = multipart('{"method": "sscam"}')
        sock = socket.create_connection(("127.0.0.1", port_of(server)), timeout=10)
        sock.sendall(
            f"POST /v1/explain HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {kind}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        assert wait_for(lambda: client.get("/healthz").json()["running"] == 1, 30)
        sock.close()  # the client gives up
        assert wait_for(lambda: client.get("/healthz").json()["running"] == 0, 10, 0.1)
        health = client.get("/healthz").json()
        assert (health["admitted"], health["cancelled"], health["served"]) == (0, 1, 0)
        start = time.monotonic()
        assert post(client).status_code == 200  # served at once, not after SS-CAM
        assert time.monotonic() - start < 20


def test_a_client_that_leaves_while_queued_frees_its_place(loaded):
    """With the single worker busy, a queued request whose client leaves is dropped from the
    queue at once (admitted goes back down), and never runs."""
    with (
        ThreadServer(create_app(loaded, Limits(timeout=300, queue=2))) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        body, kind = multipart('{"method": "sscam"}')
        request = (
            f"POST /v1/explain HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {kind}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        running = socket.create_connection(("127.0.0.1", port_of(server)), timeout=10)
        running.sendall(request)
        assert wait_for(lambda: client.get("/healthz").json()["running"] == 1, 30)
        queued = socket.create_connection(("127.0.0.1", port_of(server)), timeout=10)
        queued.sendall(request)
        assert wait_for(lambda: client.get("/healthz").json()["admitted"] == 2, 10)
        queued.close()
        assert wait_for(lambda: client.get("/healthz").json()["admitted"] == 1, 10, 0.1)
        running.close()
        assert wait_for(lambda: client.get("/healthz").json()["admitted"] == 0, 10, 0.1)
        assert client.get("/healthz").json()["cancelled"] == 2


@pytest.mark.parametrize(
    ("path", "policy"),
    [
        ("/", PAGE_POLICY),
        ("/static/app.js", PAGE_POLICY),
        ("/healthz", None),
        ("/v1/methods", None),
        ("/v1/layers", None),
        ("/v1/nothing", None),
        ("/openapi.json", None),
    ],
)
def test_every_response_has_nosniff_and_a_csp(client, path, policy):
    response = client.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    csp = response.headers["content-security-policy"]
    assert csp == policy if policy else "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp


def test_explain_answers_and_refusals_have_nosniff_and_a_csp(client):
    for response in (post(client), post(client, '{"method": "nope"}'), client.post("/healthz")):
        assert response.headers["x-content-type-options"] == "nosniff", response.text
        assert "default-src 'none'" in response.headers["content-security-policy"]


def test_docs_pages_get_a_policy_they_can_run_under(client):
    for path in ("/docs", "/redoc"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["x-content-type-options"] == "nosniff"
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp


@pytest.mark.parametrize(
    ("host", "ok"),
    [
        ("127.0.0.1", True),
        ("127.0.0.1:{port}", True),
        ("localhost:{port}", True),
        ("LOCALHOST.", True),
        ("[::1]:{port}", True),
        ("app.localhost:{port}", True),
        ("evil.example", False),
        ("evil.example:{port}", False),
        ("127.0.0.1.evil.example", False),
        ("192.168.1.4:{port}", False),
        ("", False),
        ("[::1", False),
    ],
)
def test_a_foreign_host_is_refused_when_bound_to_loopback(server, host, ok):
    """DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1 would reach
    the server with ``Host: evil.example``; on a loopback address only loopback names pass."""
    value = host.format(port=port_of(server))
    with httpx.Client(base_url=server.url, timeout=10, headers={"Host": value}) as client:
        response = client.get("/healthz")
    if ok:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_host"
        assert "--allow-host" in response.json()["detail"]
        assert response.headers["x-content-type-options"] == "nosniff"


def test_allowed_hosts_add_names(loaded):
    app = create_app(loaded, allowed_hosts=["camlens.test"])
    with ThreadServer(app) as server:
        for host, status in (("camlens.test:1234", 200), ("evil.example", 400)):
            with httpx.Client(base_url=server.url, headers={"Host": host}, timeout=10) as client:
                assert client.get("/healthz").status_code == status


# --- item 15: target by class name, one canonical method name ----------------------------------


@pytest.mark.parametrize(
    ("target", "index"),
    [("tabby", 281), ("Tabby", 281), ("281", 281), (281, 281), ("  tiger cat ", 282)],
)
def test_target_accepts_class_names_as_the_cli_does(client, loaded, target, index):
    response = post(client, json.dumps({"target": target}))
    assert response.status_code == 200, response.text
    assert response.json()["target"]["index"] == index == loaded.class_index(str(target))
    assert response.headers["x-camlens-target"] == str(index)


@pytest.mark.parametrize(
    ("target", "words"),
    [("tabbby", "Close matches: 'tabby'"), ("1000", "out of range"), (True, "target")],
)
def test_unknown_class_names_are_a_422_with_close_matches(client, target, words):
    response = post(client, json.dumps({"target": target}))
    assert response.status_code == 422, response.text
    assert words in response.json()["detail"]


@pytest.mark.parametrize(
    ("asked", "canonical"),
    [("gradcam", "gradcam"), ("GradCAM++", "gradcam++"), ("grad_cam_pp", "gradcam++"),
     ("Eigen-CAM", "eigencam"), ("LAYERCAM", "layercam")],
)  # fmt: skip
def test_method_header_and_json_name_the_same_canonical_method(client, asked, canonical):
    response = post(client, json.dumps({"method": asked}))
    assert response.status_code == 200, response.text
    assert response.json()["method"] == canonical == response.headers["x-camlens-method"]
    png = post(client, json.dumps({"method": asked}), headers={"Accept": "image/png"})
    assert png.headers["x-camlens-method"] == canonical
