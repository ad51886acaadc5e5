"""KernelSHAP on superpixels: ``shap.KernelExplainer``'s values, samples and kernel weights on the
same superpixels (its global ``np.random`` seeded as our ``RandomState``) and model; exact Shapley
values of hand-computed games when every coalition is enumerated."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from superpixel_models import RegionReadout, blocks, nhwc, scores_of, small_net
from torch import nn

import camlens
from camlens.methods.kernelshap import shapley_samples

torch.set_num_threads(1)
shap = pytest.importorskip("shap")


def shap_reference(model, image_hwc, segments, label, fill_hwc, *, n):
    """shap.KernelExplainer over the superpixels (a coalition z shows the image where z is 1),
    drawing from numpy's global RandomState as it stands."""
    seg = segments.numpy()
    d = int(seg.max()) + 1

    def f(z):
        shown = z[:, seg].astype(bool)[..., None]  # (n, H, W, 1)
        return scores_of(model, np.where(shown, image_hwc, fill_hwc))[:, label]

    explainer = shap.KernelExplainer(f, np.zeros((1, d)))
    values = explainer.shap_values(np.ones((1, d)), nsamples=n, l1_reg=False, silent=True)
    return np.asarray(values)[0], explainer


@pytest.mark.parametrize("n", [60, 200])
def test_values_equal_shap_kernel_explainer(n):
    """Two images in a row (shap's global RandomState and ours both continue); 12 superpixels,
    so the samples mix enumerated sizes and random draws."""
    model = small_net()
    torch.manual_seed(3)
    x = torch.rand(2, 3, 12, 12, dtype=torch.float64)
    segments = blocks(12, 12, 3, 4)
    e = camlens.KernelSHAP(model, segments=segments, fill=0.0, n_samples=n, seed=11).explain(x, 1)
    np.random.seed(11)  # noqa: NPY002 (shap draws from the global legacy RandomState)
    for b in range(2):
        expected, explainer = shap_reference(model, nhwc(x)[b], segments, 1, 0.0, n=n)
        np.testing.assert_allclose(e.weights[b].numpy(), expected, atol=1e-6, rtol=0)
        assert np.abs(expected).max() > 0.01
        added = explainer.nsamplesAdded
        np.testing.assert_array_equal(e.samples[b][2:].numpy(), explainer.maskMatrix[:added])
        fnull = float(explainer.expected_value)
        assert abs(float(e.intercepts[b]) - fnull) < 1e-9
        # efficiency: the values add up to f(x) − f(all hidden)
        assert abs(float(e.weights[b].sum()) - (float(e.scores[b]) - fnull)) < 1e-9


def test_samples_and_weights_are_shaps():
    """The coalitions and kernel weights are shap's (enumerated sizes first, then draws)."""
    d, n = 9, 100
    f = lambda z: z @ np.arange(1.0, d + 1)  # noqa: E731
    explainer = shap.KernelExplainer(f, np.zeros((1, d)))
    np.random.seed(4)  # noqa: NPY002 (as above)
    explainer.shap_values(np.ones((1, d)), nsamples=n, l1_reg=False, silent=True)
    masks, weights = shapley_samples(d, n, np.random.RandomState(4))
    np.testing.assert_array_equal(masks, explainer.maskMatrix[: explainer.nsamplesAdded])
    np.testing.assert_allclose(weights, explainer.kernelWeights[: explainer.nsamplesAdded])


def test_additive_game_is_exact():
    """score = bias + Σ_s c_s · mean_s with hidden superpixels 0 is additive in the coalition:
    φ_s = c_s · mean_s exactly, enumerated or sampled, and φ_0 = the bias."""
    segments = blocks(8, 8, 2, 3)
    coef = torch.tensor([[2.0, -1.0, 0.0, 0.5, 3.0, -0.25]])
    model = RegionReadout(segments, coef, torch.tensor([0.75]))
    x = torch.rand(1, 3, 8, 8, dtype=torch.float64) + 0.5
    expected = (coef[0].double() * model.region_means(x)[0]).numpy()
    for n in ("auto", 20):  # 2^6 − 2 = 62 coalitions enumerated; 20 sampled
        e = camlens.KernelSHAP(model, segments=segments, fill=0.0, n_samples=n).explain(x, 0)
        np.testing.assert_allclose(e.weights[0].numpy(), expected, atol=1e-9, rtol=0)
        assert abs(float(e.intercepts[0]) - 0.75) < 1e-9


class Product(nn.Module):
    """score = (mean of superpixel 0) · (mean of superpixel 1): a pure interaction."""

    def __init__(self, segments: torch.Tensor) -> None:
        super().__init__()
        self.readout = RegionReadout(segments, torch.eye(4), torch.zeros(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.readout.region_means(x)
        return (m[:, 0] * m[:, 1])[:, None]


def test_interaction_is_split_equally():
    """With every coalition enumerated the values are the exact Shapley values: the product of
    two superpixels' means is shared equally between them, the other two get 0; the map is the
    two superpixels at 1."""
    segments = blocks(8, 8, 2, 2)
    x = torch.rand(1, 3, 8, 8, dtype=torch.float64) + 0.5
    model = Product(segments)
    m = model.readout.region_means(x)[0]
    e = camlens.KernelSHAP(model, segments=segments, fill=0.0).explain(x, 0)
    half = float(m[0] * m[1]) / 2
    np.testing.assert_allclose(e.weights[0].numpy(), [half, half, 0, 0], atol=1e-12)
    assert torch.equal(e.maps[0], (segments < 2).float())


def test_one_superpixel_gets_everything_and_registry():
    model = small_net()
    x = torch.rand(1, 3, 8, 8, dtype=torch.float64)
    one = torch.zeros(8, 8, dtype=torch.long)
    e = camlens.KernelSHAP(model, segments=one, fill=0.0).explain(x, 0)
    with torch.no_grad():
        expected = model(x)[0, 0] - model(torch.zeros_like(x))[0, 0]
    assert abs(float(e.weights[0][0]) - float(expected)) < 1e-12
    assert camlens.get_method("kernelshap") is camlens.get_method("shap") is camlens.KernelSHAP
    maps = camlens.explain(model.float(), x.float(), ["kernelshap"], targets=0)["kernelshap"].maps
    assert maps.shape == (1, 8, 8)


def test_bad_n_samples():
    with pytest.raises(ValueError, match="n_samples"):
        camlens.KernelSHAP(small_net(), n_samples=0)
