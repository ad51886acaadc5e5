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
    "ShapleyCAM",
    "FEM",
    "KPCA_CAM",
    "SegEigenCAM",
    "ScoreCAM",
    "AblationCAM",
    "RandomCAM",
    "FullGrad",
]
# Not BaseCAM subclasses in pytorch-grad-cam: their own constructors and calls.
WRAPPERS = ["FinerCAM", "RefineCAM", "SESS", "DeepFeatureFactorization", "GuidedBackpropReLUModel"]
OTHERS = [
    "AblationLayer",
    "AblationLayerFasterRCNN",
    "AblationLayerVit",
    "ActivationsAndGradients",
    "run_dff_on_image",
]
# pytorch-grad-cam's top-level names camlens does not provide (docs/migration.md says why).
NOT_PROVIDED: list[str] = []
# pytorch-grad-cam module (relative) -> names camlens provides from it.
MIRRORED = {
    "": METHODS + WRAPPERS + OTHERS,
    "base_cam": ["BaseCAM"],
    "grad_cam": ["GradCAM"],
    "hirescam": ["HiResCAM"],
    "grad_cam_plusplus": ["GradCAMPlusPlus"],
    "xgrad_cam": ["XGradCAM"],
    "layer_cam": ["LayerCAM"],
    "eigen_cam": ["EigenCAM"],
    "eigen_grad_cam": ["EigenGradCAM"],
    "grad_cam_elementwise": ["GradCAMElementWise"],
    "shapley_cam": ["ShapleyCAM"],
    "fem": ["FEM"],
    "kpca_cam": ["KPCA_CAM"],
    "seg_eigen_cam": ["SegEigenCAM"],
    "sobel_cam": ["sobel_cam"],
    "finer_cam": ["FinerCAM", "DEFAULT_COMPARISON_CATEGORIES"],
    "refine_cam": ["RefineCAM"],
    "sess": ["SESS", "sliding_window", "window_starts"],
    "score_cam": ["ScoreCAM"],
    "ablation_cam": ["AblationCAM"],
    "ablation_layer": ["AblationLayer", "AblationLayerFasterRCNN", "AblationLayerVit"],
    "ablation_cam_multilayer": ["AblationCAM", "replace_layer_recursive"],
    "activations_and_gradients": ["ActivationsAndGradients"],
    "random_cam": ["RandomCAM"],
    "fullgrad_cam": ["FullGrad"],
    "guided_backprop": ["GuidedBackpropReLUModel"],
    "feature_factorization.deep_feature_factorization": [
        "DeepFeatureFactorization",
        "dff",
        "run_dff_on_image",
    ],
    "utils": ["deprocess_image", "model_targets", "reshape_transforms"],
    "utils.find_layers": [
        "replace_layer_recursive",
        "replace_all_layer_type_recursive",
        "find_layer_types_recursive",
        "find_layer_predicate_recursive",
    ],
    "utils.svd_on_activations": [
        "get_2d_projection",
        "get_2d_projection_kernel",
        "get_2d_projection_with_sign_correction",
    ],
    "utils.model_targets": [
        "ClassifierOutputTarget",
        "ClassifierOutputSoftmaxTarget",
        "ClassifierOutputReST",
        "BinaryClassifierOutputTarget",
        "SoftmaxOutputTarget",
        "RawScoresOutputTarget",
        "SemanticSegmentationTarget",
        "FasterRCNNBoxScoreTarget",
        "FinerWeightedTarget",
    ],
    "utils.image": [
        "show_cam_on_image",
        "preprocess_image",
        "deprocess_image",
        "scale_cam_image",
        "scale_accross_batch_and_channels",
        "show_factorization_on_image",
        "create_labels_legend",
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


def test_top_level_exports_only_implemented_names() -> None:
    subpackages = {"utils", "metrics"}
    assert sorted(n for n in compat.__all__ if n not in subpackages) == sorted(
        METHODS + WRAPPERS + OTHERS
    )
    theirs, _ = module_pair("")
    for name in NOT_PROVIDED:  # no stubs for what camlens lacks
        assert hasattr(theirs, name) and not hasattr(compat, name)


def test_every_pgc_method_is_provided() -> None:
    """Every class pytorch-grad-cam exports at the top level is here, or listed as not provided."""
    theirs, _ = module_pair("")
    public = {
        n for n in dir(theirs) if not n.startswith("_") and isinstance(getattr(theirs, n), type)
    }
    assert public == set(METHODS + WRAPPERS + OTHERS + NOT_PROVIDED) - {"run_dff_on_image"}


def positional(signature: inspect.Signature) -> list[tuple[str, object]]:
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [(p.name, p.default) for p in signature.parameters.values() if p.kind in kinds]


def same_defaults(got: list[tuple[str, object]], expected: list[tuple[str, object]]) -> bool:
    """Equal names and defaults; a class default (``base_method=GradCAM``) by name, and
    pgc's ``ablation_layer=AblationLayer()`` as camlens' ``None`` (which means that)."""

    def key(default: object) -> object:
        if isinstance(default, type):
            return default.__name__
        if type(default).__name__ == "AblationLayer":
            return None
        return default

    return [(n, key(d)) for n, d in got] == [(n, key(d)) for n, d in expected]


@pytest.mark.parametrize("name", METHODS)
def test_signatures_match_pgc(name: str) -> None:
    theirs, ours = module_pair("")
    assert same_defaults(
        positional(inspect.signature(getattr(ours, name))),
        positional(inspect.signature(getattr(theirs, name))),
    )
    call_theirs = positional(inspect.signature(getattr(theirs, name).__call__))
    call_ours = positional(inspect.signature(getattr(ours, name).__call__))
    assert [n for n, _ in call_ours] == [n for n, _ in call_theirs]
    assert call_ours[3:] == call_theirs[3:]  # aug_smooth=False, eigen_smooth=False


@pytest.mark.parametrize("name", WRAPPERS)
def test_wrapper_signatures_match_pgc(name: str) -> None:
    theirs, ours = module_pair("")
    for attr in ("__init__", "forward", "__call__"):
        expected = getattr(getattr(theirs, name), attr, None)
        if expected is None:
            continue
        expected = inspect.signature(expected)
        if any(p.kind is p.VAR_POSITIONAL for p in expected.parameters.values()):
            continue  # pgc's __call__(*args, **kwargs) is its forward
        got = positional(inspect.signature(getattr(getattr(ours, name), attr)))
        assert same_defaults(got, positional(expected)), attr


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("utils.image", "show_factorization_on_image"),
        ("utils.image", "create_labels_legend"),
        ("feature_factorization.deep_feature_factorization", "dff"),
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


def test_importing_compat_needs_no_opencv_torchvision_scipy_sklearn_or_matplotlib() -> None:
    code = (
        "import sys\n"
        "import camlens.compat.pytorch_grad_cam as m\n"
        "from camlens.compat.pytorch_grad_cam.utils import image, model_targets\n"
        "from camlens.compat.pytorch_grad_cam.utils import reshape_transforms\n"
        "from camlens.compat.pytorch_grad_cam import sobel_cam, feature_factorization\n"
        "heavy = {'cv2', 'torchvision', 'scipy', 'pytorch_grad_cam', 'sklearn', 'matplotlib'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"
