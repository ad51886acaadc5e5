"""The small transformers trained on the shapes benchmark (``scripts/train_benchmark_vit.py``).

:class:`BenchmarkViT`: a hybrid ViT — a shipped benchmark CNN's four blocks as patch
embedding (frozen during training: one token per 4×4-pixel cell, a 16×16 grid;
``benchmark-clean``'s blocks for the clean ViT and the CLIP, ``benchmark-biased``'s for the
biased ViT), a class token and two pre-norm transformer blocks of 2 heads, width 64; attention is
``torch.nn.functional.scaled_dot_product_attention``. Grad-CAM's layer is the last block's input
norm, ``blocks.1.norm1`` (tokens ``(B, 257, 64)``), whose gradient reaches every patch token
through the last attention. About 160k parameters (a 650 kB state dict).

:class:`BenchmarkCLIP`: a CLIP-style dual encoder with open_clip's interface
(``visual``, ``encode_image``, ``encode_text``, ``logit_scale``): a one-block
:class:`BenchmarkViT` image tower whose ``head`` projects to a 32-d embedding (Grad-CAM at
``blocks.0.norm1``), and a text tower over the words of :data:`VOCABULARY` (word embeddings +
positions, one transformer block, mean over the words, a linear projection). ``tokenizer``
turns prompts into word ids (:class:`WordTokenizer`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...datasets.shapes import CLASSES

INPUT_SIZE = 64
MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)
TARGET_LAYER = "blocks.1.norm1"
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


class BenchmarkViT(nn.Module):
    """A hybrid ViT (Dosovitskiy et al. 2021, sec. 3.1): the benchmark CNN's four blocks
    (``trunk``, 64 channels on a 16×16 grid at 64×64 input) as the patch embedding, their cells as
    256 tokens of width 64 with a class token and learnt positions, ``depth`` pre-norm
    transformer blocks (``blocks.<i>``), the class token's state layer-normed (``norm``) and
    mapped by ``head`` to ``num_classes`` logits (or to the CLIP's embedding).

    ``(B, 3, 64, 64)`` normalised images -> ``(B, num_classes)``.

    Example:
        >>> import torch
        >>> BenchmarkViT(num_classes=5)(torch.rand(2, 3, 64, 64)).shape
        torch.Size([2, 5])
    """

    def __init__(
        self, num_classes: int = len(CLASSES), depth: int = 2, grid: int = 16, dim: int = 64
    ) -> None:
        super().__init__()
        from .benchmark_cnn import BenchmarkCNN

        cnn = BenchmarkCNN()
        self.trunk = nn.Sequential()
        for name in ("block1", "block2", "block3", "block4"):
            self.trunk.add_module(name, getattr(cnn, name))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, 1 + grid * grid, dim) * 0.02)
        self.blocks = nn.ModuleList(Block(dim, 2, 2.0) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def from_features(self, features: Tensor) -> Tensor:
        """``trunk(x) (B, 64, 16, 16)`` -> outputs ``(B, num_classes)``."""
        tokens = features.flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls_token.expand(len(tokens), -1, -1), tokens], dim=1)
        tokens = tokens + self.pos_embed
        for block in self.blocks:
            tokens = block(tokens)
        return self.head(self.norm(tokens)[:, 0])

    def forward(self, x: Tensor) -> Tensor:
        return self.from_features(self.trunk(x))


CLIP_TARGET_LAYER = "blocks.0.norm1"  # in the image tower (``visual``)


class BenchmarkCLIP(nn.Module):
    """A tiny CLIP: ``encode_image(x) (B, 32)``, ``encode_text(ids) (P, 32)`` (not normalised),
    ``logit_scale`` (log of the softmax scale); ``forward(x)`` is ``encode_image(x)``.

    Shapes: images ``(B, 3, 64, 64)`` -> ``(B, 32)``; token ids ``(P, L)`` -> ``(P, 32)``.

    Example:
        >>> import torch
        >>> clip = BenchmarkCLIP()
        >>> clip.encode_image(torch.rand(2, 3, 64, 64)).shape
        torch.Size([2, 32])
        >>> clip.encode_text(torch.tensor([[1, 2, 3]])).shape
        torch.Size([1, 32])
    """

    def __init__(self, embed_dim: int = EMBED_DIM) -> None:
        super().__init__()
        self.visual = BenchmarkViT(num_classes=embed_dim, depth=1)
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
