"""The evaluation figure: one bar chart per metric (a bar per method) and the mean
deletion/insertion curves. Drawn on a bare ``matplotlib.figure.Figure`` (no pyplot state)."""

from __future__ import annotations

import math
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import OptionError

if TYPE_CHECKING:
    from .result import EvaluationResult


def plot_result(
    result: EvaluationResult,
    path: str | PathLike[str] | None = None,
    *,
    columns: list[str] | None = None,
    ncols: int = 4,
    title: str | None = None,
    dpi: int = 110,
) -> Any:
    """Draw ``result`` and save it to ``path`` (PNG, SVG, ... by suffix) when given.

    Returns the ``Figure``. ``columns``: the metric columns to draw (default: all).
    """
    from matplotlib.figure import Figure

    columns = columns or result.columns
    curve_panels = [(m, c) for m, c in result.curves.items() if c]
    n = len(columns) + len(curve_panels)
    if n == 0:
        raise OptionError("nothing to plot: the result has no metric columns and no curves.")
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(3.4 * ncols, 2.9 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    methods = result.methods
    colors = {m: f"C{i % 10}" for i, m in enumerate(methods)}
    for ax, column in zip(axes, columns, strict=False):
        values = [result.scores[m].get(column, float("nan")) for m in methods]
        ax.bar(range(len(methods)), values, color=[colors[m] for m in methods])
        ax.set_xticks(range(len(methods)), methods, rotation=45, ha="right", fontsize=8)
        ax.set_title(result.label(column), fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    for ax, (metric, per_method) in zip(axes[len(columns) :], curve_panels, strict=False):
        for method, (x, y) in per_method.items():
            ax.plot(x, y, color=colors.get(method), label=method, lw=1.4)
        ax.set_title(f"{metric} curve (mean)", fontsize=10)
        ax.set_xlabel("fraction of pixels", fontsize=8)
        ax.set_ylabel("class probability", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes[n:]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=11)
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=dpi)
    return fig
