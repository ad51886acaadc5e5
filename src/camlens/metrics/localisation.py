"""Weakly-supervised localisation (Selvaraju et al., Grad-CAM, ICCV 2017, sec. 4.1; the ILSVRC
protocol of Zhou et al., CAM, CVPR 2016).

Per image: keep the pixels with ``L >= threshold · max L`` (15 %), take the largest 8-connected
region (``scipy.ndimage.label``), draw its bounding box, and compute its IoU with the ground-truth
boxes (the best-matching one). An image is localised when IoU >= 0.5 (and, if ``labels=`` is
given to ``update``, the explained class is the true class: ILSVRC top-1 localisation).

    localisation error = 1 - mean_i [IoU_i >= 0.5]

Lower is better; ``metric.ious`` holds the per-image IoUs. Without boxes, each 8-connected
component of the mask gives one ground-truth box. Boxes are xyxy pixel-edge coordinates: a
region covering columns c0..c1 and rows r0..r1 has box (c0, r0, c1 + 1, r1 + 1).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..core.errors import InvalidInputError
from ._utils import (
    as_maps,
    check_inputs,
    class_indices,
    per_image_boxes,
    region_masks,
    require_scipy,
)
from .base import PerImageMetric

EIGHT = np.ones((3, 3), dtype=int)


class Localisation(PerImageMetric):
    """Localisation error at IoU >= ``iou`` of the map's box (see the module docstring).

    ``1 − mean_i [IoU(box of the largest region with L ≥ threshold · max L, ground truth) ≥ iou]``.
    Shapes: ``maps (B, H, W)``, ``masks (B, H, W)`` bool (or ``boxes``, xyxy pixels);
    ``compute()`` -> a float, ``per_image`` -> ``(N,)``.

    Example:
        >>> import torch
        >>> maps = torch.zeros(1, 4, 4)
        >>> maps[0, 0, 0] = 1.0
        >>> masks = torch.zeros(1, 4, 4, dtype=torch.bool)
        >>> masks[0, :2, :2] = True
        >>> metric = Localisation()
        >>> metric.update(inputs=torch.rand(1, 3, 4, 4), maps=maps, masks=masks)
        >>> metric.compute()  # the map's box (1 pixel) has IoU 1/4 with the object's
        1.0
    """

    name = "localisation"
    higher_is_better = False
    requires = frozenset({"masks_or_boxes"})

    def __init__(self, threshold: float = 0.15, iou: float = 0.5) -> None:
        self.threshold, self.iou = float(threshold), float(iou)
        super().__init__()

    def reset(self) -> None:
        super().reset()
        self._ious: list[Tensor] = []

    @property
    def ious(self) -> Tensor:
        """``(N,)`` IoU of each image's predicted box with its best ground-truth box."""
        return torch.cat(self._ious) if self._ious else torch.zeros(0, dtype=torch.float64)

    def update(
        self,
        *,
        inputs: Tensor,
        maps: Tensor,
        targets: Any = None,
        model: nn.Module | None = None,
        masks: Tensor | None = None,
        boxes: Any = None,
        labels: Any = None,
        **kwargs: Any,
    ) -> None:
        maps = as_maps(maps, check_inputs(inputs)).cpu().numpy()
        b = maps.shape[0]
        if boxes is not None:
            truth = [t.numpy() for t in per_image_boxes(boxes, b)]
        else:
            regions = region_masks(masks, None, b, maps.shape[1:], "cpu").numpy()
            truth = [mask_boxes(r) for r in regions]
        ious = torch.tensor(
            [best_iou(map_box(m, self.threshold), t) for m, t in zip(maps, truth, strict=True)],
            dtype=torch.float64,
        )
        hit = ious >= self.iou
        if labels is not None:
            if targets is None:
                raise InvalidInputError("labels= needs targets= (the explained classes).")
            explained = class_indices(targets, b, torch.device("cpu"))
            hit &= explained == class_indices(labels, b, torch.device("cpu"))
        self._ious.append(ious)
        self._values.append(1.0 - hit.double())


def map_box(heatmap: np.ndarray, threshold: float) -> np.ndarray | None:
    """xyxy box of the largest 8-connected region with ``L >= threshold · max L`` (or None)."""
    require_scipy("Localisation")
    from scipy import ndimage

    top = heatmap.max()
    if top <= 0:
        return None
    labelled, _ = ndimage.label(heatmap >= threshold * top, structure=EIGHT)
    largest = 1 + int(np.bincount(labelled.ravel())[1:].argmax())
    rows, cols = np.nonzero(labelled == largest)
    return np.array([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1], dtype=float)


def mask_boxes(mask: np.ndarray) -> np.ndarray:
    """``(n, 4)`` xyxy box of each 8-connected component of a bool mask."""
    require_scipy("Localisation")
    from scipy import ndimage

    labelled, _ = ndimage.label(mask, structure=EIGHT)
    found = ndimage.find_objects(labelled)
    return np.array([[s[1].start, s[0].start, s[1].stop, s[0].stop] for s in found], dtype=float)


def best_iou(box: np.ndarray | None, truth: np.ndarray) -> float:
    """Largest IoU of ``box`` with any row of ``truth`` (n, 4); 0 without a box."""
    if box is None or len(truth) == 0:
        return 0.0
    truth = truth.reshape(-1, 4)
    w = np.clip(np.minimum(box[2], truth[:, 2]) - np.maximum(box[0], truth[:, 0]), 0, None)
    h = np.clip(np.minimum(box[3], truth[:, 3]) - np.maximum(box[1], truth[:, 1]), 0, None)
    inter = w * h
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (truth[:, 2] - truth[:, 0]) * (truth[:, 3] - truth[:, 1])
    return float((inter / np.maximum(area + areas - inter, 1e-12)).max())
