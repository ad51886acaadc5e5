"""LeGrad against the authors' ``legrad_torch`` (open_clip ViT, a text prompt) and torchcam's
``LeGrad`` (torchvision ViT): same model, input and target, the same normalisation."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torchvision.models import VisionTransformer

import camlens
from camlens.core.attention import capture_attention
from camlens.core.postprocess import normalize


def cosine_target(text: torch.Tensor):
    """The score of a text prompt: cosine similarity of the image embedding with ``text``."""

    def score(image_embedding: torch.Tensor) -> torch.Tensor:
        return F.normalize(image_embedding, dim=-1) @ text

    return score


@pytest.mark.parametrize("layer_index", [-2, 0])
def test_legrad_equals_legrad_torch_on_an_open_clip_vit(layer_index: int) -> None:
    open_clip = pytest.importorskip("open_clip")
    legrad = pytest.importorskip("legrad")
    torch.manual_seed(0)
    model = open_clip.CLIP(
        embed_dim=16,
        vision_cfg={"image_size": 32, "patch_size": 8, "width": 32, "layers": 3, "head_width": 16},
        text_cfg={"context_length": 8, "vocab_size": 100, "width": 32, "heads": 2, "layers": 1},
    ).eval()
    ours = copy.deepcopy(model.visual)  # LeWrapper patches the blocks' forward in place
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    text = F.normalize(torch.randn(1, 16, generator=torch.Generator().manual_seed(2)), dim=-1)
    reference = legrad.LeWrapper(model, layer_index=layer_index).compute_legrad(text, image=x)

    first = 3 + layer_index if layer_index < 0 else layer_index
    blocks = [f"transformer.resblocks.{i}.attn" for i in range(first, 3)]
    explanation = camlens.LeGrad(ours, blocks).explain(x, targets=[cosine_target(text[0])])
    (raw,) = explanation.raw.values()
    # legrad_torch upsamples each block's map (bilinear, x patch size) and min-max normalises
    ours_map = normalize(F.interpolate(raw[:, None], scale_factor=8, mode="bilinear")[:, 0])
    torch.testing.assert_close(ours_map, reference.detach()[0], atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    ("layers", "blocks"), [(3, [0, 1, 2]), (3, [2]), (1, [0])], ids=["3-all", "3-last", "1-block"]
)
def test_legrad_equals_torchcam_on_a_torchvision_vit(layers: int, blocks: list[int]) -> None:
    # one block: the block, not the encoder around it (which ends with the final norm), is
    # what LeGrad scores
    torchcam = pytest.importorskip("torchcam.methods")
    torch.manual_seed(0)
    model = VisionTransformer(
        image_size=32, patch_size=8, num_layers=layers, num_heads=2, hidden_dim=32, mlp_dim=64,
        num_classes=5,
    ).eval()  # fmt: skip
    torch.nn.init.normal_(model.heads.head.weight, std=0.5)  # torchvision zero-initialises it
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    names = [f"encoder.layers.encoder_layer_{i}" for i in blocks]
    for c in (1, 4):
        with torchcam.LeGrad(model, names) as extractor:
            reference = extractor(c, model(x))[0]
        (raw,) = camlens.LeGrad(model, names).explain(x, targets=c).raw.values()
        torch.testing.assert_close(normalize(raw), reference, atol=1e-5, rtol=0)


def test_without_a_norm_after_the_blocks_every_block_is_scored_by_the_output() -> None:
    from attention_toys import ToyViT

    torch.manual_seed(0)
    model = ToyViT(image=8, patch=4, dim=4, heads=2, depth=2, plain=True).eval()
    x = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    blocks = [(f"blocks.{i}.attn", b.attn) for i, b in enumerate(model.blocks)]
    capture = capture_attention(model, x, blocks, [1], gradients=True)
    # Σ_l mean over heads and queries of ReLU(∂y/∂A_l), the patch columns
    expected = sum(g.clamp_min(0).mean(dim=(1, 2)) for g in capture.gradients[0])[:, 1:]
    (raw,) = camlens.LeGrad(model).explain(x, targets=1).raw.values()
    torch.testing.assert_close(raw.flatten(1), expected, atol=1e-6, rtol=1e-5)
