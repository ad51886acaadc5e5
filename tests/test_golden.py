"""Behaviour equality: every method's maps and the CLI's outputs equal the recorded ones.

The golden files were written by ``scripts/record_golden.py`` from the code before the
refactoring of issue 13 (commit 481e2ab); the cases are in ``tests/golden_cases.py``. A change
that moves any map by more than 1e-7 fails here; rerun the script only for a deliberate change.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from golden_cases import GOLDEN, MODELS, cli_outputs, compute, demo_available, flatten

ATOL = 1e-7


def _compare(key: str, got: np.ndarray, want: np.ndarray) -> None:
    if want.dtype.kind in "US":
        text, expected = str(got), str(want)
        if key.endswith(".json") or key == "explain:json":
            text, expected = json.loads(text), json.loads(expected)
        assert text == expected, key
        return
    assert got.shape == want.shape, f"{key}: shape {got.shape} != {want.shape}"
    if want.dtype.kind in "iub":
        np.testing.assert_array_equal(got, want, err_msg=key)
    else:
        np.testing.assert_allclose(got, want, rtol=0, atol=ATOL, err_msg=key)


@pytest.fixture(scope="module")
def golden_maps() -> dict[str, np.ndarray]:
    with np.load(GOLDEN / "maps.npz") as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def computed() -> dict[str, np.ndarray]:
    return flatten(compute())


@pytest.mark.parametrize("model", list(MODELS))
def test_every_method_gives_the_recorded_maps(model, golden_maps, computed) -> None:
    want = {k: v for k, v in golden_maps.items() if k.startswith(f"{model}/")}
    got = {k: v for k, v in computed.items() if k.startswith(f"{model}/")}
    assert want, "no recorded case for this model"
    assert sorted(got) == sorted(want)  # the same cases, and the same ones raise
    for key, value in want.items():
        _compare(key, got[key], value)


@pytest.mark.skipif(not demo_available(), reason="the demo checkpoint is not installed")
def test_explain_compare_evaluate_write_the_recorded_outputs(tmp_path) -> None:
    with np.load(GOLDEN / "cli.npz") as data:
        want = {k: data[k] for k in data.files}
    got = cli_outputs(tmp_path)
    assert sorted(got) == sorted(want)
    for key, value in want.items():
        if key == "evaluate:csv":  # numbers to 1e-9 relative, text exactly
            rows = [r.split(",") for r in str(got[key]).splitlines()]
            expected = [r.split(",") for r in str(value).splitlines()]
            assert [r[0] for r in rows] == [r[0] for r in expected] and rows[0] == expected[0]
            np.testing.assert_allclose(
                [[float(c) for c in r[1:]] for r in rows[1:]],
                [[float(c) for c in r[1:]] for r in expected[1:]],
                rtol=1e-9,
                atol=0,
            )
        else:
            _compare(key, got[key], value)
