"""pytorch-grad-cam's calling convention on top of a camlens method.

A compat class is ``class GradCAM(BaseCAM, camlens.GradCAM)``: the method math is camlens', the
constructor, call signature, return type and post-processing are pytorch-grad-cam 1.5.7's.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from ... import core
from ...core.contract import ReshapeTransform
from ...core.layers import LayersSpec
from ...core.postprocess import fuse_pytorch_grad_cam
from ...core.torch_adapter import TorchAdapter
from .activations_and_gradients import ActivationsAndGradients

__all__ = ["BaseCAM", "numpy_cam_weights"]


def model_device(model: nn.Module) -> torch.device | None:
    """The device of the model's first parameter (``None`` for a model without parameters)."""
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else None


def to_device(x: Tensor, device: torch.device | None) -> Tensor:
    """``x`` on ``device`` (as pytorch-grad-cam moves the input to the model's device)."""
    return x.to(device) if device is not None and isinstance(x, Tensor) else x


def as_numpy(maps: Tensor) -> np.ndarray:
    """pytorch-grad-cam's return type: a float32 numpy array on the CPU."""
    return maps.detach().cpu().numpy().astype(np.float32, copy=False)


def target_list(targets: object) -> object:
    """A list of targets from any iterable (pytorch-grad-cam zips them with the images)."""
    if targets is not None and not callable(targets) and not isinstance(targets, list):
        return list(targets)  # type: ignore[call-overload]
    return targets


def as_is(output: Tensor) -> Tensor:
    """pytorch-grad-cam's default: a layer's output is used as it is, ``(B, C, H, W)`` or
    ``(B, C, D, H, W)`` (camlens' automatic reshaping of tokens is not applied)."""
    if output.ndim not in (4, 5):
        raise ValueError(
            f"Invalid activation shape {tuple(output.shape)}: without a reshape_transform the "
            "layer must give (B, C, H, W) or (B, C, D, H, W). For transformer tokens pass "
            "reshape_transform=vit_reshape_transform (utils.reshape_transforms), or use camlens' "
            "native API, which lays tokens out on their grid itself."
        )
    return output


def numpy_cam_weights(
    cls: type[BaseCAM], activations: np.ndarray | Tensor, grads: np.ndarray | Tensor
) -> np.ndarray:
    """pytorch-grad-cam's ``get_cam_weights`` for a compat class: channel weights ``(B, C)``
    from activations and gradients ``(B, C, *spatial)`` (numpy, as pytorch-grad-cam passes them),
    by the camlens method's ``channel_weights`` with the class's pytorch-grad-cam options (eps)."""
    options = SimpleNamespace(**cls.native_options)
    a, g = (
        torch.as_tensor(np.asarray(v)) if not isinstance(v, Tensor) else v.detach()
        for v in (activations, grads)
    )
    if a.ndim < 3 or a.shape != g.shape:
        raise ValueError(
            "activations and grads must have the same shape (B, C, *spatial), got "
            f"{tuple(a.shape)} and {tuple(g.shape)}."
        )
    weights = cls.channel_weights(options, a, g, None)  # type: ignore[arg-type]
    return weights.cpu().numpy().astype(np.float32)


def habana_core(device: torch.device | None) -> Any:
    """``habana_frameworks.torch.core`` on an HPU (its ``mark_step`` runs the lazy graph), else
    ``None``, as pytorch-grad-cam's ``BaseCAM._htcore``."""
    if device is None or device.type != "hpu":
        return None
    import habana_frameworks.torch.core as htcore  # type: ignore[import-not-found]

    return htcore


def mark_step(htcore: Any) -> None:
    """Run an HPU's pending lazy graph after a backward pass (no-op elsewhere)."""
    if htcore is not None:
        htcore.mark_step()


