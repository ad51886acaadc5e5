"""Dataset audits: explain every image of a dataset, find where a model's evidence is biased.

from camlens.audit import run_audit
result = run_audit("data/", camlens.models.load_model("cifar10-resnet56"), "runs/a")
result.findings["flags"]        # classes whose evidence sits on a shared region, off the object...

Per-image results go to Parquet part files in the run directory (resumable; several torchrun
ranks write side by side; ``engine="ray"`` runs on Ray Data and writes the same parts);
findings.json and a self-contained report.html follow. See docs/audit.md.
"""

from __future__ import annotations

from .errors import DataSourceError, RunDirError
from .findings import compute_findings
from .report import render_report
from .runner import AuditResult, run_audit
from .sources import Item, Source, open_source
from .stats import STAT_NAMES, evidence_stats
from .store import SCHEMA, RunDir
from .summary import read_summary, summary_text


def load_results(run_dir: str):
    """All per-image rows of a run as a pandas DataFrame, one row per image, by index."""
    frame = RunDir(run_dir).read().to_pandas()
    return frame.drop_duplicates("index", keep="last").sort_values("index").reset_index(drop=True)


__all__ = [
    "SCHEMA",
    "STAT_NAMES",
    "AuditResult",
    "DataSourceError",
    "Item",
    "RunDir",
    "RunDirError",
    "Source",
    "compute_findings",
    "evidence_stats",
    "load_results",
    "open_source",
    "read_summary",
    "render_report",
    "run_audit",
    "summary_text",
]
