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
