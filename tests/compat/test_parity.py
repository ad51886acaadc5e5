"""Parity with pytorch-grad-cam 1.5.7 on random-weight torchvision models.

Per model and dtype, pytorch-grad-cam runs its forward/backward once (a real ``GradCAM`` call);
every pgc method then computes its maps from those activations and gradients with its own
``compute_cam_per_layer`` + ``aggregate_multi_layers`` (pgc's ``forward`` minus the pass, checked
equal to a real call). The compat classes and the native classes run normally.

* compat vs pgc, final maps, max abs difference. In float64 the two agree to ~2e-7 (the maps'
  float32 rounding), so method math and post-processing are the same. In float32 both sum in a
  different order; where a method's sums cancel (XGrad-CAM divides by Σ A, which can be near 0),
  pgc's own float32 map is far from its float64 map. The float32 bound is therefore
  ``max(1e-5, 2 × |pgc float32 − pgc float64|)``: we are as close to pgc as pgc is to itself.
* native vs pgc: raw low-resolution maps (``explain().raw``) against pgc's un-normalised
  ``get_cam_image`` + ReLU, relative to each map's maximum, in float64.

Eigen-CAM's sign: pgc keeps whatever sign LAPACK gives; camlens picks the sign whose map agrees
with the activations. Here pgc's ``get_2d_projection`` is wrapped: it records pgc's projection and
returns it signed by camlens' rule, so the rest of pgc's pipeline can be compared number for
number, and ``test_native_eigen_sign`` checks the rule against pgc's projection.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import torch
from tiny_models import Readout

import camlens
import camlens.compat.pytorch_grad_cam as compat
from camlens.compat.pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from ._models import CLASSES, DTYPES, SIZE, ZOO, batch, cached, layer, model

pgc = pytest.importorskip("pytorch_grad_cam")
pgc_svd = pytest.importorskip("pytorch_grad_cam.utils.svd_on_activations")

METHODS = [
    "GradCAM",
    "HiResCAM",
    "GradCAMPlusPlus",
    "XGradCAM",
    "LayerCAM",
    "EigenGradCAM",
    "EigenCAM",
    "GradCAMElementWise",
]
EIGEN = {"EigenCAM", "EigenGradCAM"}
# pytorch-grad-cam modules that call get_2d_projection (each imports it by name).
PROJECTION_USERS = [
    "base_cam",
    "eigen_cam",
    "eigen_grad_cam",
    "hirescam",
    "layer_cam",
    "grad_cam_elementwise",
]
ATOL = 1e-5
RTOL_RAW = 1e-5


@dataclass
class Projection:
    """One ``get_2d_projection`` call: pgc's maps and what camlens' sign rule makes of them."""

    theirs: np.ndarray  # (B, h, w) pgc's projection, LAPACK's sign
    support: np.ndarray  # (B, h, w) channel sum of the projected input (where activations are)
    sign: np.ndarray  # (B,) +1/-1: the sign whose map agrees with ``support`` (camlens' rule)


@dataclass
class PgcRun:
    output: np.ndarray  # final maps, with projections signed by camlens' rule
    raw: np.ndarray  # get_cam_image: (B, h, w) before ReLU and resizing
    projections: list[Projection] = field(default_factory=list)


def rule_sign(projection: np.ndarray, support: np.ndarray) -> np.ndarray:
    """camlens' rule: +1 unless the map correlates negatively with the activations' support."""
    agreement = (projection.astype(np.float64) * support).reshape(len(projection), -1).sum(1)
    return np.where(agreement < 0, -1.0, 1.0)


def pgc_maps(cam: Any, run: Callable[[Any], np.ndarray]) -> PgcRun:
    """``run(cam)`` (in a ``with``), recording get_cam_image and get_2d_projection calls."""
    projections: list[Projection] = []
    raws: list[np.ndarray] = []

    def signed_projection(activation_batch: np.ndarray) -> np.ndarray:
        theirs = pgc_svd.get_2d_projection(activation_batch)
        support = np.nan_to_num(np.asarray(activation_batch, dtype=np.float64)).sum(axis=1)
        sign = rule_sign(theirs, support)
        projections.append(Projection(theirs, support, sign))
        return np.float32(theirs * sign[:, None, None])

    with pytest.MonkeyPatch.context() as patch, cam:
        for module in PROJECTION_USERS:
            patch.setattr(f"pytorch_grad_cam.{module}.get_2d_projection", signed_projection)
        get_cam_image = cam.get_cam_image

        def recording(*args, **kwargs):
            raws.append(get_cam_image(*args, **kwargs))
            return raws[-1]

        cam.get_cam_image = recording
        output = run(cam)
    (raw,) = raws
    return PgcRun(output, raw, projections)


def pgc_targets() -> list[ClassifierOutputTarget]:
    return [ClassifierOutputTarget(c) for c in CLASSES]


@cached
def pgc_pass(name: str, dtype: str) -> tuple[list, list, np.ndarray]:
    """One real pgc GradCAM call: (activations, gradients, its output)."""
    with pgc.GradCAM(model(name, dtype), [layer(name, dtype)]) as cam:
        output = cam(batch(dtype), pgc_targets())
        hooks = cam.activations_and_grads
        return list(hooks.activations), list(hooks.gradients), output


@cached
def pgc_run(name: str, dtype: str, method: str, eigen_smooth: bool = False) -> PgcRun:
    activations, gradients, _ = pgc_pass(name, dtype)

    def replay(cam: Any) -> np.ndarray:
        cam.activations_and_grads.activations = list(activations)
        cam.activations_and_grads.gradients = list(gradients)
        per_layer = cam.compute_cam_per_layer(batch(dtype), pgc_targets(), eigen_smooth)
        return cam.aggregate_multi_layers(per_layer)

    cam = getattr(pgc, method)(model(name, dtype), [layer(name, dtype)])
    return pgc_maps(cam, replay)


@cached
def compat_run(name: str, dtype: str, method: str, eigen_smooth: bool = False) -> np.ndarray:
    with getattr(compat, method)(model(name, dtype), [layer(name, dtype)]) as cam:
        return cam(batch(dtype), pgc_targets(), eigen_smooth=eigen_smooth)


class GradCAMPlusPlusPgcEps(camlens.GradCAMPlusPlus):
    """Native Grad-CAM++ with pytorch-grad-cam's eps (the paper's eps=0 is the default)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, eps=1e-6, **kwargs)


