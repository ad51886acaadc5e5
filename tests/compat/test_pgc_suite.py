"""pytorch-grad-cam 1.5.7's own tests, import prefix rewritten, run on the compat module.

The suite stays outside the repository: ``CAMLENS_PGC_TESTS`` names a folder holding its
``tests/`` (a clone, or the grad-cam 1.5.7 sdist). The image its tests read comes from the
folder's ``examples/both.png`` or ``CAMLENS_PGC_IMAGE`` (default: ``photos/both.png`` of the
shared data). Here run: the files that need no download (the rest need torchvision's ImageNet
weights; ``scripts/pgc_suite.py`` runs the whole suite on both sides and compares).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from camlens.zoo import shared_data_dir

ROOT = Path(__file__).resolve().parents[2]
SUITE = os.environ.get("CAMLENS_PGC_TESTS")
PHOTOS = shared_data_dir("photos")
IMAGE = Path(os.environ.get("CAMLENS_PGC_IMAGE", PHOTOS / "both.png" if PHOTOS else "both.png"))
OFFLINE = [
    "tests/test_3d_cam_weights.py",
    "tests/test_finer_cam_correctness.py",
    "tests/test_svd_no_side_effect.py",
    "tests/test_fasterrcnn_target_device.py",
    "tests/test_one_channel.py",
    "tests/test_sess.py::test_sess_invalid_arguments",
    "tests/test_sess.py::test_sliding_window",
]

pytestmark = pytest.mark.skipif(
    not SUITE or not (Path(SUITE) / "tests").is_dir(),
    reason="set CAMLENS_PGC_TESTS to a folder with pytorch-grad-cam 1.5.7's tests/",
)


def runner():
    spec = importlib.util.spec_from_file_location("pgc_suite", ROOT / "scripts/pgc_suite.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rewrite_changes_only_the_import_prefix() -> None:
    suite = runner()
    source = (
        "from pytorch_grad_cam.utils import x\nimport pytorch_grad_cam\nmy_pytorch_grad_cam = 1"
    )
    assert suite.rewrite(source, compat=True, random_weights=False) == (
        "from camlens.compat.pytorch_grad_cam.utils import x\n"
        "import camlens.compat.pytorch_grad_cam\nmy_pytorch_grad_cam = 1"
    )


def test_offline_part_of_the_suite_passes_on_compat(tmp_path: Path) -> None:
    suite = runner()
    image = IMAGE if IMAGE.exists() else None
    if image is None and not (Path(SUITE) / "examples/both.png").exists():
        pytest.skip("no both.png: set CAMLENS_PGC_IMAGE or CAMLENS_SHARED_DATA")
    suite.prepare(Path(SUITE), image, tmp_path, compat=True, random_weights=False)
    outcomes = suite.run(tmp_path, paths=OFFLINE, pythonpath=str(ROOT / "src"))
    assert len(outcomes) >= 20
    failed = sorted(name for name, outcome in outcomes.items() if outcome != "passed")
    assert not failed, failed
