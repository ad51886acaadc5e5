"""Parity with pytorch-grad-cam 1.5.7 for the methods added after the first compat release.

Each case runs the same code twice, once with ``pytorch_grad_cam`` and once with
``camlens.compat.pytorch_grad_cam`` (the same model, input, targets and arguments), on random-weight
torchvision models: resnet18 (10 classes, batch-norm statistics randomised so that FullGrad's
biases are not zero), mobilenet_v3_small and a 2-block ViT; a batch of 2 images of 48×64 with a
different class each.

* float64: the final maps agree to ``ATOL`` = 1e-5 (they differ by ~2e-7: the maps' float32
  rounding), so the method math and the post-processing are the same.
* float32: the rule of test_parity.py, ``max(1e-5, 2 × |pgc float32 − pgc float64|)``: as close
  to pgc as pgc is to itself (pgc's float64 run is only made when 1e-5 is exceeded).

pytorch-grad-cam swaps modules while it runs (AblationCAM, GuidedBackpropReLUModel) or for good
(guided backprop puts back non-in-place ReLUs), so it gets a copy of the model.
"""

from __future__ import annotations

import copy
import types
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import camlens.compat.pytorch_grad_cam as compat
from camlens.compat.pytorch_grad_cam.utils import image as compat_image
from camlens.compat.pytorch_grad_cam.utils import model_targets as compat_targets
from camlens.compat.pytorch_grad_cam.utils.reshape_transforms import vit_reshape_transform

from ._models import cached

pgc = pytest.importorskip("pytorch_grad_cam")
pgc_targets = pytest.importorskip("pytorch_grad_cam.utils.model_targets")
torchvision = pytest.importorskip("torchvision")

ATOL = 1e-5
SIZE = (48, 64)
CLASSES = (1, 7)
DTYPES = {"float64": torch.float64, "float32": torch.float32}
LIBS = {"pgc": pgc, "compat": compat}
TARGETS = {"pgc": pgc_targets, "compat": compat_targets}


# --- models and inputs (cached until the module's models are released) -----------------------
@cached
def resnet(dtype: str) -> nn.Module:
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10).eval()
    g = torch.Generator().manual_seed(0)
    for m in model.modules():  # a fresh batch-norm has effective bias 0 (FullGrad's terms)
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.3)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.2)
    return model.to(DTYPES[dtype])


@cached
def mobilenet(dtype: str) -> nn.Module:
    torch.manual_seed(0)
    return torchvision.models.mobilenet_v3_small(num_classes=10).eval().to(DTYPES[dtype])


@cached
def vit(dtype: str) -> nn.Module:
    torch.manual_seed(0)
    model = torchvision.models.VisionTransformer(
        image_size=32,
        patch_size=8,
        num_layers=2,
        num_heads=2,
        hidden_dim=16,
        mlp_dim=32,
        num_classes=10,
    )
    nn.init.normal_(model.heads.head.weight, std=0.5)  # torchvision zero-initialises the head
    return model.eval().to(DTYPES[dtype])


@cached
def batch(dtype: str, size: tuple[int, int] = SIZE) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    return torch.randn(len(CLASSES), 3, *size, generator=generator).to(DTYPES[dtype])


def own(lib: str, model: nn.Module) -> nn.Module:
    """pytorch-grad-cam gets a copy of models it modifies."""
    return copy.deepcopy(model) if lib == "pgc" else model


def classes(lib: str) -> list:
    return [TARGETS[lib].ClassifierOutputTarget(c) for c in CLASSES]


def vit_tokens(tensor: torch.Tensor) -> torch.Tensor:
    return vit_reshape_transform(tensor, 4, 4)


# --- the cases: (lib, dtype) -> maps ------------------------------------------------------------
def shapley(lib: str, dtype: str) -> np.ndarray:
    m, t = resnet(dtype), TARGETS[lib]
    rest = [t.ClassifierOutputReST(c) for c in CLASSES]  # a non-zero Hessian-vector product
    return LIBS[lib].ShapleyCAM(m, [m.layer3])(batch(dtype), rest)


def fem(lib: str, dtype: str, k: float = 2, eigen_smooth: bool = False) -> np.ndarray:
    m = resnet(dtype)
    return LIBS[lib].FEM(m, [m.layer3], k=k)(batch(dtype), None, eigen_smooth=eigen_smooth)


