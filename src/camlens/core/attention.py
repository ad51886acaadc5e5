"""Attention capture for any PyTorch transformer, during one call only.

Mechanism: a :class:`torch.overrides.TorchFunctionMode` (like :mod:`camlens.pixel._relu_override`),
switched on by pre/post forward hooks on the watched attention modules only while one of them
runs (so the rest of the model runs without Python dispatch). Inside a watched module the mode

- replaces ``F.scaled_dot_product_attention`` (timm ``fused_attn``, Hugging Face ``sdpa``) by the
  same attention computed explicitly, ``P = softmax(q kᵀ · scale + mask)``, ``out = P v``;
- computes ``F.multi_head_attention_forward`` (``nn.MultiheadAttention``: torchvision ViT,
  open_clip; CLIP's ``AttnPool2d`` calls it directly) explicitly in the same way;
- records the output of a softmax over the last axis of a ≥ 3-D tensor (explicit attention:
  Hugging Face ``eager``, timm without fused attention).

Either way ``P`` (post-softmax, before dropout) is recorded as ``(B, heads, queries, keys)`` and
is a node of the autograd graph (a leaf when nothing upstream requires grad), so gradients with
respect to it can be taken. The model's outputs are those of the fused kernels up to float
rounding (≤ 1e-5 in float32). Nothing stays after the call: the hooks are removed and the records
belong to the call. Only the watched modules' attention is kept.

Not covered: attention that is not a torch-level call (TorchScript, ``torch.compile``, custom CUDA
kernels such as xformers / flash-attn called directly), ``nn.DataParallel`` worker threads (modes
are thread-local).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from ..targets import score_targets
from .contract import check_input, model_logits, score_sets
from .errors import AttentionNotFoundError, LayerOutputError, TargetError
from .reshape import token_grid
from .torch_adapter import graph_mode, warn_if_training

ATTENTION_METHODS: tuple[str, ...] = ("rollout", "chefer", "legrad")
_SOFTMAX = (F.softmax, torch.softmax, Tensor.softmax)
_INTERCEPTED = frozenset(
    {F.scaled_dot_product_attention, F.multi_head_attention_forward, *_SOFTMAX}
)


def _mask_to_float(mask: Tensor | None, dtype: torch.dtype) -> Tensor | None:
    """Boolean masks (True = may attend, as SDPA) -> additive float masks."""
    if mask is None or mask.is_floating_point():
        return mask
    return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(
        ~mask, float("-inf")
    )


def _attend_in_pieces(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor | None,
    scale: float,
    batch: int,
    with_output: bool = True,
    alloc: Callable[[tuple[int, ...]], Tensor] | None = None,
) -> tuple[Tensor, Tensor | None]:
    """``P = softmax(q kᵀ · scale + mask)`` and ``P v`` without autograd, one image at a time
    into preallocated results: each image's logits stay in cache from the product through the
    softmax (in place) to ``P v`` (as the fused kernels work, block by block), where the
    whole batch's ``(B, heads, L, S)`` logits would go to memory and back twice.
    ``q (..., L, d)``, 3-D (``B·heads`` first) or 4-D (``B`` first); ``P v`` is None when not
    ``with_output``; ``alloc(shape)`` gives the tensor ``P`` is written into."""
    lead = q.shape[:-2]
    length, keys = q.shape[-2], k.shape[-2]
    probs = (q.new_empty if alloc is None else alloc)((*lead, length, keys))
    out = q.new_empty(*lead, length, v.shape[-1]) if with_output else None
    if mask is not None:
        mask = mask.expand(*lead, length, keys)
    step = 1 if q.ndim == 4 else max(1, lead[0] // max(batch, 1))
    k_t = k.transpose(-2, -1)
    for start in range(0, lead[0], step):
        piece = slice(start, start + step)
        p, qi, ki = probs[piece], q[piece], k_t[piece]
        if q.ndim == 4:
            p, qi, ki = p[0], qi[0], ki[0]
        if mask is None:
            torch.baddbmm(p, qi, ki, beta=0, alpha=scale, out=p)
        else:
            m = mask[piece][0] if q.ndim == 4 else mask[piece]
            torch.baddbmm(m, qi, ki, alpha=scale, out=p)
        torch.softmax(p, dim=-1, out=p)
        if out is None:
            continue
        o, vi = out[piece], v[piece]
        if q.ndim == 4:
            o, vi = o[0], vi[0]
        torch.bmm(p, vi, out=o)
    return probs, out


@dataclass
class _Record:
    """One call of a watched module's attention: ``probs`` as computed, and its batch size."""

    probs: Tensor
    batch: int
    kind: str = "softmax"  # how the model computed it: "sdpa", "mha" or "softmax"

    def as_4d(self, tensor: Tensor | None = None) -> Tensor:
        """``(B, heads, queries, keys)`` view of ``probs`` (or of a tensor of its shape)."""
        t = self.probs if tensor is None else tensor
        if t.ndim == 4:
            return t
        if t.ndim == 3:
            return t.reshape(self.batch, -1, *t.shape[-2:])
        return t.reshape(self.batch, -1, *t.shape[-2:])


