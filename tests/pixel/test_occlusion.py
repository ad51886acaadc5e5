"""Occlusion by hand on a model whose score is a weighted sum of the pixels, and against captum.

score_k(x) = Σ W[k] ⊙ x, so with fill 0 hiding a patch drops the score by exactly the patch's sum
of W[k] ⊙ x (all channels); each pixel gets the mean drop of the windows that cover it.
"""

import pytest
import torch
from torch import nn

from camlens.pixel.occlusion import Occlusion, window_starts


class WeightedSum(nn.Module):
    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight)

    def forward(self, x):
        return torch.einsum("bchw,kchw->bk", x, self.weight)


def make(size=(8, 8), classes=3, batch=2):
    g = torch.Generator().manual_seed(0)
    model = WeightedSum(torch.randn(classes, 2, *size, generator=g)).eval()
    return model, torch.randn(batch, 2, *size, generator=g)


def by_hand(model, x, cls, patch, stride, fill=0.0):
    """Independent loops: every window, every pixel."""
    _, channels, height, width = x.shape
    out = torch.zeros(x.shape[0], height, width)
    count = torch.zeros(height, width)
    rows = window_starts(height, patch, stride)
    cols = window_starts(width, patch, stride)
    for b in range(x.shape[0]):
        contribution = (model.weight[cls[b]] * (x[b] - fill)).detach().sum(0)
        for r in rows:
            for c in cols:
                drop = contribution[r : r + patch, c : c + patch].sum()
                out[b, r : r + patch, c : c + patch] += drop
                if b == 0:
                    count[r : r + patch, c : c + patch] += 1
    return (out / count)[:, None].expand(-1, channels, -1, -1)


def test_non_overlapping_patches_give_the_patch_sums():
    model, x = make()
    out = Occlusion(model, patch_size=4, stride=4)(x, [0, 2])
    contribution = torch.stack([model.weight[0] * x[0], model.weight[2] * x[1]]).detach()
    sums = contribution.sum(1).view(2, 2, 4, 2, 4).sum(dim=(2, 4))  # (B, 2, 2) patch sums
    expected = sums.repeat_interleave(4, 1).repeat_interleave(4, 2)[:, None].expand_as(x)
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize(
    ("size", "patch", "stride"), [((8, 8), 4, 2), ((9, 7), 4, 3), ((6, 6), 6, 1), ((5, 5), 1, 1)]
)
def test_overlapping_and_clipped_windows_average(size, patch, stride):
    model, x = make(size)
    fill = torch.tensor([0.5, -1.0]).view(2, 1, 1)
    out = Occlusion(model, patch, stride, fill=fill, batch_size=5)(x, [1, 0])
    torch.testing.assert_close(out, by_hand(model, x, [1, 0], patch, stride, fill))


def test_window_starts_follow_captum():
    assert window_starts(9, 4, 3) == [0, 3, 6]  # the last window is clipped to [6, 9)
    assert window_starts(8, 4, 2) == [0, 2, 4]
    assert window_starts(4, 4, 9) == [0]  # the window covers the axis: any stride
    with pytest.raises(ValueError, match="stride"):
        window_starts(8, 2, 3)


def test_chunking_does_not_change_the_result(small_cnn, images):
    one = Occlusion(small_cnn, 6, 4, batch_size=1)(images[:2], [0, 1])
    all_ = Occlusion(small_cnn, 6, 4, batch_size=1000)(images[:2], [0, 1])
    torch.testing.assert_close(one, all_)


def test_matches_captum_occlusion(small_cnn, images):
    captum = pytest.importorskip("captum.attr")
    ours = Occlusion(small_cnn, patch_size=(4, 6), stride=(3, 2), fill=0.25)(images, [0, 3, 5, 9])
    theirs = captum.Occlusion(small_cnn).attribute(
        images,
        sliding_window_shapes=(3, 4, 6),
        strides=(3, 3, 2),
        baselines=0.25,
        target=[0, 3, 5, 9],
        perturbations_per_eval=64,
    )
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-6)
