"""The small transformers trained on the shapes benchmark (``scripts/train_benchmark_vit.py``).

:class:`BenchmarkViT`: a ViT in timm's layout (``patch_embed``, ``cls_token``, ``pos_embed``,
``blocks.<i>.{norm1, attn.{qkv, proj}, norm2, mlp}``, ``norm``, ``head``). At 64×64 input and
8×8 patches (a small convolutional stem) it sees 1 class token + 8×8 patch tokens of width 32
through 4 pre-norm blocks of 2 heads; attention is
``torch.nn.functional.scaled_dot_product_attention``. The class token's final state,
layer-normed, goes through ``head``. About 48k parameters (a 200 kB state dict).
Grad-CAM's layer is the last block's input norm, ``blocks.3.norm1`` (tokens ``(B, 65, 32)``),
whose gradient reaches every patch token through the last attention.

:class:`BenchmarkCLIP`: a CLIP-style dual encoder with open_clip's interface
(``visual``, ``encode_image``, ``encode_text``, ``logit_scale``). Its image tower
(:class:`HybridTower`) is the benchmark CNN's four blocks, whose 16×16 cells become tokens of one
transformer block with a class token, projected to a 32-d embedding; the text tower reads the
words of :data:`VOCABULARY` (word embeddings + positions, one transformer block, mean over the
words, a linear projection). ``tokenizer`` turns prompts into word ids (:class:`WordTokenizer`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..datasets.shapes import CLASSES

INPUT_SIZE = 64
PATCH = 8
MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)
TARGET_LAYER = "blocks.3.norm1"
EMBED_DIM = 32  # the dual encoder's joint embedding
CONTEXT = 8  # words per prompt (padded / cut)
VOCABULARY: tuple[str, ...] = (
    "<pad>",
    "<unk>",
    "a",
    "an",
    "and",
    "the",
    "of",
    "photo",
    "picture",
    "shape",
    "with",
    *CLASSES,
)


class Attention(nn.Module):
    """Multi-head self-attention ``softmax(q kᵀ / √d) v`` through the fused kernel."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=mask)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    """Pre-norm transformer block: ``x + attn(norm1(x))``, then ``x + mlp(norm2(x))``."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        x = x + self.attn(self.norm1(x), mask)
        return x + self.mlp(self.norm2(x))


class BenchmarkViT(nn.Module):
    """``(B, 3, 64, 64)`` normalised images -> ``(B, num_classes)`` (or embedding) outputs."""

    def __init__(
        self,
        num_classes: int = len(CLASSES),
        *,
        dim: int = 32,
        depth: int = 4,
        heads: int = 2,
        mlp_ratio: float = 2.0,
        patch: int = PATCH,
        image_size: int = INPUT_SIZE,
    ) -> None:
        super().__init__()
        grid = image_size // patch
        # A small convolutional stem (Xiao et al. 2021: early convolutions help ViTs train):
        # two 3x3 stride-2 convolutions, then one token per patch (stride patch / 4).
        self.patch_embed = nn.Sequential(
            nn.Conv2d(3, 24, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(24),
            nn.ReLU(),
            nn.Conv2d(24, 32, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.Conv2d(32, dim, patch // 4, stride=patch // 4),
        )
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, 1 + grid * grid, dim) * 0.02)
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        tokens = self.patch_embed(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls_token.expand(len(x), -1, -1), tokens], dim=1)
        tokens = tokens + self.pos_embed
        for block in self.blocks:
            tokens = block(tokens)
        return self.head(self.norm(tokens)[:, 0])


class WordTokenizer:
    """Prompts -> ``(P, CONTEXT)`` word ids over :data:`VOCABULARY` (lower case, words split on
    anything but letters; unknown words are ``<unk>``, short prompts padded with ``<pad>`` = 0)."""

    def __init__(self, vocabulary: Sequence[str] = VOCABULARY, context: int = CONTEXT) -> None:
        self.vocabulary = list(vocabulary)
        self.index = {w: i for i, w in enumerate(self.vocabulary)}
        self.context = context

    def __call__(self, prompts: str | Sequence[str]) -> Tensor:
        prompts = [prompts] if isinstance(prompts, str) else list(prompts)
        ids = torch.zeros(len(prompts), self.context, dtype=torch.long)
        for row, prompt in enumerate(prompts):
            words = re.findall(r"[a-z]+", prompt.lower())[: self.context]
            ids[row, : len(words)] = torch.tensor(
                [self.index.get(w, 1) for w in words], dtype=torch.long
            )
        return ids


