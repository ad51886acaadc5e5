"""Detection targets: explain a detected box (torchvision detectors) or chosen anchors (YOLO).

Per image, a torchvision detector (Faster R-CNN, RetinaNet, FCOS, SSD, ...) in eval mode returns a
dict ``{"boxes": (N, 4) xyxy, "labels": (N,), "scores": (N,)}``. :class:`BoxTarget` scores it
against reference boxes; :class:`PaddedDetections` wraps such a model so that it returns one
batched tensor ``(B, N, 6)`` of rows ``[x1, y1, x2, y2, score, label]`` (padding rows have label
``-1``), which every camlens method accepts; :class:`BoxTarget` reads both forms.

:class:`YOLOTarget` scores the raw output of a YOLO-style head, ``(N, 5 + classes)`` per image
(rows ``[x, y, w, h, objectness, class scores...]``): objectness × class score of chosen anchors.

:func:`fpn_layers` names the per-level output convolutions of a torchvision FPN, the layers to
explain (each level gives its own map; the fused map is their normalised mean).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import LayerNotFoundError, TargetError

__all__ = [
    "BoxTarget",
    "PaddedDetections",
    "YOLOTarget",
    "box_iou",
    "fpn_layers",
    "pad_detections",
    "unpad_detections",
]


def box_iou(a: Tensor, b: Tensor) -> Tensor:
    """``(N, M)`` intersection over union of boxes ``a (N, 4)`` and ``b (M, 4)`` in xyxy.

    The same numbers as ``torchvision.ops.box_iou``, except for two boxes of zero area (whose
    union is 0): torchvision gives NaN, this gives 1 for identical boxes and 0 otherwise."""
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    top_left = torch.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = (bottom_right - top_left).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = area_a[:, None] + area_b[None, :] - inter
    same = (a[:, None, :] == b[None, :, :]).all(dim=-1).to(inter.dtype)
    return torch.where(union > 0, inter / torch.where(union > 0, union, 1), same)


def _detections(output: object) -> tuple[Tensor, Tensor, Tensor]:
    """``(boxes (N, 4), labels (N,), scores (N,))`` of one image's detections."""
    if isinstance(output, Mapping):
        missing = {"boxes", "labels", "scores"} - set(output)
        if missing:
            raise TargetError(
                f"a detection output needs the keys 'boxes', 'labels' and 'scores'; "
                f"{sorted(missing)} missing (got {sorted(output)})."
            )
        return output["boxes"], output["labels"], output["scores"]
    if isinstance(output, Tensor) and output.ndim == 2 and output.shape[1] == 6:
        valid = output[:, 5] >= 0
        rows = output[valid]
        return rows[:, :4], rows[:, 5].round().long(), rows[:, 4]
    shape = tuple(output.shape) if isinstance(output, Tensor) else type(output).__name__
    raise TargetError(
        f"BoxTarget scores one image's detections: a dict with 'boxes', 'labels', 'scores' "
        f"(torchvision) or an (N, 6) tensor [x1, y1, x2, y2, score, label] (PaddedDetections), "
        f"not {shape}. For raw YOLO-style outputs (N, 5 + classes) use YOLOTarget."
    )


