"""captum's ``LayerGradCam`` on top of camlens: the signed Grad-CAM map at the layer's resolution.

captum's default (``relu_attributions=False``) keeps the map's sign: ``Σ_k mean_ij(g_k) A_k``,
negative where the layer's evidence speaks against the class. camlens' maps are ReLU'd and
normalised; this shim gives captum's numbers::

    from camlens.compat.captum import LayerAttribution, LayerGradCam

    gc = LayerGradCam(model, model.layer4)
    attr = gc.attribute(x, target=281)                      # (B, 1, h, w), signed
    up = LayerAttribution.interpolate(attr, x.shape[2:])    # captum's nearest upsampling

The gradients and activations come from camlens' capture (one forward and backward pass); the
map is :class:`camlens.GradCAM`'s ``layer_map`` before its ReLU. Supported: one input tensor,
class-index targets (an int, a list, or a ``(B,)`` tensor), layer outputs (not inputs).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import methods
from ..core.errors import CamlensError, TargetError
from ..targets import ClassTarget
from ._layer_maps import layer_maps

__all__ = ["LayerAttribution", "LayerGradCam"]


class LayerAttribution:
    """captum's helper for layer attributions."""

    @staticmethod
    def interpolate(
        layer_attribution: Tensor,
        interpolate_dims: int | Sequence[int],
        interpolate_mode: str = "nearest",
    ) -> Tensor:
        """``F.interpolate(layer_attribution, interpolate_dims, mode=interpolate_mode)``."""
        size = (interpolate_dims,) if isinstance(interpolate_dims, int) else interpolate_dims
        return F.interpolate(layer_attribution, tuple(size), mode=interpolate_mode)


class LayerGradCam:
    """Grad-CAM attributions of ``layer``, as ``captum.attr.LayerGradCam``.

    Args:
        forward_func: the model (an ``nn.Module``).
        layer: the layer (module or dotted name) whose output is explained.
        device_ids: accepted for captum's signature (DataParallel); unused.
    """

    def __init__(
        self, forward_func: nn.Module, layer: nn.Module | str, device_ids: Any = None
    ) -> None:
        if not isinstance(forward_func, nn.Module):
            raise TypeError(
                "camlens.compat.captum.LayerGradCam needs the model as an nn.Module, not "
                f"{type(forward_func).__name__}."
            )
        self.forward_func = forward_func
        self.layer = layer
        self.device_ids = device_ids
        self._method = methods.GradCAM(forward_func, [layer], reshape_transform=_as_is)

    def attribute(
        self,
        inputs: Tensor | tuple[Tensor],
        target: int | Sequence[int] | Tensor | None = None,
        additional_forward_args: Any = None,
        attribute_to_layer_input: bool = False,
        relu_attributions: bool = False,
        attr_dim_summation: bool = True,
        grad_kwargs: dict[str, Any] | None = None,
    ) -> Tensor:
        """``(B, 1, *layer_spatial)``: ``Σ_k mean(∂y/∂A_k) A_k`` (signed unless
        ``relu_attributions``); ``(B, C, *layer_spatial)`` per channel when
        ``attr_dim_summation=False``."""
        if isinstance(inputs, tuple):
            if len(inputs) != 1:
                raise CamlensError("pass one input tensor (several inputs are not supported).")
            inputs = inputs[0]
        if additional_forward_args is not None or attribute_to_layer_input or grad_kwargs:
            raise CamlensError(
                "additional_forward_args, attribute_to_layer_input and grad_kwargs are not "
                "supported: explain the layer's output of model(inputs)."
            )
        targets = _class_targets(target, inputs.shape[0])
        (attribution,) = layer_maps(
            self._method, inputs, targets, relu=False, summed=attr_dim_summation
        )
        if attr_dim_summation:
            attribution = attribution.unsqueeze(1)
        attribution = attribution.to(inputs.dtype)
        return torch.relu(attribution) if relu_attributions else attribution


def _as_is(output: Tensor) -> Tensor:
    """captum explains the layer's output as it is (``(B, C, *spatial)``)."""
    return output


def _class_targets(target: object, batch: int) -> list[ClassTarget]:
    if isinstance(target, Tensor):
        target = target.tolist() if target.ndim else int(target)
    if isinstance(target, int):
        return [ClassTarget(target)] * batch
    if isinstance(target, list | tuple) and all(isinstance(t, int) for t in target):
        if len(target) != batch:
            raise TargetError(f"got {len(target)} targets for {batch} inputs: give one per input.")
        return [ClassTarget(t) for t in target]
    raise TargetError(
        f"target must be a class index, a list of them or a (B,) tensor; got {target!r}."
    )
