"""Method specs (callable, CAM class, name) and the Spearman rank correlation."""

from __future__ import annotations

import pytest
import torch
from scipy.stats import spearmanr
from tiny_models import SmallCNN

import camlens
from camlens import InvalidInputError
from camlens.metrics._method import as_method, spearman

torch.set_num_threads(1)


def test_spearman_matches_scipy_with_ties() -> None:
    gen = torch.Generator().manual_seed(0)
    a = torch.randint(0, 4, (3, 5, 5), generator=gen).float()  # many ties
    b = a + torch.rand(3, 5, 5, generator=gen)
    for ours, x, y in zip(spearman(a, b), a, b, strict=True):
        assert float(ours) == pytest.approx(spearmanr(x.flatten(), y.flatten())[0], abs=1e-12)
    assert spearman(a, a).tolist() == pytest.approx([1.0] * 3)
    assert spearman(a, -a).tolist() == pytest.approx([-1.0] * 3)


def test_spearman_of_constant_maps() -> None:
    zero, ramp = torch.zeros(1, 2, 2), torch.arange(4.0).view(1, 2, 2)
    assert spearman(zero, zero).tolist() == [1.0]
    assert spearman(zero, ramp).tolist() == [0.0]
    assert spearman(zero, zero + 1).tolist() == [0.0]


def test_method_specs_run_on_another_model() -> None:
    torch.manual_seed(0)
    model = SmallCNN(inplace=False).eval()
    x, t = torch.randn(2, 3, 16, 16), torch.tensor([1, 2])
    expected = camlens.GradCAM(model, "conv3")(x, targets=t)
    by_name = as_method("gradcam", model, {"target_layers": model.conv3})
    by_class = as_method(camlens.GradCAM, model, {"target_layers": [model.conv3]})
    assert torch.equal(by_name(model, x, t), expected)
    assert torch.equal(by_class(model, x, t), expected)
    copy = SmallCNN(inplace=False).eval()
    copy.load_state_dict(model.state_dict())
    assert torch.equal(by_name(copy, x, t), expected)  # the module became the name "conv3"

    def fixed(m, inputs, targets):
        return torch.ones(len(inputs), 16, 16)

    assert as_method(fixed, model, None) is fixed
    with pytest.raises(InvalidInputError, match="pass method="):
        as_method(None, model, None)
    with pytest.raises(InvalidInputError, match="method_kwargs go with a CAM class"):
        as_method(fixed, model, {"target_layers": "conv3"})
