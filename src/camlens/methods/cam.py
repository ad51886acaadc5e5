"""CAM — Zhou et al., "Learning Deep Features for Discriminative Localization", CVPR 2016.

For a network that ends in global average pooling + one linear layer ``fc``:

    L^c = ReLU(Σ_k w_k^c A^k)      with w^c = fc.weight[c]  (no gradients needed)

``fc_layer`` is found automatically (the model's last ``nn.Linear``) or given (module or name).
Targets must be class indices (``ClassTarget``). Shapes: A ``(B, C, *spatial)``, w ``(B, C)``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..core.adapters import require_torch_model
from ..core.base import BaseCAM, LayerContext
from ..core.errors import LayerNotFoundError, TargetError
from ..core.layers import resolve_layers


class CAM(BaseCAM):
    """CAM: the final linear layer's class weights on the last feature maps.

    ``L^c = ReLU(Σ_k w_k^c A^k)`` with ``w^c = fc.weight[c]``; no gradients, class targets
    only. Shapes: A ``(B, C, h, w)``, w ``(B, C)`` -> map ``(B, H, W)``. Formula and reference:
    the docstring of ``camlens.methods.cam``.

    Example:
        >>> cam = CAM(model, target_layers="layer4")
        >>> maps = cam(x, targets=[ClassTarget(281)])  # (B, H, W) in [0, 1]
    """

    uses_gradients = False

    def __init__(self, model: nn.Module, target_layers, *args, fc_layer=None, **kwargs) -> None:
        require_torch_model(model, "CAM")
        super().__init__(model, target_layers, *args, **kwargs)
        if fc_layer is None:
            linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
            if not linears:
                raise LayerNotFoundError(
                    "CAM needs a final linear layer after global average pooling; the model has "
                    "no nn.Linear. Pass fc_layer=, or use GradCAM, which needs none."
                )
            fc_layer = linears[-1]
        self.fc = resolve_layers(model, fc_layer)[0][1]
        if not isinstance(self.fc, nn.Linear):
            raise LayerNotFoundError(
                f"fc_layer must be an nn.Linear, got {type(self.fc).__name__}."
            )

    def weighted_activations(
        self, activations: Tensor, gradients: Tensor | None, ctx: LayerContext
    ) -> Tensor:
        channels = activations.shape[1]
        if self.fc.in_features != channels:
            raise LayerNotFoundError(
                f"the linear layer takes {self.fc.in_features} features but the target layer has "
                f"{channels} channels; CAM needs the last conv layer feeding global average "
                "pooling and fc_layer the linear layer after it."
            )
        categories = [getattr(t, "category", None) for t in ctx.targets]
        if any(c is None for c in categories):
            raise TargetError("CAM explains class indices only: use ClassTarget targets.")
        index = torch.tensor(categories, device=activations.device)
        weights = self.fc.weight.detach()[index].to(activations.dtype)  # (B, C)
        return weights.view(*weights.shape, *([1] * (activations.ndim - 2))) * activations
