"""Mirror of ``pytorch_grad_cam.refine_cam``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ...core import smoothing
from ...core.base import BaseCAM as _CoreBaseCAM
from ...core.base import Explanation
from ...core.contract import ReshapeTransform, check_input
from ...core.layers import LayersSpec
from ...core.postprocess import normalize
from ...methods.refinecam import RefineCAM as _RefineCAM
from .base_cam import as_numpy, model_device, target_list, to_device
from .grad_cam_plusplus import GradCAMPlusPlus

__all__ = ["RefineCAM"]

_NORM_EPS = 1e-7  # pytorch-grad-cam's scale_cam_image


class RefineCAM(_RefineCAM):
    """RefineCAM: the product over ``target_layers`` of the base method's single-layer maps
    (Grad-CAM++ by default), normalised. All layers come from one forward and backward pass.

    Extra keyword arguments go to ``base_method``. ``cam(input_tensor, targets=None,
    eigen_smooth=False)``; the keyword ``aug_smooth=True`` averages each layer's map over the six
    test-time augmentations before the product — what pytorch-grad-cam 1.5.7 computes for
    ``eigen_smooth=True``, which it hands to its base method's ``aug_smooth`` position.
    """

    def __init__(
        self,
        model: nn.Module,
        target_layers: LayersSpec,
        reshape_transform: ReshapeTransform | None = None,
        base_method: type[_CoreBaseCAM] = GradCAMPlusPlus,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            model,
            target_layers,
            reshape_transform,
            base_method=base_method,
            norm_eps=_NORM_EPS,
            **kwargs,
        )
        self.target_layers = target_layers
        self.reshape_transform = reshape_transform
        self.device = model_device(model)
        self.outputs: Tensor | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> np.ndarray:  # type: ignore[override]
        return self.forward(*args, **kwargs)

    def forward(
        self,
        input_tensor: Tensor,
        targets: Iterable[Callable[[Any], Tensor]] | None = None,
        eigen_smooth: bool = False,
        *,
        aug_smooth: bool = False,
    ) -> np.ndarray:
        """``(B, H, W)`` float32 maps in [0, 1]; sets ``self.outputs``."""
        x = to_device(input_tensor, self.device)
        targets = target_list(targets)
        if aug_smooth:
            maps, outputs = self._layerwise_aug_smooth(x, targets, eigen_smooth)
        else:
            explanation = self.explain(x, targets, eigen_smooth=eigen_smooth)
            maps, outputs = explanation.maps, explanation.outputs
        self.outputs = outputs
        return as_numpy(maps)

    def _layerwise_aug_smooth(
        self, x: Tensor, targets: object, eigen_smooth: bool
    ) -> tuple[Tensor, Tensor]:
        """Each layer's single-layer map averaged over the augmentations, then the product."""
        size = check_input(x).shape[2:]

        def run(xs: Tensor, sets: Sequence[object], rows: Tensor) -> list[Explanation]:
            capture = self.adapter.capture(xs, sets, gradients=self.uses_gradients, rank_rows=rows)
            (explanation,) = self.base.explanations(capture, eigen_smooth=eigen_smooth)
            per_layer = {n: self.base.fuse([m], size)[1] for n, m in explanation.raw.items()}
            return [replace(explanation, per_layer=per_layer)]

        (explanation,) = smoothing.smoothed(run, x, [targets])
        product = torch.stack(list(explanation.per_layer.values())).prod(dim=0)
        return normalize(product, _NORM_EPS), explanation.outputs
