"""Hostile images and layer names over real HTTP: a thin strip that preprocessing would blow up
(the resize bomb) and a layer named with non-ASCII digits get a 4xx JSON answer, never a 500."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from serve.servers import png_bytes


def strip_png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height)).save(buffer, "PNG")
    return buffer.getvalue()


def post(client, data: bytes, options: str | None = None):
    files = {"image": ("strip.png", data, "image/png")}
    return client.post("/v1/explain", files=files, data={"options": options} if options else None)


@pytest.mark.parametrize(
    "size", [(1, 10000), (1, 1000), (300, 2)], ids=["1x10000", "1x1000", "300x2"]
)
def test_a_thin_strip_is_413_before_any_resize(client, size):
    data = strip_png(*size)
    assert len(data) < 200  # 1x10000 scaled to 256 on the short side: 256 x 2,560,000 pixels
    response = post(client, data)
    assert response.status_code == 413, response.text
    body = response.json()
    assert body["error"] == "image_too_large" and "aspect ratio" in body["detail"], body
    assert client.get("/healthz").status_code == 200  # the server is fine afterwards


@pytest.mark.parametrize("layer", ["layer4.\u0661", "layer\u0664", "layer4[\u0660]"])
def test_a_layer_named_with_non_ascii_digits_is_unknown(client, layer):
    response = post(client, png_bytes(), f'{{"layer": "{layer}"}}')
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "unknown_layer"
