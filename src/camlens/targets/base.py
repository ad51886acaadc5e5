"""Turn the user's ``targets=`` into one target per image, and score a batch."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any, cast

import torch
from torch import Tensor

from ..errors import TargetError
from .classification import ClassTarget, RankTarget

Target = Callable[[Tensor], Tensor]


def _as_target(item: Any) -> object:
    """Integers of any kind (int, numpy, 0-d tensor) stand for ClassTarget."""
    if isinstance(item, bool) or callable(item):
        return item
    try:
        return ClassTarget(operator.index(item))
    except TypeError:
        return item


def _as_list(spec: object) -> list[object]:
    return list(spec) if isinstance(spec, Sequence) and not isinstance(spec, str) else [spec]


def resolve_targets(
    spec: object, logits: Tensor, batch: int, rank_logits: Tensor | None = None
) -> list[Target]:
    """One target per image.

    ``None`` -> each image's top-1 class; a single target or a list of one -> the same for every
    image; a list of ``batch`` -> one each. Ints stand for :class:`ClassTarget`;
    :class:`RankTarget` (and ``None``) are ranked on ``rank_logits`` (default: ``logits``).
    """
    if not isinstance(logits, Tensor) and (
        spec is None or any(isinstance(t, RankTarget) for t in _as_list(spec))
    ):
        raise TargetError(
            f"the model returns {type(logits).__name__}, not a tensor of class scores, so there "
            "is no top-1 class: pass targets= (e.g. camlens.targets.detection.BoxTarget)."
        )
    automatic = spec is None
    if automatic:
        spec = RankTarget(0)
    if isinstance(spec, Tensor):
        spec = spec.tolist()  # e.g. top.indices[:, 0]
    elif hasattr(spec, "tolist") and hasattr(spec, "dtype"):
        spec = spec.tolist()  # a numpy array or scalar
    items = list(spec) if isinstance(spec, Sequence) and not isinstance(spec, str) else [spec]
    items = [_as_target(t) for t in items]
    if len(items) == 1:
        items = items * batch
    if any(isinstance(t, RankTarget) for t in items):
        scores = logits if rank_logits is None else rank_logits
        if scores.ndim < 2 or scores[:1].numel() != scores.shape[-1]:  # (B, 1, classes) is one
            what = "targets=None takes the top-1 of" if automatic else "RankTarget ranks"
            raise TargetError(
                f"{what} each image's classes, but the output has shape {tuple(scores.shape)}, "
                "not (B, classes): pass explicit targets (a SegmentationTarget for a "
                "segmentation output, a BoxTarget for detections, a callable output -> score)."
            )
        ranked = scores.detach().flatten(1)
        top = max(t.rank for t in items if isinstance(t, RankTarget))
        if top >= ranked.shape[1]:
            raise TargetError(
                f"rank {top} asked for, but the model has only {ranked.shape[1]} classes."
            )
        order = ranked.topk(top + 1, dim=1).indices.tolist()
        items = [
            ClassTarget(order[i][t.rank]) if isinstance(t, RankTarget) else t
            for i, t in enumerate(items)
        ]
    if len(items) != batch:
        raise TargetError(
            f"got {len(items)} targets for a batch of {batch} images; give one target for the "
            f"whole batch or exactly {batch} (one per image)."
        )
    for t in items:
        if not callable(t):
            raise TargetError(f"a target must be callable (output -> score), got {t!r}.")
    return cast("list[Target]", items)


def _device_of(output: object) -> torch.device:
    from torch.utils._pytree import tree_flatten

    tensors = [t for t in tree_flatten(output)[0] if isinstance(t, Tensor)]
    return tensors[0].device if tensors else torch.device("cpu")


def score_targets(targets: Sequence[Target], logits: Tensor) -> Tensor:
    """``(B,)`` scores: one gather when all targets are plain ``ClassTarget``s, else per image."""
    if (
        isinstance(logits, Tensor)
        and logits.ndim == 2
        and all(type(t) is ClassTarget for t in targets)
    ):
        classes = cast("list[ClassTarget]", targets)
        for t in classes:
            t.check(logits)  # reads the class count only: no per-image row
        index = torch.tensor([t.category for t in classes], device=logits.device)
        return logits.gather(1, index[:, None]).squeeze(1)
    scores: list[Tensor] = []
    for i, (target, output) in enumerate(zip(targets, logits, strict=True)):
        score = target(output)
        if not isinstance(score, Tensor):
            device = scores[0].device if scores else _device_of(output)
            score = torch.as_tensor(score, dtype=torch.float32, device=device)
        if score.numel() != 1:
            raise TargetError(
                f"target {target!r} returned a score of shape {tuple(score.shape)} for image {i}; "
                "a target must return one number per image (sum or pick the entries you want)."
            )
        scores.append(score.reshape(()))
    return torch.stack(scores)
