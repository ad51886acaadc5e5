"""Mirror of ``pytorch_grad_cam.finer_cam``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from torch import Tensor, nn

from ...core.base import BaseCAM as _CoreBaseCAM
from ...core.capture import ReshapeTransform
from ...core.layers import LayersSpec
from ...methods.finercam import FinerCAM as _FinerCAM
from ...methods.finercam import FinerTarget
from .base_cam import as_numpy, habana_core, mark_step, model_device, target_list, to_device
from .grad_cam import GradCAM

__all__ = ["DEFAULT_COMPARISON_CATEGORIES", "FinerCAM"]

DEFAULT_COMPARISON_CATEGORIES = (1, 2, 3)


class FinerCAM(_FinerCAM):
    """Finer-CAM: the base method's map of ``Σ_t p_t (y^c − α y^{d_t}) / Σ_t p_t``, the target
    class c against the classes d_t whose logits are closest to it (p = softmax).

    ``cam(input_tensor, targets=None, eigen_smooth=False, alpha=1, comparison_categories=None,
    target_idx=None)`` as in pytorch-grad-cam: without targets each image's class c is its top
    class (or ``target_idx``) and the comparisons are the classes at ranks
    ``comparison_categories`` (default 1, 2, 3) of the order by |y − y^c|. Given targets (e.g.
    ``FinerWeightedTarget``) are explained as they are, by the base method.
    """

    def __init__(
        self,
        model: nn.Module,
        target_layers: LayersSpec,
        reshape_transform: ReshapeTransform | None = None,
        base_method: type[_CoreBaseCAM] = GradCAM,
    ) -> None:
        super().__init__(model, target_layers, reshape_transform, base_method=base_method)
        self.base_cam = self.base
        if not hasattr(self.base_cam, "_htcore"):  # a native base method: no HPU hook of its own
            self.base_cam._htcore = habana_core(model_device(model))
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
        alpha: float = 1,
        comparison_categories: Sequence[int] | None = None,
        target_idx: int | None = None,
    ) -> np.ndarray:
        """``(B, H, W)`` float32 maps in [0, 1]; sets ``self.outputs``."""
        x = to_device(input_tensor, self.device)
        if targets is None:
            ranks = (
                DEFAULT_COMPARISON_CATEGORIES
                if comparison_categories is None
                else tuple(comparison_categories)
            )
            spec = FinerTarget(target_idx, ranks=ranks, alpha=alpha)
            explanation = self.explain(x, spec, eigen_smooth=eigen_smooth)
        else:
            explanation = self.base.explain(x, target_list(targets), eigen_smooth=eigen_smooth)
        mark_step(self.base_cam._htcore)
        self.outputs = explanation.outputs
        return as_numpy(explanation.maps)
