"""Shared helpers of the metrics: targets -> class indices, maps/masks/boxes checks, scoring."""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ..core.capture import warn_if_training
from ..core.errors import InvalidInputError, TargetError
from ..core.postprocess import upsample
from ..targets import ClassTarget, RankTarget

SCORES = ("probability", "logit")


def require_scipy(what: str) -> None:
    """Raise an ImportError that says how to install scipy (the ``evaluate`` extra)."""
    try:
        import scipy  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"{what} needs scipy: pip install 'camlens[evaluate]' (or pip install scipy)."
        ) from exc


def check_score(score: str) -> str:
    """``score`` must be ``"probability"`` (softmax of the class) or ``"logit"``."""
    if score not in SCORES:
        raise InvalidInputError(f"score must be one of {SCORES}, got {score!r}.")
    return score


def check_inputs(inputs: Tensor) -> Tensor:
    """``inputs`` must be a finite float (B, C, H, W) tensor."""
    if not isinstance(inputs, Tensor) or inputs.ndim != 4 or not inputs.is_floating_point():
        shape = tuple(inputs.shape) if isinstance(inputs, Tensor) else type(inputs).__name__
        raise InvalidInputError(f"inputs must be a float (B, C, H, W) tensor, got {shape}.")
    return inputs


def as_maps(maps: Any, inputs: Tensor | None = None, *, unit: bool = False) -> Tensor:
    """``(B, H, W)`` float maps on the inputs' device, resized (bilinear) to the inputs' size.

    Accepts (B, H, W), (B, 1, H, W) and numpy arrays. ``unit=True`` demands values in [0, 1]
    (the metrics that multiply the input by the map).
    """
    maps = torch.as_tensor(maps)
    if maps.ndim == 4 and maps.shape[1] == 1:
        maps = maps[:, 0]
    if maps.ndim != 3:
        raise InvalidInputError(
            f"maps must have shape (B, H, W) (or (B, 1, H, W)), got {tuple(maps.shape)}."
        )
    maps = maps.detach().float()
    if not torch.isfinite(maps).all():
        raise InvalidInputError("maps hold NaN or inf values; drop those images first.")
    if inputs is not None:
        maps = maps.to(inputs.device)
        if maps.shape[0] != inputs.shape[0]:
            raise InvalidInputError(
                f"got {maps.shape[0]} maps for {inputs.shape[0]} images; give one map per image."
            )
        maps = upsample(maps, inputs.shape[2:])
    if unit and (maps.min() < -1e-6 or maps.max() > 1 + 1e-6):
        raise InvalidInputError(
            f"maps must be in [0, 1] (got [{maps.min():.3g}, {maps.max():.3g}]); "
            "normalise each map, e.g. (m - m.min()) / (m.max() - m.min())."
        )
    return maps


def class_indices(
    targets: Any, batch: int, device: torch.device, logits: Tensor | None = None
) -> Tensor:
    """``(B,)`` long class indices from ints, a (B,) tensor, ClassTarget(s) or RankTarget(s).

    ``None`` (or RankTarget) needs ``logits``: ``None`` means each image's top-1 class. One target
    is shared by the whole batch.
    """
    if targets is None:
        targets = RankTarget(0)
    if isinstance(targets, Tensor) or (hasattr(targets, "tolist") and hasattr(targets, "dtype")):
        targets = targets.tolist()
    items = (
        list(targets)
        if isinstance(targets, Sequence) and not isinstance(targets, str)
        else [targets]
    )
    if len(items) == 1:
        items = items * batch
    if len(items) != batch:
        raise TargetError(
            f"got {len(items)} targets for a batch of {batch} images; give one or exactly {batch}."
        )
    out = []
    for i, item in enumerate(items):
        if isinstance(item, ClassTarget):
            out.append(item.category)
        elif isinstance(item, RankTarget):
            if logits is None:
                raise TargetError("targets=None or RankTarget needs the model: pass model=.")
            out.append(int(logits[i].flatten().argsort(descending=True)[item.rank]))
        elif isinstance(item, bool):
            raise TargetError(f"a class index must be an int, not {item!r}.")
        else:
            try:
                out.append(operator.index(item))
            except TypeError:
                raise TargetError(
                    f"metrics take class indices (int, (B,) tensor or ClassTarget), got {item!r}."
                ) from None
    index = torch.tensor(out, dtype=torch.long, device=device)
    if (index < 0).any():
        raise TargetError(f"class indices must be >= 0, got {out}.")
    return index


