"""Noisy linear imputation: exact on constants and linear ramps; same as pytorch-grad-cam's."""

from __future__ import annotations

import torch
from pytorch_grad_cam.metrics.road import NoisyLinearImputer

from camlens.metrics.imputation import noisy_linear_impute

torch.set_num_threads(1)


def test_constant_image_stays_constant() -> None:
    image = torch.full((2, 6, 5), 0.7)
    keep = torch.rand(6, 5, generator=torch.Generator().manual_seed(0)) > 0.6
    assert torch.allclose(noisy_linear_impute(image, keep, noise=0.0), image)


def test_linear_ramp_is_recovered_inside_the_image() -> None:
    """A linear function equals the symmetric weighted mean of its 8 neighbours."""
    rows, cols = torch.meshgrid(torch.arange(8.0), torch.arange(9.0), indexing="ij")
    image = (2 * rows - 0.5 * cols + 1)[None]
    keep = torch.ones(8, 9, dtype=torch.bool)
    keep[2:6, 3:7] = False  # an interior hole: the boundary values pin the solution
    out = noisy_linear_impute(image, keep, noise=0.0)
    assert torch.allclose(out, image, atol=1e-5)


def test_nothing_missing_returns_the_image() -> None:
    image = torch.rand(3, 4, 4)
    assert torch.equal(noisy_linear_impute(image, torch.ones(4, 4, dtype=torch.bool)), image)


def test_parity_with_pytorch_grad_cam_with_and_without_noise() -> None:
    gen = torch.Generator().manual_seed(1)
    image = torch.rand(3, 10, 7, generator=gen)
    keep = torch.rand(10, 7, generator=gen) > 0.5  # holes touch the border too
    reference = NoisyLinearImputer(noise=0.0)(image, keep.float())
    assert torch.allclose(noisy_linear_impute(image, keep, noise=0.0), reference, atol=1e-5)
    torch.manual_seed(7)
    reference = NoisyLinearImputer(noise=0.01)(image, keep.float())
    torch.manual_seed(7)
    ours = noisy_linear_impute(image, keep, noise=0.01)
    assert torch.allclose(ours, reference, atol=1e-5)
    assert not torch.allclose(ours, noisy_linear_impute(image, keep, noise=0.0), atol=1e-4)


def test_private_generator_leaves_global_state_alone() -> None:
    image, keep = torch.rand(1, 5, 5), torch.rand(5, 5) > 0.5
    state = torch.get_rng_state()
    a = noisy_linear_impute(image, keep, 0.1, torch.Generator().manual_seed(3))
    b = noisy_linear_impute(image, keep, 0.1, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and torch.equal(state, torch.get_rng_state())
