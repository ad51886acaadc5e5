"""Test-time augmentation smoothing (``aug_smooth``), with pytorch-grad-cam's semantics.

The six augmentations are {no flip, horizontal flip} × {input × 0.9, × 1.0, × 1.1} (ttach's
``HorizontalFlip`` and ``Multiply``). All six run as one batch of ``6B`` images; each map is flipped
back to the original frame and the six normalised maps are averaged. Top-k targets (and
``targets=None``) are the classes of the un-augmented image, so all six explain the same class.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from .contract import check_input

if TYPE_CHECKING:
    from .base import Explanation

#: ``explain(x, target_sets, rank_rows) -> one Explanation per set``, as :func:`smoothed` calls it.
Explain = Callable[[Tensor, Sequence[object], Tensor], "list[Explanation]"]

AUGMENTATIONS: tuple[tuple[bool, float], ...] = tuple(
    (flip, factor) for flip in (False, True) for factor in (0.9, 1.0, 1.1)
)
_IDENTITY = AUGMENTATIONS.index((False, 1.0))


def augment(x: Tensor) -> Tensor:
    """``(B, C, *spatial)`` -> ``(6B, C, *spatial)``, augmentation-major."""
    return torch.cat([(x.flip(-1) if flip else x) * factor for flip, factor in AUGMENTATIONS])


def identity_rows(batch: int, device: torch.device) -> Tensor:
    """For each row of the augmented batch, the row of its un-augmented image."""
    rows = torch.arange(batch, device=device) + _IDENTITY * batch
    return rows.repeat(len(AUGMENTATIONS))


def repeat_targets(spec: object, batch: int) -> object:
    """Targets for the augmented batch: a per-image list is repeated once per augmentation."""
    if isinstance(spec, list | tuple) and len(spec) == batch and batch > 1:
        return list(spec) * len(AUGMENTATIONS)
    return spec


def _merge(maps: Tensor, batch: int) -> Tensor:
    views = maps.view(len(AUGMENTATIONS), batch, *maps.shape[1:])
    unflipped = [
        v.flip(-1) if flip else v for v, (flip, _) in zip(views, AUGMENTATIONS, strict=True)
    ]
    return torch.stack(unflipped).mean(0)


def deaugment(explanation: Explanation, batch: int) -> Explanation:
    """Average the maps of the six augmentations in the original frame."""
    keep = slice(_IDENTITY * batch, (_IDENTITY + 1) * batch)
    return replace(
        explanation,
        maps=_merge(explanation.maps, batch),
        per_layer={k: _merge(v, batch) for k, v in explanation.per_layer.items()},
        raw={k: _merge(v, batch) for k, v in explanation.raw.items()},
        outputs=explanation.outputs[keep],
        scores=explanation.scores[keep],
        targets=explanation.targets[keep],
    )


def smoothed(explain: Explain, x: Tensor, target_sets: Sequence[object]) -> list[Explanation]:
    """``aug_smooth``, once for every method: ``explain`` runs on the six augmentations of ``x``
    as one batch (targets repeated, top-k ranked on the un-augmented rows), and each
    :class:`~camlens.core.base.Explanation` is averaged back in the original frame."""
    batch = check_input(x).shape[0]
    augmented = augment(x)
    sets = [repeat_targets(t, batch) for t in target_sets]
    results = explain(augmented, sets, identity_rows(batch, augmented.device))
    return [deaugment(r, batch) for r in results]
