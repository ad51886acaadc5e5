"""Mirror of ``torchcam.methods.activation``: CAM and the Score-CAM family.

The Score-CAM family is camlens' (``camlens.ScoreCAM`` / ``SSCAM`` / ``ISCAM``) with torchcam's
mask convention: each channel min-max normalised at the layer's resolution (``+ 1e-8``), then
upsampled bilinearly without corner alignment (``normalize_first=True, mask_eps=1e-8``). The
noise of SS-CAM is drawn from torch's global RNG in torchcam's order, so ``torch.manual_seed``
before either gives the same maps.
"""

from __future__ import annotations

from typing import Any, ClassVar

from torch import nn

from .... import methods
from ....core.base import BaseCAM
from .core import _CAM, LayerSpec

__all__ = ["CAM", "ISCAM", "SSCAM", "ScoreCAM"]

_TORCHCAM_MASKS = {"normalize_first": True, "mask_eps": 1e-8}


class CAM(_CAM):
    """CAM (Zhou et al. 2016): ``Σ_k w_k^c A^k`` with ``w^c = fc.weight[c]``, not ReLU'd (as in
    torchcam), normalised. ``fc_layer``: the final linear layer (module or name; found when
    ``None``). One target layer only."""

    _relu: ClassVar[bool] = False

    def __init__(
        self,
        model: nn.Module,
        target_layer: LayerSpec = None,
        fc_layer: nn.Module | str | None = None,
        input_shape: tuple[int, ...] = (3, 224, 224),
        **kwargs: Any,
    ) -> None:
        if isinstance(target_layer, list) and len(target_layer) > 1:
            raise ValueError("base CAM does not support multiple target layers")
        if fc_layer is None:
            linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
            if len(linears) > 1:
                raise ValueError(
                    "This CAM method does not support multiple fully connected layers."
                )
        super().__init__(model, target_layer, input_shape, fc_layer=fc_layer, **kwargs)

    def _method(self, model, target_layer, reshape_transform, **options: Any) -> BaseCAM:
        return methods.CAM(model, target_layer, reshape_transform, fc_layer=options["fc_layer"])


class ScoreCAM(_CAM):
    """Score-CAM: channel weights softmax over the scores of the input masked by each channel;
    ``batch_size`` masked inputs per forward pass."""

    def __init__(
        self,
        model: nn.Module,
        target_layer: LayerSpec = None,
        batch_size: int = 32,
        input_shape: tuple[int, ...] = (3, 224, 224),
        **kwargs: Any,
    ) -> None:
        self.bs = batch_size
        super().__init__(model, target_layer, input_shape, **kwargs)

    def _method(self, model, target_layer, reshape_transform, **options: Any) -> BaseCAM:
        return methods.ScoreCAM(
            model, target_layer, reshape_transform, batch_size=self.bs, **_TORCHCAM_MASKS
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(batch_size={self.bs})"


class SSCAM(ScoreCAM):
    """SS-CAM: Score-CAM's scores averaged over ``num_samples`` noisy masked inputs (σ = std)."""

    def __init__(
        self,
        model: nn.Module,
        target_layer: LayerSpec = None,
        batch_size: int = 32,
        num_samples: int = 35,
        std: float = 2.0,
        input_shape: tuple[int, ...] = (3, 224, 224),
        **kwargs: Any,
    ) -> None:
        self.num_samples = num_samples
        self.std = std
        super().__init__(model, target_layer, batch_size, input_shape, **kwargs)

    def _method(self, model, target_layer, reshape_transform, **options: Any) -> BaseCAM:
        return methods.SSCAM(
            model,
            target_layer,
            reshape_transform,
            num_samples=self.num_samples,
            std=self.std,
            batch_size=self.bs,
            **_TORCHCAM_MASKS,
        )


class ISCAM(ScoreCAM):
    """IS-CAM: Score-CAM's masks integrated over ``num_samples`` steps (torchcam's coefficients)."""

    def __init__(
        self,
        model: nn.Module,
        target_layer: LayerSpec = None,
        batch_size: int = 32,
        num_samples: int = 10,
        input_shape: tuple[int, ...] = (3, 224, 224),
        **kwargs: Any,
    ) -> None:
        self.num_samples = num_samples
        super().__init__(model, target_layer, batch_size, input_shape, **kwargs)

    def _method(self, model, target_layer, reshape_transform, **options: Any) -> BaseCAM:
        return methods.ISCAM(
            model,
            target_layer,
            reshape_transform,
            num_samples=self.num_samples,
            batch_size=self.bs,
            **_TORCHCAM_MASKS,
        )