def kpca(lib: str, dtype: str, **options: Any) -> np.ndarray:
    m = resnet(dtype)
    return LIBS[lib].KPCA_CAM(m, [m.layer2], **options)(batch(dtype), None)


def seg_eigen(lib: str, dtype: str) -> np.ndarray:
    m = resnet(dtype)
    return LIBS[lib].SegEigenCAM(m, [m.layer3])(batch(dtype), classes(lib))


def finer_default(lib: str, dtype: str) -> np.ndarray:
    m = resnet(dtype)
    return LIBS[lib].FinerCAM(m, [m.layer3])(batch(dtype))


def finer_options(lib: str, dtype: str) -> np.ndarray:
    m, library = resnet(dtype), LIBS[lib]
    with library.FinerCAM(m, [m.layer3], base_method=library.LayerCAM) as cam:
        return cam(batch(dtype), target_idx=5, alpha=0.5, comparison_categories=[1, 4])


def finer_targets(lib: str, dtype: str) -> np.ndarray:
    m, t = resnet(dtype), TARGETS[lib]
    targets = [t.FinerWeightedTarget(2, [3, 4], 0.7), t.ClassifierOutputTarget(0)]
    return LIBS[lib].FinerCAM(m, [m.layer3])(batch(dtype), targets)


def refine(lib: str, dtype: str, base: str = "GradCAMPlusPlus", targets: bool = True):
    m, library = resnet(dtype), LIBS[lib]
    cam = library.RefineCAM(m, [m.layer2, m.layer3], base_method=getattr(library, base))
    return cam(batch(dtype), classes(lib) if targets else None)


def refine_pgc_eigen_smooth(lib: str, dtype: str) -> np.ndarray:
    """pgc hands eigen_smooth to its base method's aug_smooth; compat's aug_smooth does that."""
    m = resnet(dtype)
    cam = LIBS[lib].RefineCAM(m, [m.layer2, m.layer3])
    smooth = {"eigen_smooth": True} if lib == "pgc" else {"aug_smooth": True}
    return cam(batch(dtype), classes(lib), **smooth)


def sess(lib: str, dtype: str, **options: Any) -> np.ndarray:
    m = resnet(dtype)
    return LIBS[lib].SESS(m, [m.layer3], **options)(batch(dtype), classes(lib))


def score(lib: str, dtype: str) -> np.ndarray:
    m = mobilenet(dtype)
    return LIBS[lib].ScoreCAM(m, [m.features[3]])(batch(dtype), classes(lib))


def ablation(lib: str, dtype: str, layer: str, **options: Any) -> np.ndarray:
    m = own(lib, mobilenet(dtype))
    cam = LIBS[lib].AblationCAM(m, [m.get_submodule(layer)], **options)
    return cam(batch(dtype), classes(lib))


def ablation_vit(lib: str, dtype: str) -> np.ndarray:
    m, library = own(lib, vit(dtype)), LIBS[lib]
    cam = library.AblationCAM(
        m,
        [m.encoder.layers[-1].ln_1],
        reshape_transform=vit_tokens,
        ablation_layer=library.AblationLayerVit(),
    )
    return cam(batch(dtype, (32, 32)), classes(lib))


def random_cam(lib: str, dtype: str) -> np.ndarray:
    m = resnet(dtype)
    np.random.seed(3)  # noqa: NPY002 (both draw from numpy's global generator)
    return LIBS[lib].RandomCAM(m, [m.layer3])(batch(dtype), classes(lib))


def fullgrad(lib: str, dtype: str, targets: bool = True) -> np.ndarray:
    m = own(lib, resnet(dtype))
    x = batch(dtype).clone()  # pgc sets requires_grad on its input
    return LIBS[lib].FullGrad(m, [])(x, classes(lib) if targets else None)


def guided_backprop(lib: str, dtype: str, category: int | None = 3) -> np.ndarray:
    m = own(lib, resnet(dtype))
    x = batch(dtype).clone()
    x = x[:1] if lib == "pgc" else x  # compat explains image 0 of any batch; pgc's None needs 1
    return LIBS[lib].GuidedBackpropReLUModel(m, device="cpu")(x, category)


