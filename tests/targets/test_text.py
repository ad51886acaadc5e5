"""Text-prompt targets on CLIP-style dual encoders: Hugging Face CLIPModel and open_clip, with
random weights from small configs (no download); the scores against their hand-computed values,
one map per prompt, the text encoder run once, and the methods that take a target."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import camlens
from camlens.targets import NotADualEncoderError, TextPromptTarget

PROMPTS = ["a red circle", "a blue square", "a star"]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


# --- models ------------------------------------------------------------------------------------

WORDS = ["<pad>", "<unk>", "<eos>", "a", "red", "blue", "circle", "square", "star"]


def hf_tokenizer():
    """A word-level Hugging Face tokenizer built in memory (CLIP's own files are not on disk)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(WORDS)}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.post_processor = processors.TemplateProcessing(
        single="$A <eos>", special_tokens=[("<eos>", vocab["<eos>"])]
    )
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", unk_token="<unk>")


def hf_clip(attn: str = "eager") -> nn.Module:
    from transformers import CLIPConfig, CLIPModel

    torch.manual_seed(0)
    config = CLIPConfig(
        text_config={
            "vocab_size": len(WORDS),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "max_position_embeddings": 16,
            "eos_token_id": WORDS.index("<eos>"),
            "pad_token_id": 0,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        projection_dim=16,
    )
    config._attn_implementation = attn
    return CLIPModel(config).eval()


def open_clip_model(tower: str = "vit") -> nn.Module:
    open_clip = pytest.importorskip("open_clip")
    from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg

    torch.manual_seed(0)
    if tower == "vit":
        vision = CLIPVisionCfg(layers=2, width=32, head_width=16, patch_size=8, image_size=32)
    else:  # ModifiedResNet with attention pooling
        vision = CLIPVisionCfg(layers=(1, 1, 1, 1), width=16, head_width=16, image_size=64)
    text = CLIPTextCfg(context_length=16, width=32, heads=2, layers=1)
    model = CLIP(embed_dim=16, vision_cfg=vision, text_cfg=text).eval()
    assert type(model).__module__.startswith(open_clip.__name__)
    return model


def image_features(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    if hasattr(model, "get_image_features"):
        out = model.get_image_features(pixel_values=x)
        return out if isinstance(out, torch.Tensor) else out.pooler_output
    return model.encode_image(x)


def text_features(model: nn.Module, prompts: list[str]) -> torch.Tensor:
    if hasattr(model, "get_text_features"):
        tokens = hf_tokenizer()(prompts, padding=True, return_tensors="pt")
        out = model.get_text_features(**tokens)
        return out if isinstance(out, torch.Tensor) else out.pooler_output
    import open_clip

    return model.encode_text(open_clip.tokenize(prompts, context_length=16))


def make_target(model: nn.Module, prompts, **kwargs) -> TextPromptTarget:
    if hasattr(model, "get_text_features"):
        kwargs.setdefault("tokenizer", hf_tokenizer())
    return TextPromptTarget(model, prompts, **kwargs)


MODELS = {
    "hf-vit": lambda: hf_clip(),
    "open_clip-vit": lambda: open_clip_model("vit"),
    "open_clip-resnet": lambda: open_clip_model("resnet"),
}
LAYERS = {
    "hf-vit": "vision_model.encoder.layers.1.layer_norm1",
    "open_clip-vit": "transformer.resblocks.1.ln_1",
    "open_clip-resnet": "layer4",
}


def seq_first_tokens(tokens: torch.Tensor) -> torch.Tensor:
    """open_clip 2.23's ViT blocks are sequence-first ``(1 + h·w, B, D)``: drop the class token
    and lay the patches on their grid ``(B, D, h, w)``."""
    patches = tokens[1:].permute(1, 2, 0)
    side = int(patches.shape[-1] ** 0.5)
    return patches.reshape(*patches.shape[:2], side, side)


def make_cam(method: str, name: str, target: TextPromptTarget):
    reshape = seq_first_tokens if name == "open_clip-vit" else None
    return camlens.methods.get_method(method)(target.image_model, LAYERS[name], reshape)


def image_batch(name: str) -> torch.Tensor:
    side = 64 if name == "open_clip-resnet" else 32
    return torch.randn(2, 3, side, side, generator=torch.Generator().manual_seed(1))


# --- scores ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(MODELS))
def test_score_is_the_cosine_similarity(name):
    model = MODELS[name]()
    x = image_batch(name)
    target = make_target(model, PROMPTS)
    with torch.no_grad():
        e = image_features(model, x)
        t = text_features(model, PROMPTS)
        embedded = target.image_model(x)
    torch.testing.assert_close(embedded, e)
    for i in range(len(x)):
        for k in range(len(PROMPTS)):
            by_hand = (e[i] @ t[k]) / (e[i].norm() * t[k].norm())
            torch.testing.assert_close(target[k](e[i]), by_hand, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["hf-vit", "open_clip-vit"])
def test_contrast_is_the_softmax_over_prompts(name):
    model = MODELS[name]()
    x = image_batch(name)
    target = make_target(model, PROMPTS, contrast=True)
    scale = float(model.logit_scale.detach().exp())
    assert target.scale == pytest.approx(scale)
    with torch.no_grad():
        e = image_features(model, x)[0]
        t = text_features(model, PROMPTS)
    cos = torch.stack([(e @ t[k]) / (e.norm() * t[k].norm()) for k in range(3)])
    closed = torch.exp(scale * cos) / torch.exp(scale * cos).sum()
    got = torch.stack([target[k](e) for k in range(3)])
    torch.testing.assert_close(got, closed, rtol=1e-5, atol=1e-6)
    assert float(got.sum()) == pytest.approx(1.0)
    # A chosen scale: the same closed form with s = 2.
    two = make_target(model, PROMPTS, contrast=True, scale=2.0)
    torch.testing.assert_close(two[1](e), torch.softmax(2 * cos, 0)[1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["hf-vit", "open_clip-vit"])
def test_text_encoder_runs_once_per_target(name, monkeypatch):
    model = MODELS[name]()
    attribute = "get_text_features" if name.startswith("hf") else "encode_text"
    original = getattr(model, attribute)
    calls = []

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(model, attribute, counted)
    target = make_target(model, PROMPTS)
    assert len(calls) == 1
    cam = make_cam("gradcam", name, target)
    x = image_batch(name)
    for _ in range(2):
        cam.explain_targets(x, list(target))
    target[0](torch.randn(target.text_embeddings.shape[1]))
    assert len(calls) == 1  # building, calling, viewing and explaining never re-encode


# --- maps --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("method", ["gradcam", "scorecam"])
def test_one_map_per_prompt_with_cam_methods(name, method):
    model = MODELS[name]()
    x = image_batch(name)
    target = make_target(model, PROMPTS)
    cam = make_cam(method, name, target)
    results = cam.explain_targets(x, list(target))
    assert len(results) == len(PROMPTS)
    with torch.no_grad():
        e = image_features(model, x)
        t = F.normalize(text_features(model, PROMPTS), dim=-1)
    for k, result in enumerate(results):
        assert result.maps.shape == (2, *x.shape[2:])
        torch.testing.assert_close(result.scores, F.normalize(e, dim=-1) @ t[k], atol=1e-5, rtol=0)
        # Each prompt's map is its own: the map of prompt k equals a one-prompt run for it.
        alone = cam(x, targets=make_target(model, PROMPTS[k]))
        torch.testing.assert_close(result.maps, alone, atol=1e-5, rtol=0)
    if method == "gradcam":  # (random weights give Score-CAM near-uniform channel weights)
        assert not torch.allclose(results[0].maps, results[1].maps, atol=1e-3)


def test_prompts_given_as_token_ids():
    model = hf_clip()
    tokens = hf_tokenizer()(PROMPTS[:2], padding=True, return_tensors="pt")
    from_ids = TextPromptTarget(model, dict(tokens))
    from_text = make_target(model, PROMPTS[:2])
    torch.testing.assert_close(from_ids.text_embeddings, from_text.text_embeddings)
    assert from_ids.prompts == ["prompt 0", "prompt 1"]


# --- bad input ---------------------------------------------------------------------------------


def test_a_classifier_is_not_a_dual_encoder():
    classifier = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    with pytest.raises(NotADualEncoderError, match="not a CLIP-style dual encoder"):
        TextPromptTarget(classifier, "a dog")
    assert issubclass(NotADualEncoderError, camlens.TargetError)


def test_hf_model_without_tokenizer_says_what_to_pass():
    with pytest.raises(camlens.TargetError, match="tokenizer="):
        TextPromptTarget(hf_clip(), "a star")


def test_several_prompts_need_a_choice():
    model = open_clip_model()
    target = TextPromptTarget(model, PROMPTS)
    e = torch.randn(16)
    with pytest.raises(camlens.TargetError, match="list\\(target\\)"):
        target(e)
    with pytest.raises(camlens.TargetError, match="image tower"):
        target[0](torch.randn(5))
    with pytest.raises(camlens.TargetError, match="3 prompts"):
        target[3]
    assert [t.prompt for t in target] == PROMPTS


def benchmark_clip() -> nn.Module:
    from camlens.zoo.benchmark_vit import BenchmarkCLIP

    torch.manual_seed(0)
    return BenchmarkCLIP().eval()


@pytest.mark.parametrize("name", ["hf-vit", "open_clip-vit", "benchmark-clip"])
@pytest.mark.parametrize("method", ["rollout", "chefer", "legrad"])
def test_attention_methods_take_prompt_targets(name, method):
    model = benchmark_clip() if name == "benchmark-clip" else MODELS[name]()
    x = torch.randn(2, 3, 64, 64) if name == "benchmark-clip" else image_batch(name)
    target = make_target(model, PROMPTS)
    cam = camlens.methods.get_method(method)(target.image_model)
    results = cam.explain_targets(x, list(target))
    assert len(results) == len(PROMPTS)
    for k, result in enumerate(results):
        assert result.maps.shape == (2, *x.shape[2:])
        assert torch.isfinite(result.maps).all()
        alone = cam(x, targets=make_target(model, PROMPTS[k]))
        torch.testing.assert_close(result.maps, alone, atol=1e-5, rtol=0)
    same = torch.allclose(results[0].maps, results[1].maps, atol=1e-4)
    # rollout reads attention only (no target); Chefer and LeGrad follow each prompt's gradient
    assert same if method == "rollout" else not same
