"""Mirror of ``pytorch_grad_cam.sess``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
from torch import Tensor, nn

from ...core.base import BaseCAM as _CoreBaseCAM
from ...core.capture import ReshapeTransform
from ...core.errors import TargetError
from ...core.layers import LayersSpec
from ...methods.sess import SESS as _SESS
from ...methods.sess import window_starts
from .base_cam import as_numpy, model_device, target_list, to_device
from .grad_cam import GradCAM

__all__ = ["SESS", "sliding_window", "window_starts"]

_NORM_EPS = 1e-7  # pytorch-grad-cam's scale_cam_image


class SESS(_SESS):
    """SESS (Saliency Enhancing with Scaling and Sliding) over ``base_method`` (Grad-CAM by
    default), with pytorch-grad-cam's arguments and numbers; extra keyword arguments go to
    ``base_method``.

    The patches of all images run together in chunks of ``batch_size``, and each patch's score
    comes from the forward pass of its CAM (pytorch-grad-cam runs every patch twice).
    ``cam(input_tensor, targets=None, eigen_smooth=False)``.
    """

    def __init__(
        self,
        model: nn.Module,
        target_layers: LayersSpec,
        reshape_transform: ReshapeTransform | None = None,
        base_method: type[_CoreBaseCAM] = GradCAM,
        scales: Sequence[int] | None = None,
        num_scales: int = 12,
        scale_step_ratio: float = 2.0 / 7.0,
        window_size: int | None = None,
        step_size: int | None = None,
        pre_filter_ratio: float = 0.0,
        theta: float = 0.0,
        pool: str = "mean",
        smooth: bool = True,
        use_softmax_scores: bool = True,
        batch_size: int = 32,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            model,
            target_layers,
            reshape_transform,
            base_method=base_method,
            scales=scales,
            num_scales=num_scales,
            scale_step_ratio=scale_step_ratio,
            window_size=window_size,
            step_size=step_size,
            pre_filter_ratio=pre_filter_ratio,
            theta=theta,
            pool=pool,  # type: ignore[arg-type]
            smooth=smooth,
            use_softmax_scores=use_softmax_scores,
            batch_size=batch_size,
            norm_eps=_NORM_EPS,
            **kwargs,
        )
        self.base_cam = self.base
        self.device = model_device(model)
        self.outputs: Tensor | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> np.ndarray:  # type: ignore[override]
        return self.forward(*args, **kwargs)

    def forward(
        self,
        input_tensor: Tensor,
        targets: Iterable[Callable[[Any], Tensor]] | None = None,
        eigen_smooth: bool = False,
    ) -> np.ndarray:
        """``(B, H, W)`` float32 maps in [0, 1]; sets ``self.outputs``."""
        x = to_device(input_tensor.detach(), self.device)
        targets = target_list(targets)
        if isinstance(targets, list) and len(targets) != x.shape[0]:
            # pytorch-grad-cam's SESS wants exactly one target per image (no broadcasting).
            raise TargetError(
                f"SESS expects one target per image: got {len(targets)} targets for "
                f"{x.shape[0]} images. Pass a list as long as the batch, or targets=None to "
                "explain each image's top class."
            )
        explanation = self.explain(x, targets, eigen_smooth=eigen_smooth)
        self.outputs = explanation.outputs
        return as_numpy(explanation.maps)


def sliding_window(
    height: int, width: int, step_size: int, window_size: int
) -> list[tuple[int, int]]:
    """The top-left corners ``(x, y)`` of the windows covering an image, row by row; windows
    that would cross the right or bottom border are moved back inside."""
    return [
        (x, y)
        for y in window_starts(height, step_size, window_size)
        for x in window_starts(width, step_size, window_size)
    ]
