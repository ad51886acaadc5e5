"""LIME on superpixels: the ``lime`` package's ``LimeImageExplainer`` weights on the same
segmentation, samples (same ``RandomState`` seed), kernel and model; exact recovery on a model
linear in the superpixels; the family's plumbing (segmentations, fill, targets, batching,
registry, explain / evaluate, bad input)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from superpixel_models import RegionReadout, blocks, nhwc, scores_of, small_net

import camlens
from camlens.core.errors import InvalidInputError
from camlens.methods._superpixel import SuperpixelExplanation

torch.set_num_threads(1)
lime_image = pytest.importorskip("lime.lime_image")
pytest.importorskip("sklearn")


def lime_weights(model, image_hwc, segments, label, *, seed, n, hide_color, explainer=None):
    """``(weights (d,), intercept)`` from ``lime``'s ``LimeImageExplainer`` with our segments."""
    explainer = explainer or lime_image.LimeImageExplainer(random_state=seed)
    seg = segments.numpy()
    exp = explainer.explain_instance(
        image_hwc,
        lambda images: scores_of(model, images),
        labels=(label,),
        top_labels=None,
        hide_color=hide_color,
        num_samples=n,
        batch_size=64,
        segmentation_fn=lambda _: seg,
        random_seed=0,  # given, so lime draws no segmentation seed from its RandomState
    )
    weights = np.zeros(int(seg.max()) + 1)
    for feature, value in exp.local_exp[label]:
        weights[feature] = value
    return weights, exp.intercept[label]


@pytest.mark.parametrize(("fill", "hide_color"), [("mean", None), (0.0, 0)])
def test_weights_equal_lime_package(fill, hide_color):
    """Two images, one explainer (its RandomState continues from image to image, as ours)."""
    model = small_net()
    torch.manual_seed(1)
    x = torch.rand(2, 3, 12, 12, dtype=torch.float64)
    segments = blocks(12, 12, 3, 3)
    label = 2
    explanation = camlens.LIME(model, segments=segments, n_samples=300, seed=7, fill=fill).explain(
        x, label
    )
    explainer = lime_image.LimeImageExplainer(random_state=7)
    for b in range(2):
        expected, intercept = lime_weights(
            model, nhwc(x)[b], segments, label, seed=7, n=300, hide_color=hide_color,
            explainer=explainer,
        )  # fmt: skip
        np.testing.assert_allclose(explanation.weights[b].numpy(), expected, atol=1e-6, rtol=0)
        assert abs(float(explanation.intercepts[b]) - intercept) <= 1e-6
        assert np.abs(expected).max() > 0.01  # not a degenerate all-zero fit


def test_samples_are_limes_draws():
    """The sample matrix is lime's: ``RandomState(seed).randint(0, 2, N·d)``, first row ones."""
    model = small_net()
    x = torch.rand(1, 3, 8, 8, dtype=torch.float64)
    e = camlens.LIME(model, segments=blocks(8, 8, 2, 2), n_samples=50, seed=3).explain(x, 0)
    expected = np.random.RandomState(3).randint(0, 2, 50 * 4).reshape(50, 4)
    expected[0] = 1
    np.testing.assert_array_equal(e.samples[0].numpy(), expected)


def test_linear_in_superpixels_is_recovered_exactly():
    """score = bias + Σ_s c_s · mean_s with hidden superpixels 0: LIME without the ridge
    penalty gives φ_s = c_s · mean_s and the bias as intercept; the map is ReLU(φ) painted."""
    segments = blocks(8, 8, 2, 2)
    coef = torch.tensor([[0.0, 0.0, 3.0, 0.0], [1.0, -2.0, 0.5, 4.0]])
    model = RegionReadout(segments, coef, torch.tensor([0.25, -1.0]))
    torch.manual_seed(2)
    x = torch.rand(1, 3, 8, 8, dtype=torch.float64) + 0.5
    means = model.region_means(x)[0]
    for target in (0, 1):
        e = camlens.LIME(model, segments=segments, fill=0.0, n_samples=200, alpha=0.0).explain(
            x, target
        )
        expected = (coef[target].double() * means).numpy()
        np.testing.assert_allclose(e.weights[0].numpy(), expected, atol=1e-9, rtol=0)
        assert abs(float(e.intercepts[0]) - float(model.bias[target])) < 1e-9
        painted = torch.relu(torch.from_numpy(expected)[segments]).float()
        torch.testing.assert_close(e.painted()[0], torch.from_numpy(expected)[segments])
        torch.testing.assert_close(e.maps[0], painted / painted.max())
    # only superpixel 2 matters to class 0: it carries the map (lime's ridge leaves the others
    # within a few thousandths)
    e = camlens.LIME(model, segments=segments, fill=0.0, n_samples=200).explain(x, 0)
    assert (
        torch.equal(e.maps[0] == 1, segments == 2) and float(e.maps[0][segments != 2].max()) < 0.01
    )


