"""The HTTP API over real HTTP (httpx) against uvicorn on a loopback port: answers equal camlens
called directly, and every bad input is a 4xx JSON answer with a message, never a 500."""

from __future__ import annotations

import base64
import importlib.util
import io
import re

import httpx
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from serve.servers import ThreadServer, png_bytes

import camlens
from camlens.loading import load_image
from camlens.serve import Limits, create_app
from camlens.serve.app import prefers_png
from camlens.viz import overlay
from camlens.viz.overlay import get_colormap, to_uint8

torch.set_num_threads(1)


def decode_png(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def decode_data_url(url: str) -> np.ndarray:
    assert url.startswith("data:image/png;base64,")
    return decode_png(base64.b64decode(url.split(",", 1)[1]))


def direct(loaded, data: bytes, target: int | None, method=camlens.GradCAM, layer="layer4"):
    """What the server should answer, computed here with camlens itself."""
    image = load_image(data)
    x = loaded.preprocess(image)[None]
    with torch.no_grad():
        logits = loaded.model(x)[0]
    cam_map = method(loaded.model, layer)(x, None if target is None else target)[0]
    view = loaded.display_image(image, tuple(x.shape[-2:]))
    return logits, cam_map, view


def post(client, data: bytes, options: str | None = None, **kwargs) -> httpx.Response:
    files = {"image": ("picture.png", data, "image/png")}
    form = {"options": options} if options is not None else None
    return client.post("/v1/explain", files=files, data=form, **kwargs)


def test_explain_json_equals_gradcam_called_directly(client, loaded):
    data = png_bytes(96, 80, seed=1)
    response = post(client, data, '{"method": "gradcam", "alpha": 0.4, "map_size": 16}')
    assert response.status_code == 200, response.text
    body = response.json()
    logits, cam_map, view = direct(loaded, data, None)
    probabilities = torch.softmax(logits, -1)
    best = int(logits.argmax())
    assert body["prediction"]["index"] == best == body["target"]["index"]
    assert body["prediction"]["label"] == loaded.categories[best]
    assert body["target"]["score"] == pytest.approx(float(logits[best]), abs=1e-4)
    expected_top = torch.topk(probabilities, 5)
    assert [c["index"] for c in body["top_k"]] == expected_top.indices.tolist()
    got = [c["probability"] for c in body["top_k"]]
    assert got == pytest.approx(expected_top.values.tolist(), abs=1e-5)
    assert (body["model"], body["method"], body["layer"]) == ("resnet18", "gradcam", "layer4")
    # the three pictures: the model's view, the coloured map, their blend at alpha
    np.testing.assert_array_equal(decode_data_url(body["image"]), view)
    colours = to_uint8(get_colormap("jet")(cam_map.double().numpy())[..., :3])
    np.testing.assert_array_equal(decode_data_url(body["heatmap"]), colours)
    np.testing.assert_array_equal(
        decode_data_url(body["overlay"]), overlay(view, cam_map, alpha=0.4)
    )
    # the map as numbers: 64x64 area-averaged to 16x16 (4x4 blocks)
    small = F.avg_pool2d(cam_map[None, None], 4)[0, 0]
    assert (body["map"]["height"], body["map"]["width"]) == (16, 16)
    np.testing.assert_allclose(np.array(body["map"]["values"]), small.numpy(), atol=6e-5)


def test_explain_png_for_a_chosen_class_and_method(client, loaded):
    data = png_bytes(70, 90, seed=2)
    response = post(
        client,
        data,
        '{"method": "gradcam++", "target": 7, "colormap": "viridis", "alpha": 0.6}',
        headers={"Accept": "image/png"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-camlens-target"] == "7"
    assert response.headers["x-camlens-method"] == "gradcam++"
    _, cam_map, view = direct(loaded, data, 7, method=camlens.GradCAMPlusPlus)
    expected = overlay(view, cam_map, "viridis", alpha=0.6)
    np.testing.assert_array_equal(decode_png(response.content), expected)


def test_explain_on_another_layer(client, loaded):
    data = png_bytes(64, 64, seed=3)
    response = post(client, data, '{"layer": "layer3", "target": 1, "map_size": 64}')
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["layer"] == "layer3"
    _, cam_map, _ = direct(loaded, data, 1, layer="layer3")
    np.testing.assert_allclose(np.array(body["map"]["values"]), cam_map.numpy(), atol=6e-5)


@pytest.mark.parametrize(
    ("accept", "png"),
    [
        (None, False),
        ("application/json", False),
        ("image/png", True),
        ("image/png, application/json", True),
        ("application/json, image/png", False),
        ("image/png;q=0.5, application/json", False),
        ("*/*", False),
        ("image/*", True),
        ("text/html", False),
    ],
)
def test_accept_header_chooses_png_or_json(accept, png):
    assert prefers_png(accept) is png


def test_methods_layers_health_and_default_options(client):
    methods = client.get("/v1/methods").json()
    assert methods["default"] == "gradcam"
    names = [m["name"] for m in methods["methods"]]
    assert names == list(camlens.METHODS)
    assert all(m["description"] for m in methods["methods"])
    layers = client.get("/v1/layers").json()
    assert layers["default"] == "layer4"
    by_name = {entry["name"]: entry for entry in layers["layers"]}
    assert by_name["layer4"]["candidate"] and by_name["layer4"]["grid"] == [2, 2]
    assert by_name["layer3"]["shape"] == [1, 256, 4, 4]
    assert not by_name["fc"]["candidate"]
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["classes"] == 1000
    assert health["workers"] == 1 and health["capacity"] == 1 + Limits().queue
    assert client.get("/v1/options").json()["layer"] == "layer4"


def test_openapi_and_offline_docs(client):
    schema = client.get("/openapi.json").json()
    for path in ("/v1/explain", "/v1/methods", "/v1/layers", "/healthz"):
        assert path in schema["paths"]
    body = schema["paths"]["/v1/explain"]["post"]["requestBody"]["content"]
    assert "image" in body["multipart/form-data"]["schema"]["properties"]
    if importlib.util.find_spec("fastapi_offline") is None:
        note = client.get("/docs")
        assert note.status_code == 200 and "fastapi-offline" in note.text
        pytest.skip("fastapi-offline is not installed: /docs says how to get Swagger UI offline")
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        scripts = [s for s in sources if s.endswith((".js", ".css"))]
        assert scripts, html
        for source in scripts:  # local files, no CDN
            assert source.startswith("/"), source
            assert client.get(source).status_code == 200, source


def test_page_and_its_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for source in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
        assert client.get(source).status_code == 200, source
    assert "http" not in "".join(re.findall(r'(?:src|href)="([^"]+)"', page.text)).replace(
        "/docs", ""
    )


def bomb_png() -> bytes:
    """A 20000x20000 1-bit PNG: 400 million pixels in about 50 KB."""
    buffer = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buffer, "PNG")
    return buffer.getvalue()


def truncated_png() -> bytes:
    data = png_bytes(64, 64, seed=4)
    return data[: len(data) // 2]


def options(text: str) -> dict:
    """A good image with the options ``text``."""
    return {"files": {"image": ("a.png", png_bytes(), "image/png")}, "data": {"options": text}}


BAD_REQUESTS = {
    "truncated png": (
        {"files": {"image": ("cut.png", truncated_png(), "image/png")}},
        422,
        "invalid_image",
        "truncated",
    ),
    "text named .jpg": (
        {"files": {"image": ("photo.jpg", b"just some text\n" * 20, "image/jpeg")}},
        422,
        "invalid_image",
        "not an image",
    ),
    "20000x20000": (
        {"files": {"image": ("huge.png", bomb_png(), "image/png")}},
        413,
        "image_too_large",
        "pixels",
    ),
    "unknown method": (
        options('{"method": "magic"}'),
        422,
        "unknown_method",
        "GET /v1/methods",
    ),
    "class out of range": (
        options('{"target": 1000}'),
        422,
        "invalid_target",
        "0..999",
    ),
    "negative class": (
        options('{"target": -1}'),
        422,
        "invalid_options",
        "target",
    ),
    "unknown layer": (
        options('{"layer": "layer9"}'),
        422,
        "unknown_layer",
        "/v1/layers",
    ),
    "unknown colormap": (
        options('{"colormap": "rainbowz"}'),
        422,
        "invalid_options",
        "colormap",
    ),
    "alpha out of range and a typo": (
        options('{"alpha": 2, "metod": "x"}'),
        422,
        "invalid_options",
        "unknown option 'metod'",
    ),
    "top_k too large": (
        options('{"top_k": 500}'),
        422,
        "invalid_options",
        "top_k",
    ),
    "options not json": (
        options("{method: gradcam"),
        400,
        "invalid_options",
        "JSON",
    ),
    "options a list": (
        options("[1, 2]"),
        400,
        "invalid_options",
        "JSON object",
    ),
    "no image part": (
        {"files": {"picture": ("a.png", png_bytes(), "image/png")}},
        400,
        "missing_image",
        "'image'",
    ),
    "urlencoded form": ({"data": {"options": "{}"}}, 415, "unsupported_media_type", "multipart"),
    "empty image": (
        {"files": {"image": ("a.png", b"", "image/png")}},
        422,
        "invalid_image",
        "empty",
    ),
    "text/plain part": (
        {"files": {"image": ("a.txt", b"hello", "text/plain")}},
        415,
        "unsupported_media_type",
        "text/plain",
    ),
    "json body": ({"json": {"image": "x"}}, 415, "unsupported_media_type", "multipart"),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS), ids=list(BAD_REQUESTS))
def test_bad_requests_get_a_clear_4xx(client, case):
    kwargs, status, code, words = BAD_REQUESTS[case]
    response = client.post("/v1/explain", **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code, body
    assert words in body["detail"], body
    assert "Traceback" not in response.text


def test_unknown_paths_and_verbs_are_json(client):
    missing = client.get("/v1/nothing")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    wrong = client.get("/v1/explain")
    assert wrong.status_code == 405 and wrong.json()["error"] == "method_not_allowed"


def test_server_still_serves_after_the_bad_requests(client):
    assert post(client, png_bytes(seed=5)).status_code == 200
    assert client.get("/healthz").json()["admitted"] == 0


def test_upload_limit_refuses_large_bodies_with_413(loaded):
    app = create_app(loaded, Limits(max_upload_bytes=64 * 1024))
    big = np.random.default_rng(0).integers(0, 256, 100 * 1024, dtype=np.uint8).tobytes()
    with ThreadServer(app) as running, httpx.Client(base_url=running.url, timeout=60) as client:
        response = post(client, big)  # Content-Length over the limit: refused unread
        assert response.status_code == 413
        assert response.json()["error"] == "too_large"
        assert "--max-upload-mb" in response.json()["detail"]

        boundary = "camlensboundary"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; '
            'filename="a.png"\r\nContent-Type: image/png\r\n\r\n'
        ).encode()

        def chunks():  # no Content-Length: counted as it arrives
            yield head
            for start in range(0, len(big), 8192):
                yield big[start : start + 8192]
            yield f"\r\n--{boundary}--\r\n".encode()

        chunked = client.post(
            "/v1/explain",
            content=chunks(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        assert chunked.status_code == 413, chunked.text
        assert chunked.json()["error"] == "too_large"
        assert post(client, png_bytes(seed=6)).status_code == 200


def test_timeout_answers_503_and_stops_the_job(loaded):
    """Smooth Score-CAM (thousands of forward passes) cannot finish in 0.3 s: the request gets
    503 with Retry-After, and the cancel hook stops the job so the worker is free again."""
    import time

    app = create_app(loaded, Limits(timeout=0.3))
    with ThreadServer(app) as running, httpx.Client(base_url=running.url, timeout=120) as client:
        response = post(client, png_bytes(seed=7), '{"method": "sscam"}')
        assert response.status_code == 503, response.text
        assert response.json()["error"] == "timeout"
        assert int(response.headers["retry-after"]) >= 1
        deadline = time.monotonic() + 120
        while client.get("/healthz").json()["running"] and time.monotonic() < deadline:
            time.sleep(0.05)
        health = client.get("/healthz").json()
        assert health["running"] == 0 and health["admitted"] == 0 and health["timed_out"] == 1


def test_a_slow_upload_gets_408_and_frees_its_place(loaded):
    import time

    app = create_app(loaded, Limits(timeout=0.5))
    boundary = "slowboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; '
        'filename="a.png"\r\nContent-Type: image/png\r\n\r\n'
    ).encode()

    def trickle():
        yield head
        time.sleep(1.5)  # past the server's timeout
        yield png_bytes(seed=8) + f"\r\n--{boundary}--\r\n".encode()

    with ThreadServer(app) as running, httpx.Client(base_url=running.url, timeout=60) as client:
        response = client.post(
            "/v1/explain",
            content=trickle(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        assert response.status_code == 408, response.text
        assert response.json()["error"] == "upload_timeout"
        assert client.get("/healthz").json()["admitted"] == 0


class Flaky(torch.nn.Module):
    """Wraps a model; raises an unexpected error while ``broken`` is set."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.broken = False

    def forward(self, x):
        if self.broken:
            raise RuntimeError("something nobody planned for")
        return self.inner(x)


def test_an_unexpected_failure_is_a_500_without_traceback(loaded, caplog):
    from types import SimpleNamespace

    flaky = Flaky(loaded.model).eval()
    model = SimpleNamespace(
        model=flaky,
        name="flaky",
        categories=None,
        preprocess=loaded.preprocess,
        input_size=64,
        device="cpu",
        target_layer="inner.layer4",
    )
    with (
        ThreadServer(create_app(model)) as running,
        httpx.Client(base_url=running.url, timeout=60) as client,
    ):
        flaky.broken = True
        response = post(client, png_bytes(seed=9))
        assert response.status_code == 500
        body = response.json()
        assert body["error"] == "internal_error"
        assert "RuntimeError" in body["detail"] and "log" in body["detail"]
        assert "Traceback" not in response.text and "nobody planned" not in response.text
        flaky.broken = False
        again = post(client, png_bytes(seed=9))
        assert again.status_code == 200
        assert again.json()["target"]["label"] is None  # no class names: None
