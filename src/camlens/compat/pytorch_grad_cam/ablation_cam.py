"""Mirror of ``pytorch_grad_cam.ablation_cam``."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from ...core.base import LayerContext
from ...core.capture import ReshapeTransform
from ...core.layers import LayersSpec
from ...methods import _perturb
from ...methods.ablationcam import AblationCAM as _AblationCAM
from .ablation_layer import AblationLayer, AblationLayerVit
from .base_cam import BaseCAM

__all__ = ["AblationCAM"]


class AblationCAM(BaseCAM, _AblationCAM):
    """Ablation-CAM as pytorch-grad-cam computes it: ``w_k = (y − y_k) / y`` with y_k the score
    when channel k is ablated by ``ablation_layer``'s rule (see :mod:`.ablation_layer`).

    ablation_layer: ``AblationLayer()`` (default; CNN channels) or ``AblationLayerVit()``
        (channels last, for transformer tokens).
    batch_size: pytorch-grad-cam's batch of ablated copies: its ablation values depend on a
        copy's place in its batch, and camlens gives every copy the value it gets there. The
        forward passes themselves take as many whole such batches as the 512 MiB budget holds
        (on the "head-once" and "tail" paths; the "full" path runs one batch per pass), so a
        small ``batch_size`` does not mean many small passes.
    ratio_channels_to_ablate: below 1, only pytorch-grad-cam's heuristic pick of channels is
        ablated; the others get weight 0.

    Only the network after the target layer runs on the ablated copies when the model allows it
    (pytorch-grad-cam runs the whole network for each copy), and the part before the layer is not
    run again at all: every chunk is fed from the outputs recorded in the one capture pass
    (``last_path == "head-once"``; see docs/perturbation.md), so ``batch_size`` sets the chunks,
    and with them the ablation values, without costing forward passes. The numbers are the same.
    """

    native_options: ClassVar[dict[str, Any]] = {
        "ablation_value": "pytorch-grad-cam",
        "denominator": "plain",
    }

    def __init__(
        self,
        model: nn.Module,
        target_layers: LayersSpec,
        reshape_transform: ReshapeTransform | None = None,
        ablation_layer: AblationLayer | None = None,
        batch_size: int = 32,
        ratio_channels_to_ablate: float = 1.0,
    ) -> None:
        ablation_layer = AblationLayer() if ablation_layer is None else ablation_layer
        if type(ablation_layer) not in (AblationLayer, AblationLayerVit):
            raise TypeError(
                "ablation_layer must be camlens.compat.pytorch_grad_cam.AblationLayer() or "
                f"AblationLayerVit(), got {type(ablation_layer).__name__}: camlens replaces the "
                "layer's output itself and cannot run a custom ablation module."
            )
        if not 0.0 < ratio_channels_to_ablate <= 1.0:
            raise ValueError(
                f"ratio_channels_to_ablate must be in (0, 1], got {ratio_channels_to_ablate}."
            )
        super().__init__(model, target_layers, reshape_transform)
        self.ablation_layer = ablation_layer
        self.batch_size = _perturb.check_batch_size(batch_size)
        self.ratio_channels_to_ablate = float(ratio_channels_to_ablate)

    @property
    def value_period(self) -> int | None:  # type: ignore[override]
        return self.batch_size

    def _chunk(self, ctx: LayerContext, path: str, total: int) -> int:
        """Forward chunks of whole ``batch_size`` batches, as many as the memory budget holds
        (the values restart every ``batch_size`` copies: :attr:`value_period`)."""
        if path == "full" or self.batch_size is None:
            return super()._chunk(ctx, path, total)
        fits = _perturb.chunk_size(
            None,
            self.max_memory,
            lambda: self.copy_bytes(ctx.input, ctx.layer_index, "tail"),
            total,
        )
        return max(self.batch_size, fits // self.batch_size * self.batch_size)

    def _channel_positions(self, copies: Tensor, ctx: LayerContext) -> Tensor:
        if self.ablation_layer.channel_axis == 1:
            return super()._channel_positions(copies, ctx)
        # Channels last: channel k is every C-th value of one copy, in every token.
        channels = copies.shape[-1]
        ids = torch.arange(copies[0].numel(), device=copies.device)
        return ids.view(-1, channels).T.contiguous()