def _case(function: Callable, **options: Any) -> Callable[[str, str], np.ndarray]:
    return lambda lib, dtype: function(lib, dtype, **options)


CASES: dict[str, Callable[[str, str], np.ndarray]] = {
    "ShapleyCAM": shapley,
    "FEM": fem,
    "FEM k=1": _case(fem, k=1),
    "FEM eigen_smooth (ignored)": _case(fem, eigen_smooth=True),
    "KPCA_CAM": kpca,
    "KPCA_CAM rbf": _case(kpca, kernel="rbf", gamma=0.01),
    "SegEigenCAM": seg_eigen,
    "FinerCAM": finer_default,
    "FinerCAM options": finer_options,
    "FinerCAM targets": finer_targets,
    "RefineCAM": refine,
    "RefineCAM GradCAM targets=None": _case(refine, base="GradCAM", targets=False),
    "RefineCAM aug": refine_pgc_eigen_smooth,
    "SESS": _case(sess, num_scales=2),
    "SESS max": _case(sess, scales=[48, 60], pool="max", smooth=False),
    "SESS pre-filter": _case(sess, scales=[48, 56], step_size=16, pre_filter_ratio=0.5, theta=0.1),
    "ScoreCAM": score,
    "AblationCAM min 0": _case(ablation, layer="features.1.block.0"),
    "AblationCAM negative": _case(ablation, layer="features.3"),
    "AblationCAM ratio": _case(ablation, layer="features.3", ratio_channels_to_ablate=0.25),
    "AblationCAM ViT": ablation_vit,
    "RandomCAM": random_cam,
    "FullGrad": fullgrad,
    "FullGrad targets=None": _case(fullgrad, targets=False),
    "GuidedBackprop": guided_backprop,
    "GuidedBackprop top class": _case(guided_backprop, category=None),
}
# Slow in float64 (CPU convolutions in double are 3-5x slower) and covered there by a sibling
# case with the same math: float32 only.
FLOAT32_ONLY = {"RefineCAM aug", "SESS max", "SESS pre-filter"}
PARAMS = [
    (case, dtype)
    for case in CASES
    for dtype in DTYPES
    if not (dtype == "float64" and case in FLOAT32_ONLY)
]


@cached
def run(case: str, lib: str, dtype: str) -> np.ndarray:
    return CASES[case](lib, dtype)


def max_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(np.asarray(a, np.float64) - b).max())


@pytest.mark.filterwarnings("ignore:target_layers is ignored:UserWarning")
@pytest.mark.parametrize(("case", "dtype"), PARAMS)
def test_compat_matches_pgc(case: str, dtype: str) -> None:
    ours, theirs = run(case, "compat", dtype), run(case, "pgc", dtype)
    assert type(ours) is np.ndarray
    assert ours.shape == theirs.shape
    if case.startswith("GuidedBackprop"):  # (H, W, 3) attributions in the input's dtype
        assert ours.dtype == theirs.dtype == np.dtype(dtype)
        scale = float(np.abs(theirs).max())
        assert scale > 0 and max_abs(ours, theirs) <= ATOL * scale
        return
    assert ours.dtype == np.float32 and ours.shape[1:] == theirs.shape[1:]
    assert float(ours.max()) > 0.99  # a real map, not a blank one
    diff = max_abs(ours, theirs)
    if dtype == "float64" or diff <= ATOL:
        assert diff <= ATOL
    else:  # the float32 rule
        noise = max_abs(theirs, run(case, "pgc", "float64"))
        assert diff <= max(ATOL, 2 * noise)


def test_cases_are_not_trivial() -> None:
    """The options change the maps (so the cases above test them), and Shapley-CAM's Hessian
    term is not zero here (it is not Grad-CAM)."""
    different = [
        ("FEM", "FEM k=1"),
        ("KPCA_CAM", "KPCA_CAM rbf"),
        ("FinerCAM", "FinerCAM options"),
        ("RefineCAM", "RefineCAM aug"),
        ("AblationCAM negative", "AblationCAM ratio"),
    ]
    for a, b in different:
        assert max_abs(run(a, "compat", "float32"), run(b, "compat", "float32")) > 0.01, (a, b)
    m = resnet("float32")
    rest = [compat_targets.ClassifierOutputReST(c) for c in CLASSES]
    gradcam = compat.GradCAM(m, [m.layer3])(batch("float32"), rest)
    assert max_abs(gradcam, run("ShapleyCAM", "compat", "float32")) > 1e-3


