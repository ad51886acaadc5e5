"""Toy vision transformers whose attention (and so its gradients) can be set by hand."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class ToyAttention(nn.Module):
    """Multi-head self-attention, fused (``F.scaled_dot_product_attention``) or explicit
    (``softmax`` then ``@ v``); ``bias`` ``(heads, N, N)`` is added to the logits."""

    def __init__(self, dim: int, heads: int, fused: bool) -> None:
        super().__init__()
        self.heads, self.fused = heads, fused
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim, bias=False)
        self.bias: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        if self.fused:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=self.bias)
        else:
            logits = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
            if self.bias is not None:
                logits = logits + self.bias
            out = logits.softmax(dim=-1) @ v
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class ToyBlock(nn.Module):
    def __init__(self, dim: int, heads: int, fused: bool, plain: bool) -> None:
        super().__init__()
        self.norm1 = nn.Identity() if plain else nn.LayerNorm(dim)
        self.attn = ToyAttention(dim, heads, fused)
        self.mlp = None if plain else nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU())
        self.out = None if plain else nn.Linear(2 * dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x if self.mlp is None else x + self.out(self.mlp(x))


class ToyViT(nn.Module):
    """Patch embedding, a class token, ``depth`` blocks, a final norm and a head on the class
    token. ``plain=True``: no norms, no MLP (the map from attention to score is linear in each
    block's attention, for hand-computed gradients)."""

    def __init__(
        self,
        image: int = 8,
        patch: int = 4,
        dim: int = 4,
        heads: int = 1,
        depth: int = 2,
        classes: int = 3,
        fused: bool = True,
        plain: bool = False,
    ) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, dim, patch, patch, bias=False)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.blocks = nn.ModuleList(ToyBlock(dim, heads, fused, plain) for _ in range(depth))
        self.norm = nn.Identity() if plain else nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes, bias=False)

    def tokens(self, x: Tensor) -> Tensor:
        t = self.embed(x).flatten(2).transpose(1, 2)
        return torch.cat([self.cls.expand(x.shape[0], -1, -1), t], dim=1)

    def forward(self, x: Tensor) -> Tensor:
        t = self.tokens(x)
        for block in self.blocks:
            t = block(t)
        return self.head(self.norm(t)[:, 0])

    def set_attention(self, attentions: list[Tensor]) -> None:
        """Make block l's attention exactly ``attentions[l]`` ``(heads, N, N)``: q = k = 0 (the
        logits are the bias alone, the log of the wanted probabilities), v and proj identity."""
        with torch.no_grad():
            for block, a in zip(self.blocks, attentions, strict=True):
                dim = block.attn.proj.weight.shape[0]
                block.attn.qkv.weight.zero_()
                block.attn.qkv.weight[2 * dim :] = torch.eye(dim)
                block.attn.proj.weight.copy_(torch.eye(dim))
                block.attn.bias = a.clamp_min(1e-30).log()


# --- small real transformers (random weights from configs, no download) ------------------------
def cosine_target(text: Tensor):
    """A text prompt's score: cosine similarity of the image embedding with ``text``."""

    def score(image_embedding: Tensor) -> Tensor:
        return F.normalize(image_embedding, dim=-1) @ text

    return score


TEXT = F.normalize(torch.randn(16, generator=torch.Generator().manual_seed(3)), dim=0)


class ClipImageTower(nn.Module):
    """Hugging Face ``CLIPModel`` -> its image embedding (what a text prompt is compared with)."""

    def __init__(self, clip: nn.Module) -> None:
        super().__init__()
        self.clip = clip

    def forward(self, x: Tensor) -> Tensor:
        out = self.clip.get_image_features(pixel_values=x)
        return out if isinstance(out, Tensor) else out.pooler_output


def torchvision_vit_b_16() -> nn.Module:
    from torchvision.models import vit_b_16

    model = vit_b_16(image_size=32).eval()
    nn.init.normal_(model.heads.head.weight, std=0.02)  # zero-initialised by torchvision
    return model


def timm_vit(name: str = "vit_tiny_patch16_224", fused: bool | None = None, **kw) -> nn.Module:
    import timm

    kw = {"img_size": 32, "patch_size": 8, "depth": 2, "num_classes": 5, **kw}
    model = timm.create_model(name, pretrained=False, **kw).eval()
    if fused is not None:
        for block in model.blocks:
            block.attn.fused_attn = fused
    return model


def timm_registers() -> nn.Module:
    return timm_vit("vit_small_patch14_reg4_dinov2", img_size=28, patch_size=14, depth=2)


def hf_vit(attn_implementation: str = "sdpa") -> nn.Module:
    from transformers import ViTConfig, ViTForImageClassification

    config = ViTConfig(
        image_size=32, patch_size=8, num_hidden_layers=2, hidden_size=32, num_attention_heads=2,
        intermediate_size=64, num_labels=5, attn_implementation=attn_implementation,
    )  # fmt: skip
    return ViTForImageClassification(config).eval()


def hf_clip(attn_implementation: str = "sdpa") -> nn.Module:
    from transformers import CLIPConfig, CLIPModel

    config = CLIPConfig(
        vision_config={"image_size": 32, "patch_size": 8, "hidden_size": 32,
                       "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2},
        text_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                     "num_attention_heads": 2, "vocab_size": 100, "max_position_embeddings": 16,
                     "bos_token_id": 0, "eos_token_id": 1, "pad_token_id": 1},
        projection_dim=16, attn_implementation=attn_implementation,
    )  # fmt: skip
    return ClipImageTower(CLIPModel(config).eval()).eval()


def _open_clip(vision_cfg: dict) -> nn.Module:
    import open_clip

    text_cfg = {"context_length": 8, "vocab_size": 100, "width": 32, "heads": 2, "layers": 1}
    return open_clip.CLIP(embed_dim=16, vision_cfg=vision_cfg, text_cfg=text_cfg).visual.eval()


def open_clip_vit() -> nn.Module:
    return _open_clip(
        {"image_size": 32, "patch_size": 8, "width": 32, "layers": 2, "head_width": 16}
    )


def open_clip_resnet() -> nn.Module:
    return _open_clip({"image_size": 64, "layers": [1, 1, 1, 1], "width": 16, "head_width": 8})
