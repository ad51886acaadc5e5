"""Findings of an audit, from the per-image rows: per class, where the model looks and whether
its evidence sits on the object, in the border, or on a region shared across the class.

Per class ``k`` (the true label; the prediction when the data has no labels):

- **mean map**: the mean of the images' energy distributions ``p = M / Σ M`` (``(h, w)``,
  sums to 1): where the model looks on average for that class;
- **off-object share**: the fraction of its images whose evidence lies mostly outside the object
  (only when masks or boxes were given): ``object_share < outside`` *and* the map's peak off the
  object (``peak_on_object == 0``). The second condition matters at low resolution: a thin or small
  object covers only parts of a few map cells, so even a map centred on it keeps much of its
  energy in the cells' other pixels; its peak, though, lands on the object;
- **border share**: the fraction with ``border_share > in_border``;
- **shared region**: each image's peak falls in one cell of a ``G × G`` grid over the image. With
  ``a_k(c)`` the fraction of class ``k``'s images peaking in cell ``c`` and ``b_k(c)`` the same for
  the other classes (Laplace-smoothed: ``(count + 1) / (n + G²)``), the class is flagged when some
  cell has ``a_k(c) ≥ agreement`` and ``a_k(c) / b_k(c) ≥ lift``: most of the class's evidence
  lands on one spot that the other classes do not use — a watermark, a logo, a constant patch —
  and, when objects are known, the median ``object_share`` of those images is below ``outside``.
  An object that is simply always centred is not flagged: every class peaks there, the lift is 1.
- **misclassified**: the images whose prediction differs from the label, most confident first,
  and the most frequent (label → prediction) confusions.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa

DEFAULTS = {
    "outside": 0.5,
    "in_border": 0.5,
    "agreement": 0.5,
    "lift": 3.0,
    "grid": 4,
    "min_class_images": 10,
    "class_flag_share": 0.5,
}


def _maps(frame: Any) -> np.ndarray:
    """``(N, h, w)`` float32 maps of the explained rows."""
    if len(frame) == 0:
        return np.zeros((0, 1, 1), np.float32)
    h, w = int(frame["map_h"].iloc[0]), int(frame["map_w"].iloc[0])
    return np.stack([np.asarray(m, np.float32) for m in frame["map"]]).reshape(-1, h, w)


def _name(classes: list[str], k: int) -> str:
    return classes[k] if 0 <= k < len(classes) else str(k)


def _f(value: Any) -> float | None:
    """A JSON-safe float (None for NaN)."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else round(value, 6)


