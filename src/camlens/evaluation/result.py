"""What :func:`camlens.evaluate` returns: the methods × metrics table, timings and curves."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import OptionError

UP, DOWN = "↑", "↓"
TIME_COLUMN = "ms/image"


def _pandas() -> Any:
    try:
        import pandas
    except ImportError as exc:  # pragma: no cover - pandas is in the evaluate extra
        from ..errors import MissingDependencyError

        raise MissingDependencyError(
            "evaluation tables need pandas: pip install 'camlens[evaluate]'."
        ) from exc
    return pandas


def _format(value: float, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


@dataclass
class EvaluationResult:
    """Scores of every method on every metric over one data set.

    scores:      ``{method: {column: value}}``; a metric that returns several numbers gives
                 columns ``"metric.key"``.
    directions:  ``{column: True if higher is better}``.
    seconds:     ``{method: seconds spent computing its maps}`` (metrics not included).
    metric_seconds: ``{method: {metric: seconds spent in that metric's update/compute}}``.
    curves:      ``{metric: {method: (fractions (S,), mean curve (S,))}}`` for deletion/insertion.
    by_class:    ``{method: {class: {column: value}}}`` when evaluated with ``by_class=True``.
    n_images:    images evaluated; ``accuracy``: top-1 accuracy on them (``None`` without labels).
    info:        free-form notes (model, data, layer, targets, options) for reports.

    Example:
        >>> result = EvaluationResult(
        ...     scores={"gradcam": {"pointing_game": 0.75}, "random": {"pointing_game": 0.25}},
        ...     directions={"pointing_game": True},
        ...     seconds={"gradcam": 0.1, "random": 0.0},
        ... )
        >>> result.methods, result.best()
        (['gradcam', 'random'], {'pointing_game': 'gradcam'})
    """

    scores: dict[str, dict[str, float]]
    directions: dict[str, bool]
    seconds: dict[str, float]
    metric_seconds: dict[str, dict[str, float]] = field(default_factory=dict)
    curves: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    by_class: dict[str, dict[Any, dict[str, float]]] = field(default_factory=dict)
    n_images: int = 0
    accuracy: float | None = None
    wall_seconds: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def methods(self) -> list[str]:
        return list(self.scores)

    @property
    def columns(self) -> list[str]:
        return list(self.directions)

    @property
    def table(self) -> Any:
        """pandas DataFrame: rows methods, columns metrics (plain names) then ``ms/image``."""
        pd = _pandas()
        rows = {
            m: [self.scores[m].get(c, float("nan")) for c in self.columns]
            + [1000.0 * self.seconds.get(m, float("nan")) / max(self.n_images, 1)]
            for m in self.methods
        }
        frame = pd.DataFrame.from_dict(rows, orient="index", columns=[*self.columns, TIME_COLUMN])
        frame.index.name = "method"
        frame.attrs["higher_is_better"] = dict(self.directions)
        return frame

    def labelled_table(self) -> Any:
        """:attr:`table` with each metric column named ``"metric ↑"`` or ``"metric ↓"``."""
        frame = self.table.copy()
        frame.columns = [self.label(c) for c in frame.columns]
        return frame

    def label(self, column: str) -> str:
        """``"deletion ↓"``: the column name and the better direction."""
        if column not in self.directions:
            return column
        return f"{column} {UP if self.directions[column] else DOWN}"

    def best(self) -> dict[str, str]:
        """``{column: method}`` with the best value of each metric column (NaN ignored)."""
        out = {}
        for column, higher in self.directions.items():
            values = {
                m: v
                for m in self.methods
                if not math.isnan(v := float(self.scores[m].get(column, float("nan"))))
            }
            if values:
                out[column] = (max if higher else min)(values, key=values.__getitem__)
        return out

    def to_markdown(self, digits: int = 3, *, bold_best: bool = True) -> str:
        """The table in Markdown: one row per method, ↑/↓ in the header, the best value (and
        its ties at the shown precision) in bold."""
        best = self.best() if bold_best and len(self.methods) > 1 else {}
        header = ["method", *(self.label(c) for c in self.columns), TIME_COLUMN]
        lines = [
            "| " + " | ".join(header) + " |",
            "| --- |" + " ---: |" * (len(header) - 1),
        ]
        texts = {
            (m, c): _format(self.scores[m].get(c, float("nan")), digits)
            for m in self.methods
            for c in self.columns
        }
        # bold every method that ties the best at the shown precision, none if all tie
        bold = set()
        for c, winner in best.items():
            tied = {m for m in self.methods if texts[m, c] == texts[winner, c]}
            if len(tied) < len(self.methods):
                bold |= {(m, c) for m in tied}
        for m in self.methods:
            cells = []
            for c in self.columns:
                text = texts[m, c]
                cells.append(f"**{text}**" if (m, c) in bold else text)
            ms = 1000.0 * self.seconds.get(m, float("nan")) / max(self.n_images, 1)
            cells.append(_format(ms, 1))
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def by_class_table(self, column: str | None = None) -> Any:
        """pandas DataFrame of one metric column per class: rows classes, columns methods."""
        if not self.by_class:
            raise OptionError("evaluate(..., by_class=True) was not used: no per-class scores.")
        pd = _pandas()
        column = column or self.columns[0]
        names = self.info.get("class_names") or []
        order = {str(n): i for i, n in enumerate(names)}
        classes = sorted(
            {c for per in self.by_class.values() for c in per},
            key=lambda c: (order.get(str(c), len(order)), str(c)),
        )
        frame = pd.DataFrame(
            {
                m: [self.by_class[m].get(c, {}).get(column, float("nan")) for c in classes]
                for m in self.methods
            },
            index=classes,
        )
        frame.index.name = "class"
        frame.attrs["column"] = column
        return frame

    def by_class_markdown(self, column: str | None = None, digits: int = 3) -> str:
        """:meth:`by_class_table` in Markdown."""
        frame = self.by_class_table(column)
        lines = [
            "| class | " + " | ".join(frame.columns) + " |",
            "| --- |" + " ---: |" * len(frame.columns),
        ]
        for name, row in frame.iterrows():
            lines.append(f"| {name} | " + " | ".join(_format(v, digits) for v in row) + " |")
        return "\n".join(lines) + "\n"

    def to_csv(self, path: str | PathLike[str]) -> Path:
        """Write :meth:`labelled_table` as CSV (UTF-8) and return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.labelled_table().to_csv(path, encoding="utf-8")
        return path

    def plot(self, path: str | PathLike[str] | None = None, **kwargs: Any) -> Any:
        """Bars per metric and deletion/insertion curves (see :func:`.plot.plot_result`)."""
        from .plot import plot_result

        return plot_result(self, path, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-ready Python values (curves as lists); see :meth:`from_dict`."""
        return {
            "scores": self.scores,
            "directions": self.directions,
            "seconds": self.seconds,
            "metric_seconds": self.metric_seconds,
            "curves": {
                metric: {
                    m: [np.asarray(x).tolist(), np.asarray(y).tolist()] for m, (x, y) in c.items()
                }
                for metric, c in self.curves.items()
            },
            "by_class": {
                m: {str(k): v for k, v in per.items()} for m, per in self.by_class.items()
            },
            "n_images": self.n_images,
            "accuracy": self.accuracy,
            "wall_seconds": self.wall_seconds,
            "info": self.info,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvaluationResult:
        """The result :meth:`to_dict` described (per-class keys come back as strings)."""
        curves = {
            metric: {m: (np.asarray(x), np.asarray(y)) for m, (x, y) in c.items()}
            for metric, c in data.get("curves", {}).items()
        }
        return cls(
            scores=data["scores"],
            directions=data["directions"],
            seconds=data["seconds"],
            metric_seconds=data.get("metric_seconds", {}),
            curves=curves,
            by_class=data.get("by_class", {}),
            n_images=data.get("n_images", 0),
            accuracy=data.get("accuracy"),
            wall_seconds=data.get("wall_seconds", 0.0),
            info=data.get("info", {}),
        )

    def __str__(self) -> str:
        return self.to_markdown()
