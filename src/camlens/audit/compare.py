"""Two finished audits side by side (e.g. before and after fine-tuning away a shortcut):
per class, accuracy, where the maps peak, the shared-region lift and the flags, with both mean
maps, as a dict, a text table and a self-contained HTML page."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .errors import RunDirError
from .report import heat, png_data_url
from .store import RunDir

FIGURES = ("accuracy", "peak_agreement", "peak_lift", "off_object_share", "mean_object_share")


def _findings(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    run = RunDir(url)
    manifest = run.read_manifest()
    path = run.path("findings.json")
    if manifest is None or not run.fs.exists(path):
        raise RunDirError(f"{url}: no finished audit here (manifest.json and findings.json).")
    with run.fs.open(path, "r") as handle:
        return json.load(handle), manifest


def compare_runs(before: str, after: str) -> dict[str, Any]:
    """Per class (by name) the figures of both runs, and what was flagged in each."""
    (fb, mb), (fa, ma) = _findings(before), _findings(after)
    by_name = {c["name"]: c for c in fb["classes"]}, {c["name"]: c for c in fa["classes"]}
    names = [c["name"] for c in fb["classes"]]
    names += [n for n in by_name[1] if n not in by_name[0]]
    rows = []
    for name in names:
        b, a = by_name[0].get(name, {}), by_name[1].get(name, {})
        rows.append(
            {
                "name": name,
                **{f"{k}_before": b.get(k) for k in FIGURES},
                **{f"{k}_after": a.get(k) for k in FIGURES},
                "flags_before": b.get("flags", []),
                "flags_after": a.get("flags", []),
                "map_before": b.get("mean_map"),
                "map_after": a.get("mean_map"),
            }
        )
    return {
        "before": {"run": before, "model": mb.get("model"), "accuracy": fb.get("accuracy")},
        "after": {"run": after, "model": ma.get("model"), "accuracy": fa.get("accuracy")},
        "flagged_before": fb["flagged_classes"],
        "flagged_after": fa["flagged_classes"],
        "classes": rows,
    }


def _fmt(v: Any, pct: bool = False) -> str:
    if v is None:
        return "–"
    return f"{100 * v:.1f}%" if pct else f"{v:.2f}"


def _cells(r: dict[str, Any]) -> dict[str, str]:
    """One class's figures as 'before → after' strings."""

    def pair(key: str, pct: bool) -> str:
        return f"{_fmt(r[key + '_before'], pct)} → {_fmt(r[key + '_after'], pct)}"

    flags = f"{','.join(r['flags_before']) or '-'} → {','.join(r['flags_after']) or '-'}"
    return {
        "acc": pair("accuracy", True),
        "agree": pair("peak_agreement", True),
        "lift": pair("peak_lift", False),
        "flags": flags,
    }


def comparison_text(cmp: dict[str, Any]) -> str:
    """A terminal table: each class's accuracy, peak agreement, lift and flags, before → after."""
    lines = [
        f"before: {cmp['before']['model']} ({cmp['before']['run']})",
        f"after:  {cmp['after']['model']} ({cmp['after']['run']})",
        f"flagged before: {', '.join(cmp['flagged_before']) or 'none'}; "
        f"after: {', '.join(cmp['flagged_after']) or 'none'}",
        "",
        f"{'class':<14}{'accuracy':>18}{'peak agreement':>20}{'lift':>14}  flags",
    ]
    for r in cmp["classes"]:
        c = _cells(r)
        lines.append(f"{r['name']:<14}{c['acc']:>18}{c['agree']:>20}{c['lift']:>14}  {c['flags']}")
    return "\n".join(lines)


_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>camlens audit comparison</title>
<style>body{font-family:sans-serif;margin:2em}td,th{padding:.3em .8em;text-align:right}
th{background:#eee}img{image-rendering:pixelated;width:96px}.f{color:#b00}</style></head><body>
<h1>Audit comparison</h1>
<p>before: <b>{{ c.before.model }}</b> ({{ c.before.run }}), flagged:
{{ c.flagged_before|join(', ') or 'none' }}<br>after: <b>{{ c.after.model }}</b>
({{ c.after.run }}), flagged: {{ c.flagged_after|join(', ') or 'none' }}</p>
<table><tr><th>class</th><th>mean map before</th><th>after</th><th>accuracy</th>
<th>peak agreement</th><th>lift</th><th>flags</th></tr>
{% for r in rows %}<tr><td>{{ r.name }}</td><td><img src="{{ r.img_before }}"></td>
<td><img src="{{ r.img_after }}"></td><td>{{ r.acc }}</td><td>{{ r.agree }}</td>
<td>{{ r.lift }}</td><td class="f">{{ r.flags }}</td></tr>{% endfor %}</table></body></html>"""


def render_comparison(cmp: dict[str, Any]) -> str:
    """A self-contained HTML page (data-URL images) of :func:`compare_runs`'s result."""
    import jinja2

    def img(values: Any) -> str:
        if values is None:
            return ""
        return png_data_url(heat(np.asarray(values, dtype=np.float64)))

    rows = [
        {
            "name": r["name"],
            "img_before": img(r["map_before"]),
            "img_after": img(r["map_after"]),
            **_cells(r),
        }
        for r in cmp["classes"]
    ]
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(_PAGE).render(c=cmp, rows=rows)
