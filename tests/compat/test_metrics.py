"""compat ``metrics`` against pytorch-grad-cam 1.5.7's: same names, signatures and numbers.

Model: a random-weight ``resnet18(num_classes=10)`` at 32×32. ROAD draws its imputation noise from
torch's global generator, so both sides run after the same ``torch.manual_seed``. Equality is
bitwise for the model calls, target scores, masks, Otsu and ROAD (the imputer works in float32 as
the reference does, see ``test_imputer_is_bitwise_pgc``); Pearson to float32 rounding (camlens
computes it in float64).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import types

import numpy as np
import pytest
import torch
from torch import nn

import camlens.compat.pytorch_grad_cam as compat
from camlens.compat.pytorch_grad_cam.metrics import arcc, cam_mult_image, road
from camlens.compat.pytorch_grad_cam.metrics import perturbation_confidence as pc
from camlens.compat.pytorch_grad_cam.metrics._otsu import otsu_binary
from camlens.compat.pytorch_grad_cam.utils import model_targets as ours
from camlens.core.errors import InvalidInputError

torch.set_num_threads(1)

pgc = pytest.importorskip("pytorch_grad_cam")
theirs_targets = pytest.importorskip("pytorch_grad_cam.utils.model_targets")
torchvision = pytest.importorskip("torchvision")
pytest.importorskip("scipy")

MODULES = ["perturbation_confidence", "cam_mult_image", "road", "arcc"]
ROAD_PERCENTILES = [30, 70]
# pytorch-grad-cam's NoisyLinearImputer calls np.argwhere on a tensor (numpy 2 deprecation); the
# compat calls alone run clean under -W error::DeprecationWarning.
pytestmark = pytest.mark.filterwarnings("ignore:__array_wrap__ must accept:DeprecationWarning")


def reference(module: str) -> types.ModuleType:
    return importlib.import_module(f"pytorch_grad_cam.metrics.{module}")


def mine(module: str) -> types.ModuleType:
    return importlib.import_module(f"camlens.compat.pytorch_grad_cam.metrics.{module}")


@functools.cache
def model() -> nn.Module:
    torch.manual_seed(0)
    return torchvision.models.resnet18(num_classes=10).eval()


@functools.cache
def inputs(n: int = 3) -> torch.Tensor:
    return torch.randn(n, 3, 32, 32, generator=torch.Generator().manual_seed(1))


@functools.cache
def cams(n: int = 3) -> np.ndarray:
    """Real Grad-CAM maps (float32, [0, 1]) of ``inputs(n)`` for classes 1, 3, 5."""
    with compat.GradCAM(model(), [model().layer4]) as cam:
        maps = cam(inputs(n), [ours.ClassifierOutputTarget(c) for c in (1, 3, 5)[:n]])
    assert maps.dtype == np.float32 and maps.shape == (n, 32, 32)
    return maps


def targets(kind: str, n: int = 3) -> list:
    classes = (1, 3, 5)[:n]
    if kind == "compat-logit":
        return [ours.ClassifierOutputTarget(c) for c in classes]
    if kind == "compat-softmax":
        return [ours.ClassifierOutputSoftmaxTarget(c) for c in classes]
    if kind == "pgc-softmax":
        return [theirs_targets.ClassifierOutputSoftmaxTarget(c) for c in classes]
    return [lambda output, c=c: output[c] - output.mean() for c in classes]  # any callable


TARGET_KINDS = ["compat-logit", "compat-softmax", "pgc-softmax", "callable"]


# --- names and signatures -----------------------------------------------------------------------


def public_names(module: types.ModuleType) -> list[str]:
    """Names the reference module defines itself (classes, functions, constants)."""
    names = []
    for name, value in vars(module).items():
        if name.startswith("_") or isinstance(value, types.ModuleType):
            continue
        defined_here = getattr(value, "__module__", module.__name__) == module.__name__
        if defined_here and not (inspect.isclass(value) and value.__module__ == "typing"):
            names.append(name)
    return names


def parameters(function: object) -> list[tuple[str, object, object]]:
    signature = inspect.signature(function)  # type: ignore[arg-type]
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


@pytest.mark.parametrize("module", MODULES)
def test_every_public_name_exists_with_the_same_signature(module: str) -> None:
    ref, got = reference(module), mine(module)
    names = public_names(ref)
    assert names  # the reference modules all define something
    for name in names:
        assert hasattr(got, name), f"{module}.{name} is missing"
        expected, actual = getattr(ref, name), getattr(got, name)
        if inspect.isclass(expected):
            assert inspect.isclass(actual)
            for method in ("__init__", "__call__"):
                if method in vars(expected) or method in vars(actual):
                    assert parameters(getattr(actual, method)) == parameters(
                        getattr(expected, method)
                    ), f"{module}.{name}.{method}"
        elif callable(expected):
            assert parameters(actual) == parameters(expected), f"{module}.{name}"
        else:
            assert actual == expected, f"{module}.{name}"


def test_import_paths() -> None:
    for module in MODULES:
        imported = importlib.import_module(f"camlens.compat.pytorch_grad_cam.metrics.{module}")
        assert imported.__name__.endswith(f"metrics.{module}")
    from camlens.compat.pytorch_grad_cam.metrics.cam_mult_image import (  # noqa: F401
        CamMultImageConfidenceChange,
    )
    from camlens.compat.pytorch_grad_cam.metrics.road import ROADCombined  # noqa: F401


def test_class_hierarchy_as_pgc() -> None:
    assert issubclass(road.ROADMostRelevantFirst, pc.PerturbationConfidenceMetric)
    assert issubclass(road.ROADLeastRelevantFirstAverage, pc.AveragerAcrossThresholds)
    assert issubclass(cam_mult_image.DropInConfidence, cam_mult_image.CamMultImageConfidenceChange)
    assert issubclass(pc.RemoveLeastRelevantFirst, pc.RemoveMostRelevantFirst)


# --- cam_mult_image -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", TARGET_KINDS)
@pytest.mark.parametrize(
    "name", ["CamMultImageConfidenceChange", "DropInConfidence", "IncreaseInConfidence"]
)
def test_cam_mult_image_equals_pgc(name: str, kind: str) -> None:
    args = (inputs(), cams(), targets(kind), model())
    expected = getattr(reference("cam_mult_image"), name)()(*args)
    actual = getattr(cam_mult_image, name)()(*args)
    assert isinstance(actual, np.ndarray) and actual.dtype == expected.dtype == np.float32
    assert actual.shape == (3,)
    np.testing.assert_array_equal(actual, expected)


def test_cam_mult_image_visualization_and_no_diff() -> None:
    args = (inputs(), cams(), targets("compat-softmax"), model())
    ref = reference("cam_mult_image").CamMultImageConfidenceChange()
    metric = cam_mult_image.CamMultImageConfidenceChange()
    for return_diff in (True, False):
        expected, expected_images = ref(*args, return_visualization=True, return_diff=return_diff)
        actual, images = metric(*args, return_visualization=True, return_diff=return_diff)
        np.testing.assert_array_equal(actual, expected)
        assert torch.equal(images, expected_images)
        assert torch.equal(images, inputs() * torch.from_numpy(cams())[:, None])


def linear_model() -> nn.Module:
    """score_0 = sum of all pixels, score_1 = 0: hand-computable score changes."""
    net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 2, bias=False))
    with torch.no_grad():
        net[1].weight.zero_()
        net[1].weight[0] = 1
    return net.eval()


def test_drop_and_increase_in_confidence_by_hand() -> None:
    """Image 0 (all +1) halved by a 0.5 map loses 24; image 1 (all -1) gains 24."""
    x = torch.stack([torch.ones(3, 4, 4), -torch.ones(3, 4, 4)])
    maps = np.full((2, 4, 4), 0.5, dtype=np.float32)
    args = (x, maps, [ours.ClassifierOutputTarget(0)] * 2, linear_model())
    np.testing.assert_array_equal(cam_mult_image.CamMultImageConfidenceChange()(*args), [-24, 24])
    np.testing.assert_array_equal(cam_mult_image.DropInConfidence()(*args), [24, 0])
    increase = cam_mult_image.IncreaseInConfidence()(*args)
    np.testing.assert_array_equal(increase, [0, 1])
    assert increase.dtype == np.float32
    for name in ("DropInConfidence", "IncreaseInConfidence"):
        expected = getattr(reference("cam_mult_image"), name)()(*args)
        np.testing.assert_array_equal(getattr(cam_mult_image, name)()(*args), expected)


@pytest.mark.parametrize("name", ["DropInConfidence", "IncreaseInConfidence"])
def test_drop_and_increase_return_visualization(name: str) -> None:
    """pytorch-grad-cam raises TypeError here (it negates the tuple); we return both parts."""
    args = (inputs(), cams(), targets("compat-softmax"), model())
    with pytest.raises(TypeError):
        getattr(reference("cam_mult_image"), name)()(*args, return_visualization=True)
    scores, images = getattr(cam_mult_image, name)()(*args, return_visualization=True)
    np.testing.assert_array_equal(scores, getattr(cam_mult_image, name)()(*args))
    assert torch.equal(images, inputs() * torch.from_numpy(cams())[:, None])


# --- perturbation_confidence --------------------------------------------------------------------


def flip_times_cam(image: torch.Tensor, cam: torch.Tensor) -> torch.Tensor:
    return image.flip(-1) * cam


def keep_only(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """A deterministic 'imputer': zero the removed pixels."""
    return image * mask


@pytest.mark.parametrize("return_diff", [True, False])
def test_perturbation_confidence_with_a_custom_perturbation(return_diff: bool) -> None:
    args = (inputs(), cams(), targets("callable"), model())
    expected = reference("perturbation_confidence").PerturbationConfidenceMetric(flip_times_cam)
    actual = pc.PerturbationConfidenceMetric(flip_times_cam)
    np.testing.assert_array_equal(
        actual(*args, return_diff=return_diff), expected(*args, return_diff=return_diff)
    )


@pytest.mark.parametrize("percentile", [0, 25, 50, 90, 100, "auto"])
@pytest.mark.parametrize("remove", ["RemoveMostRelevantFirst", "RemoveLeastRelevantFirst"])
def test_remove_masks_equal_pgc(remove: str, percentile) -> None:
    """The binary masks handed to the imputer, including the Otsu (``"auto"``) branch."""
    seen: dict[str, list[np.ndarray]] = {"ref": [], "ours": []}

    def recorder(key: str):
        def imputer(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            seen[key].append(mask.numpy())
            return image * mask

        return imputer

    ref_cls = getattr(reference("perturbation_confidence"), remove)
    my_cls = getattr(pc, remove)
    for cam in cams():
        mask = torch.from_numpy(cam)
        expected = ref_cls(percentile, recorder("ref"))(inputs()[0], mask)
        actual = my_cls(percentile, recorder("ours"))(inputs()[0], mask)
        assert torch.equal(actual, expected)
    for a, b in zip(seen["ours"], seen["ref"], strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_averager_across_thresholds_equals_pgc() -> None:
    ref = reference("perturbation_confidence")

    def factory(module):
        return lambda p: module.PerturbationConfidenceMetric(
            module.RemoveMostRelevantFirst(p, keep_only)
        )

    args = (inputs(), cams(), targets("compat-softmax"), model())
    expected = ref.AveragerAcrossThresholds(factory(ref), [10, 50, 90])(*args)
    actual = pc.AveragerAcrossThresholds(factory(pc), [10, 50, 90])(*args)
    assert actual.dtype == np.float32
    np.testing.assert_array_equal(actual, expected)


def test_otsu_equals_opencv() -> None:
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(0)
    for k in range(400):
        shape = tuple(rng.integers(1, 40, 2))
        maps = [
            rng.random(shape),
            rng.random(shape) ** 4,
            rng.integers(0, 3, shape) / 2,
            np.full(shape, rng.random()),  # constant: skimage's Otsu differs here
            np.clip(rng.normal(0.5, 0.2, shape), 0, 1),
        ]
        image = np.uint8(maps[k % 5].astype(np.float32) * 255)
        expected = cv2.threshold(image, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1]
        np.testing.assert_array_equal(otsu_binary(image), expected)
    with pytest.raises(InvalidInputError):
        otsu_binary(np.zeros((2, 2), dtype=np.float32))


@pytest.mark.parametrize(
    "make", [lambda t: t[:2], lambda t: None, lambda t: ours.ClassifierOutputTarget(1)]
)
def test_wrong_targets_raise(make) -> None:
    metric = cam_mult_image.CamMultImageConfidenceChange()
    with pytest.raises(InvalidInputError, match="one target per image"):
        metric(inputs(), cams(), make(targets("compat-logit")), model())
    with pytest.raises(InvalidInputError, match="cams for 3 images"):
        metric(inputs(), cams()[:2], targets("compat-logit"), model())


# --- road ---------------------------------------------------------------------------------------

ROAD_TOL = 0.0  # the imputed pixels are bitwise the reference's (see below)


def seeded(function, *args, **kwargs):
    torch.manual_seed(123)
    return function(*args, **kwargs)


@pytest.mark.parametrize("channels", [3, 1])
def test_noisy_linear_imputer_equals_pgc(channels: int) -> None:
    generator = torch.Generator().manual_seed(2)
    image = torch.randn(channels, 9, 11, generator=generator)
    mask = (torch.rand(9, 11, generator=generator) > 0.5).float()  # holes on the border too
    expected = seeded(reference("road").NoisyLinearImputer(), image, mask)
    actual = seeded(road.NoisyLinearImputer(), image, mask)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    torch.testing.assert_close(actual, expected, rtol=0, atol=ROAD_TOL)
    assert torch.equal(actual[:, mask.bool()], image[:, mask.bool()])  # kept pixels untouched
    # the noise is drawn from the global generator: another seed, other pixels
    torch.manual_seed(9)
    assert not torch.allclose(road.NoisyLinearImputer()(image, mask), actual, atol=1e-4)


def test_imputer_is_bitwise_pgc() -> None:
    generator = torch.Generator().manual_seed(3)
    image = torch.randn(3, 16, 16, generator=generator)
    mask = (torch.rand(16, 16, generator=generator) > 0.5).float()
    expected = seeded(reference("road").NoisyLinearImputer(noise=0), image, mask)
    assert torch.equal(seeded(road.NoisyLinearImputer(noise=0), image, mask), expected)


@pytest.mark.parametrize("percentile", [30, "auto"])
@pytest.mark.parametrize("name", ["ROADMostRelevantFirst", "ROADLeastRelevantFirst"])
def test_road_single_percentile_equals_pgc(name: str, percentile) -> None:
    args = (inputs(2), cams(2), targets("pgc-softmax", 2), model())
    expected, expected_images = seeded(
        getattr(reference("road"), name)(percentile), *args, return_visualization=True
    )
    actual, images = seeded(getattr(road, name)(percentile), *args, return_visualization=True)
    assert isinstance(actual, np.ndarray) and actual.dtype == np.float32 and actual.shape == (2,)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=ROAD_TOL)
    torch.testing.assert_close(images, expected_images, rtol=0, atol=ROAD_TOL)


@pytest.mark.parametrize(
    "name", ["ROADMostRelevantFirstAverage", "ROADLeastRelevantFirstAverage", "ROADCombined"]
)
def test_road_averages_equal_pgc(name: str) -> None:
    args = (inputs(2), cams(2), targets("compat-softmax", 2), model())
    expected = seeded(getattr(reference("road"), name)(ROAD_PERCENTILES), *args)
    actual = seeded(getattr(road, name)(ROAD_PERCENTILES), *args)
    assert actual.dtype == np.float32 and actual.shape == (2,)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=ROAD_TOL)
    # noise matters: another seed moves the score by more than the tolerance
    torch.manual_seed(7)
    assert np.abs(getattr(road, name)(ROAD_PERCENTILES)(*args) - actual).max() > 10 * ROAD_TOL


def test_road_combined_is_half_the_lerf_minus_morf_difference() -> None:
    args = (inputs(2), cams(2), targets("callable", 2), model())
    combined = seeded(road.ROADCombined(ROAD_PERCENTILES), *args)
    torch.manual_seed(123)  # same draws, same order: LeRF first, then MoRF
    lerf = road.ROADLeastRelevantFirstAverage(ROAD_PERCENTILES)(*args)
    morf = road.ROADMostRelevantFirstAverage(ROAD_PERCENTILES)(*args)
    np.testing.assert_array_equal(combined, (lerf - morf) / 2)


# --- arcc ---------------------------------------------------------------------------------------


def test_complexity_by_hand_and_equals_pgc() -> None:
    maps = np.stack([np.zeros((4, 4)), np.ones((4, 4)), np.tile([0.5, -0.5], (4, 2))])
    for dtype in (np.float32, np.float64):
        actual = arcc.Complexity()(maps.astype(dtype))
        assert actual.dtype == dtype
        np.testing.assert_array_equal(actual, [0, 1, 0.5])
    expected = reference("arcc").Complexity()(cams())
    actual = arcc.Complexity()(cams())
    assert actual.dtype == expected.dtype == np.float32
    np.testing.assert_allclose(actual, expected, rtol=1e-6)


def test_batch_pearson_coherency_by_hand_and_equals_pgc() -> None:
    a = np.random.default_rng(0).random((3, 5, 6))
    np.testing.assert_allclose(arcc.batch_pearson_coherency(a, a), 1, atol=1e-7)
    np.testing.assert_allclose(arcc.batch_pearson_coherency(a, -2 * a + 1), -1, atol=1e-7)
    for dtype in (np.float32, np.float64):
        x, y = a.astype(dtype), np.roll(a, 1, axis=0).astype(dtype)
        expected = reference("arcc").batch_pearson_coherency(x, y)
        actual = arcc.batch_pearson_coherency(x, y)
        assert actual.dtype == expected.dtype == dtype
        tolerance = 1e-6 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(actual, expected, rtol=0, atol=tolerance)
    with pytest.raises(InvalidInputError):
        arcc.batch_pearson_coherency(a, a[:2])


def gradcams():
    """The same Grad-CAM from pytorch-grad-cam and from camlens' compat layer."""
    return (
        pgc.GradCAM(model(), [model().layer4]),
        compat.GradCAM(model(), [model().layer4]),
    )