class XGradCAMPgcEps(camlens.XGradCAM):
    """Native XGrad-CAM with pytorch-grad-cam's eps (the paper's eps=0 is the default)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, eps=1e-7, **kwargs)


NATIVE = {
    "GradCAM": camlens.GradCAM,
    "HiResCAM": camlens.HiResCAM,
    "GradCAMPlusPlus": GradCAMPlusPlusPgcEps,
    "XGradCAM": XGradCAMPgcEps,
    "LayerCAM": camlens.LayerCAM,
    "EigenGradCAM": camlens.EigenGradCAM,
    "EigenCAM": camlens.EigenCAM,
    "GradCAMElementWise": camlens.GradCAMElementWise,
}


@cached
def native_raw(name: str, dtype: str) -> dict[str, np.ndarray]:
    """Every native method from one shared capture: method -> (B, h, w) raw map."""
    explanations = camlens.explain(
        model(name, dtype),
        batch(dtype),
        methods=list(NATIVE.values()),
        target_layers=ZOO[name][1],
        targets=[camlens.ClassTarget(c) for c in CLASSES],
    )
    return {
        method: explanations[cls.__name__].raw[ZOO[name][1]].numpy()
        for method, cls in NATIVE.items()
    }


def max_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(np.asarray(a, np.float64) - b).max())


def relative(ours: np.ndarray, theirs: np.ndarray) -> float:
    """Max over images of max |ours - theirs| / max |theirs|."""
    diff = np.abs(np.asarray(ours, np.float64) - theirs).reshape(len(theirs), -1).max(1)
    scale = np.abs(theirs).reshape(len(theirs), -1).max(1)
    return float((diff / np.maximum(scale, 1e-30)).max())


def tolerance(name: str, dtype: str, method: str) -> float:
    if dtype == "float64":
        return ATOL
    single = pgc_run(name, "float32", method).output
    return max(ATOL, 2 * max_abs(single, pgc_run(name, "float64", method).output))


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("name", list(ZOO))
def test_replayed_pgc_equals_a_real_pgc_call(name: str, dtype: str) -> None:
    """The shortcut above (pgc's maps from one pass) is exactly what a pgc call returns."""
    assert np.array_equal(pgc_run(name, dtype, "GradCAM").output, pgc_pass(name, dtype)[2])


def test_replayed_pgc_equals_real_calls_for_every_method() -> None:
    name, dtype = "mobilenet_v3_small", "float32"
    for method in METHODS:
        cam = getattr(pgc, method)(model(name, dtype), [layer(name, dtype)])
        real = pgc_maps(cam, lambda c: c(batch(dtype), pgc_targets()))
        assert np.array_equal(real.output, pgc_run(name, dtype, method).output), method


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", list(ZOO))
@pytest.mark.parametrize("dtype", list(DTYPES))
def test_compat_matches_pgc(dtype: str, name: str, method: str) -> None:
    ours = compat_run(name, dtype, method)
    theirs = pgc_run(name, dtype, method).output
    assert ours.dtype == np.float32 and theirs.dtype == np.float32
    assert ours.shape == theirs.shape == (len(CLASSES), *SIZE)
    assert max_abs(ours, theirs) <= tolerance(name, dtype, method)


@pytest.mark.parametrize("method", sorted(set(METHODS) - EIGEN))
@pytest.mark.parametrize("name", list(ZOO))
def test_native_raw_matches_pgc(name: str, method: str) -> None:
    """camlens' own classes compute pgc's raw maps (before either library's post-processing)."""
    theirs = np.maximum(pgc_run(name, "float64", method).raw, 0)
    ours = native_raw(name, "float64")[method]
    assert ours.shape == theirs.shape
    assert relative(ours, theirs) <= RTOL_RAW


@pytest.mark.parametrize("method", sorted(EIGEN))
@pytest.mark.parametrize("name", list(ZOO))
def test_native_eigen_sign(name: str, method: str) -> None:
    """Ours is ReLU(±pgc's projection), with the sign whose map agrees with the activations."""
    (projection,) = pgc_run(name, "float64", method).projections
    ours = native_raw(name, "float64")[method]
    for i, theirs in enumerate(projection.theirs):
        candidates = {s: np.maximum(s * theirs, 0) for s in (1.0, -1.0)}
        sign = min(candidates, key=lambda s: max_abs(ours[i], candidates[s]))
        assert relative(ours[i : i + 1], candidates[sign][None]) <= RTOL_RAW
        assert sign == projection.sign[i]
        assert float((sign * theirs * projection.support[i]).sum()) > 0


def test_eigen_sign_cases_cover_both_signs() -> None:
    """The Eigen checks are not vacuous: LAPACK's sign agrees with ours for some images and not
    for others (sign -1: pgc's map is the negative of the one that agrees with the activations)."""
    signs = {
        float(s)
        for name in ZOO
        for method in EIGEN
        for s in pgc_run(name, "float64", method).projections[0].sign
    }
    assert signs == {1.0, -1.0}


@pytest.mark.parametrize("method", ["GradCAM", "HiResCAM", "GradCAMPlusPlus", "LayerCAM"])
def test_eigen_smooth_matches_pgc(method: str) -> None:
    ours = compat_run("resnet18", "float64", method, eigen_smooth=True)
    theirs = pgc_run("resnet18", "float64", method, eigen_smooth=True)
    assert len(theirs.projections) == 1
    assert max_abs(ours, theirs.output) <= ATOL


def test_xgradcam_eps_difference() -> None:
    """Paper (÷ Σ A) vs pgc (÷ Σ A + 1e-7): a channel whose Σ A is ~1e-7 gets twice the weight.

    Readout's activations are its input and d score / dA = W[class], so the case is exact.
    """
    a = torch.tensor([[[1.0, 2.0], [3.0, 4.0]], [[1.0, -1.0], [1e-7, 0.0]]], dtype=torch.float64)
    g = torch.tensor([[[0.1, 0.1], [0.1, 0.1]], [[1e-7, 0.0], [0.0, 0.0]]], dtype=torch.float64)
    net = Readout(torch.stack([g, -g])).eval()
    x = a[None].clone().requires_grad_(True)  # pgc needs the layer output to require grad
    t = [ClassifierOutputTarget(0)]
    with pgc.XGradCAM(net, [net.features]) as cam:
        theirs = cam(x, t)
    with compat.XGradCAM(net, [net.features]) as cam:
        assert max_abs(cam(x, t), theirs) <= ATOL
    paper = camlens.XGradCAM(net, "features")
    paper.fuse = compat.XGradCAM.fuse  # same post-processing, only eps differs
    assert max_abs(paper(x, t).numpy(), theirs) > 0.1


def test_gradcam_plusplus_eps_difference() -> None:
    """Paper (eps=0) vs pgc (eps=1e-6): far apart when gradients are tiny, equal with eps=1e-6."""
    tiny = copy.deepcopy(model("mobilenet_v3_small"))
    tiny.classifier[-1].weight.data.mul_(1e-3)  # gradients at the layer ~1e-6, so g² << eps
    lay, x = tiny.features[-1], batch()
    theirs = pgc_maps(pgc.GradCAMPlusPlus(tiny, [lay]), lambda c: c(x, pgc_targets()))
    native = [camlens.ClassTarget(c) for c in CLASSES]
    paper = camlens.GradCAMPlusPlus(tiny, lay).explain(x, native).raw
    with_eps = camlens.GradCAMPlusPlus(tiny, lay, eps=1e-6).explain(x, native).raw
    reference = np.maximum(theirs.raw, 0)
    assert relative(next(iter(paper.values())).numpy(), reference) > 0.1
    assert relative(next(iter(with_eps.values())).numpy(), reference) <= RTOL_RAW
    with compat.GradCAMPlusPlus(tiny, [lay]) as cam:
        assert max_abs(cam(x, pgc_targets()), theirs.output) <= ATOL


def aug_smooth_maps(library, method: str, targets) -> np.ndarray:
    net, dtype = model("mobilenet_v3_small", "float64"), "float64"
    with getattr(library, method)(net, [layer("mobilenet_v3_small", dtype)]) as cam:
        return cam(batch(dtype), targets, aug_smooth=True)


@pytest.mark.parametrize("method", ["GradCAM", "LayerCAM"])
def test_aug_smooth_matches_pgc(method: str) -> None:
    ours = aug_smooth_maps(compat, method, pgc_targets())
    assert max_abs(ours, aug_smooth_maps(pgc, method, pgc_targets())) <= ATOL
    assert max_abs(ours, compat_run("mobilenet_v3_small", "float64", method)) > 0.01


def test_aug_smooth_without_targets_explains_the_unaugmented_top_class() -> None:
    """Intended difference: pgc takes each augmented copy's own top class (here they change, so
    it averages maps of different classes); camlens explains the original image's top class."""
    ours = aug_smooth_maps(compat, "GradCAM", None)
    top = model("mobilenet_v3_small", "float64")(batch("float64")).argmax(1).tolist()
    explicit = [ClassifierOutputTarget(c) for c in top]
    assert max_abs(ours, aug_smooth_maps(pgc, "GradCAM", explicit)) <= ATOL
    assert max_abs(ours, aug_smooth_maps(pgc, "GradCAM", None)) > 0.05