def need(value: Any, what: str, metric: str) -> Any:
    if value is None:
        raise InvalidInputError(f"{metric} needs {what}: pass {what}= to update().")
    return value


def model_logits(model: nn.Module, inputs: Tensor, batch_size: int = 64) -> Tensor:
    """``(N, K)`` outputs of ``model`` in chunks of ``batch_size``, under inference mode."""
    warn_if_training(model, "metric scores", stacklevel=5)
    chunks = []
    with torch.inference_mode():
        for start in range(0, inputs.shape[0], batch_size):
            out = model(inputs[start : start + batch_size])
            if not isinstance(out, Tensor) or out.ndim != 2:
                raise InvalidInputError(
                    "the metric needs a classifier returning (B, num_classes) scores; got "
                    f"{tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__}."
                )
            chunks.append(out.float())
    return torch.cat(chunks)


def select(logits: Tensor, index: Tensor, score: str) -> Tensor:
    """``(N,)``: the class's softmax probability (``"probability"``) or its logit."""
    check_score(score)
    if int(index.max()) >= logits.shape[1]:
        raise TargetError(
            f"class index {int(index.max())} is out of range for {logits.shape[1]} classes."
        )
    values = logits.softmax(dim=1) if score == "probability" else logits
    return values.gather(1, index[:, None].to(values.device))[:, 0]


def region_masks(masks: Any, boxes: Any, batch: int, size: Sequence[int], device: Any) -> Tensor:
    """``(B, H, W)`` bool object regions: ``masks`` as given, else the union of each image's boxes.

    Boxes are xyxy pixel coordinates, (B, 4) or a list of (n_i, 4); a box covers the pixels
    ``floor(x1) <= col < ceil(x2)``, ``floor(y1) <= row < ceil(y2)``.
    """
    h, w = int(size[0]), int(size[1])
    if masks is not None:
        masks = torch.as_tensor(masks, device=device)
        if masks.ndim == 4 and masks.shape[1] == 1:
            masks = masks[:, 0]
        if tuple(masks.shape) != (batch, h, w):
            raise InvalidInputError(
                f"masks must have shape (B, H, W) = {(batch, h, w)}, got {tuple(masks.shape)}."
            )
        return masks.bool()
    if boxes is None:
        raise InvalidInputError("this metric needs the objects: pass masks= or boxes=.")
    out = torch.zeros(batch, h, w, dtype=torch.bool, device=device)
    for i, image_boxes in enumerate(per_image_boxes(boxes, batch)):
        for x1, y1, x2, y2 in image_boxes.tolist():
            c0, c1 = max(math.floor(x1), 0), min(math.ceil(x2), w)
            r0, r1 = max(math.floor(y1), 0), min(math.ceil(y2), h)
            out[i, r0:r1, c0:c1] = True
    return out


def per_image_boxes(boxes: Any, batch: int) -> list[Tensor]:
    """One (n_i, 4) float tensor of xyxy boxes per image."""
    if isinstance(boxes, Tensor) and boxes.ndim == 2:
        boxes = [b[None] for b in boxes]
    items = [torch.as_tensor(b, dtype=torch.float32).reshape(-1, 4).cpu() for b in boxes]
    if len(items) != batch:
        raise InvalidInputError(f"got boxes for {len(items)} images, expected {batch}.")
    for b in items:
        if ((b[:, 2] < b[:, 0]) | (b[:, 3] < b[:, 1])).any():
            raise InvalidInputError(
                f"boxes must be xyxy with x2 >= x1 and y2 >= y1, got {b.tolist()}."
            )
    return items
