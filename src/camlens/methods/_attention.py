"""The shared part of the attention methods (rollout, Chefer, LeGrad): choose the attention
blocks, capture their attention (:mod:`camlens.core.attention`), turn a per-token relevance into a
map on the patch grid.

Tokens: the keys of the last block are ``extra + h·w`` (class, distillation, register tokens
first, then the patches, :func:`camlens.core.reshape.token_grid`). The relevance of the patches
is read from the class token's row (token 0) when there are extra tokens, from the mean of all
rows when there are none (mean-pooled models), and from the pooling query when the last block is
a pooling attention (CLIP ResNet's ``AttnPool2d``, attention-pool heads: fewer queries than keys).
"""

from __future__ import annotations

from typing import Any, ClassVar

from torch import Tensor, nn

from ..core.adapters import require_torch_model
from ..core.attention import (
    AttentionBlock,
    AttentionCapture,
    LayerScores,
    capture_attention,
    find_attention,
    image_blocks,
    no_attention_error,
)
from ..core.base import BaseCAM, Explanation
from ..core.capture import check_input
from ..core.contract import TORCH_MODULES
from ..core.errors import AttentionNotFoundError, InvalidInputError, LayerOutputError
from ..core.layers import LayersSpec
from ..core.postprocess import normalize, upsample
from ..core.reshape import token_grid
from ..errors import OptionError

HEAD_FUSIONS = ("mean", "max", "min")


def fuse_heads(attention: Tensor, how: str) -> Tensor:
    """``(B, heads, L, S) -> (B, L, S)`` by the mean, max or min over heads."""
    if how == "mean":
        return attention.mean(dim=1)
    if how == "max":
        return attention.amax(dim=1)
    if how == "min":
        return attention.amin(dim=1)
    raise OptionError(f"head_fusion must be one of {HEAD_FUSIONS}, got {how!r}.")


def is_pooling(attention: Tensor) -> bool:
    """A pooling attention: its queries are not its keys (``L != S``)."""
    return attention.shape[-2] != attention.shape[-1]


def query_row(relevance: Tensor, extra: int) -> Tensor:
    """``(B, L, S) -> (B, S)``: the class token's row, or the mean row without extra tokens."""
    if relevance.shape[1] == 1 or extra >= 1:
        return relevance[:, 0]
    return relevance.mean(dim=1)


def row_of_product(matrices: list[Tensor], extra: int) -> Tensor:
    """The query row of ``M_L ⋯ M_1`` (``matrices`` in block order, each ``(B, L, S)``), as
    :func:`query_row` would read it from the product, by row-vector products from the left:
    ``O(N²)`` per block instead of the ``O(N³)`` of the full matrix product."""
    row = query_row(matrices[-1], extra)
    for m in reversed(matrices[:-1]):
        row = (row[:, None] @ m)[:, 0]
    return row


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _container(
    name: str, found: list[AttentionBlock], finished: dict[str, int], modules: dict[str, nn.Module]
) -> str:
    """The transformer block holding attention ``name``, whose output is the residual stream
    after it: the outermost ancestor that holds no other attention, runs a forward of its own
    (a ``ModuleList`` does not) and is a member of a stack of blocks (its parent a
    ``ModuleList`` / ``Sequential``); else the outermost such ancestor that runs; else the
    attention module. With one block, the encoder around it (which may end with the final norm)
    holds no other attention either: the stack membership tells the block from it."""
    candidates = [
        anc
        for anc in _ancestors(name)
        if anc in finished and sum(b.name.startswith(anc + ".") for b in found) == 1
    ]
    for anc in candidates:
        parent = modules[anc.rpartition(".")[0]]
        if isinstance(parent, nn.ModuleList | nn.Sequential):
            return anc
    return candidates[0] if candidates else name


