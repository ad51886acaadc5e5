"""Attention capture: one TorchFunctionMode for fused, nn.MultiheadAttention and explicit
attention; outputs unchanged, gradients available, nothing kept, only the asked blocks held."""

from __future__ import annotations

import gc

import attention_toys as zoo
import pytest
import torch
import torchvision

import camlens
from camlens.core.attention import AttentionMode, capture_attention, find_attention

MODELS = {
    # name: (factory, input side, how the model computes attention)
    "timm fused": (lambda: zoo.timm_vit(fused=True), 32, "sdpa"),
    "timm explicit": (lambda: zoo.timm_vit(fused=False), 32, "softmax"),
    "hf sdpa": (lambda: zoo.hf_vit("sdpa"), 32, "sdpa"),
    "hf eager": (lambda: zoo.hf_vit("eager"), 32, "softmax"),
    "torchvision MHA": (
        lambda: torchvision.models.VisionTransformer(32, 8, 2, 2, 32, 64, num_classes=5).eval(),
        32,
        "mha",
    ),
    "open_clip MHA (sequence-first)": (zoo.open_clip_vit, 32, "mha"),
    "open_clip AttnPool2d (F.multi_head_attention_forward)": (zoo.open_clip_resnet, 64, "mha"),
}


def _model(name: str) -> tuple[torch.nn.Module, torch.Tensor, str]:
    factory, side, kind = MODELS[name]
    torch.manual_seed(0)
    x = torch.randn(2, 3, side, side, generator=torch.Generator().manual_seed(1))
    return factory(), x, kind


def _logits(output: object) -> torch.Tensor:
    return getattr(output, "logits", output)


@pytest.mark.parametrize("name", list(MODELS))
def test_outputs_unchanged_with_capture_on(name: str) -> None:
    model, x, kind = _model(name)
    blocks, _ = find_attention(model, x)
    assert blocks and {b.kind for b in blocks} == {kind}
    with torch.no_grad():
        plain = _logits(model(x))
        mode = AttentionMode([(b.name, b.module) for b in blocks], batch=2, track_graph=True)
        with torch.enable_grad(), mode.hooked():
            captured = _logits(model(x))
    assert all(len(r) == 1 for r in mode.records)
    torch.testing.assert_close(captured, plain, atol=1e-5, rtol=0)
    probs = mode.records[-1][0].as_4d()
    assert probs.shape[0] == 2
    torch.testing.assert_close(probs.sum(-1), torch.ones(probs.shape[:-1]), atol=1e-5, rtol=0)