class BoxTarget:
    """The score of the detections that match reference boxes.

    For each reference box ``boxes[i]`` with label ``labels[i]``, the output detection of the same
    label with the highest IoU, if that IoU is at least ``iou_threshold``, adds its score; the
    target is the sum (0 when nothing matches: the map is then all zeros).

    ``match="iou", include_iou=True`` is pytorch-grad-cam's ``FasterRCNNBoxScoreTarget``: the
    detection with the highest IoU over *all* labels is taken, it counts only if its IoU is
    strictly above the threshold and its label is the reference label, and it adds ``IoU + score``
    (so the gradient also flows through the box regression).

    Args:
        labels: one class label per reference box.
        boxes: ``(K, 4)`` reference boxes, ``[x1, y1, x2, y2]`` in input pixels.
        iou_threshold: least IoU for a detection to match a reference box.
        match: ``"label"`` (camlens) or ``"iou"`` (pytorch-grad-cam), as above.
        include_iou: add the IoU of the matched box to its score.

    Shapes: one image's detections (a torchvision dict of ``boxes (N, 4)``, ``labels (N,)``,
    ``scores (N,)``, or a :class:`PaddedDetections` row block ``(N, 6)``) -> a scalar ``()``.

    Example:
        >>> import torch
        >>> detections = {"boxes": torch.tensor([[0.0, 0.0, 10.0, 10.0]]),
        ...               "labels": torch.tensor([3]), "scores": torch.tensor([0.9])}
        >>> BoxTarget([3], [[0.0, 0.0, 10.0, 9.0]])(detections)
        tensor(0.9000)
    """

    def __init__(
        self,
        labels: Sequence[int] | Tensor | int,
        boxes: Sequence[Sequence[float]] | Tensor | Any,
        iou_threshold: float = 0.5,
        *,
        match: str = "label",
        include_iou: bool = False,
    ) -> None:
        box_tensor = torch.as_tensor(boxes, dtype=torch.float32)
        if box_tensor.ndim == 1:
            box_tensor = box_tensor[None]
        if box_tensor.ndim != 2 or box_tensor.shape[1] != 4:
            raise TargetError(
                f"boxes must have shape (K, 4) as [x1, y1, x2, y2], got {tuple(box_tensor.shape)}."
            )
        label_tensor = torch.as_tensor(labels).reshape(-1).long()
        if label_tensor.numel() != box_tensor.shape[0]:
            raise TargetError(
                f"got {label_tensor.numel()} labels for {box_tensor.shape[0]} boxes; "
                "give one label per box."
            )
        if match not in ("label", "iou"):
            raise TargetError(f"match must be 'label' or 'iou', got {match!r}.")
        self.labels = label_tensor
        self.boxes = box_tensor
        self.iou_threshold = float(iou_threshold)
        self.match = match
        self.include_iou = include_iou

    @classmethod
    def from_detections(
        cls, detections: object, index: int | Sequence[int], iou_threshold: float = 0.5, **kwargs
    ) -> BoxTarget:
        """The target of detection(s) ``index`` of one image's output (dict or ``(N, 6)``)."""
        boxes, labels, _ = _detections(detections)
        picked = torch.as_tensor(index).reshape(-1)
        if picked.numel() and int(picked.max()) >= boxes.shape[0]:
            raise TargetError(
                f"detection {int(picked.max())} asked for, but the image has {boxes.shape[0]}."
            )
        return cls(
            labels[picked].detach().cpu(), boxes[picked].detach().cpu(), iou_threshold, **kwargs
        )

    def __call__(self, output: object) -> Tensor:
        boxes, labels, scores = _detections(output)
        total = scores[:0].sum()  # 0, and part of the graph when the scores are
        if boxes.shape[0] == 0:
            return total
        references = self.boxes.to(device=boxes.device, dtype=boxes.dtype)
        ious = box_iou(references, boxes)  # (K, N)
        wanted = self.labels.to(labels.device)
        same = labels[None, :] == wanted[:, None]
        if self.match == "label":
            masked = torch.where(same, ious, torch.full_like(ious, -1.0))
            best_iou, best = masked.max(dim=1)
            hit = best_iou >= self.iou_threshold
        else:
            best_iou, best = ious.max(dim=1)
            hit = (best_iou > self.iou_threshold) & same.gather(1, best[:, None])[:, 0]
        for k in hit.nonzero().flatten().tolist():
            index = int(best[k])
            total = total + scores[index]
            if self.include_iou:
                total = total + ious[k, index]
        return total

    def __repr__(self) -> str:
        return (
            f"BoxTarget(labels={self.labels.tolist()}, boxes={self.boxes.tolist()}, "
            f"iou_threshold={self.iou_threshold}, match={self.match!r})"
        )


