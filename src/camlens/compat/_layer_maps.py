"""Per-layer maps at the layer's resolution, before upsampling and normalising: what torchcam
and captum return. Shared by :mod:`camlens.compat.torchcam` and :mod:`camlens.compat.captum`.

camlens' :class:`~camlens.Explanation` keeps ``raw`` (after the ReLU); the signed map before it
(captum's ``LayerGradCam`` default, torchcam's ``CAM``) is the method's ``layer_map`` on the same
capture, computed here with the core's own :class:`~camlens.core.base.LayerContext`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..core.base import BaseCAM, LayerContext
from ..core.errors import CamlensError

__all__ = ["layer_maps"]


def _own_pipeline(method: BaseCAM) -> bool:
    """True when the method runs its own passes (e.g. Smooth Grad-CAM++'s noisy copies)."""
    cls = type(method)
    return (
        cls.explain_targets is not BaseCAM.explain_targets
        or cls.explanations is not BaseCAM.explanations
    )


def layer_maps(
    method: BaseCAM, x: Tensor, targets: object, *, relu: bool, summed: bool = True
) -> list[Tensor]:
    """``[(B, *layer_spatial)]`` per target layer: ``Σ_k w_k A^k`` (the method's map), after a
    ReLU when ``relu`` else signed; with ``summed=False`` the terms ``w_k A^k``,
    ``(B, C, *layer_spatial)``. One forward (and backward) pass, as ``method.explain``."""
    if _own_pipeline(method):
        if not relu or not summed:
            raise CamlensError(
                f"{type(method).__name__} runs its own passes and gives only its ReLU'd, "
                "channel-summed map."
            )
        return [m.float() for m in method.explain(x, targets).raw.values()]
    x = method.prepare_input(x)
    capture = method.adapter.capture(
        x, [targets], gradients=method.uses_gradients, differentiable=method.differentiable
    )
    maps = []
    for layer, activations in enumerate(capture.activations):
        ctx = LayerContext(
            input=capture.inputs,
            targets=capture.targets[0],
            scores=capture.scores[0],
            outputs=capture.outputs,
            layer_name=capture.layer_names[layer],
            layer_index=layer,
            adapter=capture.adapter,
        )
        grads = capture.gradients[0][layer] if capture.gradients else None
        if summed:
            layer_map = method.layer_map(activations, grads, ctx).detach().float()
        else:
            layer_map = method.weighted_activations(activations, grads, ctx).detach().float()
        maps.append(torch.relu(layer_map) if relu else layer_map)
    return maps
