# ruff: noqa: E501  (the HTML template below keeps its lines whole)
"""The audit report: one self-contained HTML file (inline CSS and JS, images as data URLs).

Sections: summary and flags; per-class table (sortable) with each class's mean map; the flagged
images and the most confident mistakes as thumbnails (the image the model saw | its map
overlaid); the confusions; the skipped images. Rendered with jinja2 (autoescaped).
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import numpy as np
import pyarrow as pa
from PIL import Image

from .loader import References
from .sources import Source

THUMB = 96  # displayed side of a thumbnail, pixels
MAX_THUMBS = 24  # per flag, and for the mistakes
MAX_ROWS = 2000  # rows of the image table

TEMPLATE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>camlens audit — {{ m.model }} on {{ m.data }}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1d2330;
background:#fafbfc;max-width:1300px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #dde;
padding-bottom:4px}code{background:#eef;padding:1px 4px;border-radius:3px}
.meta{color:#556;margin-bottom:12px}.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{background:#fff;border:1px solid #dde;border-radius:8px;padding:10px 14px;min-width:120px}
.card b{display:block;font-size:20px}.flag{background:#fff4f2;border:1px solid #f3b8ad;
border-radius:6px;padding:8px 12px;margin:6px 0}.ok{background:#f1faf3;border:1px solid #a9d8b5;
border-radius:6px;padding:8px 12px}
table{border-collapse:collapse;background:#fff;margin:6px 0}th,td{border:1px solid #dde;
padding:4px 8px;text-align:right}th{background:#eef1f6;cursor:pointer;user-select:none}
th:after{content:" \2195";color:#99a}td.t,th.t{text-align:left}.tag{background:#c0392b;color:#fff;
border-radius:3px;padding:0 5px;margin-right:3px;font-size:12px}
.grid{display:flex;flex-wrap:wrap;gap:10px}.cell{background:#fff;border:1px solid #dde;
border-radius:6px;padding:6px;font-size:12px;width:{{ 2 * thumb + 14 }}px}
.cell img{image-rendering:pixelated}.mm{text-align:center;font-size:12px}
.mm img{width:{{ thumb }}px;height:{{ thumb }}px;image-rendering:pixelated;display:block}
</style></head><body>
<h1>camlens audit</h1>
<div class="meta"><code>{{ m.model }}</code> ({{ m.method }} at <code>{{ m.layer }}</code>) on
<code>{{ m.data }}</code> · weights sha256 <code>{{ (m.weights_sha256 or "—")[:16] }}</code> ·
{{ m.created }}</div>

<h2 id="summary">Summary</h2>
<div class="cards">
<div class="card">images<b>{{ f.n_images }}</b></div>
<div class="card">explained<b>{{ f.n_explained }}</b></div>
<div class="card">skipped (unreadable)<b>{{ f.n_errors }}</b></div>
{% if f.accuracy is not none %}<div class="card">accuracy<b>{{ pct(f.accuracy) }}</b></div>{% endif %}
<div class="card">misclassified<b>{{ f.misclassified.count }}</b></div>
{% if f.has_objects %}<div class="card">evidence mostly off the object<b>{{ f.images_off_object }}</b></div>{% endif %}
<div class="card">evidence mostly in the border<b>{{ f.images_in_border }}</b></div>
</div>
{% if f.flags %}{% for fl in f.flags %}
<div class="flag"><span class="tag">{{ fl.kind }}</span><b>{{ fl.name }}</b>: {{ fl.detail }}
({{ fl.count }} images)</div>{% endfor %}
{% elif not f.n_explained %}<p class="flag">No image could be read, so nothing was explained:
see the skipped images below.</p>
{% else %}<p class="ok">No class is flagged: no class's evidence concentrates on a region of its
own{% if f.has_objects %} or mostly off the object{% endif %}.</p>{% endif %}
<p class="meta">{% if f.map_size %}Map {{ f.map_size[0] }}×{{ f.map_size[1] }} cells;
{% endif %}border band {{ pct(f.border) }}
of each side; shared region: ≥ {{ pct(f.thresholds.agreement) }} of a class's peaks in one cell of
a {{ f.thresholds.grid }}×{{ f.thresholds.grid }} grid at ≥ {{ f.thresholds.lift }}× the other
classes' rate.</p>

<h2 id="per-class">Per class</h2>
<div class="grid">{% for c in f.classes %}<div class="mm"><img alt="mean map {{ c.name }}"
src="{{ mean_maps[loop.index0] }}">{{ c.name }}</div>{% endfor %}</div>
<p class="meta">Mean maps: the average of each class's maps as energy distributions (where the
model looks on average for that class).</p>
<table class="sortable"><thead><tr><th class="t">class</th><th>images</th><th>accuracy</th>
<th>mean confidence</th>{% if f.has_objects %}<th>mean object share</th><th>off-object images</th>{% endif %}
<th>mean border share</th><th>border images</th><th>entropy</th><th>peak agreement</th>
<th>peak lift</th><th class="t">flags</th></tr></thead><tbody>
{% for c in f.classes %}<tr><td class="t">{{ c.name }}</td><td>{{ c.n }}</td>
<td data-v="{{ c.accuracy }}">{{ pct(c.accuracy) }}</td><td>{{ num(c.mean_confidence) }}</td>
{% if f.has_objects %}<td>{{ num(c.mean_object_share) }}</td>
<td data-v="{{ c.off_object_share }}">{{ pct(c.off_object_share) }}</td>{% endif %}
<td>{{ num(c.mean_border_share) }}</td><td data-v="{{ c.border_image_share }}">{{ pct(c.border_image_share) }}</td>
<td>{{ num(c.mean_entropy) }}</td><td data-v="{{ c.peak_agreement }}">{{ pct(c.peak_agreement) }}</td>
<td>{{ num(c.peak_lift) }}</td><td class="t">{% for t in c.flags %}<span class="tag">{{ t }}</span>{% endfor %}</td></tr>
{% endfor %}</tbody></table>

{% for fl in f.flags %}
<h2 id="flag-{{ loop.index }}">Flagged: {{ fl.kind }} — {{ fl.name }}</h2>
<p>{{ fl.detail }}. First {{ thumbs[loop.index0]|length }} of {{ fl.count }}:</p>
<div class="grid">{% for t in thumbs[loop.index0] %}{{ t|safe }}{% endfor %}</div>
{% endfor %}

<h2 id="misclassified">Misclassified ({{ f.misclassified.count }})</h2>
{% if f.misclassified.confusions %}
<table class="sortable"><thead><tr><th class="t">label</th><th class="t">predicted</th>
<th>images</th></tr></thead><tbody>{% for c in f.misclassified.confusions %}<tr>
<td class="t">{{ c.label }}</td><td class="t">{{ c.prediction }}</td><td>{{ c.count }}</td></tr>
{% endfor %}</tbody></table>
<p id="mistakes">The most confident mistakes:</p>
<div class="grid">{% for t in wrong_thumbs %}{{ t|safe }}{% endfor %}</div>
{% else %}<p>None{% if not f.labelled %} (the data has no labels){% endif %}.</p>{% endif %}

<h2 id="images">Images flagged or misclassified ({{ rows|length }}{% if rows_cut %}, first {{ rows|length }}{% endif %})</h2>
<table class="sortable"><thead><tr><th>#</th><th class="t">path</th><th class="t">label</th>
<th class="t">predicted</th><th>confidence</th><th>object share</th><th>border share</th>
<th>entropy</th><th>peak y</th><th>peak x</th><th class="t">why</th></tr></thead><tbody>
{% for r in rows %}<tr><td>{{ r.index }}</td><td class="t">{{ r.path }}</td><td class="t">{{ r.label }}</td>
<td class="t">{{ r.prediction }}</td><td>{{ num(r.confidence) }}</td><td>{{ num(r.object_share) }}</td>
<td>{{ num(r.border_share) }}</td><td>{{ num(r.entropy) }}</td><td>{{ num(r.peak_y) }}</td>
<td>{{ num(r.peak_x) }}</td><td class="t">{{ r.why }}</td></tr>{% endfor %}</tbody></table>

<h2 id="skipped">Skipped images ({{ f.n_errors }})</h2>
{% if f.errors %}<table class="sortable"><thead><tr><th>#</th><th class="t">path</th>
<th class="t">error</th></tr></thead><tbody>{% for e in f.errors[:2000] %}<tr><td>{{ e.index }}</td>
<td class="t">{{ e.path }}</td><td class="t">{{ e.error }}</td></tr>{% endfor %}</tbody></table>
{% else %}<p>None: every image was read.</p>{% endif %}

<p class="meta">camlens {{ m.versions.camlens }} · torch {{ m.versions.torch }} ·
options {{ m.options }} · world size {{ m.world_size }}</p>
<script>
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, col) {
    var asc = false;
    th.addEventListener("click", function () {
      asc = !asc;
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      function key(row) {
        var cell = row.cells[col], v = cell.getAttribute("data-v");
        if (v === null) v = cell.textContent.trim();
        var n = parseFloat(v);
        return isNaN(n) || !/^[-+]?[0-9.]/.test(v) ? v.toLowerCase() : n;
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (typeof x !== typeof y) { x = String(x); y = String(y); }
        return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
</script>
</body></html>
"""