class TextTower(nn.Module):
    """Word ids ``(P, L)`` -> ``(P, out_dim)``: embeddings + positions, one block (padding
    masked), the mean over the words, a linear projection."""

    def __init__(self, vocabulary: int, out_dim: int, dim: int = 32, heads: int = 2) -> None:
        super().__init__()
        self.token_embedding = nn.Embedding(vocabulary, dim)
        self.positional_embedding = nn.Parameter(torch.randn(CONTEXT, dim) * 0.02)
        self.block = Block(dim, heads, 2.0)
        self.norm = nn.LayerNorm(dim)
        self.projection = nn.Linear(dim, out_dim)

    def forward(self, ids: Tensor) -> Tensor:
        words = ids != 0
        x = self.token_embedding(ids) + self.positional_embedding[: ids.shape[1]]
        mask = words[:, None, None, :]  # attend to words only
        x = self.norm(self.block(x, mask))
        mean = (x * words[..., None]).sum(1) / words.sum(1, keepdim=True).clamp_min(1)
        return self.projection(mean)


class HybridTower(nn.Module):
    """The CLIP's image tower: the benchmark CNN's four blocks (``trunk``, 64 channels on a 16×16
    grid at 64×64 input), their cells as 256 tokens of width 64 with a class token and learnt
    positions, one transformer block (``blocks.0``), the class token's state layer-normed and
    projected to the joint embedding (``head``). Grad-CAM's layer: ``trunk.block4``."""

    def __init__(self, embed_dim: int = EMBED_DIM, grid: int = 16, dim: int = 64) -> None:
        super().__init__()
        from .benchmark_cnn import BenchmarkCNN

        cnn = BenchmarkCNN()
        self.trunk = nn.Sequential()
        for name in ("block1", "block2", "block3", "block4"):
            self.trunk.add_module(name, getattr(cnn, name))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, 1 + grid * grid, dim) * 0.02)
        self.blocks = nn.ModuleList([Block(dim, 2, 2.0)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, embed_dim)

    def from_features(self, features: Tensor) -> Tensor:
        """``trunk(x) (B, 64, 16, 16)`` -> embeddings ``(B, embed_dim)``."""
        tokens = features.flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls_token.expand(len(tokens), -1, -1), tokens], dim=1)
        tokens = tokens + self.pos_embed
        for block in self.blocks:
            tokens = block(tokens)
        return self.head(self.norm(tokens)[:, 0])

    def forward(self, x: Tensor) -> Tensor:
        return self.from_features(self.trunk(x))


CLIP_TARGET_LAYER = "trunk.block4"  # in the image tower (``visual``)


class BenchmarkCLIP(nn.Module):
    """A tiny CLIP: ``encode_image(x) (B, 32)``, ``encode_text(ids) (P, 32)`` (not normalised),
    ``logit_scale`` (log of the softmax scale); ``forward(x)`` is ``encode_image(x)``."""

    def __init__(self, embed_dim: int = EMBED_DIM) -> None:
        super().__init__()
        self.visual = HybridTower(embed_dim)
        self.text = TextTower(len(VOCABULARY), embed_dim)
        self.logit_scale = nn.Parameter(torch.tensor(2.6592))  # log(1 / 0.07), CLIP's start
        self.tokenizer = WordTokenizer()

    def encode_image(self, x: Tensor, normalize: bool = False) -> Tensor:
        out = self.visual(x)
        return F.normalize(out, dim=-1) if normalize else out

    def encode_text(self, ids: Tensor, normalize: bool = False) -> Tensor:
        out = self.text(ids)
        return F.normalize(out, dim=-1) if normalize else out

    def forward(self, x: Tensor) -> Tensor:
        return self.encode_image(x)