def test_fused_attention_gets_the_gradients_of_the_explicit_one() -> None:
    torch.manual_seed(0)
    fused = zoo.timm_vit(fused=True)
    explicit = zoo.timm_vit(fused=False)
    explicit.load_state_dict(fused.state_dict())
    x = torch.randn(1, 3, 32, 32)
    blocks = [("blocks.0.attn", None), ("blocks.1.attn", None)]
    got = []
    for model in (fused, explicit):
        resolved = [(n, model.get_submodule(n)) for n, _ in blocks]
        got.append(capture_attention(model, x, resolved, [3], gradients=True))
    for a, b in zip(got[0].gradients[0], got[1].gradients[0], strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
        assert a.abs().sum() > 0
    # and the explicit model's own softmax output, through a tensor hook, agrees
    seen = {}
    attn = explicit.blocks[0].attn

    def forward(x, attn_mask=None, is_causal=False):
        b, n, c = x.shape
        qkv = attn.qkv(x).reshape(b, n, 3, attn.num_heads, attn.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        p = ((q * attn.scale) @ k.transpose(-2, -1)).softmax(dim=-1)
        p.register_hook(lambda g: seen.setdefault("g", g))
        return attn.proj((p @ v).transpose(1, 2).reshape(b, n, c))

    attn.forward = forward
    explicit.zero_grad()
    explicit(x)[0, 3].backward()
    del attn.forward
    torch.testing.assert_close(seen["g"], got[1].gradients[0][0], atol=1e-6, rtol=1e-5)


def test_blocks_of_different_shapes_each_get_their_own_probabilities() -> None:
    # Records share one allocation sized from the first block; a block of another shape (here
    # fewer tokens after a pooling of the token axis) gets its own, and every record is right.
    import timm

    torch.manual_seed(0)
    model = timm.create_model(
        "vit_tiny_patch16_224", pretrained=False, img_size=32, patch_size=8, depth=2
    ).eval()
    x = torch.randn(2, 3, 32, 32)
    blocks = [(b.name, b.module) for b in find_attention(model, x)[0]]
    mode = AttentionMode(blocks, batch=2, track_graph=False)
    short = torch.randn(2, 3, 5, 8)
    with torch.no_grad(), mode.hooked():
        model(x)
        with mode:  # a second call of the first block's attention, on 5 tokens
            mode._stack.append(0)
            torch.nn.functional.scaled_dot_product_attention(short, short, short)
            mode._stack.pop()
    first, second, third = mode.records[0][0], mode.records[1][0], mode.records[0][1]
    assert first.probs.shape == second.probs.shape == (2, 3, 17, 17)
    assert third.probs.shape == (2, 3, 5, 5)
    assert first.probs.untyped_storage().data_ptr() == second.probs.untyped_storage().data_ptr()
    expected = torch.softmax(short @ short.transpose(-2, -1) / 8**0.5, dim=-1)
    torch.testing.assert_close(third.probs, expected, atol=1e-6, rtol=0)
    for record in (first, second):
        torch.testing.assert_close(record.probs.sum(-1), torch.ones(2, 3, 17), atol=1e-5, rtol=0)


def test_nothing_is_kept_after_the_call_and_only_the_asked_blocks_are_held() -> None:
    torch.manual_seed(0)
    model = zoo.timm_vit(depth=4)
    x = torch.randn(1, 3, 32, 32)
    asked = [("blocks.2.attn", model.blocks[2].attn)]
    mode = AttentionMode(asked, batch=1, track_graph=False)
    with torch.no_grad(), mode.hooked():
        model(x)
    assert [len(r) for r in mode.records] == [1]  # the other three blocks were not kept
    capture = capture_attention(model, x, asked, [0], gradients=True)
    assert len(capture.attentions) == len(capture.gradients[0]) == 1
    assert all(
        not m._forward_hooks and not m._forward_pre_hooks for m in model.modules()
    )  # hooks gone
    assert torch._C._len_torch_function_stack() == 0  # the mode is off
    assert not capture.attentions[0].requires_grad  # detached: no graph kept alive
    cam = camlens.CheferRelevance(model, "blocks.2")
    cam(x)
    assert not any(isinstance(v, torch.Tensor) for v in vars(cam).values())


def test_memory_is_flat_across_calls() -> None:
    torch.manual_seed(0)
    model = zoo.timm_vit()
    x = torch.randn(2, 3, 32, 32)
    cams = [camlens.AttentionRollout(model), camlens.CheferRelevance(model), camlens.LeGrad(model)]

    def live_tensors() -> int:
        gc.collect()
        return sum(issubclass(type(o), torch.Tensor) for o in gc.get_objects())

    for cam in cams:
        cam(x)
    before = live_tensors()
    for _ in range(10):
        for cam in cams:
            cam(x)
    assert live_tensors() <= before


def test_layers_lists_attention_blocks_beside_the_other_layers() -> None:
    model = torchvision.models.VisionTransformer(32, 8, 2, 2, 32, 64, num_classes=5).eval()
    infos = camlens.layers(model, torch.randn(1, 3, 32, 32))
    attention = [i for i in infos if i.attention is not None]
    assert [i.name for i in attention] == [
        f"encoder.layers.encoder_layer_{k}.self_attention" for k in (0, 1)
    ]
    assert attention[0].attention == (1, 2, 17, 17) and attention[0].grid == (4, 4)
    names = [i.name for i in infos]  # in forward order: after ln_1, before ln_2
    k = names.index(attention[0].name)
    assert names[k - 1].endswith("encoder_layer_0.ln_1")
    assert "(attention)" in camlens.format_layers(infos)
    resnet = torchvision.models.resnet18().eval()
    assert not any(i.attention for i in camlens.layers(resnet, torch.randn(1, 3, 32, 32)))
