"""Deletion AUC: exact curves on a region-sum model; parity with torchcam."""

from __future__ import annotations

from functools import partial

import pytest
import torch
from torchcam.metrics import DeletionInsertionMetric

from camlens import InvalidInputError
from camlens.metrics import Deletion
from camlens.metrics.deletion import gaussian_blur, make_baseline

torch.set_num_threads(1)


def test_oracle_curve_is_exact_and_falls_faster_than_a_random_map(region_model, region) -> None:
    x = torch.ones(2, 1, 8, 8)
    maps = torch.stack(
        [region.float(), torch.rand(8, 8, generator=torch.Generator().manual_seed(0))]
    )
    metric = Deletion(steps=64, score="logit")
    metric.update(inputs=x, maps=maps, targets=0, model=region_model)
    counts = torch.arange(65)
    assert torch.equal(metric.fractions, counts / 64)
    oracle, random = metric.curves
    assert torch.allclose(oracle, (9 - counts.clamp(max=9)).float())  # one object pixel per step
    assert (oracle <= random).all() and oracle.sum() < random.sum()
    assert metric.per_image[0] == pytest.approx(40.5 / 64)  # triangle 9 x 9 / 2, x in [0, 1]
    assert metric.per_image[0] < metric.per_image[1]


def test_steps_round_up_like_rise_and_chunks_do_not_matter(region_model, region) -> None:
    x = torch.rand(3, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    maps = torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(2))
    whole, chunked = Deletion(steps=5), Deletion(steps=5, batch_size=2)
    whole.update(inputs=x, maps=maps, targets=0, model=region_model)
    chunked.update(inputs=x, maps=maps, targets=0, model=region_model)
    assert torch.equal(whole.fractions, torch.tensor([0, 13, 26, 39, 52, 64]) / 64)
    assert torch.allclose(whole.curves, chunked.curves)
    last = torch.sigmoid(torch.tensor(0.0))  # everything deleted: logits [0, 0]
    assert torch.allclose(whole.curves[:, -1], last.expand(3))
    fixed = Deletion(step=24)  # pixels per step, as RISE's step=224; the last step is shorter
    fixed.update(inputs=x, maps=maps, targets=0, model=region_model)
    assert torch.equal(fixed.fractions, torch.tensor([0, 24, 48, 64]) / 64)


def test_baselines() -> None:
    x = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    assert torch.equal(make_baseline("zeros", x), torch.zeros_like(x))
    assert torch.allclose(make_baseline("mean", x)[:, :, 3, 5], x.mean(dim=(2, 3)))
    assert torch.allclose(make_baseline(torch.tensor(0.5), x), torch.full_like(x, 0.5))
    assert torch.allclose(make_baseline(lambda t: -t, x), -x)
    flat = torch.full((1, 2, 12, 12), 0.3)
    assert torch.allclose(gaussian_blur(flat, 11, 5.0), flat)  # a blur keeps constants
    blurred = make_baseline("blur", x)
    assert blurred.shape == x.shape and blurred.std() < x.std()
    with pytest.raises(InvalidInputError, match="'zeros', 'blur', 'mean'"):
        make_baseline("noise", x)
    with pytest.raises(InvalidInputError, match="does not broadcast"):
        make_baseline(torch.zeros(5), x)
    with pytest.raises(InvalidInputError, match="steps"):
        Deletion(steps=0)
    with pytest.raises(InvalidInputError, match="step must be a positive int"):
        Deletion(step=0)


@pytest.mark.parametrize("steps", [20, 7])
def test_parity_with_torchcam(torchcam_case, steps) -> None:
    model, x, classes, extractor, maps = torchcam_case
    for name, fn in [("zeros", None), ("mean", lambda t: t.mean(dim=(2, 3), keepdim=True))]:
        reference = DeletionInsertionMetric(
            extractor, partial(torch.softmax, dim=-1), steps=steps, baseline=fn
        )
        reference.update(x, classes)
        metric = Deletion(steps=steps, baseline=name)
        metric.update(inputs=x, maps=maps, targets=classes, model=model)
        assert metric.compute() == pytest.approx(reference.summary()["deletion_auc"], abs=1e-6)


def test_curves_must_share_fractions(region_model) -> None:
    metric = Deletion(steps=64)
    metric.update(inputs=torch.ones(1, 1, 8, 8), maps=torch.rand(1, 8, 8), model=region_model)
    with pytest.raises(InvalidInputError, match="other curve fractions"):
        metric.update(inputs=torch.ones(1, 1, 4, 4), maps=torch.rand(1, 4, 4), model=region_model)