class AttentionMethod(BaseCAM):
    """Base of the attention methods: ``cam(x, targets) -> (B, H, W)`` maps in [0, 1].

    target_layers: attention modules, or modules that each hold one (a transformer block);
    ``None`` takes every attention block over the image's tokens (see ``camlens.layers``).
    """

    uses_gradients: ClassVar[bool] = True
    shares_capture: ClassVar[bool] = False
    # "none" (rollout), "final" (d score / d A, Chefer) or "layer" (each block's own score, LeGrad)
    gradient_kind: ClassVar[str] = "final"

    @classmethod
    def needs(cls) -> frozenset[str]:
        """Torch modules too: the attention is found by hooks on the model's modules."""
        return super().needs() | {TORCH_MODULES}

    def __init__(
        self,
        model: nn.Module,
        target_layers: LayersSpec | None = None,
        reshape_transform: Any = None,
        *,
        differentiable: bool = False,
    ) -> None:
        require_torch_model(model, type(self).__name__)
        super().__init__(model, target_layers, reshape_transform, differentiable=differentiable)
        self._plans: dict[tuple[int, ...], tuple[list[tuple[str, nn.Module]], Any]] = {}

    # --- method math ----------------------------------------------------------------------------
    def relevance(self, capture: AttentionCapture, t: int, extra: int) -> Tensor:
        """``(B, S)``: relevance of each key token of the last block for target set ``t``
        (``extra``: how many leading tokens are not patches)."""
        raise NotImplementedError

    # --- blocks ---------------------------------------------------------------------------------
    def _plan(self, x: Tensor) -> tuple[list[tuple[str, nn.Module]], LayerScores | None]:
        key = tuple(x.shape[1:])
        if key not in self._plans:
            self._plans[key] = self._make_plan(x)
        return self._plans[key]

    def _make_plan(self, x: Tensor) -> tuple[list[tuple[str, nn.Module]], LayerScores | None]:
        found, finished = find_attention(self.model, x)
        if not found:
            raise no_attention_error(self.model)
        spatial = tuple(x.shape[2:])
        if self.adapter.layers is None:
            chosen = image_blocks(found, spatial)
            if not chosen:
                windowed = [b.name for b in found if b.shape[0] > 1]
                hint = (
                    f" Its attention is windowed ({windowed[0]!r}: one matrix per window, as in "
                    "Swin), so there is no attention between all tokens to follow; use Grad-CAM "
                    "on a stage output instead."
                    if windowed
                    else " Pass target_layers= with the attention blocks to use."
                )
                raise AttentionNotFoundError(
                    f"no attention block of {type(self.model).__name__} attends over the image's "
                    f"patch tokens.{hint}"
                )
        else:
            chosen = [self._block_for(name, module, found) for name, module in self.adapter.layers]
        for block in chosen:
            if block.shape[0] != 1:
                raise AttentionNotFoundError(
                    f"{block.name!r} computes windowed attention ({block.shape[0]} windows per "
                    "image, as Swin does): rollout, Chefer and LeGrad need attention between all "
                    "tokens. Use Grad-CAM on a stage output for this model (docs/methods.md)."
                )
        blocks = [(b.name, b.module) for b in chosen]
        scores = (
            self._layer_scores(chosen, found, finished) if self.gradient_kind == "layer" else None
        )
        return blocks, scores

    def _block_for(
        self, name: str, module: nn.Module, found: list[AttentionBlock]
    ) -> AttentionBlock:
        for block in found:
            if block.module is module:
                return block
        inside = [b for b in found if name == "" or b.name.startswith(name + ".")]
        if len(inside) == 1:
            return inside[0]
        names = ", ".join(b.name for b in found[:6])
        raise AttentionNotFoundError(
            f"{name!r} {'holds no' if not inside else f'holds {len(inside)}'} attention "
            f"module{'' if not inside else 's'}; pass attention blocks (e.g. {names})."
        )

    def _layer_scores(
        self, chosen: list[AttentionBlock], found: list[AttentionBlock], finished: dict[str, int]
    ) -> LayerScores:
        modules = dict(self.model.named_modules())
        containers: list[tuple[str, nn.Module] | None] = []
        for block in chosen:
            if block.shape[-2] != block.shape[-1]:
                containers.append(None)  # a pooling attention: scored by the model's output
                continue
            name = _container(block.name, found, finished, modules)
            containers.append((name, modules[name]))
        last = max((finished.get(c[0], -1) for c in containers if c is not None), default=None)
        final_norm = None
        if last is not None:
            after = [
                (order, n)
                for n, order in finished.items()
                if order > last and n and "Norm" in type(modules[n]).__name__
            ]
            if after:
                name = max(after)[1]
                final_norm = (name, modules[name])
        if final_norm is None:  # no norm after the blocks: each is scored by the model's output
            containers = [None] * len(containers)
        return LayerScores(containers, final_norm)

    # --- pipeline -------------------------------------------------------------------------------
    def explain_targets(
        self,
        input_tensor: Tensor,
        target_sets: Any,
        *,
        aug_smooth: bool = False,
        eigen_smooth: bool = False,
    ) -> list[Explanation]:
        if aug_smooth or eigen_smooth:
            raise InvalidInputError(
                f"{type(self).__name__} does not take aug_smooth or eigen_smooth (they apply to "
                "CAM methods); call it without them."
            )
        x = check_input(self.prepare_input(input_tensor))
        blocks, layer_scores = self._plan(x)
        capture = capture_attention(
            self.model,
            x,
            blocks,
            list(target_sets),
            gradients=self.gradient_kind == "final",
            layer_scores=layer_scores,
            differentiable=self.differentiable,
        )
        found = token_grid(capture.attentions[-1].shape[-1], x.shape[2:])
        if found is None:
            raise LayerOutputError(
                f"the {capture.attentions[-1].shape[-1]} tokens of {blocks[-1][0]!r} do not lie "
                f"on the patch grid of an input of shape {tuple(x.shape)}."
            )
        extra, grid = found
        name = blocks[-1][0]
        results = []
        for t in range(len(capture.targets)):
            tokens = self.relevance(capture, t, extra)
            raw = tokens[:, extra:].reshape(x.shape[0], *grid).float()
            if not self.differentiable:
                raw = raw.detach()
            maps = normalize(upsample(raw, x.shape[2:]))
            results.append(
                Explanation(
                    maps=maps,
                    per_layer={name: maps},
                    raw={name: raw},
                    outputs=capture.outputs,
                    scores=capture.scores[t],
                    targets=list(capture.targets[t]),
                )
            )
        return results

    def attention_blocks(self, x: Tensor) -> list[str]:
        """The names of the attention blocks used for inputs shaped like ``x``."""
        return [n for n, _ in self._plan(check_input(x))[0]]


__all__ = ["HEAD_FUSIONS", "AttentionMethod", "fuse_heads", "is_pooling", "query_row"]