class BaseCAM(core.base.BaseCAM):
    """Base of the compat classes: ``cam(input_tensor, targets) -> np.float32 (B, H, W)``.

    Args:
        model: the model; put in ``eval()`` mode here, as pytorch-grad-cam does.
        target_layers: a list of modules (names such as ``"layer4"`` work too).
        reshape_transform: maps a layer's output to ``(B, C, H, W)`` (ViT, Swin); without one the
            output is used as it is, as in pytorch-grad-cam.
        use_cuda: removed in pytorch-grad-cam 1.5; accepted, ignored, warns. The input is moved to
            the model's device.
    """

    #: Keyword arguments for the camlens method (e.g. pytorch-grad-cam's ``eps``).
    native_options: ClassVar[dict[str, Any]] = {}
    #: Settable as in pytorch-grad-cam; read at call time by the batched methods (Score-CAM, whose
    #: default ``None`` sizes chunks to a memory budget, and Ablation-CAM: 32); others ignore it.
    batch_size: int | None = 32
    fuse = staticmethod(fuse_pytorch_grad_cam)

    def __init__(
        self,
        model: nn.Module,
        target_layers: LayersSpec,
        reshape_transform: ReshapeTransform | None = None,
        *,
        use_cuda: bool | None = None,
    ) -> None:
        if isinstance(reshape_transform, bool):  # pre-1.5 order: (model, target_layers, use_cuda)
            use_cuda, reshape_transform = reshape_transform, None
        if use_cuda is not None:
            warnings.warn(
                "use_cuda is ignored: pytorch-grad-cam 1.5 removed it. The map is computed on the "
                "model's device; move the model there with model.to(device).",
                DeprecationWarning,
                stacklevel=2,
            )
        if reshape_transform is not None and not callable(reshape_transform):
            raise TypeError(
                f"reshape_transform must be callable, not {type(reshape_transform).__name__}."
            )
        model.eval()
        super().__init__(model, target_layers, reshape_transform or as_is, **self.native_options)
        self.target_layers = target_layers
        self.reshape_transform = reshape_transform
        self.device = model_device(model)
        self._htcore = habana_core(self.device)
        self.outputs: Tensor | None = None
        #: The last call's activations and gradients per target layer (pytorch-grad-cam's object).
        self.activations_and_grads = ActivationsAndGradients(
            model, self._layer_modules(), reshape_transform, hooks=False
        )

    def _layer_modules(self) -> list[nn.Module]:
        layers = self.adapter.layers if isinstance(self.adapter, TorchAdapter) else None
        return [module for _, module in layers or []]

    def explanations(self, capture: Any, *, eigen_smooth: bool = False) -> list[Any]:
        """Records the capture in :attr:`activations_and_grads`, then the method's explanations."""
        self.activations_and_grads.target_layers = self._layer_modules()
        gradients = capture.gradients[0] if capture.gradients else []
        self.activations_and_grads.record(capture.activations, gradients)
        return super().explanations(capture, eigen_smooth=eigen_smooth)

    def __call__(  # type: ignore[override]
        self,
        input_tensor: Tensor,
        targets: Iterable[Callable[[Any], Tensor]] | None = None,
        aug_smooth: bool = False,
        eigen_smooth: bool = False,
    ) -> np.ndarray:
        """``(B, H, W)`` float32 maps in [0, 1], pytorch-grad-cam's numbers.

        targets: ``None`` (each image's top class), one target for every image, or one per image;
        any other count raises :class:`camlens.TargetError`.
        aug_smooth: average the maps of the input flipped or not, times 0.9, 1 and 1.1 (the
        6 augmented copies run as one batch).
        eigen_smooth: first principal component of the weighted activations instead of their sum.
        """
        return self.forward(input_tensor, targets, eigen_smooth, aug_smooth=aug_smooth)

    def forward(
        self,
        input_tensor: Tensor,
        targets: Iterable[Callable[[Any], Tensor]] | None,
        eigen_smooth: bool = False,
        *,
        aug_smooth: bool = False,
    ) -> np.ndarray:
        """One forward (and backward) pass; sets ``self.outputs`` to the model's logits."""
        explanation = self.explain(
            to_device(input_tensor, self.device),
            target_list(targets),
            aug_smooth=aug_smooth,
            eigen_smooth=eigen_smooth,
        )
        mark_step(self._htcore)
        self.outputs = explanation.outputs
        return as_numpy(explanation.maps)