class AttentionMode(TorchFunctionMode):
    """While active, attention inside the watched modules is explicit and recorded.

    ``watch``: ``[(name, module)]``. ``track_graph``: make the probabilities graph nodes.
    ``batch``: the model's batch size (to lay ``(B·heads, L, S)`` attention out per image).
    """

    def __init__(
        self, watch: Sequence[tuple[str, nn.Module]], batch: int, track_graph: bool
    ) -> None:
        super().__init__()
        self.watch = list(watch)
        self.batch = batch
        self.track_graph = track_graph
        self.records: list[list[_Record]] = [[] for _ in self.watch]
        self._stack: list[int] = []
        self._handles: list[Any] = []
        self._slab: Tensor | None = None
        self._slab_used = 0

    def _probs_buffer(self, shape: tuple[int, ...], like: Tensor) -> Tensor:
        """Where a block's probabilities go: a slice of one allocation made at the first block,
        sized for every watched block of that shape (most transformers repeat one shape).
        One allocation per call instead of one per block is what keeps the capture at the cost
        of a forward on CPU: glibc hands blocks of this size back to the system when a call's
        records are freed together, and the next call pays a page fault per 4 KiB touched
        (here +12% of a ViT-Tiny forward at batch 1); one allocation this large raises malloc's
        thresholds so that its memory is reused from call to call."""
        numel = math.prod(shape)
        slab = self._slab
        if slab is None:
            slab = like.new_empty(numel * len(self.watch))
            self._slab, self._slab_used = slab, 0
        if slab.dtype != like.dtype or slab.device != like.device:
            return like.new_empty(shape)
        if self._slab_used + numel > slab.numel():
            return like.new_empty(shape)
        start, self._slab_used = self._slab_used, self._slab_used + numel
        return slab[start : start + numel].view(shape)

    # --- which watched module is running --------------------------------------------------------
    @contextlib.contextmanager
    def hooked(self) -> Iterator[AttentionMode]:
        """Hooks on the watched modules for the block; the mode itself is on only while one of
        them runs (the rest of the model runs at full speed, without Python dispatch)."""
        try:
            for index, (_, module) in enumerate(self.watch):
                self._handles.append(module.register_forward_pre_hook(self._enter(index)))
                self._handles.append(module.register_forward_hook(self._exit, always_call=True))
            yield self
        finally:
            for handle in self._handles:
                handle.remove()
            self._handles.clear()
            if self._stack:
                self._stack.clear()
                self.__exit__(None, None, None)

    def _enter(self, index: int) -> Callable:
        def hook(module: nn.Module, args: object) -> None:
            if not self._stack:
                self.__enter__()
            self._stack.append(index)

        return hook

    def _exit(self, module: nn.Module, args: object, output: object) -> None:
        if self._stack:
            self._stack.pop()
            if not self._stack:
                self.__exit__(None, None, None)

    # --- the override ---------------------------------------------------------------------------
    def __torch_function__(
        self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None
    ) -> Any:
        kwargs = kwargs or {}
        if func not in _INTERCEPTED or not self._stack:
            return func(*args, **kwargs)
        owner = self._stack[-1]
        if isinstance(self.watch[owner][1], nn.Softmax) and len(self._stack) > 1:
            owner = self._stack[-2]  # an nn.Softmax child (timm Swin): its parent attends
        if func is F.scaled_dot_product_attention:
            return self._sdpa(owner, *args, **kwargs)
        if func is F.multi_head_attention_forward:
            return self._mha(owner, *args, **kwargs)
        out = func(*args, **kwargs)  # a softmax
        dim = kwargs.get("dim", args[1] if len(args) > 1 else None)
        if isinstance(out, Tensor) and out.ndim >= 3 and dim in (-1, out.ndim - 1):
            return self._record(owner, out)
        return out

    def _record(self, owner: int, probs: Tensor, kind: str = "softmax") -> Tensor:
        if self.track_graph and not probs.requires_grad and probs.is_floating_point():
            probs = probs.detach().requires_grad_(True)
        self.records[owner].append(_Record(probs, self.batch, kind))
        return probs

    def _attend(
        self,
        owner: int,
        q: Tensor,
        k: Tensor,
        v: Tensor,
        mask: Tensor | None,
        dropout_p: float,
        scale: float | None,
        is_causal: bool = False,
        kind: str = "sdpa",
    ) -> Tensor:
        """``softmax(q kᵀ · scale + mask) v`` with the probabilities recorded."""
        scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
        if is_causal:
            allowed = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool, device=q.device)
            causal = torch.zeros(allowed.shape, dtype=q.dtype, device=q.device)
            causal = causal.masked_fill(~allowed.tril(), float("-inf"))
            given = _mask_to_float(mask, q.dtype)
            mask = causal if given is None else causal + given
        graph = torch.is_grad_enabled() and (q.requires_grad or k.requires_grad or v.requires_grad)
        if (
            not graph
            and dropout_p == 0
            and q.ndim in (3, 4)
            and q.shape[:-2] == k.shape[:-2] == v.shape[:-2]
        ):
            mask = _mask_to_float(mask, q.dtype)
            leaf = self.track_graph  # P becomes a graph leaf: P v is taken from it below
            probs, out = _attend_in_pieces(
                q, k, v, mask, scale, self.batch, not leaf, lambda s: self._probs_buffer(s, q)
            )
            probs = self._record(owner, probs, kind)
            return probs @ v if out is None else out
        logits = (q * scale) @ k.transpose(-2, -1)
        mask = _mask_to_float(mask, logits.dtype)
        if mask is not None:
            logits = logits + mask
        probs = self._record(owner, torch.softmax(logits, dim=-1), kind)
        if dropout_p > 0:
            probs = F.dropout(probs, p=dropout_p)
        return probs @ v

    def _sdpa(
        self,
        owner: int,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        attn_mask: Tensor | None = None,
        dropout_p: float = 0.0,
        is_causal: bool = False,
        scale: float | None = None,
        enable_gqa: bool = False,
    ) -> Tensor:
        if enable_gqa and key.shape[-3] != query.shape[-3]:
            repeat = query.shape[-3] // key.shape[-3]
            key = key.repeat_interleave(repeat, dim=-3)
            value = value.repeat_interleave(repeat, dim=-3)
        return self._attend(owner, query, key, value, attn_mask, dropout_p, scale, is_causal)

    def _mha(
        self,
        owner: int,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        embed_dim_to_check: int,
        num_heads: int,
        in_proj_weight: Tensor | None,
        in_proj_bias: Tensor | None,
        bias_k: Tensor | None,
        bias_v: Tensor | None,
        add_zero_attn: bool,
        dropout_p: float,
        out_proj_weight: Tensor,
        out_proj_bias: Tensor | None,
        training: bool = True,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        use_separate_proj_weight: bool = False,
        q_proj_weight: Tensor | None = None,
        k_proj_weight: Tensor | None = None,
        v_proj_weight: Tensor | None = None,
        static_k: Tensor | None = None,
        static_v: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """``F.multi_head_attention_forward`` (sequence-first ``(L, N, E)``), explicitly."""
        if bias_k is not None or bias_v is not None or add_zero_attn or static_k is not None:
            raise LayerOutputError(
                "attention capture does not support nn.MultiheadAttention with bias_k/bias_v, "
                "add_zero_attn or static keys; explain this model with a CAM method instead."
            )
        batched = query.ndim == 3
        if not batched:
            query, key, value = query[:, None], key[:, None], value[:, None]
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask[None]
        tgt_len, bsz, embed = query.shape
        head_dim = embed // num_heads
        if use_separate_proj_weight:
            assert q_proj_weight is not None and k_proj_weight is not None  # as torch asserts
            assert v_proj_weight is not None
            b_q, b_k, b_v = (None,) * 3 if in_proj_bias is None else in_proj_bias.chunk(3)
            q = F.linear(query, q_proj_weight, b_q)
            k = F.linear(key, k_proj_weight, b_k)
            v = F.linear(value, v_proj_weight, b_v)
        elif query is key and key is value:
            assert in_proj_weight is not None  # as torch asserts
            q, k, v = F.linear(query, in_proj_weight, in_proj_bias).chunk(3, dim=-1)
        else:
            assert in_proj_weight is not None
            w_q, w_k, w_v = in_proj_weight.chunk(3)
            b_q, b_k, b_v = (None,) * 3 if in_proj_bias is None else in_proj_bias.chunk(3)
            q, k, v = F.linear(query, w_q, b_q), F.linear(key, w_k, b_k), F.linear(value, w_v, b_v)

        def heads(t: Tensor) -> Tensor:  # (L, N, E) -> (N, heads, L, head_dim)
            return t.reshape(t.shape[0], bsz, num_heads, head_dim).permute(1, 2, 0, 3)

        q, k, v = heads(q), heads(k), heads(v)
        mask: Tensor | None = None
        if attn_mask is not None:
            full = (
                _mask_to_float(~attn_mask, q.dtype) if attn_mask.dtype == torch.bool else attn_mask
            )
            mask = full.reshape(bsz, num_heads, tgt_len, -1) if full.ndim == 3 else full
        if key_padding_mask is not None:
            pad = key_padding_mask
            pad = (
                torch.zeros(pad.shape, dtype=q.dtype, device=q.device).masked_fill(
                    pad, float("-inf")
                )
                if pad.dtype == torch.bool
                else pad.to(q.dtype)
            )
            pad = pad[:, None, None, :]
            mask = pad if mask is None else mask + pad
        causal = is_causal and attn_mask is None
        out = self._attend(
            owner, q, k, v, mask, dropout_p if training else 0.0, None, causal, "mha"
        )
        out = out.permute(2, 0, 1, 3).reshape(tgt_len, bsz, embed)
        out = F.linear(out, out_proj_weight, out_proj_bias)
        weights = None
        if need_weights:
            weights = self.records[owner][-1].probs
            weights = weights.mean(dim=1) if average_attn_weights else weights
        if not batched:
            out = out[:, 0]
            weights = None if weights is None else weights[0]
        return out, weights


# --- finding the attention modules of a model --------------------------------------------------
@dataclass
class AttentionBlock:
    """A module that computes attention in a forward pass.

    name/module: the module; shape: ``(B, heads, queries, keys)`` of its probabilities;
    order: position in the forward pass (finish order of all modules); kind: how it was computed.
    """

    name: str
    module: nn.Module
    shape: tuple[int, ...]
    order: int
    kind: str = "softmax"  # "sdpa" (fused kernel), "mha" (nn.MultiheadAttention) or "softmax"


def find_attention(model: nn.Module, x: Tensor) -> tuple[list[AttentionBlock], dict[str, int]]:
    """Every module that computes attention (innermost module owning each attention call), and
    the finish order of all modules, from one forward pass of ``x[:1]`` without gradients."""
    x = check_input(x)[:1]
    named = [(n, m) for n, m in model.named_modules()]
    finished: dict[str, int] = {}

    def hook_for(name: str) -> Callable:
        def hook(module: nn.Module, args: object, output: object) -> None:
            finished.setdefault(name, len(finished))

        return hook

    handles = [m.register_forward_hook(hook_for(n), always_call=True) for n, m in named]
    mode = AttentionMode(named, batch=1, track_graph=False)
    try:
        with torch.inference_mode(False), torch.no_grad(), mode.hooked():
            model(x)
    finally:
        for h in handles:
            h.remove()
    blocks = []
    for (name, module), records in zip(named, mode.records, strict=True):
        if records:
            shape = tuple(records[0].as_4d().shape)
            order = finished.get(name, -1)
            blocks.append(AttentionBlock(name, module, shape, order, records[0].kind))
    blocks.sort(key=lambda b: b.order)
    return blocks, finished


def no_attention_error(model: nn.Module) -> AttentionNotFoundError:
    """The error for a model without attention that camlens can see, naming the other methods."""
    from .registry import METHODS

    others = [m for m in METHODS if m not in ATTENTION_METHODS]
    return AttentionNotFoundError(
        f"{type(model).__name__} computes no attention that camlens can see (no "
        "scaled_dot_product_attention, nn.MultiheadAttention or softmax attention in its "
        f"forward pass), so {', '.join(ATTENTION_METHODS)} do not apply. Use a CAM method "
        f"instead: {', '.join(others)}."
    )


def image_blocks(blocks: list[AttentionBlock], spatial: Sequence[int]) -> list[AttentionBlock]:
    """The blocks whose keys lie on the input's patch grid (text towers and windows left out):
    the longest run of self-attention over the same tokens, then any pooling attention."""
    on_grid = [b for b in blocks if token_grid(b.shape[-1], spatial) is not None]
    selfs = [b for b in on_grid if b.shape[-2] == b.shape[-1] and b.shape[0] == 1]
    pools = [b for b in on_grid if b.shape[-2] != b.shape[-1] and b.shape[0] == 1]
    keys = selfs[-1].shape[-1] if selfs else None
    chosen = [b for b in selfs if b.shape[-1] == keys]
    last = chosen[-1].order if chosen else -1
    chosen += [b for b in pools if b.order > last and (keys is None or b.shape[-1] == keys)]
    return chosen


# --- the capture --------------------------------------------------------------------------------
@dataclass
class AttentionCapture:
    """What one forward (and backward) pass gave, for ``T`` target sets over ``L`` blocks.

    attentions:       per block ``(B, heads, queries, keys)`` post-softmax probabilities.
    gradients:        ``gradients[t][l]``: d(score t)/d(attentions[l]); empty if not asked.
    layer_gradients:  ``layer_gradients[t][l]``: d(block l's own score t)/d(attentions[l]) (LeGrad);
                      empty if not asked.
    """

    inputs: Tensor
    outputs: Any
    attentions: list[Tensor]
    gradients: list[list[Tensor]] = field(default_factory=list)
    layer_gradients: list[list[Tensor]] = field(default_factory=list)
    targets: list[list[Any]] = field(default_factory=list)
    scores: list[Tensor] = field(default_factory=list)
    block_names: list[str] = field(default_factory=list)


def _batch_first(t: Tensor, batch: int, tokens: int) -> Tensor:
    """A block's token output as ``(B, N, D)`` (open_clip runs its blocks sequence-first)."""
    if t.ndim == 3 and t.shape[0] == batch and t.shape[1] == tokens:
        return t
    if t.ndim == 3 and t.shape[1] == batch and t.shape[0] == tokens:
        return t.transpose(0, 1)
    raise LayerOutputError(
        f"a transformer block returned shape {tuple(t.shape)}, not (B={batch}, N={tokens}, D); "
        "LeGrad needs each block's tokens."
    )


def _first_tensor(output: object) -> Tensor:
    if isinstance(output, Tensor):
        return output
    if isinstance(output, tuple | list) and output and isinstance(output[0], Tensor):
        return output[0]
    raise LayerOutputError(f"a transformer block returned {type(output).__name__}, not tokens.")


@dataclass
class LayerScores:
    """How LeGrad scores each block: the block's module (``containers[l]``, whose output is the
    residual stream after the block; ``None`` for a pooling attention, scored by the model's own
    output) and the final normalisation whose input the mean token of each block replaces."""

    containers: list[tuple[str, nn.Module] | None]
    final_norm: tuple[str, nn.Module] | None


def capture_attention(
    model: nn.Module,
    x: Tensor,
    blocks: Sequence[tuple[str, nn.Module]],
    target_sets: Sequence[object],
    *,
    gradients: bool = False,
    layer_scores: LayerScores | None = None,
    differentiable: bool = False,
) -> AttentionCapture:
    """One forward pass with the blocks' attention recorded; per target set, gradients of the
    score w.r.t. every block's attention (``gradients``), and/or of each block's own score
    w.r.t. its attention (``layer_scores``, LeGrad: one forward, the block's mean token put through
    the model's final norm and head as extra rows of the same batch)."""
    x = check_input(x)
    warn_if_training(model, stacklevel=5)
    if x.is_inference():
        x = x.clone()
    batch = x.shape[0]
    track = gradients or layer_scores is not None or differentiable
    mode = AttentionMode(blocks, batch=batch, track_graph=track)
    streams: list[Tensor | None] = []
    handles = []
    scored: list[int] = []
    active = [0]  # the part of the final norm's widened batch a gradient is being taken for
    if layer_scores is not None:
        if layer_scores.final_norm is None and any(c is not None for c in layer_scores.containers):
            raise LayerOutputError(
                "LeGrad found no normalisation layer after the last block to score each block's "
                "tokens with; pass the pooling attention or the last blocks only."
            )
        streams = [None] * len(blocks)
        scored_names: dict[int, str] = {}
        for index, container in enumerate(layer_scores.containers):
            if container is None:
                continue
            scored.append(index)
            scored_names[index] = container[0]

            def keep(mod: nn.Module, a: object, out: object, index: int = index) -> None:
                streams[index] = _first_tensor(out)

            handles.append(container[1].register_forward_hook(keep))
        if scored:
            final_norm = layer_scores.final_norm
            assert final_norm is not None  # scored blocks imply the final norm was found

            def widen(mod: nn.Module, args: tuple, out: object) -> Tensor:
                # The norm runs on each block's mean token (B, D) and its output is repeated
                # over the token axis (the norm is token-wise: the same as normalising the
                # repeated tokens), so each block's backward takes a (B, D) norm only.
                u = args[0]
                if not isinstance(out, Tensor) or u.shape[0] != batch or u.ndim not in (2, 3):
                    raise LayerOutputError(
                        f"the final norm {final_norm[0]!r} takes shape "
                        f"{tuple(u.shape)}, not (B, N, D) or (B, D)."
                    )
                extra = []
                for index in scored:  # one norm call per block: its backward is its own
                    stream = streams[index]
                    if stream is None:
                        raise LayerOutputError(
                            f"LeGrad's block {scored_names[index]!r} gave no output before the "
                            "final norm; pass the attention blocks (target_layers=) of a model "
                            "whose blocks run in order."
                        )
                    probs = mode.records[index][-1].as_4d()
                    z = _batch_first(stream, batch, probs.shape[-1]).mean(dim=1)
                    normed = mod.forward(z[:, None] if u.ndim == 3 else z, *args[1:])
                    extra.append(normed.expand(-1, u.shape[1], -1) if u.ndim == 3 else normed)
                return _Rows.apply(active, out, *extra)

            handles.append(final_norm[1].register_forward_hook(widen))
    try:
        with graph_mode(model, track=track, differentiable=differentiable), mode.hooked():
            output = model(x)
    finally:
        for h in handles:
            h.remove()
    with torch.inference_mode(False), torch.enable_grad() if track else torch.no_grad():
        records = []
        for (name, _), recs in zip(blocks, mode.records, strict=True):
            if not recs:
                raise LayerOutputError(
                    f"the forward pass computed no attention in {name!r}; pick an attention "
                    "block (see camlens.layers(model, x), kind 'attention')."
                )
            if len(recs) > 1:
                raise LayerOutputError(
                    f"{name!r} computed attention {len(recs)} times in one forward pass; choose "
                    "the module that computes it once."
                )
            records.append(recs[0])
        logits_all = model_logits(output)
        if not isinstance(logits_all, Tensor):
            raise TargetError("attention methods need a model that returns a tensor of scores.")
        logits = logits_all[:batch]
        sets = list(target_sets) or [None]
        targets, scores = score_sets(sets, logits, batch)
        probs_all = [r.probs for r in records]
        grads: list[list[Tensor]] = []
        layer_grads: list[list[Tensor]] = []
        for ti, (tset, score) in enumerate(zip(targets, scores, strict=True)):
            last_set = ti == len(targets) - 1
            if gradients:
                retain = differentiable or layer_scores is not None or not last_set
                active[0] = 0
                found = _grad(score.sum(), probs_all, retain, differentiable)
                grads.append([r.as_4d(g)[:batch] for r, g in zip(records, found, strict=True)])
            if layer_scores is not None:
                per = []
                for index, record in enumerate(records):
                    if index in scored:
                        chunk = scored.index(index) + 1
                        own = score_targets(tset, logits_all[chunk * batch : (chunk + 1) * batch])
                    else:
                        chunk, own = 0, score
                    active[0] = chunk
                    retain = differentiable or not last_set or index < len(records) - 1
                    (g,) = _grad(own.sum(), [record.probs], retain, differentiable)
                    per.append(record.as_4d(g)[:batch])
                layer_grads.append(per)
    detach = (lambda t: t) if differentiable else Tensor.detach
    attentions = [detach(r.as_4d()[:batch]) for r in records]
    if not differentiable:
        logits = logits.detach()
        scores = [s.detach() for s in scores]
    return AttentionCapture(
        x, logits, attentions, grads, layer_grads, targets, scores, [n for n, _ in blocks]
    )


class _Rows(torch.autograd.Function):
    """``torch.cat`` along the batch whose backward passes the gradient to one part only,
    ``active[0]`` (the part whose rows the score being differentiated reads): one block's own
    score is then not back-propagated through the whole network behind the real rows."""

    @staticmethod
    def forward(ctx: Any, active: list[int], *parts: Tensor) -> Tensor:
        ctx.active = active
        ctx.sizes = [p.shape[0] for p in parts]
        return torch.cat(parts)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        out: list[Tensor | None] = [None]
        start = 0
        for index, size in enumerate(ctx.sizes):
            out.append(grad[start : start + size] if index == ctx.active[0] else None)
            start += size
        return tuple(out)


def _grad(score: Tensor, inputs: list[Tensor], retain: bool, create: bool) -> list[Tensor]:
    if not score.requires_grad:
        raise TargetError(
            "the target score does not depend on the attention of the chosen blocks; check that "
            "they lie on the path from the input to the scored output."
        )
    found = torch.autograd.grad(
        score, inputs, retain_graph=retain, create_graph=create, allow_unused=True
    )
    return [torch.zeros_like(t) if g is None else g for g, t in zip(found, inputs, strict=True)]
