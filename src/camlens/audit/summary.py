"""``camlens audit --summary RUN_DIR``: the findings of a run as text for the terminal."""

from __future__ import annotations

from typing import Any

from .errors import RunDirError
from .store import RunDir


def _pct(v: Any) -> str:
    return "   —" if v is None else f"{100 * float(v):4.0f}%"


def summary_text(findings: dict[str, Any], manifest: dict[str, Any]) -> str:
    """A few lines: the run, the totals, each class's figures and flags, top confusions."""
    f = findings
    lines = [
        f"model {manifest.get('model')} ({manifest.get('method')} at {manifest.get('layer')}) "
        f"on {manifest.get('data')}",
        f"images {f['n_images']}  explained {f['n_explained']}  skipped {f['n_errors']}"
        + (f"  accuracy {100 * f['accuracy']:.1f}%" if f.get("accuracy") is not None else "")
        + f"  misclassified {f['misclassified']['count']}",
        "",
    ]
    header = (
        f"{'class':<14}{'n':>6}{'acc':>6}{'off-obj':>8}{'border':>7}{'peak':>6}{'lift':>6}  flags"
    )
    lines.append(header)
    for c in f["classes"]:
        lift = c.get("peak_lift")
        lines.append(
            f"{c['name'][:13]:<14}{c['n']:>6}{_pct(c['accuracy']):>6}"
            f"{_pct(c['off_object_share']):>8}{_pct(c['border_image_share']):>7}"
            f"{_pct(c['peak_agreement']):>6}{'—' if lift is None else f'{lift:.1f}':>6}  "
            + (", ".join(c["flags"]) or "-")
        )
    lines.append("")
    if f["flags"]:
        lines += [f"FLAG {fl['kind']} {fl['name']}: {fl['detail']}" for fl in f["flags"]]
    elif not f["n_explained"]:
        lines.append("no image could be read: nothing was explained")
    else:
        lines.append("no class flagged")
    confusions = f["misclassified"]["confusions"][:5]
    if confusions:
        lines.append(
            "top confusions: "
            + ", ".join(f"{c['label']}→{c['prediction']} ({c['count']})" for c in confusions)
        )
    for e in f["errors"][:5]:
        lines.append(f"skipped {e['path']}: {e['error']}")
    if len(f["errors"]) > 5:
        lines.append(f"... and {len(f['errors']) - 5} more skipped (see report.html)")
    return "\n".join(lines)


def read_summary(url: str) -> str:
    """The summary of the run in ``url`` (its findings.json and manifest.json)."""
    import json

    run = RunDir(url)
    manifest = run.read_manifest()
    path = run.path("findings.json")
    if manifest is None or not run.fs.exists(path):
        raise RunDirError(
            f"{url}: no finished audit here (manifest.json and findings.json are written by "
            "`camlens audit DATA --model MODEL --out RUN_DIR`); run or resume it first."
        )
    with run.fs.open(path, "r") as handle:
        findings = json.load(handle)
    return summary_text(findings, manifest)
