"""From an audit finding to training masks: the region an audit found shared across a class
(a watermark, a logo) as per-image "must not use" masks for :mod:`camlens.training`.

A ``shared_region`` finding names a cell of a ``G × G`` grid over the image where most of a
class's maps peak and the other classes' do not (see :mod:`camlens.audit.findings`). Its mask is
that cell, ``[y0, y0 + 1/G) × [x0, x0 + 1/G)`` in image fractions, drawn at the requested size,
for the images the scope names:

- ``"flagged"``: the images of the finding (the class's images that peak in the cell);
- ``"class"``: every image of the flagged class;
- ``"all"``: every explained image of the run (the region is off limits for every class).

Nothing about the cue is known by hand: the region comes from the run's findings only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import OptionError
from .errors import RunDirError
from .store import RunDir

Scope = Literal["flagged", "class", "all"]
SCOPES: tuple[str, ...] = ("flagged", "class", "all")


@dataclass
class RegionMasks:
    """Per-image masks from audit findings.

    indices ``(N,)`` int64: the images' indices in the audited data (its order);
    masks   ``(N, H, W)`` bool: True where the model must not look;
    regions: the findings used, each ``{"class", "name", "cell", "grid", "box"}`` with ``box``
    ``(y0, x0, y1, x1)`` in image fractions.
    """

    indices: np.ndarray
    masks: np.ndarray
    regions: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.indices)

    def for_indices(self, indices: Any) -> np.ndarray:
        """``(len(indices), H, W)`` bool: the masks of those data indices (all False if none)."""
        wanted = np.asarray(indices, dtype=np.int64)
        out = np.zeros((len(wanted), *self.masks.shape[1:]), dtype=bool)
        if len(self.indices):
            order = np.argsort(self.indices)
            pos = np.searchsorted(self.indices[order], wanted)
            pos = np.clip(pos, 0, len(order) - 1)
            hit = self.indices[order][pos] == wanted
            out[hit] = self.masks[order][pos[hit]]
        return out

    def save(self, path: str | Path) -> None:
        """An ``.npz`` file: ``indices``, ``masks`` and the regions as JSON (no pickle)."""
        np.savez_compressed(
            path, indices=self.indices, masks=self.masks, regions=json.dumps(self.regions)
        )

    @classmethod
    def load(cls, path: str | Path) -> RegionMasks:
        with np.load(path, allow_pickle=False) as data:
            return cls(data["indices"], data["masks"], json.loads(str(data["regions"])))


def _box_mask(box: tuple[float, float, float, float], size: tuple[int, int]) -> np.ndarray:
    h, w = size
    y0, x0, y1, x1 = box
    mask = np.zeros((h, w), dtype=bool)
    mask[round(y0 * h) : round(y1 * h), round(x0 * w) : round(x1 * w)] = True
    return mask


def shared_region_masks(
    run_dir: str, size: int | tuple[int, int], *, scope: Scope = "class"
) -> RegionMasks:
    """Masks of every ``shared_region`` finding of the finished run in ``run_dir``.

    size: the masks' ``H, W`` (the training images' size). An image that several findings
    cover gets the union of their regions.
    """
    if scope not in SCOPES:
        raise OptionError(f"scope must be one of {SCOPES}, got {scope!r}.")
    run = RunDir(run_dir)
    path = run.path("findings.json")
    if not run.fs.exists(path):
        raise RunDirError(
            f"{run_dir}: no findings.json; finish the audit (`camlens audit DATA --model MODEL "
            "--out RUN_DIR`) before exporting masks."
        )
    with run.fs.open(path, "r") as handle:
        findings = json.load(handle)
    hw = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    per_class = {c["class"]: c for c in findings["classes"]}
    frame = run.read().to_pandas().drop_duplicates("index", keep="last")
    frame = frame[frame["error"].isna()]
    labelled = bool(findings.get("labelled"))
    group = (frame["label"] if labelled else frame["prediction"]).to_numpy()
    grid = int(findings["thresholds"]["grid"])
    masks: dict[int, np.ndarray] = {}
    regions = []
    for flag in findings["flags"]:
        if flag["kind"] != "shared_region":
            continue
        k = flag["class"]
        cy, cx = per_class[k]["peak_cell"]
        g = max(1, min(grid, *findings["map_size"]))
        box = (cy / g, cx / g, (cy + 1) / g, (cx + 1) / g)
        regions.append({"class": k, "name": flag["name"], "cell": [cy, cx], "grid": g, "box": box})
        if scope == "flagged":
            chosen = np.asarray(flag["indices"], dtype=np.int64)
        elif scope == "class":
            chosen = frame["index"].to_numpy()[group == k]
        else:
            chosen = frame["index"].to_numpy()
        region = _box_mask(box, hw)
        for i in chosen.tolist():
            masks[i] = masks[i] | region if i in masks else region.copy()
    indices = np.array(sorted(masks), dtype=np.int64)
    stacked = np.stack([masks[i] for i in indices]) if len(indices) else np.zeros((0, *hw), bool)
    return RegionMasks(indices, stacked, regions)