class YOLOTarget:
    """Objectness × class score of chosen anchors of a YOLO-style output.

    Per image the output is ``(N, 5 + classes)``: rows ``[x, y, w, h, objectness, p_1..p_C]``
    (YOLOv3/v5 after the ``Detect`` head's decoding, before non-maximum suppression). The score is
    ``Σ_{a in anchors} obj_a · p_{a,c}`` with ``c = category``, or each anchor's best class when
    ``category`` is None.

    Args:
        anchors: indices of the rows (anchors/predictions) to explain.
        category: the class (0-based, counted after the 5 box/objectness columns) or None.
        sigmoid: apply a sigmoid to objectness and class columns first (for heads that output
            logits, e.g. a YOLO head in training mode).

    Shapes: one image's output ``(N, 5 + classes)`` -> a scalar ``()``.

    Example:
        >>> import torch
        >>> rows = torch.tensor([[5.0, 5.0, 2.0, 2.0, 0.5, 0.2, 0.8],
        ...                      [1.0, 1.0, 2.0, 2.0, 0.9, 0.6, 0.4]])
        >>> YOLOTarget(anchors=[0, 1], category=1)(rows)  # 0.5·0.8 + 0.9·0.4
        tensor(0.7600)
    """

    def __init__(
        self,
        anchors: int | Sequence[int] | Tensor,
        category: int | None = None,
        *,
        sigmoid: bool = False,
    ) -> None:
        self.anchors = torch.as_tensor(anchors).reshape(-1).long()
        if self.anchors.numel() == 0:
            raise TargetError("YOLOTarget needs at least one anchor index.")
        if category is not None and int(category) < 0:
            raise TargetError(f"category must be >= 0, got {category}.")
        self.category = None if category is None else int(category)
        self.sigmoid = sigmoid

    @classmethod
    def best(
        cls, output: Tensor, k: int = 1, category: int | None = None, *, sigmoid: bool = False
    ) -> YOLOTarget:
        """The target of the ``k`` anchors of one image's output with the highest score."""
        scores = cls(torch.arange(output.shape[0]), category, sigmoid=sigmoid).anchor_scores(
            output.detach()
        )
        return cls(scores.topk(k).indices.cpu(), category, sigmoid=sigmoid)

    def anchor_scores(self, output: Tensor) -> Tensor:
        """``(len(anchors),)``: objectness × class score of each chosen anchor."""
        if output.ndim != 2 or output.shape[1] < 6:
            raise TargetError(
                f"YOLOTarget needs one image's output of shape (N, 5 + classes), got "
                f"{tuple(output.shape)}."
            )
        if int(self.anchors.max()) >= output.shape[0] or int(self.anchors.min()) < -output.shape[0]:
            raise TargetError(
                f"anchor index out of range for an output with {output.shape[0]} rows."
            )
        classes = output.shape[1] - 5
        if self.category is not None and self.category >= classes:
            raise TargetError(f"category {self.category} out of range for {classes} classes.")
        rows = output[self.anchors.to(output.device)]
        scores = rows[:, 4:]
        if self.sigmoid:
            scores = torch.sigmoid(scores)
        objectness, classes_scores = scores[:, 0], scores[:, 1:]
        if self.category is None:
            chosen = classes_scores.max(dim=1).values
        else:
            chosen = classes_scores[:, self.category]
        return objectness * chosen

    def __call__(self, output: Tensor) -> Tensor:
        return self.anchor_scores(output).sum()

    def __repr__(self) -> str:
        return f"YOLOTarget(anchors={self.anchors.tolist()}, category={self.category})"


