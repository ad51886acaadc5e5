"""Turn what users hand to :func:`camlens.evaluate` into batches of one shape.

Accepted ``data``:

- a set object with tensor attributes ``images`` (N, C, H, W), ``labels`` (N,) and optionally
  ``masks`` (N, H, W), ``boxes`` (N, 4) or a list, ``cue_masks`` (N, H, W) — the synthetic
  benchmark set — or a mapping with the same keys;
- a ``torch.utils.data.Dataset`` whose items are dicts or tuples ``(image, label[, mask])``
  (batched here, ``batch_size`` at a time);
- a tensor ``(N, C, H, W)`` of images alone (then ``targets="predicted"``);
- any other iterable of batches (a ``DataLoader``, a list, a generator), each a dict or a tuple
  ``(images, labels[, masks])``.

Dict keys may be singular or plural: ``image(s)``/``input(s)``/``x``, ``label(s)``/``target(s)``/
``y``, ``mask(s)``, ``box(es)``, ``cue_mask(s)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..core.errors import InvalidInputError

FIELDS: dict[str, tuple[str, ...]] = {
    "images": ("images", "image", "inputs", "input", "x", "pixel_values"),
    "labels": ("labels", "label", "targets", "target", "y"),
    "masks": ("masks", "mask"),
    "boxes": ("boxes", "box", "bboxes", "bbox"),
    "cue_masks": ("cue_masks", "cue_mask"),
}


@dataclass
class Batch:
    """One batch: ``images`` (B, C, H, W) float; ``labels`` (B,) long or ``None``;
    ``masks``, ``cue_masks`` (B, H, W) bool or ``None``; ``boxes`` (B, 4), a list of (n_i, 4)
    or ``None``.

    Example:
        >>> import torch
        >>> batch = Batch(torch.rand(4, 3, 8, 8), labels=torch.tensor([0, 1, 2, 3]))
        >>> small = batch.subset(torch.tensor([1, 3]))
        >>> len(small), small.labels.tolist()
        (2, [1, 3])
    """

    images: Tensor
    labels: Tensor | None = None
    masks: Tensor | None = None
    boxes: Any = None
    cue_masks: Tensor | None = None

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def get(self, name: str) -> Any:
        return getattr(self, name)

    def subset(self, rows: Tensor) -> Batch:
        """The images at ``rows`` (a (k,) index tensor) with their labels, masks and boxes."""
        index = rows.tolist()

        def take(value: Any) -> Any:
            if value is None:
                return None
            if isinstance(value, Tensor):
                return value[rows.to(value.device)]
            return [value[i] for i in index]

        return Batch(*(take(getattr(self, f)) for f in FIELDS))


def _as_tensor(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    return value


def _stack(values: Sequence[Any]) -> Any:
    """Stack per-item values into a batch; items of different shapes stay a list (boxes)."""
    values = [_as_tensor(v) for v in values]
    if all(isinstance(v, Tensor) for v in values):
        if len({tuple(v.shape) for v in values}) == 1:
            return torch.stack(values)
        return values
    if all(isinstance(v, int | np.integer) for v in values):
        return torch.tensor([int(v) for v in values])
    if all(isinstance(v, Tensor | int | np.integer) and not isinstance(v, bool) for v in values):
        return torch.tensor([int(v) for v in values])
    return list(values)


def _field(source: Any, name: str, getter: Any) -> Any:
    for key in FIELDS[name]:
        value = getter(source, key)
        if value is not None:
            return _as_tensor(value)
    return None


def _from_mapping(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _field(item, name, lambda m, k: m.get(k)) for name in FIELDS}


def _from_tuple(item: Sequence[Any]) -> dict[str, Any]:
    if not 1 <= len(item) <= 3:
        raise InvalidInputError(
            f"a data item or batch given as a tuple must be (images, labels[, masks]), got "
            f"{len(item)} elements; use a dict with keys images/labels/masks/boxes instead."
        )
    fields = dict.fromkeys(FIELDS)
    for name, value in zip(("images", "labels", "masks"), item, strict=False):
        fields[name] = _as_tensor(value)
    return fields


def _record(item: Any) -> dict[str, Any]:
    if isinstance(item, Mapping):
        return _from_mapping(item)
    if isinstance(item, tuple | list):
        return _from_tuple(item)
    if isinstance(item, Tensor | np.ndarray):
        return {"images": _as_tensor(item)} | {n: None for n in FIELDS if n != "images"}
    raise InvalidInputError(
        f"cannot read a batch from {type(item).__name__}: give dicts with keys images/labels"
        "[/masks/boxes/cue_masks] or tuples (images, labels[, masks])."
    )


def _to_batch(fields: dict[str, Any]) -> Batch:
    images = fields["images"]
    if not isinstance(images, Tensor) or images.ndim != 4:
        shape = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise InvalidInputError(
            f"images must be a float tensor (B, C, H, W), got {shape}; convert PIL images with a "
            "transform (e.g. torchvision's ToTensor) before evaluating."
        )
    if not images.is_floating_point():
        raise InvalidInputError(
            f"images must be floating point (got {images.dtype}); scale uint8 images to [0, 1] "
            "and pass the model's normalisation as preprocess=..."
        )
    labels = fields["labels"]
    if labels is not None:
        labels = torch.as_tensor(labels).long().reshape(-1)
        if labels.numel() != images.shape[0]:
            raise InvalidInputError(
                f"{images.shape[0]} images but {labels.numel()} labels in one batch."
            )
    masks, cue = fields["masks"], fields["cue_masks"]
    for name, value in (("masks", masks), ("cue_masks", cue)):
        if value is not None and (
            not isinstance(value, Tensor)
            or tuple(value.shape) != (images.shape[0], *images.shape[2:])
        ):
            shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
            raise InvalidInputError(
                f"{name} must be (B, H, W) = {(images.shape[0], *images.shape[2:])} like the "
                f"images, got {shape}."
            )
    return Batch(
        images=images,
        labels=labels,
        masks=masks.bool() if masks is not None else None,
        boxes=fields["boxes"],
        cue_masks=cue.bool() if cue is not None else None,
    )


def _collate(items: list[Any]) -> Batch:
    records = [_record(item) for item in items]
    fields = {}
    for name in FIELDS:
        values = [r[name] for r in records]
        present = [v is not None for v in values]
        if any(present) and not all(present):
            raise InvalidInputError(f"some items have {name} and some do not; give all or none.")
        fields[name] = _stack(values) if all(present) else None
    return _to_batch(fields)


def _slices(fields: dict[str, Any], batch_size: int) -> Iterator[Batch]:
    n = int(fields["images"].shape[0])
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        yield _to_batch({k: (v[start:stop] if v is not None else None) for k, v in fields.items()})


def _is_dataset(data: Any) -> bool:
    return isinstance(data, torch.utils.data.Dataset) and hasattr(data, "__len__")


def _whole_set(data: Any) -> dict[str, Any] | None:
    """The fields of a whole data set held in tensors (an object or a mapping), else ``None``."""
    if isinstance(data, Mapping):
        fields = _from_mapping(data)
        if not isinstance(fields["images"], Tensor):
            raise InvalidInputError(
                f"the mapping has no images tensor (keys: {', '.join(map(str, data))}); give "
                "'images' (N, C, H, W) and 'labels', 'masks', 'boxes' as needed."
            )
        return fields  # checked batch by batch, with a message that says what is wrong
    if isinstance(data, Tensor | np.ndarray):
        fields = _record(data)
    elif any(isinstance(getattr(data, key, None), Tensor) for key in ("images", "inputs")):
        fields = {name: _field(data, name, lambda o, k: getattr(o, k, None)) for name in FIELDS}
    else:
        return None
    if not isinstance(fields["images"], Tensor) or fields["images"].ndim != 4:
        return None
    return fields


def count(data: Any) -> int | None:
    """Number of images in ``data`` when it can be known without iterating, else ``None``."""
    fields = _whole_set(data)
    if fields is not None:
        return int(fields["images"].shape[0])
    if _is_dataset(data):
        return len(data)
    return None


def batches(data: Any, batch_size: int, limit: int | None = None) -> Iterator[Batch]:
    """Yield :class:`Batch` es of ``data`` (see the module docstring), at most ``limit`` images."""
    if batch_size < 1:
        raise InvalidInputError(f"batch_size must be >= 1, got {batch_size}.")
    fields = _whole_set(data)
    if fields is not None:
        source: Iterable[Batch] = _slices(fields, batch_size)
    elif _is_dataset(data):
        source = (
            _collate([data[i] for i in range(start, min(start + batch_size, len(data)))])
            for start in range(0, len(data), batch_size)
        )
    elif isinstance(data, Iterable) and not isinstance(data, str | bytes):
        source = (_to_batch(_record(b)) if not isinstance(b, Batch) else b for b in data)
    else:
        raise InvalidInputError(
            f"cannot evaluate on {type(data).__name__}: give a data set object with images/labels, "
            "a torch Dataset, a tensor of images, or an iterable of batches."
        )
    seen = 0
    for batch in source:
        if limit is not None and seen + len(batch) > limit:
            if limit - seen > 0:
                yield batch.subset(torch.arange(limit - seen))
            return
        seen += len(batch)
        yield batch