def compute_findings(
    table: pa.Table, classes: list[str], *, border: float = 0.125, **thresholds: Any
) -> dict[str, Any]:
    """The findings as a JSON-able dict (see the module docstring for each one)."""
    unknown = set(thresholds) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown thresholds {sorted(unknown)}; known: {sorted(DEFAULTS)}.")
    t = {**DEFAULTS, **thresholds}
    frame = table.to_pandas().drop_duplicates("index", keep="last").sort_values("index")
    failed = frame[frame["error"].notna()]
    ok = frame[frame["error"].isna()].reset_index(drop=True)
    labelled = bool((ok["label"] >= 0).any()) if len(ok) else False
    group = ok["label"] if labelled else ok["prediction"]
    ok = ok.assign(group=group.astype(np.int64))
    maps = _maps(ok)
    n, h, w = maps.shape
    flat = maps.reshape(n, h * w)  # not (n, -1): no image explained is n = 0
    energy = flat.sum(1)
    dist = np.where(energy[:, None] > 0, flat / np.maximum(energy, 1e-30)[:, None], 0)
    has_objects = bool(ok["object_share"].notna().any()) if n else False

    g = max(1, min(int(t["grid"]), h, w))
    cell_y = np.clip(np.floor(ok["peak_y"].fillna(-1).to_numpy() * g), -1, g - 1).astype(int)
    cell_x = np.clip(np.floor(ok["peak_x"].fillna(-1).to_numpy() * g), -1, g - 1).astype(int)
    cell = np.where((cell_y >= 0) & (cell_x >= 0), cell_y * g + cell_x, -1)
    off = ((ok["object_share"] < t["outside"]) & (ok["peak_on_object"] == 0)).to_numpy()
    in_band = (ok["border_share"] > t["in_border"]).to_numpy()

    per_class, flags = [], []
    groups = ok["group"].to_numpy()
    for k in sorted(set(groups.tolist())):
        sel = groups == k
        sub = ok[sel]
        name = _name(classes, int(k))
        valid = energy[sel] > 0
        mean_map = dist[sel][valid].mean(0).reshape(h, w) if valid.any() else np.zeros((h, w))
        with_obj = sub["object_share"].notna().to_numpy()
        off_share = float(off[sel][with_obj].mean()) if with_obj.any() else None
        border_frac = float(in_band[sel].mean())
        entry: dict[str, Any] = {
            "class": int(k),
            "name": name,
            "n": int(sel.sum()),
            "accuracy": _f(sub["correct"].mean()) if labelled else None,
            "mean_confidence": _f(sub["confidence"].mean()),
            "mean_object_share": _f(sub["object_share"].mean()) if with_obj.any() else None,
            "mean_border_share": _f(sub["border_share"].mean()),
            "mean_entropy": _f(sub["entropy"].mean()),
            "off_object_share": _f(off_share),
            "border_image_share": _f(border_frac),
            "mean_map": np.round(mean_map.astype(np.float64), 6).tolist(),
        }
        # shared region: agreement of peak cells within the class, lift against the others
        cells_k = cell[sel & (cell >= 0)]
        cells_o = cell[~sel & (cell >= 0)]
        counts_k = np.bincount(cells_k, minlength=g * g)
        counts_o = np.bincount(cells_o, minlength=g * g)
        a = counts_k / max(len(cells_k), 1)
        b = (counts_o + 1) / (len(cells_o) + g * g)
        best = int(np.argmax(a))
        lift = float(a[best] / b[best])
        shared_idx = ok.loc[sel & (cell == best), "index"].to_numpy()
        shared_on_object = None
        if has_objects:
            shares = ok.loc[sel & (cell == best), "object_share"].dropna()
            shared_on_object = float(shares.median()) if len(shares) else None
        entry["peak_cell"] = [best // g, best % g]
        entry["peak_agreement"] = _f(a[best])
        entry["peak_lift"] = _f(lift)
        entry["flags"] = []
        big_enough = entry["n"] >= t["min_class_images"]
        if (
            big_enough
            and a[best] >= t["agreement"]
            and lift >= t["lift"]
            and (shared_on_object is None or shared_on_object < t["outside"])
        ):
            y0, x0 = best // g / g, best % g / g
            detail = (
                f"{a[best]:.0%} of {name!r} images peak in the cell y∈[{y0:.2f},{y0 + 1 / g:.2f}) "
                f"x∈[{x0:.2f},{x0 + 1 / g:.2f}) of a {g}×{g} grid, {lift:.1f}× the other classes' "
                "rate: evidence on a region shared across the class (watermark, logo, patch?)"
            )
            flags.append(_flag("shared_region", k, name, detail, shared_idx))
            entry["flags"].append("shared_region")
        if big_enough and off_share is not None and off_share >= t["class_flag_share"]:
            idx = sub.loc[off[sel] & with_obj, "index"].to_numpy()
            detail = f"{off_share:.0%} of {name!r} images have most evidence outside the object"
            flags.append(_flag("off_object", k, name, detail, idx))
            entry["flags"].append("off_object")
        if big_enough and border_frac >= t["class_flag_share"]:
            idx = sub.loc[in_band[sel], "index"].to_numpy()
            detail = f"{border_frac:.0%} of {name!r} images have most evidence in the border band"
            flags.append(_flag("border", k, name, detail, idx))
            entry["flags"].append("border")
        per_class.append(entry)

    wrong = ok[(ok["label"] >= 0) & ~ok["correct"].astype(bool)] if labelled else ok.iloc[:0]
    wrong = wrong.sort_values("confidence", ascending=False)
    pairs = wrong.groupby(["label", "prediction"]).size().sort_values(ascending=False)
    confusions = [
        {"label": _name(classes, int(a)), "prediction": _name(classes, int(p)), "count": int(c)}
        for (a, p), c in pairs.head(20).items()
    ]
    return {
        "n_images": len(frame),
        "n_explained": n,
        "n_errors": len(failed),
        "accuracy": _f(ok["correct"].mean()) if labelled and n else None,
        "labelled": labelled,
        "has_objects": has_objects,
        "map_size": [h, w] if n else None,
        "border": border,
        "thresholds": t,
        "classes": per_class,
        "flags": flags,
        "flagged_classes": sorted({f["name"] for f in flags}),
        "images_off_object": int((off & ok["object_share"].notna().to_numpy()).sum()),
        "images_in_border": int(in_band.sum()),
        "misclassified": {
            "count": len(wrong),
            "indices": wrong["index"].astype(int).tolist(),
            "confusions": confusions,
        },
        "errors": [
            {"index": int(r["index"]), "path": r["path"], "error": r["error"]}
            for r in failed[["index", "path", "error"]].to_dict("records")
        ],
    }


def _flag(kind: str, k: int, name: str, detail: str, indices: np.ndarray) -> dict[str, Any]:
    return {
        "kind": kind,
        "class": int(k),
        "name": name,
        "detail": detail,
        "count": len(indices),
        "indices": [int(i) for i in indices],
    }