class PaddedDetections(nn.Module):
    """A torchvision detector that returns one tensor ``(B, N, 6)`` instead of a list of dicts.

    Rows are ``[x1, y1, x2, y2, score, label]`` in input pixels, in the detector's order; images
    with fewer than ``N`` (the batch's largest count) detections are padded with rows of zeros
    and label ``-1``. Gradients flow through boxes and scores. Use it until your camlens version
    takes list outputs directly; :func:`unpad_detections` gives the dicts back.

    The wrapper warns when the detector's transform padded the batch (to a multiple of its
    ``size_divisible``): the feature maps then cover more than the image and the map, stretched
    onto the input, is shifted. Give inputs whose sides are multiples of 32 (and set the
    detector's ``min_size``/``max_size`` to them, so it does not resize) to avoid it.

    Shapes: images ``(B, 3, H, W)`` (or a list of ``(3, H, W)``) -> ``(B, N, 6)``.

    Example:
        >>> import torch, torchvision
        >>> detector = torchvision.models.detection.fasterrcnn_mobilenet_v3_large_320_fpn(
        ...     weights=None, weights_backbone=None, num_classes=3, min_size=64, max_size=64
        ... ).eval()
        >>> out = PaddedDetections(detector)(torch.rand(2, 3, 64, 64))
        >>> out.shape[0], out.shape[2]
        (2, 6)
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor | Sequence[Tensor]) -> Tensor:
        transform = getattr(self.model, "transform", None)
        handle = None
        if isinstance(transform, nn.Module):
            handle = transform.register_forward_hook(self._check_padding)
        try:
            outputs = self.model(x)
        finally:
            if handle is not None:
                handle.remove()
        return pad_detections(outputs)

    def _check_padding(self, module: nn.Module, inputs: object, output: object) -> None:
        images = output[0] if isinstance(output, tuple) else output
        tensors, sizes = getattr(images, "tensors", None), getattr(images, "image_sizes", None)
        if tensors is None or sizes is None:
            return
        padded = any(tuple(s) != tuple(tensors.shape[-2:]) for s in sizes)
        if padded:
            warnings.warn(
                f"the detector padded its input from {[tuple(s) for s in sizes]} to "
                f"{tuple(tensors.shape[-2:])}; maps stretched onto the input are shifted. Use "
                "inputs whose sides are multiples of the detector's size_divisible (32).",
                UserWarning,
                stacklevel=4,
            )


def pad_detections(outputs: Sequence[Mapping[str, Tensor]]) -> Tensor:
    """Stack torchvision detection dicts into ``(B, N, 6)`` (see :class:`PaddedDetections`)."""
    rows = []
    for out in outputs:
        boxes, labels, scores = _detections(out)
        rows.append(torch.cat([boxes, scores[:, None], labels[:, None].to(boxes.dtype)], dim=1))
    count = max((r.shape[0] for r in rows), default=0)
    padded = []
    for r in rows:
        pad = r.new_zeros(count - r.shape[0], 6)
        pad[:, 5] = -1
        padded.append(torch.cat([r, pad]))
    return torch.stack(padded)


def unpad_detections(output: Tensor) -> list[dict[str, Tensor]]:
    """``(B, N, 6)`` from :class:`PaddedDetections` -> torchvision's list of dicts."""
    result = []
    for image in output:
        boxes, labels, scores = _detections(image)
        result.append({"boxes": boxes, "labels": labels, "scores": scores})
    return result


def fpn_layers(model: nn.Module) -> list[str]:
    """Names of the modules that output the levels of each torchvision FPN inside ``model``.

    These are ``fpn.layer_blocks.<i>`` (levels P2/P3.. of the backbone) and, for RetinaNet/FCOS,
    the extra ``p6``/``p7`` convolutions. Faster R-CNN's ``"pool"`` level is a max-pool of P5
    computed functionally (not a module) and feeds only the region proposals, whose boxes carry
    no gradient; it is left out. Pass the list as ``target_layers``.
    """
    from torchvision.ops import FeaturePyramidNetwork

    names = []
    for name, module in model.named_modules():
        if not isinstance(module, FeaturePyramidNetwork):
            continue
        prefix = f"{name}." if name else ""
        names += [f"{prefix}layer_blocks.{i}" for i in range(len(module.layer_blocks))]
        extra = module.extra_blocks
        if extra is not None:
            names += [
                f"{prefix}extra_blocks.{child}"
                for child in ("p6", "p7")
                if isinstance(getattr(extra, child, None), nn.Module)
            ]
    if not names:
        raise LayerNotFoundError(
            f"{type(model).__name__} holds no torchvision FeaturePyramidNetwork; name the layers "
            "to explain yourself (see camlens.layers(model, x))."
        )
    return names