def test_ridge_penalty_shrinks_as_lime_does():
    """With lime's α = 1 the one relevant superpixel keeps nearly all the weight (ridge
    shrinkage), the others stay near 0."""
    segments = blocks(8, 8, 2, 2)
    coef = torch.tensor([[0.0, 0.0, 3.0, 0.0]])
    model = RegionReadout(segments, coef, torch.tensor([0.0]))
    x = torch.full((1, 3, 8, 8), 1.0, dtype=torch.float64)
    w = camlens.LIME(model, segments=segments, fill=0.0, n_samples=500).explain(x, 0).weights[0]
    assert 2.5 < float(w[2]) < 3.0 and float(w[[0, 1, 3]].abs().max()) < 0.1


def test_segmentations_and_callable():
    """scikit-image segmentations give labels 0..d-1 covering the image; a callable's labels are
    relabelled in sorted order."""
    skdata = pytest.importorskip("skimage.data")
    transform = pytest.importorskip("skimage.transform")
    image = transform.resize(skdata.astronaut(), (32, 32))
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float()
    model = small_net(torch.float32)
    for name, params in [
        ("quickshift", {}),
        ("slic", {"n_segments": 20}),
        ("felzenszwalb", {"scale": 20, "min_size": 10}),
    ]:
        e = camlens.LIME(model, segmentation=name, segmentation_params=params, n_samples=20)
        result = e.explain(x)
        labels = result.segments[0]
        d = int(labels.max()) + 1
        assert labels.shape == (32, 32) and torch.equal(labels.unique(), torch.arange(d))
        assert result.weights[0].shape == (d,) and result.maps.shape == (1, 32, 32)
    odd = camlens.LIME(model, segmentation=lambda a: (a[..., 0] > 0.5) * 10 + 5, n_samples=20)
    labels = odd.explain(x).segments[0]
    assert torch.equal(labels, (torch.from_numpy(image[..., 0] / image.max() > 0.5)).long())


def test_seed_batch_and_target_sets():
    """Same seed, same result; each image of a batch equals it explained alone with the
    RandomState advanced past the earlier images; several target sets share the samples."""
    model = small_net()
    x = torch.rand(3, 3, 8, 8, dtype=torch.float64)
    segments = blocks(8, 8, 2, 3)
    lime = camlens.LIME(model, segments=segments, n_samples=40, seed=5, batch_size=7)
    first = lime.explain(x, [0, 1, 2])
    again = lime.explain(x, [0, 1, 2])
    for a, b in zip(first.weights, again.weights, strict=True):
        assert torch.equal(a, b)
    sets = lime.explain_targets(x, [0, [0, 1, 2]])
    torch.testing.assert_close(sets[1].maps, first.maps)
    assert [t.category for t in sets[0].targets] == [0, 0, 0]
    # one big batch size or one image at a time: the same numbers
    whole = camlens.LIME(model, segments=segments, n_samples=40, seed=5, batch_size=500)
    for a, b in zip(whole.explain(x, [0, 1, 2]).weights, first.weights, strict=True):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