def png_data_url(rgb: np.ndarray) -> str:
    """A ``data:image/png;base64,...`` URL of an ``(H, W, 3)`` uint8 array."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def heat(values: np.ndarray, size: int = THUMB) -> np.ndarray:
    """``(size, size, 3)`` uint8 jet heatmap of a map normalised by its max."""
    from ..viz import heatmap

    top = float(values.max()) if values.size else 0.0
    unit = values / top if top > 0 else np.zeros_like(values)
    up = np.asarray(
        Image.fromarray(unit.astype(np.float32), mode="F").resize(
            (size, size), Image.Resampling.BILINEAR
        )
    )
    return (heatmap(np.clip(up, 0, 1)) * 255 + 0.5).astype(np.uint8)


class Thumbnails:
    """Image | overlay pairs for rows of the table, reading images back from the source."""

    def __init__(self, source: Source, loaded: Any, classes: list[str]) -> None:
        self.source = source
        self.loaded = loaded
        self.classes = classes
        self.references = References(loaded.preprocess)

    def seen(self, index: int) -> np.ndarray:
        """``(H, W, 3)`` uint8: the image as the model saw it (after its resize and crop)."""
        image = self.source.image(index)
        x = self.loaded.preprocess(image)
        unit = self.references.unit(x, image.size)
        return (unit.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)

    def __call__(self, row: dict[str, Any]) -> str:
        from ..viz import overlay

        try:
            seen = self.seen(int(row["index"]))
        except Exception as exc:  # the image changed or vanished since the run
            return f'<div class="cell">{html.escape(row["path"])}: {html.escape(str(exc))}</div>'
        big = np.asarray(Image.fromarray(seen).resize((THUMB, THUMB), Image.Resampling.BICUBIC))
        cam = np.asarray(row["map"], np.float32).reshape(int(row["map_h"]), int(row["map_w"]))
        both = np.concatenate([big, overlay(big, np.clip(cam, 0, 1), alpha=0.5)], axis=1)
        label = _name(self.classes, row["label"])
        pred = _name(self.classes, row["prediction"])
        caption = (
            f"{html.escape(str(row['path']))}<br>label {html.escape(label)} → "
            f"{html.escape(pred)} ({float(row['confidence']):.2f})"
        )
        return (
            f'<div class="cell"><img alt="" width="{2 * THUMB}" height="{THUMB}" '
            f'src="{png_data_url(both)}"><br>{caption}</div>'
        )


def _name(classes: list[str], k: Any) -> str:
    if k is None or (isinstance(k, float) and np.isnan(k)):
        return "—"
    k = int(k)
    if k < 0:
        return "—"
    return classes[k] if k < len(classes) else str(k)


def _pct(v: Any) -> str:
    return "—" if v is None else f"{100 * float(v):.1f}%"


def _num(v: Any) -> str:
    if v is None:
        return "—"
    v = float(v)
    return "—" if np.isnan(v) else f"{v:.3f}"


def render_report(
    run: Any, source: Source | None, loaded: Any, findings: dict[str, Any], table: pa.Table
) -> str:
    """The HTML of the report (thumbnails need ``source`` and ``loaded``; else none)."""
    import jinja2

    from .runner import manifest_classes

    manifest = run.read_manifest() or {}
    classes = manifest_classes(manifest)
    frame = table.to_pandas().drop_duplicates("index", keep="last").set_index("index", drop=False)
    thumbs_of = Thumbnails(source, loaded, classes) if source is not None else None

    def thumbs(indices: list[int]) -> list[str]:
        if thumbs_of is None:
            return []
        rows = [frame.loc[i] for i in indices[:MAX_THUMBS] if i in frame.index]
        return [thumbs_of(r) for r in rows]

    why: dict[int, list[str]] = {}
    for flag in findings["flags"]:
        for i in flag["indices"]:
            why.setdefault(i, []).append(flag["kind"])
    for i in findings["misclassified"]["indices"]:
        why.setdefault(i, []).append("misclassified")
    ordered = sorted(why)
    rows = []
    for i in ordered[:MAX_ROWS]:
        r = frame.loc[i]
        rows.append(
            {
                **{k: r[k] for k in ("index", "path", "confidence", "object_share")},
                **{k: r[k] for k in ("border_share", "entropy", "peak_y", "peak_x")},
                "label": _name(classes, r["label"]),
                "prediction": _name(classes, r["prediction"]),
                "why": ", ".join(why[i]),
            }
        )
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.globals.update(pct=_pct, num=_num)
    return env.from_string(TEMPLATE).render(
        m=_Attr(manifest),
        f=_Attr(findings),
        thumb=THUMB,
        mean_maps=[png_data_url(heat(np.asarray(c["mean_map"]))) for c in findings["classes"]],
        thumbs=[thumbs(fl["indices"]) for fl in findings["flags"]],
        wrong_thumbs=thumbs(findings["misclassified"]["indices"]),
        rows=rows,
        rows_cut=len(ordered) > MAX_ROWS,
    )


class _Attr(dict):
    """A dict whose keys read as attributes in the template (nested dicts too)."""

    def __getattr__(self, name: str) -> Any:
        try:
            value = self[name]
        except KeyError:
            raise AttributeError(name) from None
        return _Attr(value) if isinstance(value, dict) else value
