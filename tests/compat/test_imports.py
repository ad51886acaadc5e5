"""Import lines map one to one: ``pytorch_grad_cam`` -> ``camlens.compat.pytorch_grad_cam``."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pytest

import camlens.compat.pytorch_grad_cam as compat

pytest.importorskip("pytorch_grad_cam")

METHODS = [
    "GradCAM",
    "HiResCAM",
    "GradCAMPlusPlus",
    "XGradCAM",
    "LayerCAM",
    "EigenCAM",
    "EigenGradCAM",
    "GradCAMElementWise",
]
# pytorch-grad-cam module (relative) -> names camlens provides from it.
MIRRORED = {
    "": METHODS,
    "base_cam": ["BaseCAM"],
    "grad_cam": ["GradCAM"],
    "hirescam": ["HiResCAM"],
    "grad_cam_plusplus": ["GradCAMPlusPlus"],
    "xgrad_cam": ["XGradCAM"],
    "layer_cam": ["LayerCAM"],
    "eigen_cam": ["EigenCAM"],
    "eigen_grad_cam": ["EigenGradCAM"],
    "grad_cam_elementwise": ["GradCAMElementWise"],
    "utils": ["deprocess_image", "model_targets", "reshape_transforms"],
    "utils.model_targets": [
        "ClassifierOutputTarget",
        "ClassifierOutputSoftmaxTarget",
        "ClassifierOutputReST",
        "BinaryClassifierOutputTarget",
        "SoftmaxOutputTarget",
        "RawScoresOutputTarget",
        "SemanticSegmentationTarget",
        "FasterRCNNBoxScoreTarget",
    ],
    "utils.image": [
        "show_cam_on_image",
        "preprocess_image",
        "deprocess_image",
        "scale_cam_image",
        "scale_accross_batch_and_channels",
    ],
    "utils.reshape_transforms": [
        "fasterrcnn_reshape_transform",
        "swinT_reshape_transform",
        "vit_reshape_transform",
    ],
}


def module_pair(path: str):
    suffix = f".{path}" if path else ""
    return (
        importlib.import_module(f"pytorch_grad_cam{suffix}"),
        importlib.import_module(f"camlens.compat.pytorch_grad_cam{suffix}"),
    )


@pytest.mark.parametrize("path", list(MIRRORED))
def test_module_paths_and_names_mirror_pgc(path: str) -> None:
    theirs, ours = module_pair(path)
    for name in MIRRORED[path]:
        assert hasattr(theirs, name), f"pytorch_grad_cam.{path} has no {name}"
        assert hasattr(ours, name), f"camlens.compat.pytorch_grad_cam.{path} lacks {name}"


def test_top_level_exports_only_implemented_methods() -> None:
    assert sorted(n for n in compat.__all__ if n != "utils") == sorted(METHODS)
    assert not hasattr(compat, "ScoreCAM")  # no stubs for methods camlens lacks


def positional(signature: inspect.Signature) -> list[tuple[str, object]]:
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [(p.name, p.default) for p in signature.parameters.values() if p.kind in kinds]


@pytest.mark.parametrize("name", METHODS)
def test_signatures_match_pgc(name: str) -> None:
    theirs, ours = module_pair("")
    assert positional(inspect.signature(getattr(ours, name))) == positional(
        inspect.signature(getattr(theirs, name))
    )
    call_theirs = positional(inspect.signature(getattr(theirs, name).__call__))
    call_ours = positional(inspect.signature(getattr(ours, name).__call__))
    assert [n for n, _ in call_ours] == [n for n, _ in call_theirs]
    assert call_ours[3:] == call_theirs[3:]  # aug_smooth=False, eigen_smooth=False


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("utils.image", "show_cam_on_image"),
        ("utils.image", "preprocess_image"),
        ("utils.image", "scale_cam_image"),
        ("utils.reshape_transforms", "vit_reshape_transform"),
        ("utils.reshape_transforms", "swinT_reshape_transform"),
    ],
)
def test_function_signatures_match_pgc(path: str, name: str) -> None:
    theirs, ours = module_pair(path)
    expected = positional(inspect.signature(getattr(theirs, name)))
    got = positional(inspect.signature(getattr(ours, name)))
    assert [n for n, _ in got] == [n for n, _ in expected]
    for (_, default), (_, reference) in zip(got, expected, strict=True):
        assert default == reference or list(default) == list(reference)


def test_importing_compat_needs_no_opencv_torchvision_or_scipy() -> None:
    code = (
        "import sys\n"
        "import camlens.compat.pytorch_grad_cam as m\n"
        "from camlens.compat.pytorch_grad_cam.utils import image, model_targets\n"
        "from camlens.compat.pytorch_grad_cam.utils import reshape_transforms\n"
        "print(sorted({'cv2', 'torchvision', 'scipy', 'pytorch_grad_cam'} & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"
