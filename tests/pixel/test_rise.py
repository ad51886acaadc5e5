"""RISE on a model whose score is a weighted sum of the pixels: exact by hand with fixed masks,
and, with random masks, convergence to the estimator's exact expectation.

For score(x) = Σ v ⊙ x (v = W[c] ⊙ x summed over channels, flattened) and masks M with fill 0,
score(x ⊙ M) = vᵀM, so S = 1/(Np) Σ_n (vᵀM_n) M_n and E[S] = E[M Mᵀ] v / p. A mask is
M = A_shift g: g the s×s Bernoulli(p) grid (E[g gᵀ] = p(1−p) I + p² 11ᵀ) and A_shift the linear
upsample-and-crop at a uniform shift, so E[M Mᵀ] is the mean over shifts of
A (p(1−p) I + p² 11ᵀ) Aᵀ. (So RISE does not converge to the weights v themselves: E[S] =
p·score·1 + (1−p)·v for masks independent per pixel, a blurred version of that here.)
"""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from camlens.pixel.rise import RISE


class WeightedSum(nn.Module):
    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight)

    def forward(self, x):
        return torch.einsum("bchw,kchw->bk", x, self.weight)


def test_fixed_masks_by_hand():
    # W = [[1, 2], [3, 4]], x = [[1, 1], [2, 1]]: W ⊙ x = [[1, 2], [6, 4]]
    model = WeightedSum(torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])).eval()
    x = torch.tensor([[[[1.0, 1.0], [2.0, 1.0]]]])
    masks = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0], [0.0, 0.0]]])
    # scores 1 + 4 = 5 and 1 + 2 = 3; S = (5 M1 + 3 M2) / (N p) with N p = 2 · 0.5 = 1
    out = RISE(model, masks=masks, p=0.5, batch_size=1)(x, 0)
    torch.testing.assert_close(out[0, 0], torch.tensor([[8.0, 3.0], [0.0, 5.0]]))


def test_masks_follow_the_papers_generator():
    rise = RISE(nn.Identity(), n_masks=64, grid_size=4, p=0.3, seed=5)
    masks = rise.generate_masks((8, 8))
    assert masks.shape == (64, 8, 8) and masks.min() >= 0 and masks.max() <= 1
    torch.testing.assert_close(
        masks, RISE(nn.Identity(), 64, 4, 0.3, seed=5).generate_masks((8, 8))
    )
    assert not torch.equal(masks, RISE(nn.Identity(), 64, 4, 0.3, seed=6).generate_masks((8, 8)))
    # each mask is a crop, at a shift in [0, cell), of the bilinearly upsampled 4x4 grid
    grids, shifts = rise.mask_parameters()
    up = F.interpolate(grids[:, None].float(), size=(10, 10), mode="bilinear")[:, 0]
    for n in range(64):
        dy, dx = int(shifts[n, 0] * 2), int(shifts[n, 1] * 2)
        torch.testing.assert_close(masks[n], up[n, dy : dy + 8, dx : dx + 8])


def expected_saliency(v: torch.Tensor, p: float, size: int, grid: int) -> torch.Tensor:
    cell = math.ceil(size / grid)
    basis = torch.eye(grid * grid, dtype=torch.float64).view(-1, 1, grid, grid)
    up = F.interpolate(basis, size=((grid + 1) * cell,) * 2, mode="bilinear")[:, 0]
    cov = p * (1 - p) * torch.eye(grid * grid, dtype=torch.float64) + p * p
    second = torch.zeros(size * size, size * size, dtype=torch.float64)
    for dy in range(cell):
        for dx in range(cell):
            a = up[:, dy : dy + size, dx : dx + size].reshape(grid * grid, -1).T  # (HW, s²)
            second += a @ cov @ a.T
    second /= cell * cell
    return (second @ v.double().flatten() / p).view(size, size)


def test_random_masks_converge_to_the_expectation():
    size, grid, p, n = 8, 4, 0.5, 4000
    g = torch.Generator().manual_seed(0)
    model = WeightedSum(torch.randn(2, 1, size, size, generator=g)).eval()
    x = torch.randn(1, 1, size, size, generator=g)
    rise = RISE(model, n_masks=n, grid_size=grid, p=p, batch_size=1000, seed=1)
    out = rise(x, 1)[0, 0].double()
    v = (model.weight[1, 0] * x[0, 0]).detach()
    expected = expected_saliency(v, p, size, grid)
    # the tolerance from the variance of one term Z_n = score_n M_n / p
    masks = rise.generate_masks((size, size), dtype=torch.float64)
    z = (masks.flatten(1) @ v.double().flatten())[:, None, None] * masks / p
    stderr = z.std(dim=0) / math.sqrt(n)
    assert torch.all((out - expected).abs() < 5 * stderr + 1e-9)
    assert (out - expected).abs().max() < 0.1 * expected.abs().max()


def test_chunking_and_batch_do_not_change_the_result(small_cnn, images):
    rise = RISE(small_cnn, n_masks=10, grid_size=3, batch_size=3, seed=2)
    batched = rise(images[:3], [0, 1, 2])
    big = RISE(small_cnn, n_masks=10, grid_size=3, batch_size=100, seed=2)(images[:3], [0, 1, 2])
    torch.testing.assert_close(batched, big, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(batched[1:2], rise(images[1:2], 1), rtol=1e-5, atol=1e-6)


def test_rejects_bad_arguments(small_cnn, images):
    with pytest.raises(ValueError, match="p must be"):
        RISE(small_cnn, p=0)
    with pytest.raises(ValueError, match="masks"):
        RISE(small_cnn, masks=torch.ones(4, 4))
    with pytest.raises(Exception, match="do not fit"):
        RISE(small_cnn, masks=torch.ones(2, 4, 4))(images, 0)
