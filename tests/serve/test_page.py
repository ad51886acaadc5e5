"""The page at ``/`` driven end to end in headless Chromium (Playwright): pick an image, see the
top-5 and the overlay, change method, class and opacity, download the PNG, drop a bad file.

Uses Debian's ``/usr/bin/chromium`` (or ``CAMLENS_CHROMIUM``). ``CAMLENS_UPDATE_SCREENSHOTS=1``
also writes the screenshot to ``docs/img/serve.png``.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from serve.servers import ThreadServer, png_bytes, tiny_loaded

from camlens.pretrained import packaged_checkpoint
from camlens.serve import create_app

torch.set_num_threads(1)

sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (camlens[test])")
CHROMIUM = os.environ.get("CAMLENS_CHROMIUM", "/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CAMLENS_CHROMIUM)",
)
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "serve.png"
CATS = ("tabby", "tiger cat", "Egyptian cat", "Persian cat", "lynx")


def model_and_photo() -> tuple[object, bytes, bool]:
    """The real demo MobileNetV2 and chelsea the cat when installed, else the tiny model."""
    try:
        from skimage import data
    except ImportError:
        data = None
    if packaged_checkpoint() is not None and data is not None:
        from camlens.loading import load_model

        buffer = io.BytesIO()
        Image.fromarray(data.chelsea()).save(buffer, "PNG")
        return load_model("demo"), buffer.getvalue(), True
    return tiny_loaded(), png_bytes(160, 120, seed=30), False


def decode_data_url(url: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB"))


@pytest.fixture(scope="module")
def site():
    loaded, photo, real = model_and_photo()
    with ThreadServer(create_app(loaded)) as server:
        yield server, photo, real, loaded


@pytest.fixture
def browser_page():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1180, "height": 760}, accept_downloads=True)
            yield page
        finally:
            browser.close()


def caption(page) -> str:
    return page.text_content("#overlay-caption") or ""


def test_page_explains_an_image_end_to_end(site, browser_page, tmp_path):
    server, photo, real, loaded = site
    page = browser_page
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    picture = tmp_path / "chelsea.png"
    picture.write_bytes(photo)

    page.goto(server.url + "/")
    page.wait_for_function("() => document.querySelectorAll('#method option').length > 0")
    assert page.input_value("#method") == "gradcam"
    assert page.input_value("#layer") == (loaded.target_layer or "")
    assert loaded.name in page.text_content("#model-name")
    assert page.is_hidden("#prompt")  # a classifier: classes, no prompt box

    # pick an image: the top-5 and the overlay appear
    page.set_input_files("#file", str(picture))
    page.wait_for_selector("body[data-state=done]", timeout=120_000)
    assert page.locator("#class-list li").count() == 5
    labels = page.locator("#class-list .name").all_text_contents()
    scores = page.locator("#class-list .score").all_text_contents()
    assert all(s.endswith("%") for s in scores)
    if real:
        assert labels[0] in CATS, labels
    size = page.evaluate("() => document.getElementById('heatmap').naturalWidth")
    assert size == loaded.input_size
    assert caption(page).startswith("gradcam on ")
    assert page.is_checked("#class-list li:nth-child(1) input")
    page.screenshot(path=str(tmp_path / "serve.png"), full_page=True)
    if os.environ.get("CAMLENS_UPDATE_SCREENSHOTS"):
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmp_path / "serve.png", SCREENSHOT)

    # another method
    page.select_option("#method", "gradcam++")
    page.wait_for_function(
        "() => document.getElementById('overlay-caption').textContent.startsWith('gradcam++ on ')",
        timeout=120_000,
    )
    # another class: the second of the top-5
    second = labels[1]
    page.check("#class-list li:nth-child(2) input")
    page.wait_for_function(
        "name => document.getElementById('overlay-caption').textContent.includes(': ' + name)",
        arg=second,
        timeout=120_000,
    )
    page.wait_for_selector("body[data-state=done]")
    assert page.is_checked("#class-list li:nth-child(2) input")

    # opacity: the heatmap's CSS opacity is the slider's value
    page.eval_on_selector(
        "#alpha", "el => { el.value = '0.8'; el.dispatchEvent(new Event('input')); }"
    )
    assert page.text_content("#alpha-value") == "0.80"
    opacity = "() => getComputedStyle(document.getElementById('heatmap')).opacity"
    assert page.evaluate(opacity) == "0.8"

    # download: the blend (1 - alpha) * image + alpha * heatmap, drawn by the page
    with page.expect_download() as download:
        page.click("#download")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith("camlens-gradcam++-")
    got = np.asarray(Image.open(saved).convert("RGB")).astype(float)
    base = decode_data_url(page.get_attribute("#overlay-base", "src")).astype(float)
    heat = decode_data_url(page.get_attribute("#heatmap", "src")).astype(float)
    assert got.shape == base.shape
    assert np.abs(got - (0.2 * base + 0.8 * heat)).max() <= 2.0
    assert not problems, problems  # no script error, no blocked resource (CSP)

    # a text file named .jpg: the server's message shows, nothing breaks
    bad = tmp_path / "not-a-photo.jpg"
    bad.write_text("this is text, not a JPEG\n")
    page.set_input_files("#file", str(bad))
    page.wait_for_selector("body[data-state=error]", timeout=60_000)
    assert page.is_visible("#error")
    assert "not an image" in page.text_content("#error")
    assert page.locator("#class-list li").count() == 0  # the previous image's result is gone
    assert page.is_disabled("#download")

    # drop the good image on the drop zone: explained again
    page.evaluate(
        """([b64, name]) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: 'image/png' }));
            const zone = document.getElementById('drop');
            for (const kind of ['dragover', 'drop']) {
                zone.dispatchEvent(new DragEvent(kind, { dataTransfer: transfer, bubbles: true }));
            }
        }""",
        [base64.b64encode(photo).decode(), "dropped.png"],
    )
    page.wait_for_selector("body[data-state=done]", timeout=120_000)
    assert page.is_hidden("#error")
    assert "dropped.png" in page.text_content("#drop-text")


def test_docs_page_renders_offline(site, browser_page):
    if importlib.util.find_spec("fastapi_offline") is None:
        pytest.skip("fastapi-offline is not installed: Swagger UI is not served offline")
    server, *_ = site
    page = browser_page
    failed: list[str] = []
    blocked: list[str] = []  # what the Content-Security-Policy refused
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("console", lambda m: blocked.append(m.text) if "Security Policy" in m.text else None)
    page.goto(server.url + "/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=60_000)
    paths = page.locator(".opblock-summary-path").all_text_contents()
    assert {"/v1/explain", "/v1/methods", "/v1/layers", "/healthz"} <= {p.strip() for p in paths}
    assert not failed, failed
    assert not blocked, blocked  # Swagger UI runs under the docs policy
    page.goto(server.url + "/redoc")
    page.wait_for_selector("h1", timeout=60_000)
    assert "camlens" in page.text_content("h1")
    # ReDoc's only refusal is its own logo from its CDN: nothing is fetched from elsewhere
    assert all("https://cdn.redoc.ly/" in text for text in blocked), blocked


def tiny_clip():
    """A random-weight CLIP-style dual encoder (the zoo's architecture) as a served model."""
    from camlens.loading import LoadedModel
    from camlens.zoo import Preprocess, benchmark_vit

    torch.manual_seed(0)
    return LoadedModel(
        model=benchmark_vit.BenchmarkCLIP().eval(),
        name="tiny-clip",
        categories=None,
        preprocess=Preprocess(64, benchmark_vit.MEAN, benchmark_vit.STD),
        input_size=64,
        device=torch.device("cpu"),
        weights=None,
        weights_sha256=None,
        target_layer=benchmark_vit.CLIP_TARGET_LAYER,
    )


def test_page_shows_a_prompt_box_for_a_dual_encoder(browser_page, tmp_path):
    from camlens import GradCAM
    from camlens.targets import TextPromptTarget

    loaded = tiny_clip()
    page = browser_page
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    picture = tmp_path / "shapes.png"
    picture.write_bytes(png_bytes(64, 64, seed=3))
    with ThreadServer(create_app(loaded)) as server:
        page.goto(server.url + "/")
        page.wait_for_function("() => document.querySelectorAll('#method option').length > 0")
        assert page.is_visible("#prompt")
        assert page.is_hidden("#classes")
        assert "dual encoder" in page.text_content("#model-name")
        page.set_input_files("#file", str(picture))
        page.wait_for_function(
            "() => document.getElementById('status').textContent.includes('prompt')"
        )
        page.fill("#prompt", "a star")
        page.press("#prompt", "Enter")
        page.wait_for_selector("body[data-state=done]", timeout=120_000)
        assert '"a star" (cosine ' in caption(page)
        assert page.locator("#class-list li").count() == 0
        # the page's map is camlens's map of the prompt's similarity on the image tower
        target = TextPromptTarget(loaded.model, "a star")
        x = loaded.preprocess(Image.open(picture))[None]
        expected = GradCAM(target.image_model, loaded.target_layer)(x, targets=target)[0]
        heat = decode_data_url(page.get_attribute("#heatmap", "src"))
        assert heat.shape == (64, 64, 3)
        from camlens.viz.overlay import get_colormap, to_uint8

        colours = to_uint8(get_colormap("jet")(expected.double().numpy())[..., :3])
        assert np.abs(heat.astype(int) - colours.astype(int)).max() <= 1
    assert not problems, problems