def test_registry_explain_and_evaluate():
    """Registered by name; runs in camlens.explain beside a CAM (target_layers ignored) and in
    camlens.evaluate with a model-based metric."""
    assert camlens.get_method("lime") is camlens.LIME and "lime" in camlens.METHODS
    assert camlens.LIME.needs() == frozenset()
    model = small_net(torch.float32)
    x = torch.rand(2, 3, 8, 8)
    segments = blocks(8, 8, 2, 2)
    results = camlens.explain(model, x, ["gradcam", camlens.LIME], "conv2", targets=1)
    assert results["gradcam"].maps.shape == results["LIME"].maps.shape == (2, 8, 8)
    result = camlens.evaluate(
        model,
        x,
        methods=["lime", "gradcam"],
        metrics=["deletion"],
        target_layers="conv2",
        targets="predicted",
        method_kwargs={"lime": {"segments": segments, "n_samples": 30}},
        progress=False,
    )
    assert set(result.scores) == {"lime", "gradcam"}
    assert np.isfinite(result.scores["lime"]["deletion"])


def test_result_type_and_empty_batch():
    model = small_net(torch.float32)
    lime = camlens.LIME(model, segments=blocks(8, 8, 2, 2), n_samples=10)
    e = lime.explain(torch.rand(1, 3, 8, 8))
    assert isinstance(e, SuperpixelExplanation) and e.per_layer == e.raw == {}
    assert e.outputs.shape == (1, 3) and e.scores.shape == (1,)
    empty = lime(torch.zeros(0, 3, 8, 8))
    assert empty.shape == (0, 8, 8)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda m: camlens.LIME(m, segmentation="watershed"), "unknown segmentation"),
        (lambda m: camlens.LIME(m, fill="median"), "fill must be"),
        (lambda m: camlens.LIME(m, n_samples=1), "n_samples"),
        (lambda m: camlens.LIME(m, segments="slic"), "segmentation='slic'"),
        (lambda m: camlens.KernelSHAP(m, seed=-1), "seed must be an int"),
        (lambda m: camlens.LIME(m, seed=2**40), "seed must be an int"),
        (lambda m: camlens.LIME(m, seed="a"), "seed must be an int"),
        (lambda m: camlens.LIME(m, differentiable=True), "differentiable"),
    ],
)
def test_bad_options(make, match):
    with pytest.raises((InvalidInputError, ValueError), match=match):
        make(small_net())


def test_bad_input():
    model = small_net(torch.float32)
    with pytest.raises(InvalidInputError, match="do not fit the input"):
        camlens.LIME(model, segments=blocks(4, 4, 2, 2))(torch.rand(1, 3, 8, 8))
    with pytest.raises(InvalidInputError, match="integer labels"):
        camlens.LIME(model, segments=torch.zeros(8, 8))(torch.rand(1, 3, 8, 8))
    with pytest.raises(InvalidInputError, match="aug_smooth"):
        camlens.LIME(model, segments=blocks(8, 8, 2, 2))(torch.rand(1, 3, 8, 8), aug_smooth=True)
    with pytest.raises(InvalidInputError, match="images"):
        camlens.LIME(model)(torch.rand(1, 3, 8))


class LogOfMean(torch.nn.Module):
    """Scores ``log(mean of the image)``: -inf for an image all hidden with fill 0."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.log(x.mean(dim=(1, 2, 3)))[:, None].repeat(1, 2)


@pytest.mark.parametrize("method", [camlens.LIME, camlens.KernelSHAP])
def test_non_finite_scores_or_fill_are_one_typed_line(method):
    # before: KernelSHAP painted NaN weights as an all-zero map with no error, LIME raised
    # sklearn's raw ValueError; a NaN fill did the same and a fill of the wrong shape a raw
    # RuntimeError
    x = torch.rand(1, 3, 8, 8) + 0.5
    segments = blocks(8, 8, 1, 3)
    with pytest.raises(InvalidInputError, match=r"NaN or inf on \d+ of the \d+ perturbed") as info:
        method(LogOfMean().eval(), segments=segments, fill=0.0, n_samples=10, seed=0)(x, targets=0)
    assert "\n" not in str(info.value)
    model = small_net(torch.float32)
    with pytest.raises(InvalidInputError, match="fill holds NaN"):
        method(model, segments=segments, fill=float("nan"), n_samples=10)(x)
    with pytest.raises(InvalidInputError, match="broadcasts to the images"):
        method(model, segments=segments, fill=torch.zeros(5), n_samples=10)(x)
    maps = method(LogOfMean().eval(), segments=segments, fill="mean", n_samples=10, seed=0)(
        x, targets=0
    )
    assert maps.shape == (1, 8, 8) and bool(torch.isfinite(maps).all())
