"""The HTML report: self-contained (no network), flagged thumbnails, sortable tables in Chromium."""

from __future__ import annotations

import re
import shutil

import pytest
import torch

from camlens.audit import RunDir, compute_findings, render_report, run_audit
from camlens.audit.sources import open_source

torch.set_num_threads(1)
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def report(folder, loaded, tmp_path):
    out = str(tmp_path / "run")
    run_audit(str(folder), loaded, out, batch_size=8, workers=0, progress=False)
    run = RunDir(out)
    table = run.read()
    # thresholds at zero flag every class, so every section of the page is drawn
    findings = compute_findings(
        table, loaded.categories, agreement=0.0, lift=0.0, min_class_images=0
    )
    html = render_report(run, open_source(str(folder)), loaded, findings, table)
    path = tmp_path / "report.html"
    path.write_text(html)
    return path, html, findings


def test_report_is_self_contained(report):
    _, html, findings = report
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html and "@import" not in html
    assert len(findings["flags"]) == 3
    # 3 mean maps + per flag up to 8 images of its class + the mistakes, each a PNG data URL
    n_images = html.count('src="data:image/png;base64,')
    assert n_images >= 3 + 3 * 8
    assert "shared_region" in html and "apple/000.png" in html


@pytest.mark.skipif(not shutil.which(CHROMIUM), reason="chromium is not installed")
def test_report_renders_offline_and_tables_sort(report):
    sync_api = pytest.importorskip("playwright.sync_api")
    path, _, _ = report
    requests = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.as_uri())
        assert page.locator("h1").inner_text() == "camlens audit"
        broken = page.evaluate(
            "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).length"
        )
        assert broken == 0
        table = page.locator("table.sortable").nth(2)  # the flagged/misclassified images
        confidence = table.locator("th", has_text="confidence")

        def column():
            cells = table.locator("tbody tr td:nth-child(5)").all_inner_texts()
            return [float(c) for c in cells]

        confidence.click()
        up = column()
        assert up == sorted(up)
        confidence.click()
        assert column() == sorted(up, reverse=True)
        browser.close()
    assert all(u.startswith(("file:", "data:")) for u in requests)