def test_ablation_layer_vit_ablates_the_class_token_too() -> None:
    """Without AblationLayerVit, camlens ablates channel k only in the grid tokens (through
    reshape_transform); pgc's AblationLayerVit also ablates it in the class token."""
    m = vit("float64")
    cam = compat.AblationCAM(m, [m.encoder.layers[-1].ln_1], reshape_transform=vit_tokens)
    grid_only = cam(batch("float64", (32, 32)), classes("compat"))
    assert cam.last_path == "head-once"
    assert max_abs(grid_only, run("AblationCAM ViT", "pgc", "float64")) > 0.05


def test_ablation_cam_refuses_a_custom_ablation_layer() -> None:
    class Mine(compat.AblationLayer):
        pass

    m = mobilenet("float32")
    with pytest.raises(TypeError, match="ablation_layer"):
        compat.AblationCAM(m, [m.features[3]], ablation_layer=Mine())
    with pytest.raises(TypeError, match="not run as a layer"):
        compat.AblationLayer()(batch("float32"))
    with pytest.raises(ValueError, match="ratio_channels_to_ablate"):
        compat.AblationCAM(m, [m.features[3]], ratio_channels_to_ablate=0)


def test_kpca_cam_refuses_an_unknown_kernel() -> None:
    m = resnet("float32")
    with pytest.raises(ValueError, match="unknown kernel"):
        compat.KPCA_CAM(m, [m.layer3], kernel="laplacian")


