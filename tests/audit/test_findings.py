"""Findings on hand-made per-image rows: shared regions, off-object and border shares, mistakes."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import torch

from camlens.audit.findings import compute_findings
from camlens.audit.stats import evidence_stats
from camlens.audit.store import SCHEMA

torch.set_num_threads(1)
NAMES = ["a", "b", "c"]


def table_of(maps: np.ndarray, labels, preds, masks=None, errors=0) -> pa.Table:
    """Rows as run_audit writes them, statistics from evidence_stats on a 16x16 input."""
    t = torch.from_numpy(maps).float()
    has = None if masks is None else torch.ones(len(maps), dtype=torch.bool)
    stats = evidence_stats(t, (16, 16), None if masks is None else torch.from_numpy(masks), has)
    rows = []
    for i, (m, y, p) in enumerate(zip(maps, labels, preds, strict=True)):
        row = {
            "index": i, "path": f"img{i}.png", "label": y, "prediction": p,
            "confidence": 0.9 - 0.01 * i, "score": 1.0, "correct": y == p,
            "map_h": m.shape[0], "map_w": m.shape[1], "map": (m / m.max()).ravel().tolist(),
            "error": None, "rank": 0,
        }  # fmt: skip
        row.update({k: float(v[i]) for k, v in stats.items()})
        nan = [k for k, v in row.items() if isinstance(v, float) and np.isnan(v)]
        rows.append({**row, **dict.fromkeys(nan)})
    rows.extend(
        {"index": len(maps) + j, "path": f"bad{j}.png", "label": 0, "error": "corrupt"}
        for j in range(errors)
    )
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def one_hot(y: int, x: int) -> np.ndarray:
    m = np.full((4, 4), 0.01, np.float32)
    m[y, x] = 1.0
    return m


def test_a_class_peaking_on_its_own_corner_is_flagged():
    rng = np.random.default_rng(0)
    maps, labels = [], []
    for i in range(60):
        k = i % 3
        labels.append(k)
        if k == 2:  # a watermark in the top-left cell
            maps.append(one_hot(0, 0))
        else:  # objects anywhere but the corner
            maps.append(one_hot(int(rng.integers(1, 4)), int(rng.integers(0, 4))))
    maps = np.stack(maps)
    f = compute_findings(table_of(maps, labels, labels), NAMES)
    assert f["flagged_classes"] == ["c"]
    flag = f["flags"][0]
    assert flag["kind"] == "shared_region" and flag["count"] == 20
    assert [x["kind"] for x in f["flags"]] == ["shared_region", "border"]  # a corner is in it
    assert flag["indices"] == list(range(2, 60, 3))
    c = f["classes"][2]
    assert c["peak_cell"] == [0, 0] and c["peak_agreement"] == 1.0
    # lift = 1 / ((0 + 1) / (40 + 16)) = 56
    assert c["peak_lift"] == pytest.approx(56.0)
    mean = np.asarray(c["mean_map"])
    assert mean.shape == (4, 4) and mean.argmax() == 0
    assert mean.sum() == pytest.approx(1.0, abs=1e-4)


def test_centred_objects_in_every_class_are_not_a_shared_region():
    maps = np.stack([one_hot(1 + (i % 2), 1 + (i // 2) % 2) for i in range(60)])
    labels = [i % 3 for i in range(60)]
    f = compute_findings(table_of(maps, labels, labels), NAMES)
    assert f["flags"] == [] and all(c["peak_lift"] < 3 for c in f["classes"])


def test_off_object_and_border_shares():
    maps = np.stack([one_hot(0, 3) if i % 3 == 0 else one_hot(2, 2) for i in range(30)])
    masks = np.zeros((30, 16, 16), np.float32)
    masks[:, 8:12, 8:12] = 1  # the object under map cell (2, 2)
    labels = [i % 3 for i in range(30)]
    f = compute_findings(table_of(maps, labels, labels, masks), NAMES)
    a = f["classes"][0]
    assert a["off_object_share"] == 1.0 and a["border_image_share"] == 1.0
    assert {"off_object", "border"} <= set(a["flags"])
    assert f["classes"][1]["off_object_share"] == 0.0 and f["classes"][1]["flags"] == []
    assert f["images_off_object"] == 10 and f["images_in_border"] == 10
    assert f["has_objects"]


def test_misclassified_confident_first_and_errors():
    maps = np.stack([one_hot(i % 4, (i // 4) % 4) for i in range(12)])
    labels = [0] * 12
    preds = [0, 1, 0, 2, 1, 0, 0, 0, 0, 0, 0, 1]
    f = compute_findings(table_of(maps, labels, preds, errors=2), NAMES)
    assert f["misclassified"]["indices"] == [1, 3, 4, 11]  # confidence falls with the index
    assert f["misclassified"]["confusions"][0] == {"label": "a", "prediction": "b", "count": 3}
    assert f["n_errors"] == 2 and f["n_explained"] == 12 and f["n_images"] == 14
    assert f["accuracy"] == pytest.approx(8 / 12)


def test_unknown_threshold_is_refused():
    with pytest.raises(TypeError, match="unknown thresholds"):
        compute_findings(table_of(np.stack([one_hot(0, 0)]), [0], [0]), NAMES, agreeement=0.4)
