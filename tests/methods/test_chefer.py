"""Chefer et al.'s relevance: hand-computed on a 2-block toy whose attention and gradients are
set, and against the authors' reference code when it is on this machine."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import torch
from attention_toys import ToyViT

import camlens
from camlens.core.attention import AttentionCapture, capture_attention
from camlens.core.postprocess import normalize

X = torch.ones(1, 3, 4, 8)  # class token + 2 patches (4x4)
A1 = torch.tensor([[0.5, 0.25, 0.25], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
A2 = torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def test_relevance_from_set_attention_and_gradients() -> None:
    # G1 ⊙ A1 = [[1, 1, -1], [0, 1, 0], [0, 0, 1]] -> ReLU -> Ā1 = [[1, 1, 0], I rows]
    # R1 = I + Ā1 = [[2, 1, 0], [0, 2, 0], [0, 0, 2]]
    # Ā2 = ReLU(G2 ⊙ A2) = [[0, 0, 1], 0, 0];  R2 = R1 + Ā2 R1, row 0 = [2, 1, 0] + [0, 0, 2]
    g1 = torch.tensor([[2.0, 4.0, -4.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    g2 = torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    capture = AttentionCapture(
        X, None, [A1[None, None], A2[None, None]], gradients=[[g1[None, None], g2[None, None]]]
    )
    cam = camlens.CheferRelevance(ToyViT(plain=True))
    torch.testing.assert_close(cam.relevance(capture, 0, extra=1), torch.tensor([[2.0, 1.0, 2.0]]))


def test_heads_are_averaged_after_the_relu() -> None:
    g = torch.stack([torch.ones(3, 3), -torch.ones(3, 3)])  # head 2's terms are all negative
    capture = AttentionCapture(X, None, [A1.expand(2, 3, 3)[None]], gradients=[[g[None]]])
    row = camlens.CheferRelevance(ToyViT(plain=True)).relevance(capture, 0, extra=1)
    torch.testing.assert_close(row, torch.tensor([[1.25, 0.125, 0.125]]))  # e0 + A1[0] / 2


@pytest.mark.parametrize("fused", [True, False])
def test_toy_gradients_and_relevance_equal_the_closed_form(fused: bool) -> None:
    torch.manual_seed(0)
    model = ToyViT(patch=4, dim=4, depth=2, fused=fused, plain=True).eval()
    model.set_attention([A1[None], A2[None]])
    c = 1
    blocks = [(f"blocks.{i}.attn", b.attn) for i, b in enumerate(model.blocks)]
    capture = capture_attention(model, X, blocks, [c], gradients=True)
    # Plain blocks: z1 = (I + A1) T, z2 = (I + A2) z1, score = w · z2[0].
    tokens = model.tokens(X)[0].detach()
    w = model.head.weight[c].detach()
    eye = torch.eye(3)
    z1 = (eye + A1) @ tokens
    g2 = torch.zeros(3, 3)
    g2[0] = z1 @ w  # ∂score/∂A2[0, k] = w · z1[k]
    g1 = (eye + A2)[0][:, None] * (tokens @ w)[None, :]  # ∂/∂A1[i, k] = (I + A2)[0, i] w · T[k]
    torch.testing.assert_close(capture.gradients[0][1][0, 0], g2, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(capture.gradients[0][0][0, 0], g1, atol=1e-5, rtol=1e-5)
    r = eye + (g1 * A1).clamp_min(0) @ eye
    r = r + (g2 * A2).clamp_min(0) @ r
    raw = next(iter(camlens.CheferRelevance(model).explain(X, targets=c).raw.values()))
    torch.testing.assert_close(raw[0, 0], r[0, 1:], atol=1e-5, rtol=1e-5)


def test_chefer_lights_the_patch_that_all_attention_is_forced_onto() -> None:
    n, j = 5, 2
    forced = torch.zeros(n, n)
    forced[:, j] = 1.0
    torch.manual_seed(0)
    model = ToyViT(image=8, patch=4, dim=4, depth=2, plain=True).eval()
    with torch.no_grad():  # positive tokens and head: attending to patch j raises the score
        model.embed.weight.uniform_(0.1, 1.0)
        model.head.weight.uniform_(0.1, 1.0)
    model.set_attention([forced[None], forced[None]])
    (raw,) = camlens.CheferRelevance(model).explain(torch.ones(1, 3, 8, 8), targets=0).raw.values()
    flat = raw.flatten()
    assert flat.argmax().item() == j - 1
    assert flat[j - 1] > 0 and torch.count_nonzero(flat < 1e-6 * flat.max()) == 3


# --- the authors' code ------------------------------------------------------------------------
TE = os.environ.get("CAMLENS_CHEFER_VIT_REFERENCE")  # a checkout of Transformer-Explainability
MM = os.environ.get("CAMLENS_CHEFER_REFERENCE")  # a checkout of Transformer-MM-Explainability


@pytest.mark.skipif(
    not (TE and MM),
    reason="set CAMLENS_CHEFER_REFERENCE to a checkout of "
    "hila-chefer/Transformer-MM-Explainability (generate_relevance, in "
    "Transformer_MM_explainability_ViT.ipynb) and CAMLENS_CHEFER_VIT_REFERENCE to one of "
    "hila-chefer/Transformer-Explainability (baselines/ViT/ViT_new.py, the model it runs on)",
)
def test_chefer_equals_the_authors_generate_relevance(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("einops")
    monkeypatch.syspath_prepend(TE)
    sys.modules.pop("baselines", None)
    from baselines.ViT.ViT_new import VisionTransformer

    notebook = json.loads(Path(MM, "Transformer_MM_explainability_ViT.ipynb").read_text())
    cell = next(
        "".join(c["source"])
        for c in notebook["cells"]
        if "def generate_relevance" in "".join(c["source"])
    )
    namespace: dict = {"np": __import__("numpy"), "torch": torch}
    exec(cell.replace(".cuda()", ""), namespace)  # the authors' code, on the CPU

    torch.manual_seed(0)
    model = VisionTransformer(
        img_size=32, patch_size=8, num_classes=5, embed_dim=32, depth=3, num_heads=4, qkv_bias=True
    ).eval()
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    for c in (0, 3):
        reference = namespace["generate_relevance"](model, x, index=c).detach().reshape(1, 4, 4)
        (raw,) = camlens.CheferRelevance(model).explain(x, targets=c).raw.values()
        torch.testing.assert_close(normalize(raw), normalize(reference), atol=1e-5, rtol=0)