def test_finer_weighted_target_scores_as_pgc() -> None:
    logits = torch.randn(3, 10, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    theirs = pgc_targets.FinerWeightedTarget(2, [3, 4, 9], 0.7)
    ours = compat_targets.FinerWeightedTarget(2, [3, 4, 9], 0.7)
    assert (ours.main_category, ours.comparison_categories, ours.alpha) == (2, [3, 4, 9], 0.7)
    for output in (logits[0], logits):  # one image, and a batch
        torch.testing.assert_close(ours(output), theirs(output), rtol=1e-12, atol=1e-12)


def test_sobel_cam_equals_opencv() -> None:
    pgc_sobel = pytest.importorskip("pytorch_grad_cam.sobel_cam")  # needs cv2
    from camlens.compat.pytorch_grad_cam.sobel_cam import sobel_cam

    rng = np.random.default_rng(0)
    for img in (
        rng.integers(0, 256, (20, 30, 3), dtype=np.uint8),
        rng.random((20, 30, 3), dtype=np.float32),
    ):
        ours = sobel_cam(img)
        assert ours.dtype == np.uint8 and ours.max() > 0
        assert np.array_equal(ours, pgc_sobel.sobel_cam(img))


# --- Deep Feature Factorization ------------------------------------------------------------------
@cached
def factorization(lib: str, dtype: str, head: bool = True) -> tuple:
    m = resnet(dtype)

    def fc(concepts: torch.Tensor) -> torch.Tensor:  # pgc hands the head float32 concepts
        return m.fc(concepts.to(DTYPES[dtype]))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's ConvergenceWarning (pgc)
        cam = LIBS[lib].DeepFeatureFactorization(
            m, m.layer4, computation_on_concepts=fc if head else None
        )
        return cam(batch(dtype), 4)


def relative(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| relative to max(1, max |b|): concepts and scores are not in [0, 1]."""
    return max_abs(a, b) / max(1.0, float(np.abs(b).max()))


@pytest.mark.parametrize("dtype", list(DTYPES))
def test_deep_feature_factorization_matches_pgc(dtype: str) -> None:
    ours, theirs = factorization("compat", dtype), factorization("pgc", dtype)
    assert len(ours) == len(theirs) == 3
    assert type(ours[1]) is list and len(ours[1]) == len(CLASSES)
    assert ours[0].shape == theirs[0].shape == (512, 4)
    assert ours[1][0].shape == theirs[1][0].shape == (4, *SIZE)
    assert ours[1][0].dtype == np.float32
    assert ours[2].shape == theirs[2].shape == (4, 10)
    for part in range(3):
        a, b = (np.stack(r[part]) for r in (ours, theirs))
        diff = relative(a, b)
        if dtype == "float64" or diff <= ATOL:
            assert diff <= ATOL, part
        else:  # the float32 rule
            noise = relative(b, np.stack(factorization("pgc", "float64")[part]))
            assert diff <= max(ATOL, 2 * noise), part


def test_deep_feature_factorization_without_head_returns_concepts_and_maps() -> None:
    concepts, maps = factorization("compat", "float32", head=False)
    with_head = factorization("compat", "float32")
    assert np.array_equal(concepts, with_head[0])
    assert np.array_equal(np.stack(maps), np.stack(with_head[1]))


def test_dff_function_matches_pgc() -> None:
    from pytorch_grad_cam.feature_factorization.deep_feature_factorization import dff as theirs

    from camlens.compat.pytorch_grad_cam.feature_factorization.deep_feature_factorization import (
        dff as ours,
    )

    activations = torch.randn(2, 12, 3, 5, generator=torch.Generator().manual_seed(5)).double()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = theirs(activations.numpy().copy(), 3)
    got = ours(activations.numpy(), 3)
    assert [g.shape for g in got] == [(12, 3), (2, 3, 3, 5)]
    for a, b in zip(got, expected, strict=True):
        assert relative(a, b) <= ATOL


# --- factorization pictures ----------------------------------------------------------------------
def test_create_labels_legend_matches_pgc() -> None:
    scores = np.random.default_rng(2).random((3, 5))
    labels = {i: f"name{i},alias{i},third,fourth" for i in range(5)}
    expected = pgc_image().create_labels_legend(scores, labels, top_k=2)
    assert compat_image.create_labels_legend(scores, labels, top_k=2) == expected
    assert expected[0].count("\n") == 1 and ",fourth" not in expected[0]


def pgc_image() -> types.ModuleType:
    return pytest.importorskip("pytorch_grad_cam.utils.image")


def test_show_factorization_on_image_matches_pgc() -> None:
    """Within 2 levels of 255: OpenCV's 8-bit HSV rounding (pure hues, exact in 8-bit HSV)."""
    colours = [np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])]
    maps = np.random.default_rng(3).random((3, 16, 24)).astype(np.float32)
    image = np.random.default_rng(4).random((16, 24, 3))
    theirs = pgc_image().show_factorization_on_image(image, maps.copy(), colours, 0.4)
    ours = compat_image.show_factorization_on_image(image, maps, colours, 0.4)
    assert ours.dtype == np.uint8 and ours.shape == theirs.shape == (16, 24, 3)
    assert np.abs(ours.astype(int) - theirs).max() <= 2
    legend = compat_image.show_factorization_on_image(image, maps, colours, 0.4, ["a", "b", "c"])
    assert legend.shape == (16, 48, 3) and np.array_equal(legend[:, :24], ours)


def test_run_dff_on_image_matches_pgc(monkeypatch: pytest.MonkeyPatch) -> None:
    """pgc's default colours call plt.cm.get_cmap (removed in matplotlib 3.9): patched back for
    pgc. The image and the concept overlay agree to 2 levels; the legend panels are drawn by
    different matplotlib code (their text differs pixel for pixel)."""
    matplotlib = pytest.importorskip("matplotlib")
    from PIL import Image

    monkeypatch.setattr(
        "matplotlib.cm.get_cmap", lambda name: matplotlib.colormaps[name], raising=False
    )
    m = copy.deepcopy(resnet("float32"))
    m.config = types.SimpleNamespace(id2label={i: f"class{i},alias" for i in range(10)})
    pixels = np.random.default_rng(5).integers(0, 256, (*SIZE, 3), dtype=np.uint8)
    image, tensor = Image.fromarray(pixels), batch("float32")[0]
    theirs = pgc.run_dff_on_image(m, m.layer4, m.fc, image, tensor, None, 3, 2)
    ours = compat.run_dff_on_image(m, m.layer4, m.fc, image, tensor, n_components=3, top_k=2)
    width = SIZE[1]
    assert ours.dtype == np.uint8 and ours.shape == theirs.shape == (SIZE[0], 3 * width, 3)
    assert np.array_equal(ours[:, :width], pixels)
    assert np.abs(ours[:, : 2 * width].astype(int) - theirs[:, : 2 * width]).max() <= 2
