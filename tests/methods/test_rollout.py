"""Attention rollout: hand-computed on 2-block toys whose attention is set exactly."""

from __future__ import annotations

import pytest
import torch
from attention_toys import ToyViT

import camlens
from camlens.core.attention import AttentionCapture
from camlens.methods.rollout import discard_lowest

# Three tokens (class, patch 1, patch 2): an input of 4x8 pixels in 4x4 patches.
X = torch.ones(1, 3, 4, 8)
A1 = torch.tensor([[0.5, 0.25, 0.25], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
A2 = torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def toy(attentions: list[torch.Tensor], fused: bool, heads: int = 1) -> ToyViT:
    torch.manual_seed(0)
    model = ToyViT(
        patch=4, dim=4, heads=heads, depth=len(attentions), fused=fused, plain=True
    ).eval()
    model.set_attention(attentions)
    return model


@pytest.mark.parametrize("fused", [True, False])
def test_rollout_equals_the_hand_computed_product(fused: bool) -> None:
    # Â1 = (A1 + I)/2 = [[.75, .125, .125], [0, 1, 0], [0, 0, 1]]
    # Â2 = (A2 + I)/2 = [[.5, 0, .5], [0, 1, 0], [0, 0, 1]]
    # R = Â2 Â1, row 0 = .5·[.75, .125, .125] + .5·[0, 0, 1] = [.375, .0625, .5625]
    model = toy([A1[None], A2[None]], fused)
    explanation = camlens.AttentionRollout(model).explain(X, targets=0)
    (raw,) = explanation.raw.values()
    torch.testing.assert_close(raw, torch.tensor([[[0.0625, 0.5625]]]), atol=1e-6, rtol=0)


def test_discard_ratio_drops_the_lowest_entries_but_not_class_to_class() -> None:
    a = torch.tensor([[0.10, 0.35, 0.55], [0.20, 0.50, 0.30], [0.25, 0.15, 0.60]])
    # ⌊9 · 0.5⌋ = 4 lowest: .10 (class→class, kept), .15, .20, .25 -> zeroed
    kept = discard_lowest(a[None], 0.5)[0]
    expected = torch.tensor([[0.10, 0.35, 0.55], [0.0, 0.50, 0.30], [0.0, 0.0, 0.60]])
    torch.testing.assert_close(kept, expected)
    # (Ā + I)/2 row 0 = [.55, .175, .275] (sums to 1: unchanged by the renormalisation)
    model = toy([a[None]], fused=True)
    raw = camlens.AttentionRollout(model, discard_ratio=0.5).explain(X, targets=0).raw
    torch.testing.assert_close(
        next(iter(raw.values())), torch.tensor([[[0.175, 0.275]]]), atol=1e-6, rtol=0
    )


@pytest.mark.parametrize(
    ("fusion", "expected"),
    [
        # max row 0 = [.6, .4, .6] -> (+ e0)/2 = [.8, .2, .3], / 1.3
        ("max", [0.2 / 1.3, 0.3 / 1.3]),
        # min row 0 = [.2, .2, 0] -> [.6, .1, 0], / .7
        ("min", [0.1 / 0.7, 0.0]),
        # mean row 0 = [.4, .3, .3] -> [.7, .15, .15]
        ("mean", [0.15, 0.15]),
    ],
)
def test_head_fusion(fusion: str, expected: list[float]) -> None:
    eye = torch.eye(3)
    h1 = eye.clone()
    h1[0] = torch.tensor([0.6, 0.4, 0.0])
    h2 = eye.clone()
    h2[0] = torch.tensor([0.2, 0.2, 0.6])
    model = toy([torch.stack([h1, h2])], fused=False, heads=2)
    raw = camlens.AttentionRollout(model, head_fusion=fusion).explain(X, targets=0).raw
    torch.testing.assert_close(
        next(iter(raw.values())), torch.tensor([[expected]]), atol=1e-6, rtol=0
    )


def test_rollout_lights_the_patch_that_all_attention_is_forced_onto() -> None:
    n, j = 5, 3  # 2x2 patches after the class token; token 3 is patch (1, 0)
    forced = torch.zeros(n, n)
    forced[:, j] = 1.0
    torch.manual_seed(0)
    model = ToyViT(image=8, patch=4, dim=4, depth=2, plain=True).eval()
    model.set_attention([forced[None], forced[None]])
    maps = camlens.AttentionRollout(model).explain(torch.ones(1, 3, 8, 8), targets=0)
    (raw,) = maps.raw.values()
    assert raw.flatten().argmax().item() == j - 1
    assert raw.flatten()[j - 1] == pytest.approx(0.75, abs=1e-6)  # .25 stays on the class token


def test_relevance_on_a_set_capture_starts_from_the_identity() -> None:
    capture = AttentionCapture(X, None, [A1[None, None], A2[None, None]])
    cam = camlens.AttentionRollout(toy([A1[None], A2[None]], fused=True))
    row = cam.relevance(capture, 0, extra=1)
    torch.testing.assert_close(row, torch.tensor([[0.375, 0.0625, 0.5625]]))


@pytest.mark.parametrize("fusion", ["mean", "max", "min"])
def test_the_class_row_from_the_left_equals_the_matrix_product(fusion: str) -> None:
    # rows of the fused heads do not sum to 1 for max/min: the renormalisation is exercised
    g = torch.Generator().manual_seed(0)
    attentions = [torch.rand(2, 3, 5, 5, generator=g).softmax(-1) for _ in range(3)]
    capture = AttentionCapture(X, None, attentions)
    cam = camlens.AttentionRollout(toy([A1[None], A2[None]], fused=True), head_fusion=fusion)
    product = torch.eye(5).expand(2, 5, 5)
    for a in attentions:
        fused = {"mean": a.mean(1), "max": a.amax(1), "min": a.amin(1)}[fusion] + torch.eye(5)
        product = (fused / fused.sum(-1, keepdim=True)) @ product
    torch.testing.assert_close(cam.relevance(capture, 0, extra=1), product[:, 0])


def test_bad_options_are_refused() -> None:
    model = toy([A1[None]], fused=True)
    with pytest.raises(ValueError, match="head_fusion"):
        camlens.AttentionRollout(model, head_fusion="median")
    with pytest.raises(ValueError, match="discard_ratio"):
        camlens.AttentionRollout(model, discard_ratio=1.0)