def test_coherency_equals_pgc_with_either_base_method() -> None:
    args = (inputs(), cams(), targets("compat-logit"), model())
    pgc_cam, compat_cam = gradcams()
    expected = reference("arcc").Coherency()(*args, pgc_cam)
    same_method = arcc.Coherency()(*args, pgc_cam)
    assert same_method.dtype == np.float32 and same_method.shape == (3,)
    np.testing.assert_allclose(same_method, expected, rtol=0, atol=1e-6)
    # camlens' Grad-CAM as the base method: its maps agree with pgc's to float32 rounding
    np.testing.assert_allclose(arcc.Coherency()(*args, compat_cam), expected, rtol=0, atol=1e-5)
    assert np.all((expected >= 0) & (expected <= 1))


def test_arcc_equals_pgc() -> None:
    args = (inputs(2), cams(2), targets("compat-softmax", 2), model())
    pgc_cam, compat_cam = gradcams()
    expected = seeded(reference("arcc").ARCC(pgc_cam, ROAD_PERCENTILES), *args)
    metric = arcc.ARCC(pgc_cam, ROAD_PERCENTILES)
    assert isinstance(metric.road, road.ROADCombined) and metric.base_method is pgc_cam
    actual = seeded(metric, *args)
    assert actual.dtype == np.float32 and actual.shape == (2,)
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-7)
    with_compat = seeded(arcc.ARCC(compat_cam, ROAD_PERCENTILES), *args)
    np.testing.assert_allclose(with_compat, expected, rtol=1e-4, atol=1e-6)


def test_arcc_by_hand_from_its_parts() -> None:
    args = (inputs(2), cams(2), targets("compat-softmax", 2), model())
    _, compat_cam = gradcams()
    value = seeded(arcc.ARCC(compat_cam, ROAD_PERCENTILES), *args)
    complexity = arcc.Complexity()(cams(2))
    coherency = arcc.Coherency()(*args, compat_cam)
    road_score = np.clip(2 * seeded(road.ROADCombined(ROAD_PERCENTILES), *args), 0, 1)
    harmonic = 3 / (1 / (coherency + 1e-8) + 1 / (1 - complexity + 1e-8) + 1 / (road_score + 1e-8))
    np.testing.assert_allclose(value, harmonic, rtol=1e-6)
