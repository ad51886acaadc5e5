"""Mirror of ``pytorch_grad_cam.ablation_cam``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from ...core.base import LayerContext
from ...core.capture import ReshapeTransform
from ...core.layers import LayersSpec
from ...errors import LayerOutputError
from ...methods import _perturb
from ...methods.ablationcam import AblationCAM as _AblationCAM
from .ablation_layer import AblationLayer, AblationLayerFasterRCNN, AblationLayerVit
from .base_cam import BaseCAM

__all__ = ["AblationCAM"]


class AblationCAM(BaseCAM, _AblationCAM):
    """Ablation-CAM as pytorch-grad-cam computes it: ``w_k = (y − y_k) / y`` with y_k the score
    when channel k is ablated by ``ablation_layer``'s rule (see :mod:`.ablation_layer`).

    ablation_layer: ``AblationLayer()`` (default; CNN channels), ``AblationLayerVit()``
        (channels last, for transformer tokens) or ``AblationLayerFasterRCNN()`` (a dict of FPN
        levels, with ``fasterrcnn_reshape_transform``; the whole detector runs on the copies).
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
        if type(ablation_layer) not in (AblationLayer, AblationLayerVit, AblationLayerFasterRCNN):
            raise TypeError(
                "ablation_layer must be camlens.compat.pytorch_grad_cam.AblationLayer(), "
                f"AblationLayerVit() or AblationLayerFasterRCNN(), got "
                f"{type(ablation_layer).__name__}: camlens replaces the layer's output itself and "
                "cannot run a custom ablation module."
            )
        if not 0.0 < ratio_channels_to_ablate <= 1.0:
            raise ValueError(
                f"ratio_channels_to_ablate must be in (0, 1], got {ratio_channels_to_ablate}."
            )
        super().__init__(model, target_layers, reshape_transform)
        self.ablation_layer = ablation_layer
        self.batch_size = _perturb.check_batch_size(batch_size)
        self.ratio_channels_to_ablate = float(ratio_channels_to_ablate)
        self._image = 0  # the image whose copies _score_full runs
        if isinstance(ablation_layer, AblationLayerFasterRCNN):
            # A detector's RPN and heads take the batch of images, not a batch of features:
            # the whole network runs on the copies, as in pytorch-grad-cam.
            self.tail = False

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

    def _ablate(self, copies: Any, ctx: LayerContext, channels: Tensor) -> Any:
        if not isinstance(self.ablation_layer, AblationLayerFasterRCNN):
            return super()._ablate(copies, ctx, channels)
        if not isinstance(copies, Mapping) or not all(
            isinstance(v, Tensor) and v.ndim >= 2 for v in copies.values()
        ):
            raise LayerOutputError(
                "AblationLayerFasterRCNN ablates a layer that returns a dict of FPN levels "
                f"(B, C_l, h, w), such as a detector's backbone; this one returned "
                f"{type(copies).__name__}. Use AblationLayer() for a layer returning a tensor."
            )
        # pytorch-grad-cam ablates copies of the layer's output cached from the one-image pass
        # (its ablation layer stands in for the backbone): a detector's box scores can jump at
        # the rounding differences of the backbone run on a batch, so camlens does the same.
        recorded = getattr(self.adapter, "recorded_output", None)
        b = self._image
        cached = None if recorded is None else recorded(ctx.input, ctx.layer_index, b)
        if isinstance(cached, Mapping) and list(cached) == list(copies):
            for key, value in cached.items():
                copies[key] = value.expand(len(channels), *value.shape[1:]).clone()
        keys = list(copies)
        ends = torch.tensor([copies[k].shape[1] for k in keys]).cumsum(0).tolist()
        value = self.ablation_layer.value
        for j, k in enumerate(channels.tolist()):
            level = next((i for i, end in enumerate(ends) if k < end), None)
            if level is None:
                raise LayerOutputError(
                    f"channel {k} of the reshaped activations lies beyond the {ends[-1]} channels "
                    "of the layer's levels: AblationLayerFasterRCNN needs a reshape_transform "
                    "that concatenates the levels along channels (fasterrcnn_reshape_transform)."
                )
            start = ends[level - 1] if level else 0
            copies[keys[level]][j, k - start] = value
        return copies

    def _score_full(self, x1: Tensor, ctx: LayerContext, b: int, channels: Tensor) -> Tensor:
        self._image = b  # which image's recorded output _ablate repeats
        return super()._score_full(x1, ctx, b, channels)
